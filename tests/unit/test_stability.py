"""Resampling stability: real structure is found again in subsamples, and it rescues the k choice
when the silhouette has no clear peak."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from stylecluster.config import SelectKParams
from stylecluster.pipeline.select_k import select_k
from stylecluster.pipeline.stability import stability_curve, stability_peak
from tests.unit.test_select_k import _ids


def nested(seed: int = 0) -> np.ndarray:
    """Two far-apart groups of three tight blobs each: the silhouette prefers k=2, stability k=6."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0], [3, 0], [1.5, 2.6], [30, 0], [33, 0], [31.5, 2.6]])
    return np.vstack([c + rng.normal(scale=0.45, size=(80, 2)) for c in centres])


def test_four_blobs_are_stable_at_four_and_less_so_beyond():
    X, _ = make_blobs(n_samples=400, centers=4, cluster_std=0.5, center_box=(-10, 10),
                      random_state=3)
    curve = stability_curve(X, list(range(2, 9)), "kmeans", n_init=1, random_state=0)
    by_k = dict(zip(curve.ks.tolist(), curve.means))
    assert by_k[4] > 0.95 and by_k[8] < 0.8, by_k
    assert stability_peak(curve)[0] == 4
    assert curve.n_pairs == 10 and curve.n_sub == 320


def test_stability_is_seeded_and_works_without_predict():
    X = nested()
    a = stability_curve(X, [2, 6], "agglomerative", n_init=1, random_state=5, n_pairs=3)
    b = stability_curve(X, [2, 6], "agglomerative", n_init=1, random_state=5, n_pairs=3)
    assert np.array_equal(a.means, b.means)
    assert a.means[1] > 0.9  # ward finds the six blobs again in every subsample


def test_a_curve_without_interior_peak_has_no_stability_peak():
    X, _ = make_blobs(n_samples=200, centers=2, cluster_std=0.3, random_state=0)
    curve = stability_curve(X, [2, 3], "kmeans", n_init=1, random_state=0, n_pairs=3)
    assert stability_peak(curve) is None  # two points: no interior maximum


@pytest.mark.parametrize("fallback, k, chosen_by", [("stability", 6, "stability peak"),
                                                    ("argmax", 2, "silhouette argmax")])
def test_no_clear_silhouette_peak_falls_back_as_configured(fallback, k, chosen_by):
    X = nested()
    # a prominence threshold no bump reaches: the silhouette has "no clear peak"
    params = SelectKParams(k_min=2, k_max=10, min_prominence=0.5, fallback=fallback)
    res = select_k(X, _ids(len(X)), params, random_state=0)
    s = res.summary
    assert (s["best_k"], s["chosen_by"], s["has_peak"]) == (k, chosen_by, False), s
    assert any("no interior peak" in w for w in s["warnings"])
    # the stability curve is computed (and written to silhouette.csv) only when it decides
    assert ("stability" in res.curve) == (fallback == "stability")
    assert (s["stability_pairs"] == 10) == (fallback == "stability")
