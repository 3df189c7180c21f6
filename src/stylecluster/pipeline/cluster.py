"""Clusterers (a registry keyed by `select_k.algorithm`) and the final labelled clustering.

Every k-based clusterer has one signature, `labelings(X, ks, n_init=, random_state=) ->
(len(ks), n)`, so select_k scores all ks with the same code that the cluster stage later uses for
the final fit: the final labels at k are exactly the labels whose silhouette was scored at k. Ward
builds one tree and cuts it at every k (cheap for all k); the k-means variants and `gmm` (a
seeded sklearn GaussianMixture, labels = its `predict`) fit once per k. A clusterer's own settings
beyond n_init and random_state (gmm: covariance_type) are named in CLUSTERER_OPTIONS, passed as
`options` and recorded in select_k.json, so the cluster stage refits with the same ones.

`hdbscan` (sklearn.cluster.HDBSCAN) is the density-based alternative: it finds the number of
clusters itself (select_k is skipped) and leaves posts in no dense region as noise, labelled
`UNASSIGNED` (-1) in labels.parquet and reported as "unassigned", never as a style.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from stylecluster.errors import ConfigError, DataError
from stylecluster.schemas import UNASSIGNED

log = logging.getLogger(__name__)

# Ward's tree needs n(n-1)/2 float64 distances: 20,000 points is 1.6 GB.
AGGLOMERATIVE_MAX_N = 20000
DENSITY_ALGORITHMS = ("hdbscan",)  # clusterers that choose their own number of clusters
MIN_DENSITY_CLUSTER = 5  # sklearn HDBSCAN's default min_cluster_size: the floor of a share


def resolve_min_cluster_size(value: int | float, n: int) -> int:
    """HDBSCAN's min_cluster_size for `n` posts: an int is a count; a float is a share of the
    posts, rounded up, at least MIN_DENSITY_CLUSTER (0.02 of 1,109 posts -> 23; of 100 -> 5).

    A share scales with the data: at a fixed count the clusters multiply as posts are added (on
    the bundled sample's UMAP features a count of 10 made 23 clusters of its 8 styles)."""
    if isinstance(value, float):
        return max(MIN_DENSITY_CLUSTER, math.ceil(value * n))
    return int(value)
# A full or tied covariance has d(d+1)/2 parameters per component: on raw 1280-d embeddings that is
# 820k per component, slow and ill-conditioned on a few thousand posts.
GMM_FULL_MAX_DIM = 64


def _kmeans(X: np.ndarray, ks: Sequence[int], *, n_init: int, random_state: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    return np.vstack([
        KMeans(n_clusters=k, n_init=n_init, random_state=random_state).fit_predict(X) for k in ks
    ])


def _minibatch_kmeans(X: np.ndarray, ks: Sequence[int], *, n_init: int,
                      random_state: int) -> np.ndarray:
    from sklearn.cluster import MiniBatchKMeans

    return np.vstack([
        MiniBatchKMeans(n_clusters=k, n_init=n_init, random_state=random_state,
                        batch_size=2048).fit_predict(X)
        for k in ks
    ])


def _agglomerative(X: np.ndarray, ks: Sequence[int], *, n_init: int,
                   random_state: int) -> np.ndarray:
    """Ward linkage once, cut at every k (n_init and random_state are unused: ward is exact)."""
    from scipy.cluster.hierarchy import cut_tree, linkage

    if X.shape[0] > AGGLOMERATIVE_MAX_N:
        raise ConfigError(
            f"params.yaml [select_k.algorithm] = 'agglomerative' on {X.shape[0]} posts needs a "
            f"{X.shape[0] ** 2 * 4 / 1e9:.1f} GB distance matrix (limit {AGGLOMERATIVE_MAX_N} "
            "posts). Use 'kmeans' or 'minibatch_kmeans' for data this large."
        )
    tree = linkage(X.astype(np.float64, copy=False), method="ward")
    return cut_tree(tree, n_clusters=list(ks)).T.astype(np.int64)  # (len(ks), n)


@dataclass(frozen=True)
class GmmFits:
    """Gaussian mixtures fitted at every k.

    Attributes:
        labels: (len(ks), n) labels, each post's most probable component (`predict`).
        bic: (len(ks),) Bayesian information criterion of each fit on X (lower is better).
    """

    labels: np.ndarray
    bic: np.ndarray


def gmm_fits(X: np.ndarray, ks: Sequence[int], *, n_init: int, random_state: int,
             covariance_type: str = "full") -> GmmFits:
    """Fit a seeded sklearn GaussianMixture at every k; keep its labels and its BIC.

    Each k is fitted on its own with the same seed (k-means initialisation, `n_init` restarts), so
    the fit at k is the same whether k is fitted alone (the cluster stage) or within a range
    (select_k). X is fitted in float64 whatever its dtype, for the same reason.

    Args:
        X: (n, d) features.
        ks: Numbers of components.
        n_init: Restarts; the best likelihood is kept.
        random_state: Seed.
        covariance_type: full | diag | tied | spherical (select_k.covariance_type).

    Returns:
        A GmmFits.

    Raises:
        ConfigError: A full or tied covariance on more than GMM_FULL_MAX_DIM dimensions.
    """
    from sklearn.mixture import GaussianMixture

    X = np.asarray(X, dtype=np.float64)
    if covariance_type in ("full", "tied") and X.shape[1] > GMM_FULL_MAX_DIM:
        raise ConfigError(
            f"params.yaml [select_k.covariance_type] = {covariance_type!r} with select_k.algorithm "
            f"gmm on {X.shape[1]}-d features fits {X.shape[1] * (X.shape[1] + 1) // 2} covariance "
            f"parameters per component (limit {GMM_FULL_MAX_DIM} dimensions: slow and "
            "ill-conditioned). Set select_k.covariance_type: diag (or spherical), or reduce the "
            f"features first (reduce.method: umap or pca, reduce.n_components <= "
            f"{GMM_FULL_MAX_DIM}).")
    labels, bic = [], []
    for k in ks:
        gmm = GaussianMixture(n_components=k, covariance_type=covariance_type, n_init=n_init,
                              random_state=random_state).fit(X)
        labels.append(gmm.predict(X))
        bic.append(gmm.bic(X))
    return GmmFits(np.vstack(labels).astype(np.int64), np.asarray(bic, dtype=np.float64))


def _gmm(X: np.ndarray, ks: Sequence[int], *, n_init: int, random_state: int,
         covariance_type: str = "full") -> np.ndarray:
    return gmm_fits(X, ks, n_init=n_init, random_state=random_state,
                    covariance_type=covariance_type).labels


Clusterer = Callable[..., np.ndarray]
CLUSTERERS: dict[str, Clusterer] = {
    "kmeans": _kmeans,
    "agglomerative": _agglomerative,
    "minibatch_kmeans": _minibatch_kmeans,
    "gmm": _gmm,
}
# Settings a clusterer takes beyond n_init and random_state: select_k keys of the same name, written
# to select_k.json so that the cluster stage refits with them.
CLUSTERER_OPTIONS: dict[str, tuple[str, ...]] = {"gmm": ("covariance_type",)}


def clusterer_options(algorithm: str, source: Any) -> dict[str, Any]:
    """The CLUSTERER_OPTIONS of `algorithm`, read from `source` (SelectKParams or SelectKRecord);
    empty for a clusterer that has none. One that `source` leaves None is left out (the
    clusterer's default, which is the param's default)."""
    values = {name: getattr(source, name, None) for name in CLUSTERER_OPTIONS.get(algorithm, ())}
    return {name: value for name, value in values.items() if value is not None}


def algorithm_for(algorithm: str, n: int, minibatch_above: int | None) -> str:
    """The clusterer that runs for `algorithm` on `n` posts: exact `kmeans` becomes the seeded
    `minibatch_kmeans` above `minibatch_above` posts (None: never); others are kept."""
    if algorithm == "kmeans" and minibatch_above is not None and n > minibatch_above:
        return "minibatch_kmeans"
    return algorithm


def labelings(X: np.ndarray, ks: Sequence[int], algorithm: str, *, n_init: int,
              random_state: int, options: Mapping[str, Any] | None = None) -> np.ndarray:
    """Cluster `X` at every k in `ks` with the registered `algorithm`.

    Args:
        X: (n, d) features.
        ks: Numbers of clusters.
        algorithm: A key of CLUSTERERS.
        n_init: Restarts of the k-means variants and gmm.
        random_state: Seed of the k-means variants and gmm.
        options: The algorithm's own settings (`clusterer_options`; gmm: covariance_type).

    Returns:
        (len(ks), n) integer labels.

    Raises:
        ConfigError: If `algorithm` is not registered.
    """
    if algorithm in DENSITY_ALGORITHMS:
        raise ConfigError(
            f"params.yaml [select_k.algorithm] = {algorithm!r} finds its own number of clusters; "
            "it has no labelling per k (use fit_density, or a k-based algorithm: "
            f"{sorted(CLUSTERERS)}).")
    if algorithm not in CLUSTERERS:
        raise ConfigError(
            f"params.yaml [select_k.algorithm] = {algorithm!r} is not a known clusterer; "
            f"choose one of {sorted(CLUSTERERS)}."
        )
    return CLUSTERERS[algorithm](np.asarray(X), list(ks), n_init=n_init, random_state=random_state,
                                 **(options or {}))


def check_features(features: np.ndarray, ids: pd.DataFrame, where: str) -> int:
    """Check a feature matrix before clustering; return its number of distinct rows.

    Raises:
        DataError: If it is not 2-D, is not row-aligned with `ids`, has NaN/inf rows (their post_ids
            are named) or all rows are identical.
    """
    if features.ndim != 2:
        raise DataError(f"{where}: features must be a 2-D (n, d) matrix, "
                        f"got shape {features.shape}")
    if len(ids) != features.shape[0]:
        raise DataError(f"{where}: {features.shape[0]} feature rows but {len(ids)} post_ids; "
                        "re-run the reduce stage so both are written together.")
    bad = ~np.isfinite(features).all(axis=1)
    if bad.any():
        names = ids["post_id"].to_numpy()[bad]
        raise DataError(
            f"{where}: {int(bad.sum())} feature row(s) contain NaN or inf, post_ids "
            f"{names[:10].tolist()}{' ...' if len(names) > 10 else ''}. Check those posts' "
            "embeddings (embed stage) and the reduce settings."
        )
    n_distinct = len(np.unique(features, axis=0)) if len(features) else 0
    if len(features) and n_distinct == 1:
        raise DataError(
            f"{where}: all {len(features)} feature rows are identical; there is nothing to "
            "cluster. Check the embeddings (an encoder returning constants) and the reduce settings."
        )
    return n_distinct


def order_by_size(labels: np.ndarray) -> np.ndarray:
    """Relabel clusters 0..k-1 by decreasing size (ties: the cluster met first keeps the lower id).

    Args:
        labels: (n,) any integer labels; `UNASSIGNED` (-1) stays -1 and is not ranked.

    Returns:
        (n,) int64 labels with 0 = the largest cluster.
    """
    labels = np.asarray(labels)
    out = np.full(labels.shape, UNASSIGNED, dtype=np.int64)
    keep = labels != UNASSIGNED
    if not keep.any():
        return out
    uniq, first, codes, counts = np.unique(labels[keep], return_index=True, return_inverse=True,
                                           return_counts=True)
    order = np.lexsort((first, -counts))  # by size desc, then first appearance
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[order] = np.arange(len(uniq))
    out[keep] = rank[codes.ravel()]
    return out


@dataclass(frozen=True)
class ClusterResult:
    """The final clustering.

    Attributes:
        labels: One row per post: post_id, cluster (0 = largest; UNASSIGNED = -1 for HDBSCAN's
            noise), distance (Euclidean, to its cluster's centre; NaN when unassigned), in the
            input row order.
        representatives: Per cluster the posts closest to its centre: cluster, rank (0 = closest),
            post_id, distance.
        centers: (k, d) cluster means, row c for cluster c.
    """

    labels: pd.DataFrame
    representatives: pd.DataFrame
    centers: np.ndarray


def fit_clusters(
    features: np.ndarray,
    ids: pd.DataFrame,
    n_clusters: int,
    *,
    algorithm: str = "kmeans",
    n_init: int = 4,
    random_state: int = 0,
    n_representatives: int = 10,
    options: Mapping[str, Any] | None = None,
) -> ClusterResult:
    """Fit the final clustering at `n_clusters` and pick each cluster's representative posts.

    Args:
        features: (n, d) reduced features, row-aligned with `ids`.
        ids: Table with a `post_id` column.
        n_clusters: Number of clusters, 2 <= n_clusters < number of distinct rows.
        algorithm: A key of CLUSTERERS.
        n_init: Restarts of the k-means variants and gmm.
        random_state: Seed.
        n_representatives: Posts kept per cluster, closest to its centre first.
        options: The algorithm's own settings, as select_k recorded them (gmm: covariance_type).

    Returns:
        A ClusterResult.

    Raises:
        DataError: On bad features or an `n_clusters` the data cannot support.
    """
    n_distinct = check_features(features, ids, "cluster")
    if not 2 <= n_clusters < max(n_distinct, 1):
        raise DataError(
            f"cluster: n_clusters = {n_clusters} needs 2 <= n_clusters < {n_distinct} (the number "
            f"of distinct feature rows among {len(ids)} posts). Lower cluster.n_clusters or the "
            "select_k range."
        )
    labels = labelings(features, [n_clusters], algorithm, n_init=n_init,
                       random_state=random_state, options=options)[0]
    return _result(features, ids, order_by_size(labels), algorithm, n_representatives)


def fit_density(
    features: np.ndarray,
    ids: pd.DataFrame,
    *,
    min_cluster_size: int = 10,
    min_samples: int | None = None,
    cluster_selection_method: str = "eom",
    n_representatives: int = 10,
) -> ClusterResult:
    """Cluster with HDBSCAN (sklearn.cluster.HDBSCAN): it finds the number of clusters itself.

    HDBSCAN is deterministic (no random_state). Posts in no dense region are noise: their cluster
    is `UNASSIGNED` (-1) and their distance NaN; they have no centre and no representatives.

    Args:
        features: (n, d) reduced features, row-aligned with `ids`.
        ids: Table with a `post_id` column.
        min_cluster_size: The smallest group that counts as a cluster.
        min_samples: Neighbours a core point needs; None: min_cluster_size.
        cluster_selection_method: "eom" or "leaf".
        n_representatives: Posts kept per cluster, closest to its centre first.

    Returns:
        A ClusterResult with k >= 2 clusters (plus the unassigned posts).

    Raises:
        DataError: On bad features, fewer posts than min_cluster_size, or fewer than two clusters
            found (the message says which setting to lower).
    """
    from sklearn.cluster import HDBSCAN

    check_features(features, ids, "cluster")
    n = features.shape[0]
    if n < min_cluster_size:
        raise DataError(f"cluster: {n} posts but select_k.min_cluster_size = {min_cluster_size}; "
                        "lower select_k.min_cluster_size or add posts.")
    X = features.astype(np.float64, copy=False)
    labels = HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min_samples,
                     cluster_selection_method=cluster_selection_method,
                     copy=True).fit_predict(X)
    labels = order_by_size(labels)
    k = int(labels.max()) + 1
    if k < 2:
        raise DataError(
            f"cluster: HDBSCAN (min_cluster_size={min_cluster_size}, min_samples={min_samples}, "
            f"{cluster_selection_method}) found {max(k, 0)} cluster(s) among {n} posts "
            f"({int((labels == UNASSIGNED).sum())} unassigned); a trend needs at least 2. Lower "
            "select_k.min_cluster_size or min_samples, try cluster_selection_method: leaf, or "
            "use select_k.algorithm: kmeans.")
    return _result(features, ids, labels, "hdbscan", n_representatives)


def _result(features: np.ndarray, ids: pd.DataFrame, labels: np.ndarray, algorithm: str,
            n_representatives: int) -> ClusterResult:
    """Centres, distances and representatives of size-ordered `labels` (UNASSIGNED: no centre,
    distance NaN, never a representative)."""
    X = features.astype(np.float64, copy=False)
    assigned = labels != UNASSIGNED
    k = int(labels.max()) + 1
    counts = np.bincount(labels[assigned], minlength=k)
    centers = np.zeros((k, X.shape[1]))
    np.add.at(centers, labels[assigned], X[assigned])
    centers /= counts[:, None]
    distance = np.full(len(labels), np.nan)
    distance[assigned] = np.linalg.norm(X[assigned] - centers[labels[assigned]], axis=1)
    post_ids = ids["post_id"].astype(str).to_numpy()
    table = pd.DataFrame({"post_id": post_ids, "cluster": labels.astype(np.int64),
                          "distance": distance.astype(np.float64)})
    reps = (table[assigned].sort_values(["cluster", "distance", "post_id"], kind="mergesort")
            .groupby("cluster", sort=True).head(n_representatives).copy())
    reps["rank"] = reps.groupby("cluster").cumcount().astype(np.int64)
    reps = reps[["cluster", "rank", "post_id", "distance"]].reset_index(drop=True)
    n_out = int((~assigned).sum())
    log.info("cluster: %d posts in %d clusters (%s); sizes %d..%d%s", len(table), k, algorithm,
             counts.min(), counts.max(), f"; {n_out} unassigned" if n_out else "")
    return ClusterResult(table, reps, centers.astype(np.float32))
