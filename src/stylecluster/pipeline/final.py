"""The cluster stage's core: the final clustering at the chosen k, its silhouette and metrics.

It reuses what select_k recorded (algorithm, restarts, silhouette sampling) so the final
clustering is the one the curve scored at that k.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from stylecluster.config import ClusterParams
from stylecluster.pipeline.cluster import ClusterResult, fit_clusters
from stylecluster.pipeline.metrics import quality_metrics
from stylecluster.pipeline.silhouette import DEFAULT_BLOCK_MB, silhouette_score
from stylecluster.records import SelectKRecord


@dataclass(frozen=True)
class FinalClustering:
    """The cluster stage's result: labels and representatives, the silhouette, metrics.json."""

    clusters: ClusterResult
    silhouette: float
    metrics: dict[str, Any]


def cluster_posts(features: np.ndarray, ids: pd.DataFrame, selection: SelectKRecord,
                  params: ClusterParams, posts: pd.DataFrame, texts: pd.DataFrame, *,
                  random_state: int, block_mb: float = DEFAULT_BLOCK_MB) -> FinalClustering:
    """Cluster at `params.n_clusters` (or select_k's best_k) and measure the result.

    Args:
        features: (n, d) reduced features, row-aligned with `ids`.
        ids: Table with a `post_id` column.
        selection: select_k.json (best_k and the settings to reuse).
        params: The `cluster` params.
        posts, texts: The validated posts and preprocessed texts (months, labels, lengths).
        random_state: base.seed.
        block_mb: runtime.block_mb, the silhouette's memory bound (speed only).
    """
    k = params.n_clusters or selection.best_k
    result = fit_clusters(features, ids, k, algorithm=selection.algorithm,
                          n_init=selection.n_init, random_state=random_state,
                          n_representatives=params.n_representatives)
    sil = silhouette_score(features, result.labels["cluster"].to_numpy(),
                           exact_max_n=selection.exact_max_n, sample_size=selection.sample_size,
                           n_repeats=selection.n_repeats, random_state=random_state,
                           block_mb=block_mb)
    scores = quality_metrics(result.labels, posts, texts, selection.to_json(), silhouette=sil,
                             min_month_posts=params.min_month_posts)
    return FinalClustering(result, sil, scores)
