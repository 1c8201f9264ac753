"""Results do not depend on the number of threads, and runs are deterministic."""

import numpy as np
import pandas as pd
import pytest
import torch
from threadpoolctl import threadpool_limits

from gear import hear
from gear.datasets import make_dataset
from gear.manifold import isomap
from gear.regression import knn_regression, summarize


@pytest.fixture(scope="module")
def dataset():
    grid = {"min": 0.0, "max": 1.0, "num": 6}
    parameters = {"f1": {"min": 110, "max": 880, "num": 5, "scale": "log"}, "alpha": {**grid, "max": 2.0}, "r": grid}
    return make_dataset({"synthesizer": "harmonic", "parameters": parameters, "duration": 0.25})


def pipeline_with_threads(dataset, threads):
    """Embedding (base), Isomap and regression with a given thread count."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(threads):
            module = hear.load_hear_module("gear.models.base")
            model = hear.load_model(module)
            audio = hear.resample_audio(dataset.audio, dataset.sample_rate, model.sample_rate)
            embeddings = hear.embed_scenes(module, model, audio, batch_size=32, progress=False)
            coordinates = isomap(embeddings, n_neighbors=10).coordinates
            table = knn_regression(embeddings, dataset.params, dataset.description.parameters, n_neighbors=8)
    finally:
        torch.set_num_threads(previous)
    return embeddings, coordinates, table, summarize(table, dataset.description.parameters)


def test_results_do_not_depend_on_thread_count(dataset):
    one = pipeline_with_threads(dataset, 1)
    two = pipeline_with_threads(dataset, 2)
    np.testing.assert_array_equal(one[0], two[0])  # embeddings
    np.testing.assert_allclose(one[1], two[1], rtol=0, atol=1e-9)  # Isomap: BLAS summation order only
    pd.testing.assert_frame_equal(one[2], two[2], check_exact=True)  # per-sound regression table
    pd.testing.assert_frame_equal(one[3], two[3], check_exact=True)  # summary table


def test_same_run_twice_is_bit_identical(dataset):
    first, second = pipeline_with_threads(dataset, 2), pipeline_with_threads(dataset, 2)
    for a, b in zip(first[:2], second[:2], strict=True):
        np.testing.assert_array_equal(a, b)
    pd.testing.assert_frame_equal(first[3], second[3], check_exact=True)
