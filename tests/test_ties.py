"""``tied_with_best`` on constructed cases whose answer is known."""

import numpy as np
import pytest

from gear.metrics import tied_with_best

N_SOUNDS = 300


@pytest.fixture
def truth(rng):
    # Two factors; the scores below are about "f1" (column 1).
    return rng.uniform(0.0, 1.0, (N_SOUNDS, 2))


def probe_details(truth, prediction_f1, *, probe="knn", rows=None):
    """A model's ``details`` as compute_metrics gives them, for one probe."""
    rows = np.arange(len(truth)) if rows is None else np.asarray(rows)
    prediction = np.column_stack([truth[rows, 0], prediction_f1])
    return {
        "parameters": ["alpha", "f1"],
        "truth": truth,
        f"{probe}_rows": rows,
        f"{probe}_prediction": prediction,
    }


def r2(truth, prediction):
    return 1 - np.sum((truth - prediction) ** 2) / np.sum((truth - truth.mean()) ** 2)


@pytest.mark.parametrize("probe, metric", [("knn", "knn_r2"), ("mlp", "mlp_r2")])
def test_clearly_separated_models_are_not_tied(truth, rng, probe, metric):
    f1 = truth[:, 1]
    good = f1 + rng.normal(0, 0.05, N_SOUNDS)  # R^2 about 0.97
    # The case: R^2 about -0.6 against about 0.1 was framed as tied.
    poor = f1.mean() + rng.normal(0, 0.22, N_SOUNDS)
    fair = 0.3 * (f1 - f1.mean()) + f1.mean() + rng.normal(0, 0.15, N_SOUNDS)
    assert r2(f1, good) > 0.9 and -1.0 < r2(f1, poor) < -0.3 and 0 < r2(f1, fair) < 0.35
    details = {name: probe_details(truth, values, probe=probe) for name, values in
               [("poor", poor), ("good", good), ("fair", fair)]}  # fmt: skip
    assert tied_with_best(details, metric, "f1") == {"poor": False, "good": True, "fair": False}
    # Without the best model, fair is the best and poor still not tied with it.
    del details["good"]
    assert tied_with_best(details, metric, "f1") == {"poor": False, "fair": True}


def test_identical_models_are_tied_and_the_best_is_tied_with_itself(truth, rng):
    prediction = truth[:, 1] + rng.normal(0, 0.2, N_SOUNDS)
    details = {name: probe_details(truth, prediction.copy()) for name in ("first", "second")}
    assert tied_with_best(details, "knn_r2", "f1") == {"first": True, "second": True}
    assert tied_with_best({"alone": details["first"]}, "knn_r2", "f1") == {"alone": True}


def test_a_small_difference_on_every_item_separates_models_whose_intervals_overlap(rng):
    # Monotonicity per sweep: B is A minus 0.02 on every sweep. Their
    # intervals overlap almost entirely (sweeps vary by 0.2), but the paired
    # difference is -0.02 on every resample: not tied. A and C differ by
    # +-0.02 alternately (mean difference 0): tied.
    a = rng.uniform(0.4, 0.8, 60)
    offsets = np.where(np.arange(60) % 2 == 0, 0.02, -0.02)
    models = {"a": a, "b": a - 0.02, "c": a + offsets}
    details = {name: {"parameters": ["f1"], "monotonicity__f1": values} for name, values in models.items()}
    assert tied_with_best(details, "monotonicity", "f1") == {"a": True, "b": False, "c": True}


@pytest.mark.parametrize("effect, tied", [(0.5, False), (0.05, True)])
def test_ties_follow_a_paired_t_test_on_clear_cases(rng, effect, tied):
    # Sweep scores whose paired differences are N(effect, 0.5), n = 100: the
    # difference's standard error is 0.05, so 0.5 is 10 standard errors (a t
    # test's p < 1e-15) and 0.05 is 1 (p = 0.3).
    from scipy.stats import ttest_rel

    base = rng.uniform(0.0, 1.0, 100)
    noise = rng.normal(0, 0.5, 100)
    noise -= noise.mean()  # the observed mean difference is exactly the effect
    best, other = base + effect + noise, base
    assert (ttest_rel(best, other).pvalue > 0.05) == tied
    details = {"best": {"parameters": ["f1"], "monotonicity__f1": best},
               "other": {"parameters": ["f1"], "monotonicity__f1": other}}  # fmt: skip
    assert tied_with_best(details, "monotonicity", "f1") == {"best": True, "other": tied}


