"""Human timbre dissimilarity data: 21 listening studies gathered by timbremetrics.

The sounds and the ratings live in the timbremetrics repository
(github.com/tiianhk/timbremetrics, at :data:`TIMBREMETRICS_COMMIT`), under
``timbremetrics/sounds/<dataset>/*.aiff`` (mono, 16-bit, 44.1 kHz, 0.09 to
4.39 s) and ``timbremetrics/true_dissim/<dataset>_dissimilarity_matrix.txt``:
334 sounds and 2,614 rated pairs in all. The repository states no licence,
so GEAR never ships them: they are downloaded on the user's machine into
GEAR's cache. This module reads a local copy laid out as the repository
is, and embeds its sounds; the scores are :mod:`gear.analysis.alignment`.

The studies: Grey 1977 and 1978, Iverson 1993 (onsets, remainders, whole
tones), McAdams 1995, Lakatos 2000 (harmonic, percussive, combined),
Barthet 2010, Patil 2012, Zacharakis 2014 (English and Greek listeners),
Siedenburg 2016, Saitis 2020, Vahidi 2020.
"""

import json
from pathlib import Path
from urllib.parse import quote

import numpy as np

from gear.errors import DataError

__all__ = [
    "TIMBREMETRICS_COMMIT",
    "TIMBRE_DATASETS",
    "TimbreDataset",
    "timbre_remotes",
    "fetch_timbre_data",
    "read_timbre_dataset",
    "embed_timbre_sounds",
    "ANCHOR_COLUMNS",
    "timbre_anchor_scores",
]

#: Columns of a model's per-anchor alignment table (:func:`timbre_anchor_scores`).
ANCHOR_COLUMNS = ["dataset", "sound", "distance", "mae", "pairs", "ndcg", "spearman", "kendall", "triplet"]

#: The timbremetrics commit whose data GEAR reads (2025-03-26).
TIMBREMETRICS_COMMIT = "c611b3a6a41872e5037a9e14099d15a70407c124"

#: The 21 datasets, in timbremetrics' order (sorted names).
TIMBRE_DATASETS = (
    "Barthet2010",
    "Grey1977",
    "Grey1978",
    "Iverson1993_Onset",
    "Iverson1993_Remainder",
    "Iverson1993_Whole",
    "Lakatos2000_Comb",
    "Lakatos2000_Harm",
    "Lakatos2000_Perc",
    "McAdams1995",
    "Patil2012_A3",
    "Patil2012_DX4",
    "Patil2012_GD4",
    "Saitis2020_e2set1_general",
    "Siedenburg2016_e2set1",
    "Siedenburg2016_e2set2",
    "Siedenburg2016_e2set3",
    "Siedenburg2016_e3",
    "Vahidi2020",
    "Zacharakis2014_english",
    "Zacharakis2014_greek",
)


#: Where each file is on the web; ``{path}`` is relative to the repository.
TIMBREMETRICS_URL = "https://raw.githubusercontent.com/tiianhk/timbremetrics/{commit}/{path}"

#: The SHA-256 of every file fetched (made by tests/data/make_timbre_manifest.py).
_MANIFEST = Path(__file__).with_name("timbremetrics.json")


def timbre_remotes():
    """Every file of the 21 datasets, as remote files pinned by their SHA-256.

    Returns
    -------
    remotes : dict {str: gear.fetch.RemoteFile}
        Keyed by the path in the repository (``timbremetrics/sounds/...``,
        ``timbremetrics/true_dissim/...``): 334 sounds and 21 matrices.
    """
    from gear.fetch import RemoteFile

    manifest = json.loads(_MANIFEST.read_text())
    # Some names hold "#" (G#4): quoted in the URL, decoded again in the cache (gear.fetch).
    return {
        path: RemoteFile(TIMBREMETRICS_URL.format(commit=manifest["commit"], path=quote(path)), sha256, name=path)
        for path, sha256 in manifest["files"].items()
    }


def fetch_timbre_data(*, mode=None, lock=None):
    """Download (once) and verify the timbremetrics data; the folder to read it from.

    Parameters
    ----------
    mode, lock
        As for :func:`gear.fetch.fetch`.

    Returns
    -------
    root : Path
        A folder laid out as the repository: pass it to
        :func:`read_timbre_dataset`.

    Raises
    ------
    gear.errors.FetchError
        One line naming the first file that could not be had, and why
        (offline, fetching off, a digest mismatch).
    """
    from gear.fetch import fetch

    paths = {path: fetch(remote, mode=mode, lock=lock) for path, remote in timbre_remotes().items()}
    path, local = next(iter(paths.items()))
    # The cache keeps a URL's path: the repository's layout is below the commit.
    return Path(str(local)[: -len(path)])


class TimbreDataset:
    """The sounds of one listening study and their rated dissimilarities.

    Attributes
    ----------
    name : str
    files : list of str
        Sound file names, in timbremetrics' (sorted) order: row ``i`` of
        ``dissimilarity`` is ``files[i]``.
    sounds : list of np.ndarray [shape=(n_samples_i,)], float32
        Mono audio, each at its own length.
    sample_rate : int
    dissimilarity : np.ndarray [shape=(n_sounds, n_sounds)], float64
        Mean listener ratings; only the part above the diagonal is used.
    """

    def __init__(self, name, files, sounds, sample_rate, dissimilarity):
        self.name = name
        self.files = files
        self.sounds = sounds
        self.sample_rate = sample_rate
        self.dissimilarity = dissimilarity


