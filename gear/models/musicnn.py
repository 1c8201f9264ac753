"""musicnn (Pons & Serra, 2019), model ``MSD_musicnn``, as a HEAR module.

The network and its TF1 checkpoint are those of the ``musicnn`` 0.1.0
wheel (ISC licence; ``musicnn/MSD_musicnn/``, trained on the Million Song
Dataset's 50 most frequent tags; nothing is downloaded). The graph is
built by ``musicnn.models.define_model`` exactly as
``musicnn.extractor.extractor`` builds it, in a private ``tf.Graph`` run
by a ``tf.compat.v1.Session`` (TensorFlow 2.21 with legacy Keras,
``TF_USE_LEGACY_KERAS=1``). Unlike the extractor, nothing disables eager
execution process-wide.

**Embedding: ``max_pool``** (753 values), one of the features the
extractor returns: the maximum over time of the concatenated front-end
(timbral and temporal filters, 561 channels) and mid-end (3 x 64 channels)
feature maps of a 3-s patch — the input of the back-end's temporal pooling,
before the tag-specific dense layers. (The extractor's ``penultimate``
feature, the 200-unit dense layer after batch normalisation, is the other
common choice; it is one step closer to the 50 MSD tags.)

**Input**, as ``musicnn.extractor.batch_data`` with ``input_length=3``:
16 kHz audio, ``librosa.feature.melspectrogram`` (n_fft 512, hop 256,
96 mels, power 2, Slaney), rounded to float16, ``log10(10000 x + 1)``,
cut into non-overlapping patches of 187 frames (3 s) from the start; an
incomplete final patch is dropped. The scene embedding is the mean of the
patches' embeddings. Two deliberate differences:

- ``log10(10000 x + 1)`` is computed in float32. The extractor computes
  it in float16, where ``10000 x`` overflows to ``inf`` once a mel band's
  power exceeds 6.55 — for a sine of amplitude above about 0.1
  (depending on its frequency) or for full-scale white noise — and the
  network then returns NaN. Where the
  extractor's result is finite the two agree to float16 precision.
- A sound shorter than 3 s (fewer than 187 frames, for which the
  extractor fails) is zero-padded at its end to 3 s (48,000 samples), so
  it gives one patch.

Timestamp embeddings are of 187-frame patches *centred* every 3 frames
(48 ms) on the spectrogram of the sound zero-padded by 93 frames (23,808
samples) on both sides.
"""

import logging
import warnings
from pathlib import Path

import numpy as np
import torch

from gear.errors import ModelError
from gear.models import _tf_utils

__all__ = [
    "MusicnnEmbedding",
    "load_model",
    "get_timestamp_embeddings",
    "get_scene_embeddings",
    "log_mel_spectrogram",
]

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
N_FFT = 512
HOP_LENGTH = 256
N_MELS = 96
#: Frames per patch: librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1.
PATCH_FRAMES = 187
#: Sounds shorter than this are zero-padded to it (3 s).
MIN_SAMPLES = 3 * SAMPLE_RATE
#: Hop between timestamp embeddings, in spectrogram frames (48 ms).
TIMESTAMP_HOP_FRAMES = 3
#: Patches per session call, across sounds.
PATCH_BATCH_SIZE = 32
MODEL_NAME = "MSD_musicnn"
#: The 50 MSD tags, in the order of the network's outputs (musicnn.configuration).
N_TAGS = 50
FEATURE = "max_pool"
EMBEDDING_SIZE = 753


def packaged_checkpoint() -> Path:
    """The ``MSD_musicnn`` checkpoint directory inside the installed musicnn wheel."""
    return _tf_utils.package_file("musicnn", MODEL_NAME)


