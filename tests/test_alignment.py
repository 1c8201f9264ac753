"""Human timbre alignment: timbremetrics' scores, against independent references and its leaderboard."""

import itertools
import math
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import kendalltau, spearmanr

from gear.analysis.alignment import (
    anchor_scores,
    distance_matrix,
    normalized_dissimilarity,
    pooled_scores,
    tied_with_best,
)
from gear.errors import DataError, ModelError
from gear.timbre import TIMBRE_DATASETS, embed_timbre_sounds, read_timbre_dataset

def random_dissimilarity(rng, n):
    upper = np.triu(rng.uniform(1, 9, (n, n)), 1)
    return upper + upper.T


def test_identical_matrices_score_perfectly(rng):
    human = random_dissimilarity(rng, 12)
    scores = anchor_scores(3.0 * human, human)  # a scale changes nothing after normalisation
    np.testing.assert_allclose(scores[["spearman", "kendall", "ndcg", "triplet"]], 1.0)
    np.testing.assert_allclose(scores["mae"], 0.0, atol=1e-12)


def test_reversed_orders_score_minus_one(rng):
    human = random_dissimilarity(rng, 12)
    scores = anchor_scores(10.0 - human, human)
    np.testing.assert_allclose(scores[["spearman", "kendall"]], -1.0)
    np.testing.assert_allclose(scores["triplet"], 0.0)
    assert (scores["ndcg"] < 1).all()


def brute_force_scores(model, human, margin=0.1):
    """Every score from its definition, loop by loop (no code of gear.analysis.alignment)."""
    n = len(human)

    def normalized(matrix):
        upper = np.array([[matrix[i, j] if j > i else 0.0 for j in range(n)] for i in range(n)])
        return (upper - upper.min()) / (upper.max() - upper.min())

    m, h = normalized(model), normalized(human)
    rows = []
    for anchor in range(n):
        others = [j for j in range(n) if j != anchor]
        m_row = [m[min(anchor, j), max(anchor, j)] for j in others]
        h_row = [h[min(anchor, j), max(anchor, j)] for j in others]
        # NDCG without ties: gains 1 - h in the model's order of similarity, over the ideal order.
        order = sorted(range(n - 1), key=lambda k: m_row[k])
        dcg = sum((1 - h_row[k]) / math.log2(rank + 2) for rank, k in enumerate(order))
        ideal = sum(g / math.log2(rank + 2) for rank, g in enumerate(sorted((1 - x for x in h_row), reverse=True)))
        agree = valid = 0
        for a, b in itertools.combinations(range(n - 1), 2):
            if abs(h_row[a] - h_row[b]) > margin:
                valid += 1
                agree += (m_row[a] - m_row[b]) * (h_row[a] - h_row[b]) > 0
        rows.append({"mae": sum(abs(x - y) for x, y in zip(m_row, h_row, strict=True)) / 2,
                     "ndcg": dcg / ideal, "spearman": spearmanr(m_row, h_row).statistic,
                     "kendall": kendalltau(m_row, h_row).statistic, "triplet": agree / valid if valid else 0.0})  # fmt: skip
    return pd.DataFrame(rows)


def test_scores_match_their_definitions_on_a_random_example(rng):
    embeddings = rng.normal(size=(9, 5))
    model = np.array([[np.linalg.norm(a - b) for b in embeddings] for a in embeddings])
    human = random_dissimilarity(rng, 9)
    ours = anchor_scores(distance_matrix(embeddings, "l2"), human)
    expected = brute_force_scores(model, human)
    pd.testing.assert_frame_equal(ours[expected.columns], expected, check_exact=False, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours["pairs"], 4.0)


def test_hand_computed_example():
    # Three sounds: listeners say 0-1 is closest, 0-2 farthest; the model agrees
    # on 0-1 but swaps 0-2 and 1-2. Normalised by the largest value (9 and 4).
    human = np.array([[0, 3, 9], [0, 0, 6], [0, 0, 0]], dtype=float)
    model = np.array([[0, 1, 2], [0, 0, 4], [0, 0, 0]], dtype=float)
    scores = anchor_scores(model, human)
    # Anchor 0: others (1, 2): human (1/3, 1), model (1/4, 1/2): same order.
    # Anchor 1: others (0, 2): human (1/3, 2/3), model (1/4, 1): same order.
    # Anchor 2: others (0, 1): human (1, 2/3), model (1/2, 1): reversed.
    np.testing.assert_allclose(scores["spearman"], [1, 1, -1])
    np.testing.assert_allclose(scores["triplet"], [1, 1, 0])  # every gap > 0.1
    # mae: |1/4 - 1/3| + |1/2 - 1| + |1 - 2/3| over the 3 pairs.
    assert scores["mae"].sum() / scores["pairs"].sum() == pytest.approx((1 / 12 + 1 / 2 + 1 / 3) / 3)