def read_timbre_dataset(root, name):
    """Read one dataset from a copy of the timbremetrics repository.

    Parameters
    ----------
    root : str or Path
        The folder holding ``timbremetrics/sounds`` and
        ``timbremetrics/true_dissim``.
    name : str
        One of :data:`TIMBRE_DATASETS`.

    Returns
    -------
    dataset : TimbreDataset

    Raises
    ------
    DataError
        One line naming the dataset and the file: a missing folder or
        matrix, an unreadable sound, sounds of different sample rates or
        more than one channel, or a matrix whose size is not the number of
        sounds.
    """
    import soundfile

    base = Path(root) / "timbremetrics"
    sound_dir = base / "sounds" / name
    matrix_path = base / "true_dissim" / f"{name}_dissimilarity_matrix.txt"
    if not sound_dir.is_dir():
        raise DataError(f"timbre dataset {name}: no sound folder {sound_dir}")
    files = sorted(path.name for path in sound_dir.iterdir() if path.name.endswith(".aiff"))
    sounds, rates = [], set()
    for file in files:
        try:
            audio, rate = soundfile.read(sound_dir / file, dtype="float32")
        except (OSError, RuntimeError, soundfile.LibsndfileError) as error:
            raise DataError(f"timbre dataset {name}: cannot read {sound_dir / file} ({error})") from error
        if audio.ndim != 1:
            raise DataError(f"timbre dataset {name}: {sound_dir / file} has {audio.shape[1]} channels, not 1")
        sounds.append(audio)
        rates.add(rate)
    if len(rates) > 1:
        raise DataError(f"timbre dataset {name}: sounds at several sample rates {sorted(rates)} in {sound_dir}")
    try:
        dissimilarity = np.loadtxt(matrix_path, dtype=np.float64, ndmin=2)
    except (OSError, ValueError) as error:
        raise DataError(f"timbre dataset {name}: cannot read {matrix_path} ({error})") from error
    if dissimilarity.shape != (len(files), len(files)):
        raise DataError(
            f"timbre dataset {name}: {matrix_path} is {dissimilarity.shape[0]} x {dissimilarity.shape[1]} "
            f"for {len(files)} sounds in {sound_dir}"
        )
    return TimbreDataset(name, files, sounds, rates.pop() if rates else 0, dissimilarity)


def embed_timbre_sounds(module, model, dataset, model_id=""):
    """Scene embeddings of a dataset's sounds, each alone at its own length.

    As timbremetrics does by default: no padding to a common length; each
    sound is resampled from its rate to the model's.

    Parameters
    ----------
    module, model
        A HEAR module and its model (:func:`gear.hear.load_model`).
    dataset : TimbreDataset
    model_id : str
        Name in error messages.

    Returns
    -------
    embeddings : np.ndarray [shape=(n_sounds, dim)], float32

    Raises
    ------
    gear.errors.ModelError
        If the model fails, returns NaN, or returns a size other than its
        declared ``scene_embedding_size`` (as a size that depends on the
        sound's length does); the message names the dataset and the file.
    """
    from gear import hear
    from gear.errors import ModelError

    embeddings = []
    for file, sound in zip(dataset.files, dataset.sounds, strict=True):
        audio = hear.resample_audio(sound[np.newaxis], dataset.sample_rate, model.sample_rate)
        try:
            # embed_scenes checks the declared size, so a size that depends on the length fails here.
            embeddings.append(hear.embed_scenes(module, model, audio, batch_size=1, model_id=model_id,
                                                sound_ids=[file], progress=False))  # fmt: skip
        except ModelError as error:
            raise ModelError(f"timbre dataset {dataset.name}, {file}: {error}") from error
    return np.concatenate(embeddings, axis=0)


def timbre_anchor_scores(module, model, root, *, datasets=None, distances=None, model_id=""):
    """A model's alignment with the ratings, per anchor sound, study and distance.

    Parameters
    ----------
    module, model
        A HEAR module and its model (:func:`gear.hear.load_model`).
    root : str or Path
        The data, laid out as the timbremetrics repository.
    datasets : sequence of str or None
        Default: :data:`TIMBRE_DATASETS`.
    distances : sequence of str or None
        Default: :data:`gear.analysis.alignment.DISTANCES`.
    model_id : str
        Name in error messages.

    Returns
    -------
    anchors : pd.DataFrame
        Columns :data:`ANCHOR_COLUMNS`, one row per (study, sound, distance).

    Raises
    ------
    gear.errors.DataError, gear.errors.ModelError
        As :func:`read_timbre_dataset` and :func:`embed_timbre_sounds`.
    """
    import pandas as pd

    from gear.analysis.alignment import DISTANCES, anchor_scores, distance_matrix

    rows = []
    for name in datasets or TIMBRE_DATASETS:
        dataset = read_timbre_dataset(root, name)
        embeddings = embed_timbre_sounds(module, model, dataset, model_id=model_id)
        for distance in distances or DISTANCES:
            scores = anchor_scores(distance_matrix(embeddings, distance), dataset.dissimilarity)
            rows.append(scores.assign(dataset=name, sound=dataset.files, distance=distance))
    return pd.concat(rows, ignore_index=True)[ANCHOR_COLUMNS]
