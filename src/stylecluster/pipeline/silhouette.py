"""Fast exact and sampled silhouette for many labelings of the same points.

Scoring k = 2..200 with sklearn's `silhouette_score` recomputes all n^2 distances for every k. Here
the points are walked in row blocks: each block's distances to all points, `D[:, block]` (n x b,
float64, sized to stay in the CPU cache), are computed once and then reused for every labeling. For
a labeling with k clusters, the per-cluster distance sums of the block's points (k x b) come from one
compiled pass over the cached block (numba, labelings in parallel), O(n * b) whatever k is. The full
n x n matrix is never held, so memory is bounded by the block whatever n is.

a(i), b(i) and s(i) follow sklearn's definitions exactly (singletons and 0/0 score 0); tests check
equality with `sklearn.metrics.silhouette_score` to 1e-6. The metric is Euclidean: the features are
already reduced.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np

from stylecluster.errors import DataError

log = logging.getLogger(__name__)

DEFAULT_BLOCK_MB = 256.0
CACHE_BYTES = 4e6  # one distance block sized to stay in L2/L3


@dataclass(frozen=True)
class SilhouetteResult:
    """Mean silhouette per labeling.

    Attributes:
        scores: (n_labelings,) mean silhouette (mean over repeats when sampled); NaN where a
            labeling (or its sample) has fewer than 2 or more than n-1 distinct labels.
        stds: (n_labelings,) standard deviation over the sampled repeats; zeros when exact.
        exact: True when every point took part (no sampling).
        n: Number of points scored per repeat.
        n_repeats: Number of samples averaged (1 when exact).
    """

    scores: np.ndarray
    stds: np.ndarray
    exact: bool
    n: int
    n_repeats: int


def _check_inputs(X: np.ndarray, labelings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X)
    if X.ndim != 2:
        raise DataError(f"silhouette: features must be a 2-D (n, d) matrix, got shape {X.shape}")
    labelings = np.asarray(labelings)
    if labelings.ndim == 1:
        labelings = labelings[None, :]
    if labelings.ndim != 2 or labelings.shape[1] != X.shape[0]:
        raise DataError(
            f"silhouette: labelings must have shape (n_labelings, {X.shape[0]}) to match the "
            f"features, got {labelings.shape}"
        )
    if not np.isfinite(X).all():
        bad = np.flatnonzero(~np.isfinite(X).all(axis=1))
        raise DataError(
            f"silhouette: {len(bad)} feature row(s) contain NaN or inf, e.g. rows "
            f"{bad[:5].tolist()}; drop or repair them before scoring."
        )
    return X, labelings


def _encode(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels -> (codes 0..k-1, cluster sizes)."""
    _, codes, counts = np.unique(labels, return_inverse=True, return_counts=True)
    return codes.ravel(), counts