def test_models_without_the_score_or_on_other_items_are_left_out(truth, rng):
    f1 = truth[:, 1]
    # Those left out come first: they must not end the search.
    details = {
        "no_f1": {"parameters": ["alpha"], "truth": truth[:, :1], "knn_rows": np.arange(N_SOUNDS),
                  "knn_prediction": truth[:, :1]},
        "no_knn": {"parameters": ["alpha", "f1"], "truth": truth},
        "other_sounds": probe_details(truth, f1[:200] + rng.normal(0, 0.5, 200), rows=np.arange(200)),
        "best": probe_details(truth, f1 + rng.normal(0, 0.05, N_SOUNDS)),
        "worse": probe_details(truth, f1 + rng.normal(0, 0.5, N_SOUNDS)),
    }  # fmt: skip
    assert tied_with_best(details, "knn_r2", "f1") == {"best": True, "worse": False}
    sweeps = {
        "no_sweeps": {"parameters": ["f1"]},
        "best": {"parameters": ["f1"], "monotonicity__f1": np.full(30, 0.9) + rng.normal(0, 0.01, 30)},
        "worse": {"parameters": ["f1"], "monotonicity__f1": np.full(30, 0.2) + rng.normal(0, 0.01, 30)},
    }
    assert tied_with_best(sweeps, "monotonicity", "f1") == {"best": True, "worse": False}


def test_no_finite_score_means_no_ties(truth):
    constant = truth.copy()
    constant[:, 1] = 0.5  # R^2 of a constant truth is undefined
    details = {name: probe_details(constant, constant[:, 1]) for name in ("x", "y")}
    assert tied_with_best(details, "knn_r2", "f1") == {}
    assert tied_with_best(details, "knn_r2", "absent") == {}


def test_level_sets_how_far_apart_a_tie_may_be(rng):
    # Paired differences with mean 1.5 standard errors: tied at 95 %
    # (|z| < 1.96), not tied at 80 % (|z| > 1.28).
    base = rng.uniform(0.0, 1.0, 400)
    noise = rng.normal(0, 1.0, 400)
    noise = (noise - noise.mean()) / noise.std()
    best = base + 1.5 * noise.std() / np.sqrt(400) + noise
    details = {"best": {"parameters": ["f1"], "monotonicity__f1": best},
               "other": {"parameters": ["f1"], "monotonicity__f1": base}}  # fmt: skip
    assert tied_with_best(details, "monotonicity", "f1", level=0.95)["other"] is True
    assert tied_with_best(details, "monotonicity", "f1", level=0.80)["other"] is False


def two_probes(truth_f1, noise_a, noise_b, rng):
    truth = np.column_stack([np.zeros_like(truth_f1), truth_f1])
    return {"a": probe_details(truth, truth_f1 + noise_a * rng.standard_normal(len(truth_f1))),
            "b": probe_details(truth, truth_f1 + noise_b * rng.standard_normal(len(truth_f1)))}  # fmt: skip


def test_equally_good_models_with_their_own_errors_are_tied(rng):
    # Same noise level, independent draws: R^2 differ by chance only.
    ties = [
        tied_with_best(two_probes(rng.uniform(0, 1, 200), 0.2, 0.2, rng), "knn_r2", "f1") for _ in range(10)
    ]
    assert sum(tie == {"a": True, "b": True} for tie in ties) >= 8  # about 95 % each


def test_ties_of_r2_do_not_depend_on_the_factors_unit_or_sign_of_skew(rng):
    # A skewed factor (most sounds low, a long tail), in any unit: the more
    # accurate model is the best and the much less accurate one is not tied.
    f1 = -rng.exponential(1.0, 300)
    details = two_probes(f1, 0.1, 0.6, rng)
    assert tied_with_best(details, "knn_r2", "f1") == {"a": True, "b": False}
    for unit in (1e-3, 1e3):
        scaled = {name: {**found, "truth": found["truth"] * unit, "knn_prediction": found["knn_prediction"] * unit}
                  for name, found in details.items()}  # fmt: skip
        assert tied_with_best(scaled, "knn_r2", "f1") == {"a": True, "b": False}


def test_few_resamples_cannot_separate_anything(truth, rng):
    # The p-value is at least 2 / (n_resamples + 1): with 10 resamples
    # 0.18, so nothing is separated at 95 %; with 1,000 the same models are.
    f1 = truth[:, 1]
    details = {"good": probe_details(truth, f1 + rng.normal(0, 0.05, N_SOUNDS)),
               "poor": probe_details(truth, f1 + rng.normal(0, 0.5, N_SOUNDS))}  # fmt: skip
    assert tied_with_best(details, "knn_r2", "f1", n_resamples=10) == {"good": True, "poor": True}
    assert tied_with_best(details, "knn_r2", "f1", n_resamples=1000) == {"good": True, "poor": False}


def test_the_seed_reaches_the_bootstrap():
    # A pair at the edge (paired differences of mean 1.96 standard errors):
    # whether it is tied depends on the resamples, so on the seed, and each
    # seed gives the same answer every time.
    rng = np.random.default_rng(7)
    noise = rng.normal(0, 1.0, 200)
    noise = (noise - noise.mean()) / noise.std()
    base = rng.uniform(0, 1, 200)
    details = {"best": {"parameters": ["f1"], "monotonicity__f1": base + 1.96 / np.sqrt(200) + noise},
               "other": {"parameters": ["f1"], "monotonicity__f1": base}}  # fmt: skip
    answers = [tied_with_best(details, "monotonicity", "f1", seed=seed)["other"] for seed in range(12)]
    assert answers == [
        tied_with_best(details, "monotonicity", "f1", seed=seed)["other"] for seed in range(12)
    ]
    assert True in answers and False in answers