class MusicnnEmbedding(torch.nn.Module):
    """musicnn's MSD model in a private TF1 graph, with the HEAR model attributes.

    A ``torch.nn.Module`` without parameters, so that GEAR and
    ``hear-validator`` treat it as a torch model (torch tensors in and out).

    Attributes
    ----------
    sample_rate : int
        16000 Hz.
    scene_embedding_size, timestamp_embedding_size : int
        753 (the ``max_pool`` feature).
    patch_batch_size : int
        3-s patches per session call, across sounds; bounds memory.
    checkpoint : Path
    """

    sample_rate = SAMPLE_RATE
    embedding_size = EMBEDDING_SIZE
    scene_embedding_size = EMBEDDING_SIZE
    timestamp_embedding_size = EMBEDDING_SIZE

    def __init__(self, checkpoint, threads=1):
        super().__init__()
        tf = _tf_utils.import_tensorflow()
        try:
            from musicnn import models as musicnn_models
        except ImportError as error:
            raise ModelError(
                f"musicnn is not installed ({error}); "
                "pip install --no-deps -r requirements-models-tf-nodeps.txt"
            ) from error
        self.checkpoint = Path(checkpoint)
        self.patch_batch_size = PATCH_BATCH_SIZE
        self.graph = tf.Graph()
        with self.graph.as_default(), warnings.catch_warnings():
            # tf.compat.v1.layers warns of its deprecation once per layer.
            warnings.simplefilter("ignore")
            # Same scope and call as musicnn.extractor, so variable names match the checkpoint.
            with tf.name_scope("model"):
                self._patches = tf.compat.v1.placeholder(tf.float32, [None, PATCH_FRAMES, N_MELS])
                self._is_training = tf.compat.v1.placeholder(tf.bool)
                outputs = musicnn_models.define_model(self._patches, self._is_training, MODEL_NAME, N_TAGS)
            logits, _, _, _, _, _, _, max_pool, penultimate = outputs
            self._outputs = {
                "max_pool": max_pool,
                "penultimate": penultimate,
                "taggram": tf.nn.sigmoid(logits),
            }
            saver = tf.compat.v1.train.Saver()
        config = tf.compat.v1.ConfigProto(
            intra_op_parallelism_threads=threads, inter_op_parallelism_threads=1
        )
        self.session = tf.compat.v1.Session(graph=self.graph, config=config)
        try:
            # The checkpoint's files are named `.index` and `.data-...` inside
            # the directory: its prefix is the directory with a trailing
            # slash, as the extractor passes it.
            with self.graph.as_default():
                saver.restore(self.session, str(self.checkpoint) + "/")
        except Exception as error:  # tf.errors.* and ValueError
            self.session.close()
            raise ModelError(
                f"{self.checkpoint}: not a {MODEL_NAME} checkpoint: {' '.join(str(error).split())[:300]}"
            ) from error

    def run(self, patches: np.ndarray, feature: str = FEATURE) -> np.ndarray:
        """One output of the network for a batch of log-mel patches.

        Parameters
        ----------
        patches : np.ndarray [shape=(n_patches, 187, 96)]
        feature : {"max_pool", "penultimate", "taggram"}

        Returns
        -------
        outputs : np.ndarray [shape=(n_patches, 753 or 200 or 50), dtype=float32]
        """
        feed = {self._patches: np.asarray(patches, dtype=np.float32), self._is_training: False}
        return np.asarray(self.session.run(self._outputs[feature], feed_dict=feed), dtype=np.float32)

    def __del__(self):
        session = getattr(self, "session", None)
        if session is not None:
            try:
                session.close()
            except Exception:  # interpreter shutdown
                pass


def load_model(model_file_path: str = "") -> MusicnnEmbedding:
    """Build the MSD_musicnn graph and restore its checkpoint.

    Parameters
    ----------
    model_file_path : str
        A directory holding an ``MSD_musicnn`` TF1 checkpoint as musicnn
        ships it (files ``.index`` and ``.data-00000-of-00001``, i.e. the
        checkpoint prefix is the directory itself); empty for ``musicnn/MSD_musicnn/``
        shipped in the musicnn wheel.

    Returns
    -------
    model : MusicnnEmbedding
        Using as many threads as ``torch.get_num_threads()``.

    Raises
    ------
    ModelError
        If TensorFlow or musicnn is missing, or the checkpoint does not fit.
    """
    path = Path(model_file_path) if model_file_path else packaged_checkpoint()
    if not path.is_dir():
        raise ModelError(f"musicnn checkpoint directory {str(path)!r} does not exist")
    model = MusicnnEmbedding(path, threads=_tf_utils.num_threads())
    logger.info("musicnn %s: restored %s", MODEL_NAME, path)
    return model.eval()


