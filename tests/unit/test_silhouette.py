"""The fast silhouette engine: exact equality with sklearn, sampling, invariances, bad input."""

import logging

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import silhouette_score as sk_silhouette

from stylecluster.errors import DataError
from stylecluster.pipeline.silhouette import silhouette_samples_many, silhouette_score, silhouette_scores
from tests.unit._shared import single_openmp_thread  # noqa: F401  (autouse: one OpenMP thread)


@pytest.fixture(scope="module")
def random_case():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 7))
    ks = (2, 3, 5, 17, 90, 400)
    labelings = np.array([rng.integers(0, k, 600) for k in ks])
    labelings[3, :4] = 1000 + np.arange(4)  # four singleton clusters (s = 0 by definition)
    return X, labelings


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_exact_equals_sklearn_for_several_k(random_case, dtype):
    X, labelings = random_case
    X = X.astype(dtype)
    # A tiny block bound forces many row blocks, so the blocking itself is under test.
    ours = silhouette_scores(X, labelings, block_mb=0.5)
    ref = np.array([sk_silhouette(X, labels) for labels in labelings])
    assert ours.exact and ours.n == 600
    diff = np.abs(ours.scores - ref).max()
    ks = [len(set(x)) for x in labelings]
    assert diff < 1e-6, f"max |engine - sklearn| = {diff:.2e} over k={ks}"


def test_single_labeling_helper_matches_sklearn():
    X, labels = make_blobs(300, centers=4, n_features=5, random_state=1)
    ours, ref = silhouette_score(X, labels), sk_silhouette(X, labels)
    assert abs(ours - ref) < 1e-9, (ours, ref)


def test_duplicate_points_score_like_sklearn():
    X = np.repeat(np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [5.0, 5.0]]), 3, axis=0)
    labels = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    assert abs(silhouette_score(X, labels) - sk_silhouette(X, labels)) < 1e-9


def test_sampled_mode_is_close_to_exact_and_seeded():
    X, _ = make_blobs(1500, centers=8, n_features=6, cluster_std=2.0, random_state=3)
    labelings = np.array([np.arange(1500) % k for k in (2, 4, 8)])
    labelings[2] = make_blobs(1500, centers=8, n_features=6, cluster_std=2.0, random_state=3)[1]
    exact = silhouette_scores(X, labelings)
    sampled = silhouette_scores(X, labelings, exact_max_n=1000, sample_size=500, n_repeats=5,
                                random_state=7)
    again = silhouette_scores(X, labelings, exact_max_n=1000, sample_size=500, n_repeats=5,
                              random_state=7)
    assert not sampled.exact and sampled.n == 500 and sampled.n_repeats == 5
    diff = np.abs(sampled.scores - exact.scores).max()
    assert diff < 0.03, f"sampled vs exact differ by {diff:.4f}"
    assert (sampled.stds > 0).all() and (sampled.stds < 0.05).all(), sampled.stds
    np.testing.assert_array_equal(sampled.scores, again.scores)


def test_invariant_to_row_order_and_label_permutation(random_case):
    X, labelings = random_case
    base = silhouette_scores(X, labelings).scores
    perm = np.random.default_rng(5).permutation(len(X))
    shuffled = silhouette_scores(X[perm], labelings[:, perm]).scores
    relabelled = silhouette_scores(X, -7 * labelings + 3).scores
    np.testing.assert_allclose(shuffled, base, atol=1e-12)
    np.testing.assert_allclose(relabelled, base, atol=1e-12)
    # per-point values follow their rows
    per_point = silhouette_samples_many(X, labelings[:2])
    np.testing.assert_allclose(silhouette_samples_many(X[perm], labelings[:2, perm]),
                               per_point[:, perm], atol=1e-12)


def test_undefined_labelings_score_nan_with_warning(caplog):
    X = np.random.default_rng(0).normal(size=(20, 3))
    labelings = np.array([np.zeros(20, int), np.arange(20), np.arange(20) % 2])
    with caplog.at_level(logging.WARNING):
        scores = silhouette_scores(X, labelings).scores
    assert np.isnan(scores[0]) and np.isnan(scores[1]) and np.isfinite(scores[2]), scores
    assert "undefined" in caplog.text


def test_bad_input_messages():
    X = np.random.default_rng(0).normal(size=(10, 3))
    X[4, 1] = np.nan
    with pytest.raises(DataError, match=r"NaN or inf, e\.g\. rows \[4\]"):
        silhouette_scores(X, np.arange(10) % 2)
    with pytest.raises(DataError, match=r"must have shape \(n_labelings, 10\)"):
        silhouette_scores(np.zeros((10, 3)), np.zeros((2, 9), int))
