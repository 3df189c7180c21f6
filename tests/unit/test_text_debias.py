"""text_debias: length regression, all-but-the-top, dispatch and messages (synthetic vectors)."""

import numpy as np
import pytest

from stylecluster.errors import ConfigError, DataError
from stylecluster.pipeline.text_debias import (debias_text, length_features, regress_out_length,
                                               remove_top_pcs, top_directions)
from tests.unit._shared import single_openmp_thread  # noqa: F401  (autouse: one OpenMP thread)

N, D, N_STYLES = 600, 32, 4


@pytest.fixture(scope="module")
def length_biased():
    """Vectors = style centre + strong length direction * standardised log length + noise.

    The length direction carries far more variance than the styles, as in e5-small on captions, so
    k-means on the raw vectors cuts length bands; the length is independent of the style.
    """
    rng = np.random.default_rng(7)
    styles = rng.integers(0, N_STYLES, N)
    n_chars = np.round(np.exp(rng.uniform(np.log(10), np.log(900), N)))
    z = np.log1p(n_chars)
    z = (z - z.mean()) / z.std()
    centres = rng.normal(size=(N_STYLES, D))
    direction = rng.normal(size=D)
    direction /= np.linalg.norm(direction)
    X = 1.0 * centres[styles] + 12.0 * z[:, None] * direction + 0.1 * rng.normal(size=(N, D))
    return X + 3.0, n_chars, styles, direction  # + 3: a common offset, as sentence vectors have


def _corr(a, b):
    return float(np.corrcoef(a, b)[0, 1])


def test_length_regression_removes_the_length_correlation(length_biased):
    X, n_chars, _, direction = length_biased
    y = np.log1p(n_chars)
    assert abs(_corr(X @ direction, y)) > 0.95, "fixture: the length direction dominates"
    before = X.copy()
    R = regress_out_length(X, n_chars)
    np.testing.assert_array_equal(X, before)  # input untouched
    assert R.shape == X.shape and R.dtype == np.float64
    assert abs(_corr(R @ direction, y)) < 1e-6, _corr(R @ direction, y)
    col_corr = np.array([_corr(R[:, j], y) for j in range(D)])
    assert np.abs(col_corr).max() < 1e-6, np.abs(col_corr).max()
    np.testing.assert_allclose(R.mean(axis=0), 0, atol=1e-9)
    # the residuals are orthogonal to the whole design (log length and its square)
    np.testing.assert_allclose(length_features(n_chars).T @ R, 0, atol=1e-6)


def test_top_pcs_centre_and_remove_the_top_directions(length_biased):
    X, n_chars, _, direction = length_biased
    for n_pcs in (1, 3):
        R = remove_top_pcs(X, n_pcs)
        np.testing.assert_allclose(R.mean(axis=0), 0, atol=1e-9)
        # the directions removed, computed independently by an SVD of the centred input
        _, _, vt = np.linalg.svd(X - X.mean(axis=0), full_matrices=False)
        np.testing.assert_allclose(R @ vt[:n_pcs].T, 0, atol=1e-8)
        # what is left is untouched: the projection on the other components is unchanged
        np.testing.assert_allclose(R @ vt[n_pcs:].T, (X - X.mean(axis=0)) @ vt[n_pcs:].T,
                                   atol=1e-8)
    top = top_directions(X, 3)
    np.testing.assert_allclose(top @ top.T, np.eye(3), atol=1e-10)
    # the dominant length direction is the first component, so one removed PC takes it out
    assert abs(top[0] @ direction) > 0.99, top[0] @ direction
    y = np.log1p(n_chars)
    assert abs(_corr(remove_top_pcs(X, 1) @ direction, y)) < 0.2


def test_debiasing_lets_kmeans_find_the_styles_not_the_lengths(length_biased):
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    X, n_chars, styles, _ = length_biased

    def ari(M):
        labels = KMeans(N_STYLES, n_init=4, random_state=0).fit_predict(M)
        return adjusted_rand_score(styles, labels)

    raw = ari(X)
    assert raw < 0.3, f"fixture: raw vectors should cluster by length (ARI {raw:.3f})"
    for method in ("top_pcs", "length", "both"):
        score = ari(debias_text(X, n_chars, method, n_pcs=1))
        assert score > 0.9, f"{method}: ARI {score:.3f} (raw {raw:.3f})"


def test_none_returns_the_vectors_and_both_is_length_then_top_pcs(length_biased):
    X, n_chars, _, _ = length_biased
    np.testing.assert_array_equal(debias_text(X, None, "none", 3), X)
    np.testing.assert_allclose(debias_text(X, n_chars, "both", 2),
                               remove_top_pcs(regress_out_length(X, n_chars), 2), atol=1e-12)
    np.testing.assert_array_equal(debias_text(X, None, "top_pcs", 2), remove_top_pcs(X, 2))


def test_equal_lengths_only_centre():
    X = np.random.default_rng(0).normal(size=(20, 5)) + 1.0
    np.testing.assert_allclose(regress_out_length(X, np.full(20, 30)), X - X.mean(axis=0),
                               atol=1e-12)


def test_messages_name_the_param():
    X = np.random.default_rng(0).normal(size=(10, 6))
    with pytest.raises(ConfigError, match=r"\[reduce\.text_debias\] = 'pcs' is not known"):
        debias_text(X, None, "pcs", 3)
    with pytest.raises(DataError, match=r"reduce.text_debias = 'length' needs the text lengths"):
        debias_text(X, None, "length", 3)
    with pytest.raises(DataError, match=r"reduce.text_top_pcs = 6 needs more than 6 .* got 10 "
                                        r"posts of 6-d"):
        remove_top_pcs(X, 6)
    lengths = np.full(10, 40.0)
    lengths[2] = np.nan
    with pytest.raises(DataError, match=r"10 length\(s\) for 10 vectors \(1 missing\)"):
        regress_out_length(X, lengths)
    with pytest.raises(DataError, match=r"got 9 length\(s\) for 10 vectors"):
        regress_out_length(X, np.full(9, 40.0))
