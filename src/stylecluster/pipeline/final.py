"""The cluster stage's core: the final clustering at the chosen k, its silhouette and metrics.

It reuses what select_k recorded (algorithm and its options, e.g. gmm's covariance_type; restarts;
silhouette sampling) so the final clustering is the one the curve scored at that k; with
select_k.algorithm hdbscan it runs HDBSCAN with the settings select_k.json carries, and the
silhouette is that of the assigned posts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from stylecluster import catalog
from stylecluster.config import ClusterParams
from stylecluster.errors import ConfigError, DataError
from stylecluster.pipeline.cluster import (DENSITY_ALGORITHMS, ClusterResult,
                                           clusterer_options, fit_clusters, fit_density)
from stylecluster.schemas import UNASSIGNED
from stylecluster.pipeline.metrics import quality_metrics
from stylecluster.pipeline.silhouette import DEFAULT_BLOCK_MB, silhouette_score
from stylecluster.records import SelectKRecord


@dataclass(frozen=True)
class FinalClustering:
    """The cluster stage's result: labels and representatives, the silhouette, metrics.json."""

    clusters: ClusterResult
    silhouette: float
    metrics: dict[str, Any]


def fit_final(features: np.ndarray, ids: pd.DataFrame, selection: SelectKRecord,
              params: ClusterParams, *, random_state: int) -> ClusterResult:
    """The final clustering alone: HDBSCAN when select_k recorded a density algorithm, else the
    k-based algorithm at `params.n_clusters` (or select_k's best_k).

    Raises:
        ConfigError: cluster.n_clusters set together with select_k.algorithm hdbscan.
        DataError: On bad features or a k (or HDBSCAN result) the data cannot support.
    """
    if selection.algorithm in DENSITY_ALGORITHMS:
        if params.n_clusters is not None:
            raise ConfigError(
                f"params.yaml [cluster.n_clusters] = {params.n_clusters} but select_k.algorithm = "
                f"{selection.algorithm!r} finds its own number of clusters; set cluster.n_clusters "
                "to null, or use a k-based select_k.algorithm (kmeans).")
        return fit_density(features, ids, min_cluster_size=selection.min_cluster_size or 10,
                           min_samples=selection.min_samples,
                           cluster_selection_method=selection.cluster_selection_method or "eom",
                           n_representatives=params.n_representatives)
    k = params.n_clusters or selection.best_k
    if k is None:
        raise DataError(f"cluster: {catalog.SELECT_K.label} has no best_k; re-run the select_k "
                        "stage.")
    return fit_clusters(features, ids, k, algorithm=selection.algorithm,
                        n_init=selection.n_init, random_state=random_state,
                        n_representatives=params.n_representatives,
                        options=clusterer_options(selection.algorithm, selection))


def cluster_posts(features: np.ndarray, ids: pd.DataFrame, selection: SelectKRecord,
                  params: ClusterParams, posts: pd.DataFrame, texts: pd.DataFrame, *,
                  random_state: int, block_mb: float = DEFAULT_BLOCK_MB) -> FinalClustering:
    """Cluster at `params.n_clusters` (or select_k's best_k), or with HDBSCAN, and measure it.

    Args:
        features: (n, d) reduced features, row-aligned with `ids`.
        ids: Table with a `post_id` column.
        selection: select_k.json (best_k and the settings to reuse).
        params: The `cluster` params.
        posts, texts: The validated posts and preprocessed texts (months, labels, lengths).
        random_state: base.seed.
        block_mb: runtime.block_mb, the silhouette's memory bound (speed only).
    """
    result = fit_final(features, ids, selection, params, random_state=random_state)
    labels = result.labels["cluster"].to_numpy()
    assigned = labels != UNASSIGNED  # the silhouette of the styles, HDBSCAN's noise left out
    sil = silhouette_score(features[assigned], labels[assigned],
                           exact_max_n=selection.exact_max_n, sample_size=selection.sample_size,
                           n_repeats=selection.n_repeats, random_state=random_state,
                           block_mb=block_mb)
    scores = quality_metrics(result.labels, posts, texts, selection.to_json(), silhouette=sil,
                             min_month_posts=params.min_month_posts)
    return FinalClustering(result, sil, scores)
