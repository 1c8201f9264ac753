"""Basic Pitch (Spotify, ICASSP 2022) posteriorgrams as a HEAR module.

The network is ``basic_pitch/saved_models/icassp_2022/nmp.onnx``, shipped
inside the ``basic-pitch`` 0.4.0 wheel (Apache-2.0; nothing is
downloaded), run with ONNX Runtime on the CPU. TensorFlow is not needed:
the package itself is never imported (its ``__init__`` imports
TensorFlow and CoreML when present), only its model file is read.

Basic Pitch maps 22,050 Hz audio to three posteriorgrams at 256-sample
frames (about 86 frames per second):

- ``contour``: 264 bins, 3 per semitone from 27.5 Hz (A0), the pitch
  salience;
- ``note``: 88 bins, one per piano key, note activity;
- ``onset``: 88 bins, note onsets.

**Embedding.** A frame's embedding is the concatenation
``[contour (264), note (88), onset (88)]``: 440 values in [0, 1], the
network's own outputs (the last layers are sigmoids), in this order. The
scene embedding is their mean over all frames of the sound. We use the
outputs rather than a hidden layer because they are what Basic Pitch was
trained to produce and are interpretable (bin ``3 * 12 * log2(f0 / 27.5)``
of the contour part peaks at a tone's fundamental, which the test suite
checks).

**Frames.** Exactly as ``basic_pitch.inference.run_inference``: 3,840
zeros (15 frames) are prepended, the audio is cut into windows of 43,844
samples every 36,164 samples (the last one zero-padded), each window gives
172 frames of which the first and last 15 are dropped, the windows'
frames are concatenated and the result is cut to
``floor(n_samples * 86 / 22050)`` frames. One difference: a sound shorter
than 257 samples, for which that is 0 frames, keeps its first frame.

**Timestamps.** Frame ``k`` is reported at ``k * 256 / 22050`` seconds.
That is exact within the first window (2 s); Basic Pitch's windows hop by
141.27 frames but contribute 142 frames each, so later frames lag by about
8.5 ms per window (Basic Pitch's own note times correct this with an
empirical offset, which would make the hop irregular).
"""

import logging
from pathlib import Path

import numpy as np
import torch

from gear.errors import ModelError
from gear.models import _tf_utils

__all__ = [
    "BasicPitchEmbedding",
    "load_model",
    "get_timestamp_embeddings",
    "get_scene_embeddings",
]

logger = logging.getLogger(__name__)

SAMPLE_RATE = 22050
#: Samples between output frames.
FFT_HOP = 256
#: Output frames per second as basic-pitch counts them (22050 // 256).
ANNOTATIONS_FPS = SAMPLE_RATE // FFT_HOP
#: Samples per network window: 2 s minus one hop.
WINDOW_SIZE = 2 * SAMPLE_RATE - FFT_HOP
#: Frames per window.
WINDOW_FRAMES = 2 * ANNOTATIONS_FPS
#: Frames of overlap between windows, half dropped at each end.
OVERLAP_FRAMES = 30
#: Samples between windows.
WINDOW_HOP = WINDOW_SIZE - OVERLAP_FRAMES * FFT_HOP
N_CONTOUR, N_NOTE, N_ONSET = 264, 88, 88
EMBEDDING_SIZE = N_CONTOUR + N_NOTE + N_ONSET
#: ONNX input and outputs (contour, note, onset) of nmp.onnx.
INPUT_NAME = "serving_default_input_2:0"
OUTPUT_NAMES = ("StatefulPartitionedCall:0", "StatefulPartitionedCall:1", "StatefulPartitionedCall:2")
#: Windows per ONNX Runtime call, across sounds.
WINDOW_BATCH_SIZE = 16


def packaged_model_path() -> Path:
    """``nmp.onnx`` inside the installed basic-pitch wheel."""
    return _tf_utils.package_file("basic_pitch", "saved_models", "icassp_2022", "nmp.onnx")


