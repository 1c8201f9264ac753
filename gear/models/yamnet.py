"""YAMNet (Google, AudioSet) as a HEAR module, from the published Keras definition.

YAMNet's weights are distributed through TF Hub and as ``yamnet.h5`` at
https://storage.googleapis.com/audioset/yamnet.h5. This module rebuilds
the network of the published code (tensorflow/models,
``research/audioset/yamnet``: ``yamnet.py``, ``features.py``,
``params.py``) in Keras 2 (``tf_keras``), with the same layer names and
weight shapes, and loads ``yamnet.h5``, fetched into GEAR's cache by
:mod:`gear.fetch` (see :mod:`gear.models.remote`) or from the path given
as ``weights:`` in ``config.yaml``:

.. code-block:: yaml

    models:
      yamnet:
        module: gear.models.yamnet
        weights: /path/to/yamnet.h5

Without a weights file (none given, none fetched), :func:`load_model`
raises :class:`~gear.errors.ModelError` naming that URL, the cause and the
``weights:`` key, unless random weights are asked for explicitly, with
``load_model(random_init=True)`` or ``GEAR_RANDOM_INIT=1`` in the
environment (API checks only: a warning is logged and
``model.random_init`` is True).

**Network** (``params.py`` defaults): 16 kHz audio; STFT with a 25 ms
periodic Hann window (400 samples), 10 ms hop, 512-point FFT, magnitude;
64 mel bands from 125 to 7,500 Hz (``tf.signal.linear_to_mel_weight_matrix``);
``log(mel + 0.001)``; patches of 96 frames (0.96 s) every 48 frames
(0.48 s); each patch goes through a MobileNet v1 body — a 3x3 convolution
(32 filters, stride 2) and 13 depthwise-separable 3x3 convolutions
(64, 128, 128, 256, 256, 512 x 6, 1024, 1024 filters; stride 2 at the 3rd,
5th, 7th and 13th), each followed by batch normalisation (centre, no
scale, epsilon 1e-4) and ReLU, "same" padding — then global average
pooling: the **1024-dim embedding**; a dense layer gives 521 AudioSet class
scores (sigmoid). The waveform is zero-padded to at least 0.975 s (15,600
samples) and then to a whole number of 0.48-s hops (``pad_waveform``).

**Scene embedding: the first patch only.** The paper's code called the
TF-Hub model on each sound and kept ``embedding[0]``, the embedding of the
first 0.96-s patch, not a mean over patches; GEAR does the same, so only
the first 15,600 samples of a sound matter (shorter sounds are
zero-padded). Timestamp embeddings are all patches, at the published
0.48-s hop, stamped at their centres (487.5 ms + 480 ms k).
"""

import logging
from pathlib import Path

import numpy as np
import torch

from gear.errors import FetchError, ModelError
from gear.models import _tf_utils, remote

__all__ = [
    "YamnetEmbedding",
    "load_model",
    "get_timestamp_embeddings",
    "get_scene_embeddings",
    "build_network",
    "network_layers",
    "WEIGHTS_URL",
]

logger = logging.getLogger(__name__)

WEIGHTS_URL = remote.YAMNET_URL

SAMPLE_RATE = 16000
STFT_WINDOW = 400  # 25 ms
STFT_HOP = 160  # 10 ms
FFT_LENGTH = 512
MEL_BANDS = 64
MEL_MIN_HZ = 125.0
MEL_MAX_HZ = 7500.0
LOG_OFFSET = 0.001
PATCH_FRAMES = 96  # 0.96 s
PATCH_HOP_FRAMES = 48  # 0.48 s
#: Samples of one patch: (96 - 1) * 160 + 400 = 0.975 s.
PATCH_SAMPLES = (PATCH_FRAMES - 1) * STFT_HOP + STFT_WINDOW
#: Samples between patches: 0.48 s.
PATCH_HOP_SAMPLES = PATCH_HOP_FRAMES * STFT_HOP
NUM_CLASSES = 521
BATCHNORM_EPSILON = 1e-4
EMBEDDING_SIZE = 1024
#: Patches per forward pass, across sounds.
PATCH_BATCH_SIZE = 64
#: Seed of the random weights of ``random_init``.
RANDOM_INIT_SEED = 0

