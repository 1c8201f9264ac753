"""Hybrid BYOL-S (Elbanna et al., 2022; serab-byols, HEAR 2021) as a HEAR module.

serab-byols is not on the package registry, so its network is rebuilt
here from the published code (``GasserElbanna/serab-byols``:
``byol_a/models/cvt.py``, ``serab_byols/serab.py``, ``serab_byols/utils.py``),
with the same module structure and parameter names, so that the
published checkpoint loads with ``strict=True``:

- **Input**: torchaudio's ``MelSpectrogram`` at 16 kHz (``n_fft=1024``,
  ``win_length=400``, ``hop_length=160``, 64 HTK mel bands from 60 to
  7800 Hz without area normalisation, power 2, ``center=True`` with
  reflection padding), reimplemented with ``torch.stft`` (torchaudio does
  not load beside the CPU torch); then ``log(x + eps)`` with eps the
  float32 machine epsilon, standardised by the mean and (unbiased)
  standard deviation of the sound's log-mel spectrogram.
- **Network**: serab-byols' convolutional vision transformer (CvT, after
  lucidrains' ``vit-pytorch``), three stages of a strided convolutional
  token embedding (kernels 7, 3, 3; strides 4, 2, 2), a channel layer
  norm and transformer blocks whose queries, keys and values are
  depthwise-separable convolutions (keys and values with stride 2),
  64-dimensional heads (1, 3 and 6 of them), and 1x1-convolution MLPs.
  The "Hybrid BYOL-S/CvT" checkpoint has one block per stage and 64, 256
  and 512 channels (``cvt_s1-d1-e64_s2-d1-e256_s3-d1-e512``); its MLP
  ratios are read from the checkpoint (4 when randomly initialised, the
  CvT default).
- **Pooling** ``mean+max``: the (512 channels x 4 mel bands) map of each
  time step is flattened to 2048 values, and its mean over time plus its
  maximum over time is the embedding: 2048 dimensions.

**Scene embedding**, as ``serab_byols.get_scene_embeddings``: the whole
sound's standardised log-mel spectrogram goes through the network at
once. One deliberate difference: serab-byols standardises with the mean
of the per-sound means and standard deviations *of the batch*, so that a
sound's embedding depends on its batch; here every sound is standardised
with its own statistics (serab-byols with a batch of one sound). A
silent sound has a standard deviation of 0; it is clamped at 1e-8 (the
spectrogram then standardises to zeros). Sounds shorter than 1024
samples are zero-padded at the end to 1024 (reflection padding needs
more than 512).

**Timestamp embeddings**: 1-s frames centred every 50 ms, as
``serab_byols.get_timestamp_embeddings`` cuts them (``hearbaseline``'s
``frame_audio``), each embedded like a sound and standardised by the mean
and (unbiased) standard deviation of the log-mel values of all the frames
of *its own* sound. Here GEAR deliberately does not follow serab-byols:
its ``compute_timestamp_stats`` (``serab_byols/utils.py``) takes the mean
and standard deviation of all the frames of the whole batch and then
divides both by the number of those frames (``mean /= len(melspec)``,
``std /= len(melspec)``: n_sounds x n_frames), so that its input scale
grows with the length of the sounds and the size of the batch; the two
differ by up to 0.7 in relative terms. GEAR's timestamp embeddings
therefore do not match serab-byols' (its scene embeddings, the only ones
GEAR's workflow uses, do, for a batch of one sound: see above).

**Weights** (the serab-byols repository, MIT licence): the file
``checkpoints/cvt_s1-d1-e64_s2-d1-e256_s3-d1-e512_BYOLAs64x96-osandbyolaloss6373-e100-bs256-lr0003-rs42.pth``
of ``https://github.com/GasserElbanna/serab-byols``, given as ``weights:``
in ``config.yaml``, else fetched into GEAR's cache by :mod:`gear.fetch`
(see :mod:`gear.models.remote`). If neither works, :func:`load_model`
raises :class:`~gear.errors.ModelError` naming the URL and the cause. ``load_model(random_init=True)``
or ``GEAR_RANDOM_INIT=1`` (tests only) builds the full-size network randomly
initialised (seeded); a warning is logged and ``model.random_init`` is true.

The spectrogram settings above are those of ``serab_byols/config.yaml``,
the file serab-byols' ``load_model`` and both embedding functions read
(``Path(__file__).parent / "config.yaml"``: ``sample_rate`` 16000,
``n_fft`` 1024, ``win_length`` 400, ``hop_length`` 160, ``n_mels`` 64,
``f_min`` 60, ``f_max`` 7800), as a review of the repository found (the
copy of the repository searchable while writing this had the code that
reads the file, not the file); the checkpoint's shapes fix the rest of
the network. Without the checkpoint and serab-byols' torchaudio,
agreement with the original embeddings could not be tested here.
"""