class BasicPitchEmbedding(torch.nn.Module):
    """Basic Pitch's ONNX network with the HEAR model attributes.

    A ``torch.nn.Module`` without parameters, so that GEAR and
    ``hear-validator`` treat it as a torch model (torch tensors in and out).

    Attributes
    ----------
    sample_rate : int
        22050 Hz.
    scene_embedding_size, timestamp_embedding_size : int
        440: contour (264), note (88), onset (88).
    window_batch_size : int
        Windows per ONNX Runtime call, across sounds; bounds memory.
    model_path : Path
    """

    sample_rate = SAMPLE_RATE
    embedding_size = EMBEDDING_SIZE
    scene_embedding_size = EMBEDDING_SIZE
    timestamp_embedding_size = EMBEDDING_SIZE

    def __init__(self, model_path, threads=1):
        super().__init__()
        try:
            import onnxruntime
        except ImportError as error:
            raise ModelError(
                f"onnxruntime is not installed ({error}); pip install -r requirements-models-tf.txt"
            ) from error
        self.model_path = Path(model_path)
        self.window_batch_size = WINDOW_BATCH_SIZE
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only
        try:
            self.session = onnxruntime.InferenceSession(
                str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime raises its own exception types
            raise ModelError(f"{model_path}: not an ONNX model: {error}") from error
        inputs = [i.name for i in self.session.get_inputs()]
        outputs = [o.name for o in self.session.get_outputs()]
        if inputs != [INPUT_NAME] or set(outputs) != set(OUTPUT_NAMES):
            raise ModelError(
                f"{model_path}: expected Basic Pitch's input {INPUT_NAME!r} and outputs "
                f"{list(OUTPUT_NAMES)}, got {inputs} and {outputs}"
            )

    def posteriorgrams(self, windows: np.ndarray) -> np.ndarray:
        """Network outputs of windows of 43,844 samples.

        Parameters
        ----------
        windows : np.ndarray [shape=(n_windows, 43844)]

        Returns
        -------
        outputs : np.ndarray [shape=(n_windows, 172, 440), dtype=float32]
            Contour, note and onset posteriorgrams, concatenated.
        """
        feed = {INPUT_NAME: np.ascontiguousarray(windows, dtype=np.float32)[:, :, None]}
        contour, note, onset = self.session.run(list(OUTPUT_NAMES), feed)
        return np.concatenate([contour, note, onset], axis=-1).astype(np.float32, copy=False)


def load_model(model_file_path: str = "") -> BasicPitchEmbedding:
    """Load Basic Pitch's ONNX network.

    Parameters
    ----------
    model_file_path : str
        An ONNX export of Basic Pitch with ``nmp.onnx``'s input and output
        names; empty for the ``nmp.onnx`` shipped in the basic-pitch wheel.

    Returns
    -------
    model : BasicPitchEmbedding
        Using as many threads as ``torch.get_num_threads()``.

    Raises
    ------
    ModelError
        If the file is missing or not Basic Pitch's ONNX network.
    """
    path = Path(model_file_path) if model_file_path else packaged_model_path()
    if not path.is_file():
        raise ModelError(f"Basic Pitch model file {str(path)!r} does not exist")
    model = BasicPitchEmbedding(path, threads=_tf_utils.num_threads())
    logger.info("Basic Pitch: loaded %s", path)
    return model.eval()


def _check_inputs(audio, model):
    if not isinstance(model, BasicPitchEmbedding):
        raise ValueError(f"model must be a {BasicPitchEmbedding.__name__}, got {type(model).__name__}")
    return _tf_utils.audio_to_numpy(audio)


def n_output_frames(n_samples: int) -> int:
    """Frames basic-pitch keeps for a sound: ``floor(n * 86 / 22050)``, at least 1."""
    return max(int(np.floor(n_samples * (ANNOTATIONS_FPS / SAMPLE_RATE))), 1)


def frame_outputs(audio: np.ndarray, model: BasicPitchEmbedding) -> np.ndarray:
    """The unwrapped posteriorgrams of ``basic_pitch.inference.run_inference``.

    Parameters
    ----------
    audio : np.ndarray [shape=(n_sounds, n_samples), dtype=float32]
    model : BasicPitchEmbedding

    Returns
    -------
    frames : np.ndarray [shape=(n_sounds, n_output_frames(n_samples), 440), dtype=float32]
    """
    n_sounds, n_samples = audio.shape
    lead = OVERLAP_FRAMES * FFT_HOP // 2
    length = lead + n_samples
    starts = np.arange(0, length, WINDOW_HOP)
    padded = np.zeros((n_sounds, starts[-1] + WINDOW_SIZE), dtype=np.float32)
    padded[:, lead:length] = audio
    outputs = _tf_utils.map_windows(
        padded, starts, WINDOW_SIZE, model.posteriorgrams, model.window_batch_size, reduce_mean=False
    )
    trim = OVERLAP_FRAMES // 2
    outputs = outputs[:, :, trim:-trim, :].reshape(n_sounds, -1, EMBEDDING_SIZE)
    return np.ascontiguousarray(outputs[:, : n_output_frames(n_samples)])


def get_scene_embeddings(audio, model):
    """Mean over frames of the concatenated contour, note and onset posteriorgrams.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono audio at 22,050 Hz in [-1, 1].
    model : BasicPitchEmbedding

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, 440), dtype=float32]
        Contour (264), note (88), onset (88).
    """
    audio = _check_inputs(audio, model)
    frames = frame_outputs(audio, model)
    return torch.from_numpy(frames.mean(axis=1, dtype=np.float64).astype(np.float32))


def get_timestamp_embeddings(audio, model):
    """Concatenated posteriorgrams of every output frame (every 256 samples).

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono audio at 22,050 Hz in [-1, 1].
    model : BasicPitchEmbedding

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, n_frames, 440), dtype=float32]
        ``n_frames = max(floor(n_samples * 86 / 22050), 1)``.
    timestamps : torch.Tensor [shape=(n_sounds, n_frames), dtype=float32]
        ``k * 256 / 22050`` seconds, in milliseconds (see the module notes).
    """
    audio = _check_inputs(audio, model)
    frames = frame_outputs(audio, model)
    times = np.arange(frames.shape[1]) * (FFT_HOP * 1000.0 / SAMPLE_RATE)
    timestamps = torch.from_numpy(times.astype(np.float32)).expand(audio.shape[0], -1)
    return torch.from_numpy(frames), timestamps