#: (kind, stride, filters) of the 14 layers, kernels 3x3 (yamnet.py's _YAMNET_LAYER_DEFS).
LAYERS = (
    ("conv", 2, 32),
    ("separable", 1, 64),
    ("separable", 2, 128),
    ("separable", 1, 128),
    ("separable", 2, 256),
    ("separable", 1, 256),
    ("separable", 2, 512),
    ("separable", 1, 512),
    ("separable", 1, 512),
    ("separable", 1, 512),
    ("separable", 1, 512),
    ("separable", 1, 512),
    ("separable", 2, 1024),
    ("separable", 1, 1024),
)


def build_network(keras):
    """YAMNet's patch network, with the published layer names.

    Parameters
    ----------
    keras : module
        ``tf_keras``.

    Returns
    -------
    network : keras.Model
        Input: log-mel patches, shape (batch, 96, 64). Outputs: the class
        scores (batch, 521) and the embeddings (batch, 1024). Its layers
        with weights come in the order of the published
        ``yamnet_frames_model``, so ``load_weights("yamnet.h5")`` matches
        them one to one.
    """
    patches = keras.Input(shape=(PATCH_FRAMES, MEL_BANDS), name="log_mel_patches")
    predictions, embeddings = network_layers(keras, patches)
    return keras.Model(inputs=patches, outputs=[predictions, embeddings], name="yamnet")


def network_layers(keras, patches):
    """Apply YAMNet's layers to a symbolic batch of patches (batch, 96, 64).

    Returns
    -------
    predictions, embeddings : symbolic tensors, shapes (batch, 521) and (batch, 1024)
    """
    layers = keras.layers

    def batch_norm(name):
        return layers.BatchNormalization(name=name, center=True, scale=False, epsilon=BATCHNORM_EPSILON)

    net = layers.Reshape((PATCH_FRAMES, MEL_BANDS, 1))(patches)
    for index, (kind, stride, filters) in enumerate(LAYERS, start=1):
        name = f"layer{index}"
        if kind == "conv":
            net = layers.Conv2D(
                filters, (3, 3), strides=stride, padding="same", use_bias=False, name=f"{name}/conv"
            )(net)
            net = batch_norm(f"{name}/conv/bn")(net)
            net = layers.ReLU(name=f"{name}/relu")(net)
        else:
            net = layers.DepthwiseConv2D(
                (3, 3),
                strides=stride,
                depth_multiplier=1,
                padding="same",
                use_bias=False,
                name=f"{name}/depthwise_conv",
            )(net)
            net = batch_norm(f"{name}/depthwise_conv/bn")(net)
            net = layers.ReLU(name=f"{name}/depthwise_conv/relu")(net)
            net = layers.Conv2D(
                filters, (1, 1), strides=1, padding="same", use_bias=False, name=f"{name}/pointwise_conv"
            )(net)
            net = batch_norm(f"{name}/pointwise_conv/bn")(net)
            net = layers.ReLU(name=f"{name}/pointwise_conv/relu")(net)
    embeddings = layers.GlobalAveragePooling2D()(net)
    logits = layers.Dense(NUM_CLASSES, use_bias=True)(embeddings)
    predictions = layers.Activation("sigmoid")(logits)
    return predictions, embeddings


def _randomize(network, seed=RANDOM_INIT_SEED):
    """He-uniform kernels from a seeded NumPy generator (biases and BN as built).

    He rather than Keras's default Glorot scaling keeps activations of
    order 1 through 14 ReLU layers, so tests see embeddings that are not
    vanishingly small.
    """
    rng = np.random.default_rng(seed)
    for variable in network.weights:
        name = variable.name.split("/")[-1]
        if not name.startswith(("kernel", "depthwise_kernel")):
            continue
        shape = tuple(variable.shape)
        receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
        # A depthwise kernel (3, 3, channels, 1) sees one channel: fan-in 9.
        fan_in = receptive * (1 if name.startswith("depthwise") else shape[-2])
        limit = np.sqrt(6.0 / fan_in)
        variable.assign(rng.uniform(-limit, limit, size=shape).astype(np.float32))


