"""reduce.fit_sample (pipeline/fit_sample.py) and select_k.minibatch_above."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from stylecluster.config import ReduceParams, SelectKParams
from stylecluster.errors import ConfigError
from stylecluster.pipeline import cluster, fit_sample, reduce
from stylecluster.pipeline.select_k import select_k
from tests.unit._shared import blob_embeddings, single_openmp_thread  # noqa: F401  (autouse: one OpenMP thread)

N = 600


@pytest.fixture(scope="module")
def image():
    X, ids, _ = blob_embeddings(N)
    return {"image": (X, ids)}


def test_sample_rows_are_seeded_sorted_and_distinct():
    a = fit_sample.sample_rows(1000, 100, 7)
    assert np.array_equal(a, fit_sample.sample_rows(1000, 100, 7))
    assert np.all(np.diff(a) > 0) and len(a) == 100
    assert not np.array_equal(a, fit_sample.sample_rows(1000, 100, 8))


def test_fit_then_transform_keeps_row_order_and_transforms_every_other_row():
    X = np.arange(30, dtype=np.float32).reshape(10, 3)
    rows = np.array([1, 4, 7])
    seen = []

    def fit(Xs):
        assert np.array_equal(Xs, X[rows])
        return Xs[:, :1] * 0 - 1, lambda B: (seen.append(len(B)), B[:, :1])[1]

    out = fit_sample.fit_then_transform(X, rows, fit, batch=3)
    assert out.shape == (10, 1)
    assert np.all(out[rows] == -1)
    rest = np.setdiff1d(np.arange(10), rows)
    assert np.array_equal(out[rest, 0], X[rest, 0]) and seen == [3, 3, 1]


N_SMALL = 120  # PCA and none still draw a UMAP map: fewer points keep the unit tier fast


@pytest.fixture
def small(image):
    X, ids = image["image"]
    return {"image": (X[:N_SMALL], ids.iloc[:N_SMALL].reset_index(drop=True))}


@pytest.mark.parametrize("method", ["pca", "none"])
def test_fit_sample_null_or_not_smaller_is_todays_output(small, method):
    base = ReduceParams(modality="image", method=method, n_components=5)
    today = reduce.reduce_embeddings(small, base, 0)
    assert today.summary.fit_sample is None  # base: fit_sample null
    for fs in (N_SMALL, N_SMALL + 50):  # a sample of every post is no sample
        other = reduce.reduce_embeddings(small, dataclasses.replace(base, fit_sample=fs), 0)
        assert np.array_equal(today.features, other.features)
        assert np.array_equal(today.map2d, other.map2d)
        assert other.summary.fit_sample is None
        assert other.summary.to_json() == today.summary.to_json()


def test_fit_sample_is_range_checked():
    with pytest.raises(ConfigError, match=r"reduce.*fit_sample"):
        ReduceParams(fit_sample=10)
    with pytest.raises(ConfigError, match=r"select_k.*minibatch_above"):
        SelectKParams(minibatch_above=1)


def test_algorithm_for_switches_kmeans_only_above_the_threshold():
    assert cluster.algorithm_for("kmeans", 100, 50) == "minibatch_kmeans"
    assert cluster.algorithm_for("kmeans", 50, 50) == "kmeans"
    assert cluster.algorithm_for("kmeans", 10**6, None) == "kmeans"
    assert cluster.algorithm_for("agglomerative", 100, 50) == "agglomerative"


def test_select_k_runs_minibatch_above_the_threshold_and_records_it(image, monkeypatch):
    X, ids = image["image"]
    used = []
    real = cluster.CLUSTERERS["minibatch_kmeans"]
    monkeypatch.setitem(cluster.CLUSTERERS, "minibatch_kmeans",
                        lambda *a, **kw: (used.append(len(a[0])), real(*a, **kw))[1])
    p = SelectKParams(k_min=2, k_max=8, minibatch_above=500, stability_pairs=2)
    r = select_k(X, ids, p, random_state=0, fit_sample=200)
    assert used and used[0] == N, "the select_k fits ran MiniBatchKMeans on every post"
    s = r.summary
    assert (s["algorithm"], s["algorithm_asked"], s["minibatch_above"]) == (
        "minibatch_kmeans", "kmeans", 500)
    assert s["fit_sample"] == 200 and s["exact"] is True
    below = select_k(X, ids, dataclasses.replace(p, minibatch_above=N), random_state=0)
    assert below.summary["algorithm"] == "kmeans" and "algorithm_asked" not in below.summary