def test_normalization_and_bad_matrices():
    np.testing.assert_allclose(normalized_dissimilarity([[5, 2, 4], [2, 5, 1], [4, 1, 5]]),
                               [[0, 0.5, 1], [0, 0, 0.25], [0, 0, 0]])  # fmt: skip
    with pytest.raises(DataError, match="square"):
        normalized_dissimilarity(np.ones((3, 4)))
    with pytest.raises(DataError, match="zero above its diagonal"):
        normalized_dissimilarity(np.zeros((4, 4)))
    with pytest.raises(DataError, match="4 embeddings for a dissimilarity matrix of 5 sounds"):
        anchor_scores(np.ones((4, 4)), np.ones((5, 5)))


def test_interval_width_matches_the_standard_error_of_a_mean(rng):
    # Per-anchor Spearman values of known spread: the pooled score is their mean,
    # whose 95 % interval is about +-1.96 sd / sqrt(n).
    n = 400
    anchors = pd.DataFrame({"mae": 0.1, "pairs": 1.0, "ndcg": 0.9, "spearman": rng.normal(0.4, 0.2, n),
                            "kendall": 0.3, "triplet": 0.7})  # fmt: skip
    table = pooled_scores({"a": anchors}, n_resamples=2000, seed=1)
    row = table[(table["dataset"] == "pooled") & (table["metric"] == "spearman")].iloc[0]
    expected = 2 * 1.96 * anchors["spearman"].std() / math.sqrt(n)
    assert row["high"] - row["low"] == pytest.approx(expected, rel=0.1)
    assert row["value"] == pytest.approx(anchors["spearman"].mean())
    constant = table[(table["dataset"] == "pooled") & (table["metric"] == "triplet")].iloc[0]
    assert constant["low"] == constant["high"] == pytest.approx(0.7)


def test_pooling_weighs_datasets_by_their_sounds():
    a = pd.DataFrame({"mae": [1.0] * 2, "pairs": [0.5] * 2, "ndcg": 1.0, "spearman": 1.0, "kendall": 1.0, "triplet": 1.0})
    b = pd.DataFrame({"mae": [0.0] * 6, "pairs": [2.5] * 6, "ndcg": 0.0, "spearman": 0.0, "kendall": np.nan, "triplet": 0.0})
    table = pooled_scores({"a": a, "b": b}, n_resamples=0).set_index(["dataset", "metric"])["value"]
    assert table["pooled", "spearman"] == pytest.approx(2 / 8)
    assert table["pooled", "kendall"] == pytest.approx(2 / 8)  # NaN anchors count in the denominator
    assert table["pooled", "mae"] == pytest.approx(2 / (1 + 15))  # per pair