import logging
import math
import re
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from gear.errors import FetchError, ModelError
from gear.models import _torch_utils, remote

__all__ = [
    "CvT",
    "ByolsEmbedding",
    "load_model",
    "get_timestamp_embeddings",
    "get_scene_embeddings",
    "log_mel_spectrogram",
]

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
N_FFT = 1024
WIN_LENGTH = 400
HOP_LENGTH = 160
N_MELS = 64
F_MIN = 60.0
F_MAX = 7800.0
EMBEDDING_SIZE = 2048
MIN_SAMPLES = N_FFT
STD_FLOOR = 1e-8
#: Timestamp frames: 1 s every 50 ms.
TIMESTAMP_FRAME_SAMPLES = SAMPLE_RATE
TIMESTAMP_HOP_SAMPLES = SAMPLE_RATE * 50 // 1000
#: Stage settings of the published Hybrid BYOL-S/CvT checkpoint.
EMBED_DIMS = (64, 256, 512)
DEPTHS = (1, 1, 1)
HEADS = (1, 3, 6)
EMBED_KERNELS = (7, 3, 3)
EMBED_STRIDES = (4, 2, 2)
PROJ_KERNEL = 3
KV_PROJ_STRIDE = 2
DIM_HEAD = 64
MLP_MULTS = (4, 4, 4)
CHECKPOINT_NAME = (
    "cvt_s1-d1-e64_s2-d1-e256_s3-d1-e512_BYOLAs64x96-osandbyolaloss6373-e100-bs256-lr0003-rs42.pth"
)
CHECKPOINT_URL = remote.BYOLS_URL
#: Sounds (or timestamp frames) per forward pass; bounds memory.
SOUND_BATCH_SIZE = 16


# --- the network (names as in serab-byols' byol_a/models/cvt.py) ----------


class LayerNorm(nn.Module):
    """Layer norm over channels (dimension 1), dividing by ``std + eps``."""

    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.g = nn.Parameter(torch.ones(1, dim, 1, 1))
        self.b = nn.Parameter(torch.zeros(1, dim, 1, 1))

    def forward(self, x):
        std = torch.var(x, dim=1, unbiased=False, keepdim=True).sqrt()
        mean = torch.mean(x, dim=1, keepdim=True)
        return (x - mean) / (std + self.eps) * self.g + self.b


class PreNorm(nn.Module):
    def __init__(self, dim, fn):
        super().__init__()
        self.norm = LayerNorm(dim)
        self.fn = fn

    def forward(self, x):
        return self.fn(self.norm(x))


class FeedForward(nn.Module):
    def __init__(self, dim, mult=4, dropout=0.0):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(dim, dim * mult, 1),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Conv2d(dim * mult, dim, 1),
            nn.Dropout(dropout),
        )

    def forward(self, x):
        return self.net(x)


class DepthWiseConv2d(nn.Module):
    def __init__(self, dim_in, dim_out, kernel_size, padding, stride, bias=True):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(
                dim_in,
                dim_in,
                kernel_size=kernel_size,
                padding=padding,
                groups=dim_in,
                stride=stride,
                bias=bias,
            ),
            nn.BatchNorm2d(dim_in),
            nn.Conv2d(dim_in, dim_out, kernel_size=1, bias=bias),
        )

    def forward(self, x):
        return self.net(x)