def _block_rows(n: int, block_mb: float) -> int:
    """Rows per block: small enough that one n x b float64 block stays in the CPU cache (~4 MB),
    so every labeling's pass over it reads cache, not RAM; never above `block_mb` MB."""
    cache_rows = max(8, int(CACHE_BYTES // (8 * max(n, 1))))
    return max(1, min(n, cache_rows, int(block_mb * 1e6 // (8 * max(n, 1)))))


@numba.njit(parallel=True, cache=True)
def _score_block(dist, start, codes, counts, out):  # pragma: no cover - compiled
    """s(i) of the block's points for every labeling.

    dist: (n, b) distances from every point to block points start..start+b-1.
    codes: (L, n) cluster codes 0..k-1; counts: (L, kmax) cluster sizes, 0-padded.
    out: (L, n) written at columns start..start+b-1.
    """
    n_lab, n = codes.shape
    b = dist.shape[1]
    kmax = counts.shape[1]
    for j in numba.prange(n_lab):
        sums = np.zeros((kmax, b))  # (k, b): each block point's distance sum per cluster
        for i in range(n):
            c = codes[j, i]
            for col in range(b):
                sums[c, col] += dist[i, col]
        for col in range(b):
            p = start + col
            own = codes[j, p]
            if counts[j, own] <= 1:
                out[j, p] = 0.0  # singleton: sklearn scores 0
                continue
            intra = sums[own, col] / (counts[j, own] - 1)
            inter = np.inf
            for c in range(kmax):
                if c != own and counts[j, c] > 0:
                    v = sums[c, col] / counts[j, c]
                    if v < inter:
                        inter = v
            m = max(intra, inter)
            out[j, p] = 0.0 if m == 0.0 else (inter - intra) / m


def silhouette_samples_many(
    X: np.ndarray,
    labelings: np.ndarray | Sequence[np.ndarray],
    *,
    block_mb: float = DEFAULT_BLOCK_MB,
) -> np.ndarray:
    """Per-point silhouette s(i) of every labeling, sharing one pass over the distances.

    Args:
        X: (n, d) features; Euclidean distances between rows.
        labelings: (n_labelings, n) cluster labels (any integer values), or a single (n,) labeling.
        block_mb: Upper memory bound of one distance block (n x b float64), in MB.

    Returns:
        (n_labelings, n) float64 silhouette values. A labeling with fewer than 2 or more than n-1
        distinct labels (where the silhouette is undefined) gets a row of NaN.

    Raises:
        DataError: If shapes disagree or a feature row is not finite.
    """
    X, labelings = _check_inputs(X, labelings)
    X = X.astype(np.float64, copy=False)
    n = X.shape[0]
    out = np.full((labelings.shape[0], n), np.nan)
    valid, codes_list, counts_list = [], [], []
    for j, labels in enumerate(labelings):
        codes, counts = _encode(labels)
        if not 2 <= len(counts) <= n - 1:
            log.warning("silhouette: labeling %d has %d distinct labels for %d points; "
                        "silhouette is undefined (needs 2..n-1), scored NaN", j, len(counts), n)
            continue
        valid.append(j)
        codes_list.append(codes)
        counts_list.append(counts)
    if not valid:
        return out
    codes = np.stack(codes_list).astype(np.int64)  # (L, n)
    counts = np.zeros((len(valid), max(len(c) for c in counts_list)), dtype=np.int64)
    for j, c in enumerate(counts_list):
        counts[j, : len(c)] = c
    scores = np.zeros((len(valid), n))
    sq = np.einsum("ij,ij->i", X, X)  # (n,)
    step = _block_rows(n, block_mb)
    for start in range(0, n, step):
        stop = min(n, start + step)
        rows = np.arange(start, stop)
        # Distances from every point to the block's points, (n, b), as sklearn computes them.
        dist = sq[:, None] - 2.0 * (X @ X[start:stop].T) + sq[None, start:stop]
        np.maximum(dist, 0.0, out=dist)
        np.sqrt(dist, out=dist)
        dist[rows, rows - start] = 0.0
        _score_block(np.ascontiguousarray(dist), start, codes, counts, scores)
    out[valid] = scores
    return out


def silhouette_scores(
    X: np.ndarray,
    labelings: np.ndarray | Sequence[np.ndarray],
    *,
    exact_max_n: int | None = None,
    sample_size: int = 5000,
    n_repeats: int = 5,
    random_state: int = 0,
    block_mb: float = DEFAULT_BLOCK_MB,
) -> SilhouetteResult:
    """Mean silhouette of many labelings: exact up to `exact_max_n` points, sampled above.

    Sampled mode draws `n_repeats` random subsets of `sample_size` points (the same subsets for
    every labeling, so differences between labelings are not blurred by sampling noise) and scores
    each subset as sklearn's `silhouette_score(..., sample_size=...)` does: distances and clusters
    within the subset only.

    Args:
        X: (n, d) features.
        labelings: (n_labelings, n) labels, or one (n,) labeling.
        exact_max_n: Largest n scored exactly; None means always exact.
        sample_size: Points per sample in sampled mode.
        n_repeats: Samples averaged in sampled mode.
        random_state: Seed of the sample draws.
        block_mb: Memory bound of one distance block, in MB.

    Returns:
        A SilhouetteResult with (n_labelings,) scores and stds.

    Raises:
        DataError: If shapes disagree or a feature row is not finite.
    """
    X, labelings = _check_inputs(X, labelings)
    n = X.shape[0]
    if exact_max_n is None or n <= exact_max_n or sample_size >= n:
        scores = silhouette_samples_many(X, labelings, block_mb=block_mb).mean(axis=1)
        return SilhouetteResult(scores, np.zeros_like(scores), True, n, 1)
    rng = np.random.default_rng(random_state)
    runs = []
    for _ in range(n_repeats):
        idx = rng.choice(n, size=sample_size, replace=False)
        samples = silhouette_samples_many(X[idx], labelings[:, idx], block_mb=block_mb)
        runs.append(samples.mean(axis=1))
    runs_arr = np.vstack(runs)  # (n_repeats, n_labelings)
    std = runs_arr.std(axis=0, ddof=1) if n_repeats > 1 else np.zeros(runs_arr.shape[1])
    return SilhouetteResult(runs_arr.mean(axis=0), std, False, sample_size, n_repeats)


def silhouette_score(
    X: np.ndarray,
    labels: np.ndarray,
    *,
    exact_max_n: int | None = None,
    sample_size: int = 5000,
    n_repeats: int = 5,
    random_state: int = 0,
    block_mb: float = DEFAULT_BLOCK_MB,
) -> float:
    """Mean silhouette of one (n,) labeling; arguments as in `silhouette_scores`."""
    result = silhouette_scores(X, np.asarray(labels)[None, :], exact_max_n=exact_max_n,
                               sample_size=sample_size, n_repeats=n_repeats,
                               random_state=random_state, block_mb=block_mb)
    return float(result.scores[0])