def log_mel_spectrogram(audio: np.ndarray) -> np.ndarray:
    """musicnn's input representation of each sound.

    Parameters
    ----------
    audio : np.ndarray [shape=(n_sounds, n_samples)]
        16 kHz audio.

    Returns
    -------
    spectrogram : np.ndarray [shape=(n_sounds, 1 + n_samples // 256, 96), dtype=float32]
        ``log10(10000 x + 1)`` of the float16-rounded mel power ``x``.
    """
    import librosa

    mel = librosa.feature.melspectrogram(
        y=np.asarray(audio, dtype=np.float32),
        sr=SAMPLE_RATE,
        hop_length=HOP_LENGTH,
        n_fft=N_FFT,
        n_mels=N_MELS,
    )
    mel = np.swapaxes(mel, -1, -2).astype(np.float16).astype(np.float32)
    return np.log10(10000 * mel + 1).astype(np.float32)


def _check_inputs(audio, model):
    if not isinstance(model, MusicnnEmbedding):
        raise ValueError(f"model must be a {MusicnnEmbedding.__name__}, got {type(model).__name__}")
    return _tf_utils.audio_to_numpy(audio)


def get_scene_embeddings(audio, model):
    """Mean of the ``max_pool`` features of consecutive 3-s patches.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono audio at 16 kHz in [-1, 1]; shorter than 3 s, zero-padded to 3 s.
    model : MusicnnEmbedding

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, 753), dtype=float32]
    """
    audio = _check_inputs(audio, model)
    if audio.shape[1] < MIN_SAMPLES:
        audio = np.pad(audio, ((0, 0), (0, MIN_SAMPLES - audio.shape[1])))
    spectrogram = log_mel_spectrogram(audio)
    starts = np.arange(0, spectrogram.shape[1] - PATCH_FRAMES + 1, PATCH_FRAMES)
    embeddings = _tf_utils.map_windows(
        spectrogram, starts, PATCH_FRAMES, model.run, model.patch_batch_size, reduce_mean=True
    )
    return torch.from_numpy(embeddings)


def get_timestamp_embeddings(audio, model, hop_size_frames=TIMESTAMP_HOP_FRAMES):
    """``max_pool`` features of 3-s patches centred every ``hop_size_frames`` frames.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono audio at 16 kHz in [-1, 1].
    model : MusicnnEmbedding
    hop_size_frames : int > 0
        In spectrogram frames of 256 samples (16 ms).

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, n_patches, 753), dtype=float32]
        ``n_patches = 1 + (n_samples // 256) // hop_size_frames``.
    timestamps : torch.Tensor [shape=(n_sounds, n_patches), dtype=float32]
        Patch centres in milliseconds; the first is centred on sample 0.
    """
    audio = _check_inputs(audio, model)
    n_sounds, n_samples = audio.shape
    half = PATCH_FRAMES // 2  # 93 frames: frame j of the padded sound is centred on sample 256 (j - 93)
    padded = np.pad(audio, ((0, 0), (half * HOP_LENGTH, half * HOP_LENGTH)))
    spectrogram = log_mel_spectrogram(padded)
    starts = np.arange(0, n_samples // HOP_LENGTH + 1, int(hop_size_frames))
    embeddings = _tf_utils.map_windows(
        spectrogram, starts, PATCH_FRAMES, model.run, model.patch_batch_size, reduce_mean=False
    )
    times = starts * (HOP_LENGTH * 1000.0 / SAMPLE_RATE)
    timestamps = torch.from_numpy(times.astype(np.float32)).expand(n_sounds, -1)
    return torch.from_numpy(embeddings), timestamps