class Attention(nn.Module):
    def __init__(self, dim, proj_kernel, kv_proj_stride, heads=8, dim_head=64, dropout=0.0):
        super().__init__()
        inner_dim = dim_head * heads
        padding = proj_kernel // 2
        self.heads = heads
        self.scale = dim_head**-0.5
        self.attend = nn.Softmax(dim=-1)
        self.to_q = DepthWiseConv2d(dim, inner_dim, proj_kernel, padding=padding, stride=1, bias=False)
        self.to_kv = DepthWiseConv2d(
            dim, inner_dim * 2, proj_kernel, padding=padding, stride=kv_proj_stride, bias=False
        )
        self.to_out = nn.Sequential(nn.Conv2d(inner_dim, dim, 1), nn.Dropout(dropout))

    def forward(self, x):
        b, _, rows, cols = x.shape
        h = self.heads
        q, k, v = (self.to_q(x), *self.to_kv(x).chunk(2, dim=1))

        # einops: 'b (h d) x y -> (b h) (x y) d'
        def split_heads(t):
            return (
                t.reshape(b, h, -1, t.shape[-2] * t.shape[-1])
                .permute(0, 1, 3, 2)
                .reshape(b * h, -1, t.shape[1] // h)
            )

        q, k, v = map(split_heads, (q, k, v))
        dots = torch.einsum("b i d, b j d -> b i j", q, k) * self.scale
        attn = self.attend(dots)
        out = torch.einsum("b i j, b j d -> b i d", attn, v)
        # einops: '(b h) (x y) d -> b (h d) x y'
        out = out.reshape(b, h, rows, cols, -1).permute(0, 1, 4, 2, 3).reshape(b, -1, rows, cols)
        return self.to_out(out)


class Transformer(nn.Module):
    def __init__(self, dim, proj_kernel, kv_proj_stride, depth, heads, dim_head=64, mlp_mult=4, dropout=0.0):
        super().__init__()
        self.layers = nn.ModuleList(
            [
                nn.ModuleList(
                    [
                        PreNorm(dim, Attention(dim, proj_kernel, kv_proj_stride, heads, dim_head, dropout)),
                        PreNorm(dim, FeedForward(dim, mlp_mult, dropout=dropout)),
                    ]
                )
                for _ in range(depth)
            ]
        )

    def forward(self, x):
        for attn, ff in self.layers:
            x = attn(x) + x
            x = ff(x) + x
        return x


class CvT(nn.Module):
    """serab-byols' CvT encoder with ``pool="mean+max"``.

    Parameters
    ----------
    embed_dims, depths, heads, mlp_mults : tuple of 3 ints
        Per stage.

    Input: (batch, 1, 64 mel bands, n_frames); output: (batch, 2048).
    """

    def __init__(self, embed_dims=EMBED_DIMS, depths=DEPTHS, heads=HEADS, mlp_mults=MLP_MULTS):
        super().__init__()
        dim = 1
        layers = []
        for emb_dim, depth, n_heads, mlp_mult, kernel, stride in zip(
            embed_dims, depths, heads, mlp_mults, EMBED_KERNELS, EMBED_STRIDES, strict=True
        ):
            layers.append(
                nn.Sequential(
                    nn.Conv2d(dim, emb_dim, kernel_size=kernel, padding=kernel // 2, stride=stride),
                    LayerNorm(emb_dim),
                    Transformer(emb_dim, PROJ_KERNEL, KV_PROJ_STRIDE, depth, n_heads, DIM_HEAD, mlp_mult),
                )
            )
            dim = emb_dim
        # pool="mean+max": serab-byols appends nn.Identity() (no parameters).
        self.layers = nn.Sequential(*layers, nn.Identity())

    def forward(self, x):
        x = self.layers(x)
        x = x.permute(0, 3, 2, 1)  # (batch, time, mel, channels)
        batch, frames, bands, channels = x.shape
        x = x.reshape(batch, frames, channels * bands)
        return x.mean(1) + x.amax(1)


def _architecture_from_state(state):
    """Stage widths, depths, heads and MLP ratios of a CvT state dict."""
    embed_dims, depths, heads, mlp_mults = [], [], [], []
    for stage in range(3):
        weight = state.get(f"layers.{stage}.0.weight")
        if weight is None:
            raise ModelError(f"byols: the checkpoint has no stage {stage + 1} (layers.{stage}.0.weight)")
        emb_dim = int(weight.shape[0])
        pattern = re.compile(rf"layers\.{stage}\.2\.layers\.(\d+)\.")
        depth = 1 + max((int(m.group(1)) for key in state if (m := pattern.match(key))), default=-1)
        if depth < 1:
            raise ModelError(f"byols: the checkpoint has no transformer block in stage {stage + 1}")
        inner = state[f"layers.{stage}.2.layers.0.0.fn.to_q.net.2.weight"].shape[0]
        hidden = state[f"layers.{stage}.2.layers.0.1.fn.net.0.weight"].shape[0]
        embed_dims.append(emb_dim)
        depths.append(depth)
        heads.append(int(inner) // DIM_HEAD)
        mlp_mults.append(int(hidden) // emb_dim)
    return tuple(embed_dims), tuple(depths), tuple(heads), tuple(mlp_mults)


# --- the spectrogram (torchaudio.transforms.MelSpectrogram defaults) --------


def _hz_to_mel(hz):
    return 2595.0 * math.log10(1.0 + hz / 700.0)


def mel_filterbank():
    """``torchaudio.functional.melscale_fbanks`` (HTK, no normalisation), shape (513, 64)."""
    all_freqs = torch.linspace(0, SAMPLE_RATE // 2, N_FFT // 2 + 1)
    m_pts = torch.linspace(_hz_to_mel(F_MIN), _hz_to_mel(F_MAX), N_MELS + 2)
    f_pts = 700.0 * (10 ** (m_pts / 2595.0) - 1.0)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)
    down_slopes = (-1.0 * slopes[:, :-2]) / f_diff[:-1]
    up_slopes = slopes[:, 2:] / f_diff[1:]
    return torch.clamp(torch.min(down_slopes, up_slopes), min=0.0)


def log_mel_spectrogram(audio, filterbank, window):
    """``log(MelSpectrogram(audio) + eps)`` as serab-byols computes it.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n, n_samples)], n_samples > 512
    filterbank : torch.Tensor [shape=(513, 64)]
    window : torch.Tensor [shape=(400,)]
        ``torch.hann_window(400)``.

    Returns
    -------
    lms : torch.Tensor [shape=(n, 64, 1 + n_samples // 160)]
    """
    spec = torch.stft(
        audio,
        n_fft=N_FFT,
        hop_length=HOP_LENGTH,
        win_length=WIN_LENGTH,
        window=window,
        center=True,
        pad_mode="reflect",
        normalized=False,
        onesided=True,
        return_complex=True,
    )
    power = spec.abs().pow(2.0)
    mel = torch.matmul(power.transpose(-1, -2), filterbank).transpose(-1, -2)
    return (mel + torch.finfo(torch.float).eps).log()


class ByolsEmbedding(nn.Module):
    """Hybrid BYOL-S: log-mel front end and CvT encoder, with the HEAR attributes.

    Parameters
    ----------
    encoder : CvT
    random_init : bool
        True if the weights are random (tests only).

    Attributes
    ----------
    sample_rate : int
        16000 Hz.
    scene_embedding_size, timestamp_embedding_size : int
        2048.
    sound_batch_size : int
        Sounds (or 1-s timestamp frames) per forward pass; bounds memory.
    random_init : bool
    """

    sample_rate = SAMPLE_RATE
    embedding_size = EMBEDDING_SIZE
    scene_embedding_size = EMBEDDING_SIZE
    timestamp_embedding_size = EMBEDDING_SIZE

    def __init__(self, encoder, random_init=False):
        super().__init__()
        self.encoder = encoder
        self.register_buffer("filterbank", mel_filterbank(), persistent=False)
        self.register_buffer("window", torch.hann_window(WIN_LENGTH), persistent=False)
        self.sound_batch_size = SOUND_BATCH_SIZE
        self.random_init = bool(random_init)

    def log_mel(self, audio):
        """Log-mel spectrograms (n, 64, n_frames) of sounds zero-padded to at least 1024 samples."""
        if audio.shape[-1] < MIN_SAMPLES:
            audio = F.pad(audio, (0, MIN_SAMPLES - audio.shape[-1]))
        return log_mel_spectrogram(audio, self.filterbank, self.window)

    def forward(self, lms):
        """Embeddings of standardised log-mel spectrograms (n, 64, n_frames) -> (n, 2048)."""
        return self.encoder(lms.unsqueeze(1))


def _standardise(lms, mean, std):
    return (lms - mean) / torch.clamp(std, min=STD_FLOOR)


def load_model(model_file_path: str = "", random_init: bool = False) -> ByolsEmbedding:
    """Build the Hybrid BYOL-S/CvT encoder and load its checkpoint.

    Parameters
    ----------
    model_file_path : str
        The serab-byols checkpoint (a CvT state dict); empty to look for
        it in torch's hub cache under its published name.
    random_init : bool
        Tests only: if no weights path is given, build the network randomly
        initialised (seeded) instead. ``GEAR_RANDOM_INIT=1`` does the same.

    Returns
    -------
    model : ByolsEmbedding
        In eval mode, on the CPU.

    Raises
    ------
    ModelError
        If the checkpoint is not on this machine (the message names the
        file, its URL and where to put it) or is not a CvT with 2048-dim
        embeddings.
    """
    if not model_file_path and _torch_utils.random_init_requested(random_init):
        _torch_utils.warn_random_init("byols")
        with _torch_utils.seeded(0):
            model = ByolsEmbedding(CvT(), random_init=True)
        return model.eval()
    what = f"the Hybrid BYOL-S checkpoint {CHECKPOINT_URL} (serab-byols is not on the package registry)"
    where = "give its path as `weights:` of model 'byols' in config.yaml"
    try:
        path = Path(model_file_path or remote.fetch_weights(__name__))
    except FetchError as error:
        raise _torch_utils.hub_weights_error("byols", what, where, error) from None
    if not path.is_file():
        raise _torch_utils.hub_weights_error("byols", what, where, f"{path} does not exist")
    state = _torch_utils.load_state_dict_file(path, "byols")
    embed_dims, depths, heads, mlp_mults = _architecture_from_state(state)
    encoder = CvT(embed_dims, depths, heads, mlp_mults)
    try:
        encoder.load_state_dict(state)
    except RuntimeError as error:
        raise ModelError(f"byols: {path}: not a serab-byols CvT checkpoint: {error}") from error
    encoder.eval()  # before any forward pass: batch norm must not update its statistics
    with torch.no_grad():
        size = encoder(torch.zeros(1, 1, N_MELS, 96)).shape[-1]
    if size != EMBEDDING_SIZE:
        raise ModelError(f"byols: {path}: embeddings of {size} dimensions, not {EMBEDDING_SIZE}")
    logger.info("byols: loaded %s (widths %s, depths %s, MLP ratios %s)", path, embed_dims, depths, mlp_mults)
    return ByolsEmbedding(encoder).eval()


def get_scene_embeddings(audio, model):
    """Embedding of each whole sound's standardised log-mel spectrogram.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono audio at 16 kHz in [-1, 1].
    model : ByolsEmbedding

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, 2048), dtype=float32]
    """
    audio = _torch_utils.check_audio(audio, model, ByolsEmbedding)
    outputs = []
    model.eval()
    with torch.no_grad():
        for start, stop in _torch_utils.chunk_ranges(audio.shape[0], model.sound_batch_size):
            lms = model.log_mel(audio[start:stop])
            flat = lms.flatten(start_dim=1)
            lms = _standardise(lms, flat.mean(dim=1)[:, None, None], flat.std(dim=1)[:, None, None])
            outputs.append(model(lms))
    if not outputs:
        return torch.zeros(0, EMBEDDING_SIZE)
    return torch.cat(outputs)


def get_timestamp_embeddings(audio, model):
    """Embeddings of 1-s frames centred every 50 ms.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples)]
        Mono audio at 16 kHz in [-1, 1].
    model : ByolsEmbedding

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, 1 + n_samples // 800, 2048), dtype=float32]
    timestamps : torch.Tensor [shape=(n_sounds, 1 + n_samples // 800), dtype=float32]
        Frame centres in milliseconds: 0, 50, 100, ...
    """
    audio = _torch_utils.check_audio(audio, model, ByolsEmbedding)
    n_sounds, n_samples = audio.shape
    size, hop = TIMESTAMP_FRAME_SAMPLES, TIMESTAMP_HOP_SAMPLES
    n_frames = 1 + n_samples // hop
    windows = F.pad(audio, (size // 2, size - size // 2)).unfold(1, size, hop)[:, :n_frames]
    total = n_sounds * n_frames
    chunks = _torch_utils.chunk_ranges(total, model.sound_batch_size)

    device = audio.device

    def log_mels(first, last):
        flat = torch.arange(first, last, device=device)
        sound = torch.div(flat, n_frames, rounding_mode="floor")
        return sound, model.log_mel(windows[sound, flat % n_frames])

    # First pass: mean and (unbiased) standard deviation of each sound's frames.
    sums = torch.zeros(n_sounds, dtype=torch.float64, device=device)
    squares = torch.zeros(n_sounds, dtype=torch.float64, device=device)
    count = None
    with torch.no_grad():
        for first, last in chunks:
            sound, lms = log_mels(first, last)
            values = lms.flatten(start_dim=1).double()
            count = values.shape[1]
            sums.index_add_(0, sound, values.sum(dim=1))
            squares.index_add_(0, sound, (values**2).sum(dim=1))
        out = torch.empty(total, EMBEDDING_SIZE, device=device)
        if total:
            n_values = count * n_frames
            mean = sums / n_values
            std = ((squares - n_values * mean**2).clamp(min=0) / max(n_values - 1, 1)).sqrt()
            model.eval()
            for first, last in chunks:
                sound, lms = log_mels(first, last)
                lms = _standardise(lms, mean[sound].float()[:, None, None], std[sound].float()[:, None, None])
                out[first:last] = model(lms)
    timestamps = torch.arange(n_frames, dtype=torch.float64) * (hop * 1000.0 / SAMPLE_RATE)
    return out.view(n_sounds, n_frames, EMBEDDING_SIZE), timestamps.float().expand(n_sounds, -1)