def published_time_avg_mfcc(audio, sample_rate=44100):
    """timbremetrics' examples/evaluate_mfcc.py: torchaudio's MFCC (n_mfcc 40, n_fft 2048, hop 512,
    128 HTK mels, power 2, dB with top_db 80, orthonormal DCT-II), averaged over time; written
    out with torch.stft because torchaudio does not load here."""
    x = torch.tensor(audio, dtype=torch.float32)[None]
    spec = torch.stft(x, 2048, 512, 2048, torch.hann_window(2048), center=True, pad_mode="reflect",
                      return_complex=True).abs().pow(2)  # fmt: skip
    freqs = torch.linspace(0, sample_rate // 2, 1025)
    mel_points = torch.linspace(0.0, 2595.0 * math.log10(1.0 + (sample_rate // 2) / 700.0), 130)
    hz_points = 700.0 * (10 ** (mel_points / 2595.0) - 1.0)
    slopes = hz_points[None, :] - freqs[:, None]
    gaps = hz_points[1:] - hz_points[:-1]
    bank = torch.clamp(torch.min(-slopes[:, :-2] / gaps[:-1], slopes[:, 2:] / gaps[1:]), min=0)
    mel = (spec.transpose(-1, -2) @ bank).transpose(-1, -2)
    db = 10.0 * torch.log10(torch.clamp(mel, min=1e-10))
    db = torch.max(db, db.amax() - 80.0)
    n, k = torch.arange(128.0), torch.arange(40.0)[:, None]
    dct = torch.cos(math.pi / 128 * (n + 0.5) * k)
    dct[0] *= 1 / math.sqrt(2)
    dct *= math.sqrt(2 / 128)
    return (db.transpose(-1, -2) @ dct.T).transpose(-1, -2).mean(dim=-1).flatten().numpy()


#: timbremetrics' examples/results.yaml, row time_avg_mfcc, as printed (three decimals).
PUBLISHED_TIME_AVG_MFCC = {
    "l2": {"mae": 0.189, "ndcg": 0.892, "spearman": 0.383, "kendall": 0.29, "triplet": 0.691},
    "cosine": {"mae": 0.326, "ndcg": 0.895, "spearman": 0.395, "kendall": 0.303, "triplet": 0.696},
}


def test_published_leaderboard_reproduced_for_time_averaged_mfcc(timbre_mirror):
    datasets = [read_timbre_dataset(timbre_mirror, name) for name in TIMBRE_DATASETS]
    assert sum(len(d.files) for d in datasets) == 334
    assert sum(len(d.files) * (len(d.files) - 1) // 2 for d in datasets) == 2614
    for distance, published in PUBLISHED_TIME_AVG_MFCC.items():
        anchors = {}
        for dataset in datasets:
            assert dataset.sample_rate == 44100
            embeddings = np.stack([published_time_avg_mfcc(sound) for sound in dataset.sounds])
            anchors[dataset.name] = anchor_scores(distance_matrix(embeddings, distance), dataset.dissimilarity)
        table = pooled_scores(anchors, n_resamples=0)
        pooled = table[table["dataset"] == "pooled"].set_index("metric")["value"]
        assert {metric: round(float(pooled[metric]), 3) for metric in published} == published, distance


def copy_dataset(mirror, tmp_path, name="Grey1977"):
    import shutil

    for part in (f"sounds/{name}", f"true_dissim/{name}_dissimilarity_matrix.txt"):
        source, target = mirror / "timbremetrics" / part, tmp_path / "timbremetrics" / part
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if source.is_dir() else shutil.copy)(source, target)
    return tmp_path


def test_bad_files_name_the_dataset_and_the_file(timbre_mirror, tmp_path):
    root = copy_dataset(timbre_mirror, tmp_path)
    matrix = root / "timbremetrics" / "true_dissim" / "Grey1977_dissimilarity_matrix.txt"
    first_sound = sorted((root / "timbremetrics" / "sounds" / "Grey1977").iterdir())[0]
    first_sound.unlink()
    with pytest.raises(DataError, match=r"Grey1977: .*Grey1977_dissimilarity_matrix.txt is 16 x 16 for 15 sounds"):
        read_timbre_dataset(root, "Grey1977")
    first_sound.write_bytes(b"FORM not really an AIFF file")
    with pytest.raises(DataError, match=rf"Grey1977: cannot read .*{first_sound.name}"):
        read_timbre_dataset(root, "Grey1977")
    matrix.unlink()
    with pytest.raises(DataError, match="Vahidi2020: no sound folder"):
        read_timbre_dataset(root, "Vahidi2020")


def test_a_model_whose_size_depends_on_the_length_is_refused(timbre_mirror):
    dataset = read_timbre_dataset(timbre_mirror, "Grey1977")

    class LengthModel(torch.nn.Module):
        sample_rate, scene_embedding_size, timestamp_embedding_size = 16000, 3, 0

    def get_scene_embeddings(audio, model):
        return torch.zeros(audio.shape[0], 1 + audio.shape[1] // 8000)

    module = types.SimpleNamespace(__name__="length_model", get_scene_embeddings=get_scene_embeddings)
    with pytest.raises(ModelError, match=r"timbre dataset Grey1977, \S+\.aiff: .*scene_embedding_size"):
        embed_timbre_sounds(module, LengthModel(), dataset)


def test_each_sound_is_embedded_alone_at_the_models_rate(timbre_mirror):
    dataset = read_timbre_dataset(timbre_mirror, "Grey1977")

    class LengthModel(torch.nn.Module):
        sample_rate, scene_embedding_size, timestamp_embedding_size = 16000, 2, 0

    def get_scene_embeddings(audio, model):
        return torch.tensor([[audio.shape[0], audio.shape[1]]], dtype=torch.float32)

    module = types.SimpleNamespace(__name__="length_model", get_scene_embeddings=get_scene_embeddings)
    embeddings = embed_timbre_sounds(module, LengthModel(), dataset)
    expected = [round(len(sound) * 16000 / 44100) for sound in dataset.sounds]
    np.testing.assert_array_equal(embeddings[:, 0], 1)
    np.testing.assert_allclose(embeddings[:, 1], expected, atol=1)
    assert Path(dataset.files[0]).suffix == ".aiff"


def anchors_like(spearman, mae):
    n = len(spearman)
    return pd.DataFrame({"mae": mae, "pairs": np.full(n, 3.0), "ndcg": 0.9, "spearman": spearman, "kendall": 0.3,
                         "triplet": 0.7})  # fmt: skip


def test_ties_with_the_best_on_constructed_models(rng):
    base = {name: rng.normal(0.5, 0.2, n) for name, n in (("a", 40), ("b", 60))}
    mae = {name: rng.uniform(0.5, 1.0, len(values)) for name, values in base.items()}

    def model(shift, mae_shift=0.0, shuffle=False):
        order = {name: rng.permutation(len(values)) if shuffle else slice(None) for name, values in base.items()}
        return {name: anchors_like(values[order[name]] + shift, mae[name] + mae_shift)
                for name, values in base.items()}  # fmt: skip

    # "close": the same pooled score from other anchors (each dataset's values shuffled).
    models = {"best": model(0.0), "same": model(0.0), "close": model(-1e-9, shuffle=True), "worse": model(-0.3),
              "worse_mae": model(0.0, mae_shift=0.5)}  # fmt: skip
    tied = tied_with_best(models, "spearman", n_resamples=500)
    assert tied == {"best": True, "same": True, "close": True, "worse": False, "worse_mae": True}
    # For mae lower is better: the model with larger errors is the one not tied.
    assert tied_with_best(models, "mae", n_resamples=500)["worse_mae"] is False
    # A model scored on other datasets is left out, not compared.
    assert "partial" not in tied_with_best({**models, "partial": {"a": models["best"]["a"]}}, "spearman")