class YamnetEmbedding(torch.nn.Module):
    """YAMNet's Keras network and features, with the HEAR model attributes.

    A ``torch.nn.Module`` without parameters, so that GEAR and
    ``hear-validator`` treat it as a torch model (torch tensors in and out).

    Attributes
    ----------
    sample_rate : int
        16000 Hz.
    scene_embedding_size, timestamp_embedding_size : int
        1024.
    patch_batch_size : int
        Patches per forward pass, across sounds; bounds memory.
    weights_path : Path or None
        The ``yamnet.h5`` loaded, None with random weights.
    random_init : bool
        True if the weights are random (never for results).
    network : tf_keras.Model
        See :func:`build_network`.
    """

    sample_rate = SAMPLE_RATE
    embedding_size = EMBEDDING_SIZE
    scene_embedding_size = EMBEDDING_SIZE
    timestamp_embedding_size = EMBEDDING_SIZE

    def __init__(self, weights_path=None, random_init=False):
        super().__init__()
        tf = _tf_utils.import_tensorflow()
        keras = _tf_utils.import_tf_keras()
        self._tf = tf
        self.patch_batch_size = PATCH_BATCH_SIZE
        self.weights_path = Path(weights_path) if weights_path else None
        self.random_init = bool(random_init)
        self.network = build_network(keras)
        if self.weights_path is not None:
            try:
                self.network.load_weights(str(self.weights_path))
            except Exception as error:  # h5py, ValueError on a layer or shape mismatch
                raise ModelError(
                    f"{self.weights_path}: not YAMNet's yamnet.h5 ({WEIGHTS_URL}): "
                    f"{' '.join(str(error).split())[:300]}"
                ) from error
        elif random_init:
            _randomize(self.network)
        else:  # pragma: no cover - load_model decides before building
            raise ModelError("YAMNet needs weights or random_init=True")
        network = self.network
        self._mel_matrix = tf.signal.linear_to_mel_weight_matrix(
            num_mel_bins=MEL_BANDS,
            num_spectrogram_bins=FFT_LENGTH // 2 + 1,
            sample_rate=float(SAMPLE_RATE),
            lower_edge_hertz=MEL_MIN_HZ,
            upper_edge_hertz=MEL_MAX_HZ,
        )
        spec = tf.TensorSpec([None, PATCH_FRAMES, MEL_BANDS], tf.float32)
        self._embed = tf.function(lambda x: network(x, training=False)[1], input_signature=[spec])
        self._features = tf.function(self._log_mel, input_signature=[tf.TensorSpec([None, None], tf.float32)])

    def _log_mel(self, waveforms):
        tf = self._tf
        # tf.signal.stft uses a periodic Hann window and no centring, as YAMNet.
        magnitude = tf.abs(
            tf.signal.stft(waveforms, frame_length=STFT_WINDOW, frame_step=STFT_HOP, fft_length=FFT_LENGTH)
        )
        return tf.math.log(tf.matmul(magnitude, self._mel_matrix) + LOG_OFFSET)

    def log_mel_spectrogram(self, waveforms: np.ndarray) -> np.ndarray:
        """YAMNet's log-mel spectrogram of each (already padded) sound.

        Parameters
        ----------
        waveforms : np.ndarray [shape=(n_sounds, n_samples)], n_samples >= 400

        Returns
        -------
        spectrogram : np.ndarray [shape=(n_sounds, 1 + (n_samples - 400) // 160, 64), dtype=float32]
        """
        return self._features(np.asarray(waveforms, dtype=np.float32)).numpy()

    def embed_patches(self, patches: np.ndarray) -> np.ndarray:
        """Embeddings of log-mel patches.

        Parameters
        ----------
        patches : np.ndarray [shape=(n_patches, 96, 64)]

        Returns
        -------
        embeddings : np.ndarray [shape=(n_patches, 1024), dtype=float32]
        """
        return self._embed(np.asarray(patches, dtype=np.float32)).numpy()


