"""Quality metrics on hand-made labels."""

import logging

import numpy as np
import pandas as pd
import pytest

from stylecluster.errors import DataError
from stylecluster.pipeline.metrics import (
    hungarian_accuracy,
    label_agreement,
    length_cluster_corr,
    length_skew,
    month_stats,
    quality_metrics,
    size_stats,
)


def test_balanced_sizes():
    stats = size_stats(np.repeat(np.arange(5), 20))
    assert stats["n_clusters"] == 5
    assert stats["size_entropy"] == pytest.approx(1.0)
    assert stats["size_gini"] == pytest.approx(0.0)
    assert stats["largest_cluster_share"] == pytest.approx(0.2)
    assert stats["n_tiny_clusters"] == 0


def test_skewed_sizes_and_tiny_clusters():
    # 1000 posts: one cluster of 997, three singletons (0.1% each < 0.2%)
    labels = np.array([0] * 997 + [1, 2, 3])
    stats = size_stats(labels)
    assert stats["largest_cluster_share"] == pytest.approx(0.997)
    assert stats["n_tiny_clusters"] == 3
    assert stats["size_entropy"] < 0.05, stats
    # Gini of sizes (1, 1, 1, 997): sum|xi-xj| / (2 k^2 mean) = 6*996 / (2*16*250)
    assert stats["size_gini"] == pytest.approx(6 * 996 / (2 * 16 * 250))


def test_single_cluster_sizes():
    stats = size_stats(np.zeros(10, int))
    assert stats["size_entropy"] == 0.0 and stats["largest_cluster_share"] == 1.0


def test_month_stats_hand_made(caplog):
    labels = np.array([0, 0, 0, 1, 0, 1, 2, 2])
    months = np.array(["2024-01"] * 4 + ["2024-02"] * 4)
    stats = month_stats(labels, months)
    # Jan: cluster 0 holds 3/4; Feb: cluster 2 holds 2/4
    assert stats["mean_month_top_share"] == pytest.approx((0.75 + 0.5) / 2)
    assert stats["worst_month_top_share"] == pytest.approx(0.75)
    assert stats["n_months"] == 2
    with caplog.at_level(logging.WARNING):
        one = month_stats(labels, np.array(["2024-01"] * 8))
    assert one["mean_month_top_share"] == one["worst_month_top_share"] == pytest.approx(0.5)
    assert "all measured posts fall in one month (2024-01)" in caplog.text


def test_month_stats_leave_out_months_below_min_posts(caplog):
    # Jan: 20 posts, cluster 0 holds 12/20; Feb: 2 posts of one cluster (always "dominated")
    labels = np.array([0] * 12 + [1] * 8 + [2, 2])
    months = np.array(["2024-01"] * 20 + ["2024-02"] * 2)
    every = month_stats(labels, months)
    assert every["worst_month_top_share"] == 1.0 and every["n_months_ignored"] == 0
    with caplog.at_level(logging.WARNING):
        big = month_stats(labels, months, min_posts=20)
    assert big["worst_month_top_share"] == pytest.approx(0.6)
    assert (big["n_months"], big["n_months_ignored"]) == (1, 1)
    assert "1 month(s) with fewer than 20 posts" in caplog.text
    none = month_stats(labels, months, min_posts=21)
    assert none["worst_month_top_share"] is None and none["n_months_ignored"] == 2


def test_length_skew_flags_long_texts_in_the_largest_cluster():
    labels = np.array([0, 0, 0, 0, 1, 1, 2])
    n_chars = np.array([400, 500, 600, 500, 50, 60, 40])
    assert length_skew(labels, n_chars) == pytest.approx(500 / 400)
    assert length_skew(labels, np.zeros(7)) is None
    assert length_skew(labels, np.full(7, np.nan)) is None


