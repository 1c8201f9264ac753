"""Where the built-in models' weights live on the web, and how a wrapper gets them.

Light on purpose (no torch, no TensorFlow): the workflow reads it when it
parses, to know which models have files to fetch. Each entry is what
:func:`gear.fetch.fetch_all` takes: one :class:`~gear.fetch.RemoteFile`
or :class:`~gear.fetch.HubRepo` per file or repository. No publisher of
these weights states a SHA-256 or a commit that could be checked on the
machines GEAR was written on (no network), so none is pinned here: the
first download records them in ``gear.lock`` (:class:`gear.fetch.Lock`),
and every later download must match. A digest added here (``sha256=``,
or ``revision=`` a commit) is checked before the lock's.
"""

from gear.fetch import HubRepo, RemoteFile, fetch_all

__all__ = ["REMOTES", "remotes_of", "fetch_weights"]

OPENL3_URL = (
    "https://github.com/torchopenl3/torchopenl3-models/raw/master/torchopenl3_mel256_music_6144.pth.tar"
)
BYOLS_URL = (
    "https://github.com/GasserElbanna/serab-byols/raw/main/checkpoints/"
    "cvt_s1-d1-e64_s2-d1-e256_s3-d1-e512_BYOLAs64x96-osandbyolaloss6373-e100-bs256-lr0003-rs42.pth"
)
YAMNET_URL = "https://storage.googleapis.com/audioset/yamnet.h5"
WAV2VEC2_REPO = "facebook/wav2vec2-large-960h-lv60-self"
HUBERT_REPO = "facebook/hubert-large-ll60k"
HUBERT_XLARGE_REPO = "facebook/hubert-xlarge-ll60k"

#: Module name -> its remote files. GURA's two repositories become one
#: folder with a subfolder per repository, named as its weights: directory.
REMOTES = {
    "gear.models.openl3": (RemoteFile(OPENL3_URL),),
    "gear.models.byols": (RemoteFile(BYOLS_URL),),
    "gear.models.yamnet": (RemoteFile(YAMNET_URL),),
    "gear.models.wav2vec2": (HubRepo(WAV2VEC2_REPO),),
    "gear.models.hubert": (HubRepo(HUBERT_REPO),),
    "gear.models.gura": (HubRepo(HUBERT_XLARGE_REPO), HubRepo(WAV2VEC2_REPO)),
}


def remotes_of(module_name):
    """The remote files of a model module (empty for modules with none, or not built in).

    Returns
    -------
    remotes : tuple of RemoteFile or HubRepo
    """
    return REMOTES.get(module_name, ())


def fetch_weights(module_name, *, mode=None, lock=None) -> str:
    """The local path of a module's weights, fetched if the cache lacks them.

    Parameters
    ----------
    module_name : str
        A key of :data:`REMOTES`.
    mode, lock
        As :func:`gear.fetch.fetch`.

    Returns
    -------
    path : str
        A file, a hub snapshot folder, or (GURA) a folder of both.

    Raises
    ------
    gear.errors.FetchError
    """
    return str(fetch_all(REMOTES[module_name], mode=mode, lock=lock))