def load_model(model_file_path: str = "", random_init: bool | None = None) -> YamnetEmbedding:
    """Build YAMNet and load ``yamnet.h5``.

    Parameters
    ----------
    model_file_path : str
        Path of ``yamnet.h5`` (fetched from, or downloaded by hand from, :data:`WEIGHTS_URL`).
    random_init : bool or None
        Without a weights file: True builds seeded random weights (for API
        tests only); None (default) defers to ``GEAR_RANDOM_INIT=1``;
        otherwise a missing weights file is an error.

    Returns
    -------
    model : YamnetEmbedding

    Raises
    ------
    ModelError
        If no weights file is given and random weights were not asked for,
        if the file does not exist, or if it does not fit the network.
    """
    if model_file_path:
        path = Path(model_file_path)
        if not path.is_file():
            raise ModelError(f"YAMNet weights file {str(path)!r} does not exist (download {WEIGHTS_URL})")
        _set_threads()
        model = YamnetEmbedding(weights_path=path)
        logger.info("YAMNet: loaded weights from %s", path)
        return model.eval()
    if not _tf_utils.random_init_requested(random_init):
        try:
            return load_model(remote.fetch_weights(__name__))
        except FetchError as error:
            raise ModelError(
                f"YAMNet needs its weights, not fetched ({error}): download {WEIGHTS_URL} and give "
                "its path as `weights:` of this model in config.yaml "
                f"(or set {_tf_utils.RANDOM_INIT_ENV}=1 for random weights, to test the API only)"
            ) from None
    _set_threads()
    logger.warning("YAMNet: RANDOM weights (seed %d), for API tests only; not YAMNet", RANDOM_INIT_SEED)
    return YamnetEmbedding(random_init=True).eval()


def _set_threads():
    """Give TensorFlow torch's thread count, if its runtime has not started yet."""
    tf = _tf_utils.import_tensorflow()
    threads = _tf_utils.num_threads()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # already initialised: keep its setting
        pass


def _check_inputs(audio, model):
    if not isinstance(model, YamnetEmbedding):
        raise ValueError(f"model must be a {YamnetEmbedding.__name__}, got {type(model).__name__}")
    return _tf_utils.audio_to_numpy(audio)


def padded_length(n_samples: int) -> int:
    """Length after YAMNet's ``pad_waveform``: at least one patch, whole hops after it."""
    extra = max(n_samples - PATCH_SAMPLES, 0)
    return PATCH_SAMPLES + -(-extra // PATCH_HOP_SAMPLES) * PATCH_HOP_SAMPLES


def get_scene_embeddings(audio, model):
    """Embedding of the first 0.96-s patch of each sound, as the paper's code.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono audio at 16 kHz in [-1, 1]; only the first 15,600 samples
        are used (zero-padded if shorter).
    model : YamnetEmbedding

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, 1024), dtype=float32]
    """
    audio = _check_inputs(audio, model)
    first = np.zeros((audio.shape[0], PATCH_SAMPLES), dtype=np.float32)
    first[:, : min(audio.shape[1], PATCH_SAMPLES)] = audio[:, :PATCH_SAMPLES]
    embeddings = np.empty((audio.shape[0], EMBEDDING_SIZE), dtype=np.float32)
    step = max(int(model.patch_batch_size), 1)
    for start in range(0, audio.shape[0], step):
        patches = model.log_mel_spectrogram(first[start : start + step])  # 96 frames: one patch
        embeddings[start : start + step] = model.embed_patches(patches)
    return torch.from_numpy(embeddings)


def get_timestamp_embeddings(audio, model):
    """Embeddings of every 0.96-s patch, every 0.48 s, as the TF-Hub model returns them.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono audio at 16 kHz in [-1, 1].
    model : YamnetEmbedding

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, n_patches, 1024), dtype=float32]
        ``n_patches = 1 + ceil(max(n_samples - 15600, 0) / 7680)``.
    timestamps : torch.Tensor [shape=(n_sounds, n_patches), dtype=float32]
        Patch centres in milliseconds: 487.5 + 480 k.
    """
    audio = _check_inputs(audio, model)
    n_sounds, n_samples = audio.shape
    padded = np.zeros((n_sounds, padded_length(n_samples)), dtype=np.float32)
    padded[:, :n_samples] = audio
    step = max(int(model.patch_batch_size), 1)
    spectrogram = np.concatenate(
        [model.log_mel_spectrogram(padded[start : start + step]) for start in range(0, n_sounds, step)]
    )
    starts = np.arange(0, spectrogram.shape[1] - PATCH_FRAMES + 1, PATCH_HOP_FRAMES)
    embeddings = _tf_utils.map_windows(
        spectrogram, starts, PATCH_FRAMES, model.embed_patches, model.patch_batch_size, reduce_mean=False
    )
    centres = (starts * STFT_HOP + PATCH_SAMPLES / 2) * (1000.0 / SAMPLE_RATE)
    timestamps = torch.from_numpy(centres.astype(np.float32)).expand(n_sounds, -1)
    return torch.from_numpy(embeddings), timestamps
