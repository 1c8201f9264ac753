"""PESTO (Riou et al., ISMIR 2023) pitch distributions as a HEAR module.

The network and its weights are those of the ``pesto-pitch`` 2.0.1 wheel
(LGPL-3.0 licence): the default checkpoint ``mir-1k_g7`` (self-supervised,
trained on MIR-1K), shipped as ``pesto/weights/mir-1k_g7.ckpt``; nothing
is downloaded. It is built by ``pesto.load_model`` with a 10 ms hop at
16 kHz.

**Embedding: the pitch distribution.** For every 10-ms frame, PESTO
computes a harmonic CQT (3 bins per semitone from 27.5 Hz, log-magnitude),
crops it to 219 bins, and its encoder (a 1-D residual CNN along frequency,
then a Toeplitz — i.e. translation-equivariant — linear layer and a
softmax) outputs a probability distribution over 384 pitch bins: bin
``i`` is MIDI pitch ``i / 3`` (0 to 127.67, 1/3-semitone steps), after
the checkpoint's calibration ``shift`` is applied as ``pesto`` does. This
distribution is what ``pesto.predict`` returns as ``activations``, and
what its pitch estimate (argmax-local weighted average) is read from.
The scene embedding is its mean over frames (384 dimensions); timestamp
embeddings are the distributions of the frames (384 dimensions), centred
every 10 ms. (The encoder's penultimate activations, 3 channels x 219
CQT bins before the Toeplitz layer, are the other candidate; they are not
aligned with pitch bins, so GEAR uses the published output.)

The confidence (voicing) head is not used. PESTO's CQT pads each sound
by reflection by 2048 samples, so sounds shorter than 2049 samples are
zero-padded at the end to 2049; only the ``1 + n_samples // 160`` frames
centred in the sound are kept, for every length. ``pesto`` imports
torchaudio only to read files: a placeholder is registered if the real
one cannot be loaded (see :mod:`gear.models._torch_utils`).
"""

import logging
from pathlib import Path

import torch
import torch.nn.functional as F

from gear.errors import ModelError
from gear.models import _torch_utils

__all__ = [
    "PestoEmbedding",
    "load_model",
    "get_timestamp_embeddings",
    "get_scene_embeddings",
]

logger = logging.getLogger(__name__)

pesto = _torch_utils.import_without_torchaudio("pesto", __name__)

SAMPLE_RATE = 16000
#: Hop between frames, in milliseconds (PESTO's default) and in samples.
STEP_SIZE_MS = 10.0
HOP_SAMPLES = int(STEP_SIZE_MS * SAMPLE_RATE / 1000)
CHECKPOINT = "mir-1k_g7"
PACKAGED_WEIGHTS = Path(pesto.__file__).parent / "weights" / f"{CHECKPOINT}.ckpt"
EMBEDDING_SIZE = 384
#: Sounds per forward pass; bounds memory (all frames of a batch go
#: through the encoder together).
SOUND_BATCH_SIZE = 16


class PestoEmbedding(torch.nn.Module):
    """PESTO with the HEAR model attributes.

    Parameters
    ----------
    network : pesto.model.PESTO

    Attributes
    ----------
    sample_rate : int
        16000 Hz.
    scene_embedding_size, timestamp_embedding_size : int
        384 pitch bins (MIDI 0 to 127.67 in 1/3 semitones).
    sound_batch_size : int
        Sounds per forward pass; bounds memory.
    min_samples : int
        Shorter sounds are zero-padded at the end to this length.
    """

    sample_rate = SAMPLE_RATE
    embedding_size = EMBEDDING_SIZE
    scene_embedding_size = EMBEDDING_SIZE
    timestamp_embedding_size = EMBEDDING_SIZE

    def __init__(self, network):
        super().__init__()
        self.network = network.eval()
        self.sound_batch_size = SOUND_BATCH_SIZE
        kernel_width = max(
            int(kernel.kernel_width) for kernel in network.preprocessor.hcqt_kernels.cqt_kernels
        )
        self.min_samples = kernel_width // 2 + 1

    def forward(self, audio):
        """Pitch distributions of the frames centred in each sound.

        Parameters
        ----------
        audio : torch.Tensor [shape=(n_sounds, n_samples)]

        Returns
        -------
        distributions : torch.Tensor [shape=(n_sounds, 1 + n_samples // 160, 384)]
            Each frame sums to 1.
        """
        n_frames = 1 + audio.shape[-1] // HOP_SAMPLES
        if audio.shape[-1] < self.min_samples:
            audio = F.pad(audio, (0, self.min_samples - audio.shape[-1]))
        _, _, _, activations = self.network(
            audio.contiguous(), sr=SAMPLE_RATE, convert_to_freq=False, return_activations=True
        )
        return activations[:, :n_frames]


