"""Clustering stability under resampling: the k choice when the silhouette curve has no clear peak.

Ben-Hur, Elisseeff & Guyon (2002) and Lange, Roth, Braun & Buhmann (2004): a k that matches real
structure is found again when the data are resampled, a k that cuts a continuum is not. For each k:
draw `n_pairs` pairs of random subsamples (each `subsample` of the posts, at most `max_n`; seeded),
cluster both halves of a pair with the same algorithm, and compare the two labelings on the posts
the subsamples share with the adjusted Rand index (chance-corrected, so any k starts at 0). The
stability at k is the mean ARI over the pairs (its standard deviation is recorded too).

Comparing on the shared posts needs no `predict`, so every registered clusterer (agglomerative
too) is scored the same way. Stability is high at k=2 on almost any data (two halves of a cloud are
found again), so the rule reads the most prominent *interior* peak of the stability curve, as the
silhouette rule does, never its edge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from stylecluster.pipeline import cluster


@dataclass(frozen=True)
class Stability:
    """The stability curve: mean and std of the pairwise ARI per k, and how it was sampled."""

    ks: np.ndarray
    means: np.ndarray
    stds: np.ndarray
    n_pairs: int
    n_sub: int


def stability_curve(X: np.ndarray, ks: Sequence[int], algorithm: str, *, n_init: int,
                    random_state: int, n_pairs: int = 10, subsample: float = 0.8,
                    max_n: int = 5000, options: Mapping[str, Any] | None = None) -> Stability:
    """Mean pairwise ARI of clusterings of random subsamples, at every k in `ks`.

    Args:
        X: (n, d) features.
        ks: Numbers of clusters.
        algorithm: A key of cluster.CLUSTERERS.
        n_init: Restarts of the k-means variants.
        random_state: Seeds the subsamples and the clusterers.
        n_pairs: Subsample pairs per k.
        subsample: Share of the posts in each subsample (two draws share about its square).
        max_n: At most this many posts per subsample (large sets are sampled, not clustered whole).
        options: The algorithm's own settings (cluster.clusterer_options; gmm: covariance_type).

    Returns:
        A Stability with one mean and std per k.
    """
    from sklearn.metrics import adjusted_rand_score

    X = np.asarray(X)
    n = X.shape[0]
    m = max(min(int(round(subsample * n)), max_n), min(n, 3))
    rng = np.random.default_rng(random_state)
    scores = np.zeros((n_pairs, len(ks)))
    for p in range(n_pairs):
        a = np.sort(rng.choice(n, m, replace=False))
        b = np.sort(rng.choice(n, m, replace=False))
        shared, in_a, in_b = np.intersect1d(a, b, assume_unique=True, return_indices=True)
        la = cluster.labelings(X[a], ks, algorithm, n_init=n_init, random_state=random_state + p,
                               options=options)
        lb = cluster.labelings(X[b], ks, algorithm, n_init=n_init,
                               random_state=random_state + n_pairs + p, options=options)
        for j in range(len(ks)):
            scores[p, j] = adjusted_rand_score(la[j, in_a], lb[j, in_b]) if len(shared) else 0.0
    return Stability(np.asarray(ks), scores.mean(axis=0), scores.std(axis=0), n_pairs, m)


def stability_peak(curve: Stability) -> tuple[int, float] | None:
    """(k, prominence) of the most prominent interior peak of the stability curve; None if the
    curve has no interior local maximum. Ties go to the smaller k."""
    from scipy.signal import find_peaks

    peaks, props = find_peaks(curve.means, prominence=(0.0, None))
    if not len(peaks):
        return None
    best = int(np.argmax(props["prominences"]))
    return int(curve.ks[peaks[best]]), float(props["prominences"][best])
