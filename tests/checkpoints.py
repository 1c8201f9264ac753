"""Checkpoints of the paper's models with seeded random weights, in their published formats.

Built from the wrappers' own random-init networks (``load_model(random_init=True)``),
written as the publishers distribute them: torchopenl3's ``.pth.tar`` state
dict, the serab-byols ``.pth`` state dict, ``yamnet.h5`` as the published
``yamnet_frames_model(...).save_weights`` writes it, and ``save_pretrained``
folders for the hub models (one transformer layer instead of 24 or 48:
the loaders build what the checkpoint's own ``config.json`` says).
"""

import torch


def yamnet_frames_model(module, model):
    """The published ``yamnet_frames_model`` (waveform in; class scores, embeddings, log-mel out)
    with ``model``'s weights: what ``yamnet.h5`` is saved from."""
    import tensorflow as tf
    import tf_keras

    waveform = tf_keras.layers.Input(batch_shape=(None,), dtype=tf.float32)
    spectrogram = tf_keras.layers.Lambda(lambda w: model._log_mel(w[None])[0], name="log_mel_features")(
        waveform
    )
    patches = tf_keras.layers.Lambda(lambda s: tf.signal.frame(s, 96, 48, axis=0), name="frame")(spectrogram)
    predictions, embeddings = module.network_layers(tf_keras, patches)
    frames_model = tf_keras.Model(inputs=waveform, outputs=[predictions, embeddings, spectrogram])
    frames_model.set_weights(model.network.get_weights())
    return frames_model


def write_yamnet_h5(path):
    from gear.models import yamnet

    yamnet_frames_model(yamnet, yamnet.load_model(random_init=True)).save_weights(str(path))


def write_openl3_pth_tar(path):
    from gear.models import openl3

    torch.save(openl3.load_model(random_init=True).state_dict(), path)


def write_byols_pth(path):
    from gear.models import byols

    torch.save(byols.load_model(random_init=True).encoder.state_dict(), path)


def hub_repositories(num_hidden_layers=1):
    """Repository id -> {file name: bytes} of ``save_pretrained`` folders (wav2vec 2.0, HuBERT xlarge)."""
    import tempfile
    from pathlib import Path

    from gear.models import gura

    model = gura.load_model(random_init=True, num_hidden_layers=num_hidden_layers)
    repositories = {}
    with tempfile.TemporaryDirectory() as scratch:
        for repo_id, network in (
            (gura.HUBERT_REPO_ID, model.hubert),
            (gura.WAV2VEC2_REPO_ID, model.wav2vec2),
        ):
            folder = Path(scratch) / repo_id
            network.save_pretrained(folder)
            repositories[repo_id] = {
                path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()
            }
    return repositories