def load_model(model_file_path: str = "") -> PestoEmbedding:
    """Build PESTO for 16 kHz audio at a 10 ms hop.

    Parameters
    ----------
    model_file_path : str
        A PESTO checkpoint (as ``pesto.load_model`` reads); empty for the
        packaged ``mir-1k_g7.ckpt``.

    Returns
    -------
    model : PestoEmbedding
        In eval mode, on the CPU.

    Raises
    ------
    ModelError
        If the checkpoint cannot be read as a PESTO checkpoint.
    """
    checkpoint = str(model_file_path) if model_file_path else CHECKPOINT
    try:
        network = pesto.load_model(checkpoint, step_size=STEP_SIZE_MS, sampling_rate=SAMPLE_RATE)
    except Exception as error:
        raise ModelError(f"pesto: cannot load checkpoint {checkpoint!r}: {error}") from error
    output_dim = getattr(network.encoder, "hparams", {}).get("output_dim")
    if output_dim != EMBEDDING_SIZE or network.bins_per_semitone * 128 != EMBEDDING_SIZE:
        raise ModelError(f"pesto: {checkpoint!r} does not output {EMBEDDING_SIZE} pitch bins")
    logger.info("PESTO: loaded %s", model_file_path or PACKAGED_WEIGHTS)
    return PestoEmbedding(network).eval()


def _embed(audio, model, reduce_mean):
    audio = _torch_utils.check_audio(audio, model, PestoEmbedding)
    n_frames = 1 + audio.shape[1] // HOP_SAMPLES
    outputs = []
    model.eval()
    with torch.no_grad():
        for start, stop in _torch_utils.chunk_ranges(audio.shape[0], model.sound_batch_size):
            frames = model(audio[start:stop])
            outputs.append(frames.double().mean(dim=1).float() if reduce_mean else frames)
    if not outputs:
        return torch.zeros((0, EMBEDDING_SIZE) if reduce_mean else (0, n_frames, EMBEDDING_SIZE))
    return torch.cat(outputs)


def get_timestamp_embeddings(audio, model):
    """Pitch distributions of frames centred every 10 ms.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono audio at 16 kHz in [-1, 1].
    model : PestoEmbedding

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, 1 + n_samples // 160, 384), dtype=float32]
        Bin ``i`` is MIDI pitch ``i / 3``; each frame sums to 1.
    timestamps : torch.Tensor [shape=(n_sounds, 1 + n_samples // 160), dtype=float32]
        Frame centres in milliseconds: 0, 10, 20, ...
    """
    embeddings = _embed(audio, model, reduce_mean=False)
    timestamps = torch.arange(embeddings.shape[1], dtype=torch.float64) * STEP_SIZE_MS
    return embeddings, timestamps.float().expand(embeddings.shape[0], -1)


def get_scene_embeddings(audio, model):
    """Mean pitch distribution over the frames of each sound.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono audio at 16 kHz in [-1, 1].
    model : PestoEmbedding

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, 384), dtype=float32]
        Bin ``i`` is MIDI pitch ``i / 3``; each row sums to 1.
    """
    return _embed(audio, model, reduce_mean=True)