def test_length_cluster_corr_is_the_correlation_ratio_of_log_length():
    labels = np.array([0, 0, 1, 1])
    # log(1 + n_chars) = 1, 1, 3, 3: each cluster is one length band -> eta 1
    assert length_cluster_corr(labels, np.expm1([1, 1, 3, 3])) == pytest.approx(1.0)
    # 1, 3 | 1, 3: the same lengths in both clusters -> eta 0
    assert length_cluster_corr(labels, np.expm1([1, 3, 1, 3])) == pytest.approx(0.0, abs=1e-12)
    # 1, 3 | 3, 3: grand mean 2.5, between-cluster SS 2 * 0.5^2 * 2 = 1, total SS 3
    assert length_cluster_corr(labels, np.expm1([1, 3, 3, 3])) == pytest.approx(np.sqrt(1 / 3))
    # relabelling the clusters changes nothing; posts without a length are left out
    assert length_cluster_corr(np.array([7, 7, 2, 2, 2]), np.r_[np.expm1([1, 3, 3, 3]), np.nan]) \
        == pytest.approx(np.sqrt(1 / 3))
    assert length_cluster_corr(labels, np.full(4, 50)) is None
    assert length_cluster_corr(labels, np.full(4, np.nan)) is None


def test_hungarian_accuracy_and_agreement_on_permuted_labels():
    truth = np.array(["a", "a", "b", "b", "c", "c", "c"])
    clusters = np.array([2, 2, 0, 0, 1, 1, 1])
    assert hungarian_accuracy(truth, clusters) == 1.0
    scores = label_agreement(truth, clusters)
    for key in ("ari", "nmi", "ami", "v_measure", "accuracy"):
        assert scores[key] == pytest.approx(1.0), (key, scores)
    # one post misplaced; extra cluster left unmatched counts as wrong
    assert hungarian_accuracy(truth, np.array([2, 2, 0, 0, 1, 1, 5])) == pytest.approx(6 / 7)
    assert hungarian_accuracy(truth, np.zeros(7, int)) == pytest.approx(3 / 7)


def _tables(n=12, labelled=True):
    post_ids = [f"p{i}" for i in range(n)]
    posts = pd.DataFrame({"post_id": post_ids,
                          "month": ["2024-01" if i < n // 2 else "2024-02" for i in range(n)]})
    if labelled:
        posts["label"] = ["x" if i % 3 else "y" for i in range(n)]
    texts = pd.DataFrame({"post_id": post_ids, "n_chars": np.arange(10, 10 + n)})
    return posts, texts


def test_quality_metrics_flat_keys_with_labels():
    posts, texts = _tables()
    used = posts.iloc[:10]  # two posts dropped upstream
    labels = pd.DataFrame({"post_id": used["post_id"],
                           "cluster": [1 if lab == "x" else 0 for lab in used["label"]]})
    selection = {"best_k": 2, "prominence": 0.3, "has_peak": True, "silhouette": 0.6}
    out = quality_metrics(labels, posts, texts, selection, silhouette=0.61)
    expected = {"best_k", "n_clusters", "has_peak", "silhouette", "prominence",
                "largest_cluster_share", "size_entropy", "size_gini", "n_tiny_clusters",
                "mean_month_top_share", "worst_month_top_share", "n_months", "length_skew",
                "length_cluster_corr", "n_posts_used", "n_posts_dropped", "ari", "nmi", "ami",
                "v_measure", "accuracy", "n_posts_labelled", "n_undated", "n_months_ignored",
                "n_unassigned", "unassigned_share"}
    assert set(out) == expected, set(out) ^ expected
    assert out["silhouette"] == 0.61 and out["best_k"] == 2 and out["prominence"] == 0.3
    assert out["n_posts_used"] == 10 and out["n_posts_dropped"] == 2
    assert out["accuracy"] == 1.0 and out["ari"] == pytest.approx(1.0)
    assert out["length_cluster_corr"] == pytest.approx(
        length_cluster_corr(labels["cluster"].to_numpy(), np.arange(10, 20)))
    assert all(not isinstance(v, (dict, list)) for v in out.values())


def test_quality_metrics_without_labels_and_unknown_posts():
    posts, texts = _tables(labelled=False)
    labels = pd.DataFrame({"post_id": posts["post_id"], "cluster": np.arange(12) % 3})
    out = quality_metrics(labels, posts, texts, {"best_k": 3, "silhouette": 0.2})
    assert "ari" not in out and out["silhouette"] == 0.2 and out["n_posts_dropped"] == 0
    bad = pd.DataFrame({"post_id": ["zz"], "cluster": [0]})
    with pytest.raises(DataError, match=r"1 clustered post\(s\) are not in validate/posts.parquet, "
                                        r"e.g. \['zz'\]"):
        quality_metrics(bad, posts, texts)
