"""Quality metrics of a clustering: size and monthly balance, text-length skew, label agreement.

Pure functions on labels and the posts/texts tables. `quality_metrics` assembles the flat dict the
cluster stage writes to reports/metrics.json, so experiments can be ranked by a silhouette peak, a
balanced month and, when the data carries labels, agreement with them (ARI, NMI, AMI, V-measure and
Hungarian accuracy).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from stylecluster import catalog
from stylecluster.errors import DataError
from stylecluster.schemas import UNASSIGNED

log = logging.getLogger(__name__)

TINY_SHARE = 0.002  # a cluster under 0.2% of the posts counts as tiny


def size_stats(labels: np.ndarray, tiny_share: float = TINY_SHARE) -> dict[str, float | int]:
    """Cluster size balance.

    Args:
        labels: (n,) cluster labels.
        tiny_share: Clusters with a smaller share of the posts count as tiny.

    Returns:
        n_clusters; largest_cluster_share; size_entropy (Shannon entropy of the size shares divided
        by log(n_clusters): 1 = perfectly balanced, 0 for a single cluster); size_gini (Gini
        coefficient of the sizes: 0 = balanced, towards 1 = one cluster holds all); n_tiny_clusters.
    """
    labels = np.asarray(labels)
    if labels.size == 0:
        raise DataError("metrics: no labelled posts to measure.")
    _, counts = np.unique(labels, return_counts=True)
    shares = counts / counts.sum()
    k = len(counts)
    entropy = float(-(shares * np.log(shares)).sum() / np.log(k)) if k > 1 else 0.0
    sizes = np.sort(counts).astype(np.float64)
    # Gini = sum_i sum_j |x_i - x_j| / (2 k^2 mean), computed from the sorted sizes in O(k).
    gini = float((2 * np.arange(1, k + 1) - k - 1) @ sizes / (k * sizes.sum()))
    return {
        "n_clusters": k,
        "largest_cluster_share": float(shares.max()),
        "size_entropy": entropy,
        "size_gini": gini,
        "n_tiny_clusters": int((shares < tiny_share).sum()),
    }


def month_stats(labels: np.ndarray, months: np.ndarray,
                min_posts: int = 1) -> dict[str, float | int | None]:
    """How much a single cluster dominates each month.

    Args:
        labels: (n,) cluster labels.
        months: (n,) month keys ("YYYY-MM"), row-aligned with `labels`.
        min_posts: Months with fewer posts are not measured (one post is always 100% one
            cluster); they are counted in n_months_ignored.

    Returns:
        mean_month_top_share (the largest single-cluster share within a month, averaged over the
        measured months), worst_month_top_share (its maximum), n_months (measured),
        n_months_ignored (below `min_posts`) and n_undated (posts without a month, left out of
        these stats). The shares are None when no month is measured. A single measured month is
        measured as it is, with a warning that there is no month-to-month comparison.
    """
    frame = pd.DataFrame({"cluster": np.asarray(labels), "month": np.asarray(months)})
    if frame.empty:
        raise DataError("metrics: no labelled posts to measure.")
    undated = frame["month"].isna()
    frame = frame[~undated]  # undated posts are clustered but belong to no month
    sizes = frame.groupby("month").size()
    small = sizes.index[sizes < min_posts]
    frame = frame[~frame["month"].isin(small)]
    base = {"n_months_ignored": int(len(small)), "n_undated": int(undated.sum())}
    if len(small):
        log.warning("metrics: %d month(s) with fewer than %d posts (cluster.min_month_posts) are "
                    "left out of the month balance metrics, e.g. %s", len(small), min_posts,
                    list(small[:3]))
    if frame.empty:
        log.warning("metrics: no month has %d or more dated posts; there are no monthly stats",
                    min_posts)
        return {"mean_month_top_share": None, "worst_month_top_share": None, "n_months": 0,
                **base}
    counts = frame.groupby(["month", "cluster"]).size()
    top = counts.groupby(level="month").max() / counts.groupby(level="month").sum()
    if len(top) == 1:
        log.warning("metrics: all measured posts fall in one month (%s); the monthly stats "
                    "describe that month only", top.index[0])
    return {"mean_month_top_share": float(top.mean()),
            "worst_month_top_share": float(top.max()),
            "n_months": int(len(top)), **base}


def length_skew(labels: np.ndarray, n_chars: np.ndarray) -> float | None:
    """Median text length of the largest cluster over the overall median.

    The research's failure mode: long texts collapsing into one giant cluster gives a skew well
    above 1.

    Args:
        labels: (n,) cluster labels.
        n_chars: (n,) text lengths, row-aligned (NaN for posts without a text row).

    Returns:
        The ratio, or None when the overall median length is 0 or unknown.
    """
    labels = np.asarray(labels)
    n_chars = np.asarray(n_chars, dtype=np.float64)
    known = ~np.isnan(n_chars)
    if not known.any():
        return None
    uniq, counts = np.unique(labels, return_counts=True)
    largest = uniq[np.argmax(counts)]
    overall = float(np.median(n_chars[known]))
    in_largest = known & (labels == largest)
    if overall == 0 or not in_largest.any():
        return None
    return float(np.median(n_chars[in_largest]) / overall)


def length_cluster_corr(labels: np.ndarray, n_chars: np.ndarray) -> float | None:
    """Correlation ratio (eta) between log text length and cluster membership.

    eta^2 is the share of the variance of log(1 + n_chars) explained by the cluster means: 0 when
    every cluster has the same mean length (membership says nothing about length), 1 when each
    cluster holds a single length (the clusters are length bands). Unlike `length_skew` it looks
    at every cluster, not only the largest.

    Args:
        labels: (n,) cluster labels.
        n_chars: (n,) text lengths, row-aligned (NaN for posts without a text row, left out).

    Returns:
        eta in [0, 1], or None when fewer than two posts have a length or all lengths are equal.
    """
    labels = np.asarray(labels)
    n_chars = np.asarray(n_chars, dtype=np.float64)
    known = ~np.isnan(n_chars)
    if known.sum() < 2:
        return None
    y = np.log1p(n_chars[known])
    total = float(((y - y.mean()) ** 2).sum())
    if total == 0:
        return None
    frame = pd.DataFrame({"cluster": labels[known], "y": y})
    groups = frame.groupby("cluster")["y"].agg(["mean", "size"])
    between = float((groups["size"] * (groups["mean"] - y.mean()) ** 2).sum())
    return float(np.sqrt(min(between / total, 1.0)))


def hungarian_accuracy(truth: np.ndarray, labels: np.ndarray) -> float:
    """Accuracy under the best one-to-one matching of clusters to classes.

    Args:
        truth: (n,) true class labels (any hashable values).
        labels: (n,) cluster labels.

    Returns:
        Share of posts whose cluster is matched to their class (scipy linear_sum_assignment on the
        contingency table); clusters or classes left unmatched count as wrong.
    """
    from scipy.optimize import linear_sum_assignment

    table = pd.crosstab(np.asarray(labels), np.asarray(truth)).to_numpy()
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / table.sum())


def label_agreement(truth: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """ARI, NMI, AMI, V-measure and Hungarian accuracy of clusters against known labels."""
    from sklearn import metrics as skm

    truth = np.asarray(truth).astype(str)
    labels = np.asarray(labels)
    return {
        "ari": float(skm.adjusted_rand_score(truth, labels)),
        "nmi": float(skm.normalized_mutual_info_score(truth, labels)),
        "ami": float(skm.adjusted_mutual_info_score(truth, labels)),
        "v_measure": float(skm.v_measure_score(truth, labels)),
        "accuracy": hungarian_accuracy(truth, labels),
    }


def _length_metrics(post_ids: pd.Series, cl: np.ndarray,
                    texts: pd.DataFrame | None) -> dict[str, float | None]:
    """length_skew and length_cluster_corr of the clusters (None without a texts table)."""
    if texts is None:
        return {"length_skew": None, "length_cluster_corr": None}
    n_chars = post_ids.to_frame().merge(texts[["post_id", "n_chars"]], on="post_id",
                                        how="left")["n_chars"].to_numpy(dtype=np.float64)
    return {"length_skew": length_skew(cl, n_chars),
            "length_cluster_corr": length_cluster_corr(cl, n_chars)}


def quality_metrics(
    labels: pd.DataFrame,
    posts: pd.DataFrame,
    texts: pd.DataFrame | None = None,
    selection: Mapping[str, Any] | None = None,
    silhouette: float | None = None,
    min_month_posts: int = 1,
) -> dict[str, Any]:
    """The flat metrics dict of reports/metrics.json.

    Args:
        labels: post_id, cluster (the cluster stage's labels table).
        posts: The validated posts: post_id, month, and optionally label.
        texts: The preprocessed texts: post_id, n_chars (optional; length_skew and
            length_cluster_corr are None without).
        selection: select_k.json (best_k, prominence, has_peak).
        silhouette: Silhouette of the final labels (falls back to selection["silhouette"]).
        min_month_posts: Smaller months are left out of the month stats (see `month_stats`).

    Returns:
        Flat keys: best_k, n_clusters, has_peak, silhouette, prominence, largest_cluster_share,
        size_entropy, size_gini, n_tiny_clusters, mean_month_top_share, worst_month_top_share,
        n_months, n_months_ignored, n_undated, length_skew, length_cluster_corr (eta of log
        length on the clusters), n_unassigned and unassigned_share (HDBSCAN's noise, cluster -1;
        0 for k-based algorithms), n_posts_used, n_posts_dropped, and with labels ari, nmi, ami,
        v_measure, accuracy, n_posts_labelled. Size, month and length stats: assigned posts only;
        label agreement: every labelled post, the unassigned ones as one group.

    Raises:
        DataError: If a labelled post is missing from `posts`.
    """
    selection = dict(selection or {})
    table = labels[["post_id", "cluster"]].merge(
        posts.drop(columns=[c for c in ("cluster",) if c in posts.columns]),
        on="post_id", how="left", indicator=True)
    unknown = table.loc[table["_merge"] == "left_only", "post_id"]
    if len(unknown):
        raise DataError(f"metrics: {len(unknown)} clustered post(s) are not in "
                        f"{catalog.POSTS.label}, e.g. {unknown.iloc[:5].tolist()}; the inputs come from different runs "
                        "(dvc repro).")
    assigned = _assigned(every := table["cluster"].to_numpy())
    table_in, cl = table[assigned], every[assigned]
    out: dict[str, Any] = {
        "best_k": selection.get("best_k"),
        "has_peak": selection.get("has_peak"),
        "prominence": selection.get("prominence"),
        "silhouette": silhouette if silhouette is not None else selection.get("silhouette"),
    }
    out.update(size_stats(cl))
    out.update(month_stats(cl, table_in["month"].to_numpy(), min_month_posts))
    out.update(_length_metrics(table_in["post_id"], cl, texts))
    out.update(n_unassigned=int((~assigned).sum()), unassigned_share=float((~assigned).mean()))
    out["n_posts_used"] = int(len(labels))
    out["n_posts_dropped"] = int(len(posts) - posts["post_id"].isin(labels["post_id"]).sum())
    if "label" in table.columns and table["label"].notna().any():
        # every labelled post, the unassigned ones as one more group: noise is not free
        known = table["label"].notna().to_numpy()
        out.update(label_agreement(table.loc[known, "label"].to_numpy(), every[known]))
        out["n_posts_labelled"] = int(known.sum())
    return out


def _assigned(labels: np.ndarray) -> np.ndarray:
    """(n,) bool: the posts in a cluster (not UNASSIGNED).

    Raises:
        DataError: If every post is unassigned.
    """
    assigned = labels != UNASSIGNED
    if not assigned.any():
        raise DataError(f"metrics: all {len(labels)} clustered posts are unassigned (HDBSCAN "
                        "noise); lower select_k.min_cluster_size or min_samples.")
    return assigned
