"""cluster: the clusterer registry, size ordering, representatives and the stage script."""

import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.cluster import AgglomerativeClustering
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from stylecluster import catalog
from stylecluster import records
from stylecluster import schemas
from stylecluster.pipeline.cluster import fit_clusters, gmm_fits, labelings, order_by_size
from stylecluster.errors import ConfigError, DataError
from tests.unit._shared import ids_frame  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]


_ids = ids_frame


@pytest.fixture(scope="module")
def blobs():
    # unequal blob sizes so "0 = largest" is testable
    X, y = make_blobs([120, 40, 80, 60], n_features=5, cluster_std=0.8, random_state=2)
    return X.astype(np.float32), y


def test_order_by_size_puts_largest_first():
    labels = np.array([5, 5, 9, 9, 9, 1, 7, 7, 7])
    ordered = order_by_size(labels)
    # 9 and 7 tie with 3 members: 9 appears first, so it gets 0
    assert ordered.tolist() == [2, 2, 0, 0, 0, 3, 1, 1, 1]


def test_fit_clusters_recovers_blobs_ordered_by_size(blobs):
    X, y = blobs
    res = fit_clusters(X, _ids(len(X)), 4, random_state=42, n_representatives=5)
    labels = res.labels
    schemas.check(labels, "labels", "test")
    schemas.check(res.representatives, "representatives", "test")
    ari = adjusted_rand_score(y, labels["cluster"])
    assert ari == 1.0, f"ARI {ari}"
    sizes = labels["cluster"].value_counts().sort_index().tolist()
    assert sizes == [120, 80, 60, 40], sizes
    assert (labels["distance"] >= 0).all() and np.isfinite(labels["distance"]).all()
    # distance is to the cluster mean
    c0 = X[labels["cluster"] == 0].astype(np.float64).mean(axis=0)
    np.testing.assert_allclose(labels["distance"][labels["cluster"] == 0],
                               np.linalg.norm(X[labels["cluster"] == 0] - c0, axis=1), rtol=1e-5)
    reps = res.representatives
    assert reps.groupby("cluster").size().tolist() == [5, 5, 5, 5]
    for c, group in reps.groupby("cluster"):
        assert group["rank"].tolist() == list(range(5))
        assert group["distance"].is_monotonic_increasing
        assert group["distance"].iloc[0] == labels.loc[labels["cluster"] == c, "distance"].min()
    assert res.centers.shape == (4, 5)


def test_final_fit_repeats_the_select_k_labels(blobs):
    X, _ = blobs
    scored = labelings(X, [3, 4, 5], "kmeans", n_init=4, random_state=42)[1]
    final = fit_clusters(X, _ids(len(X)), 4, random_state=42).labels["cluster"]
    assert adjusted_rand_score(scored, final) == 1.0


def test_agglomerative_cut_equals_sklearn_ward(blobs):
    X, _ = blobs
    ks = [2, 3, 7, 25]
    ours = labelings(X, ks, "agglomerative", n_init=1, random_state=0)
    for k, row in zip(ks, ours):
        ref = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(X)
        assert len(np.unique(row)) == k
        assert adjusted_rand_score(ref, row) == 1.0, k


def test_minibatch_kmeans_recovers_blobs(blobs):
    X, y = blobs
    row = labelings(X, [4], "minibatch_kmeans", n_init=3, random_state=0)[0]
    assert adjusted_rand_score(y, row) > 0.95


def test_gmm_labelings_are_deterministic_at_every_k(blobs):
    X, y = blobs
    ks = [2, 4, 6]
    cov = {"covariance_type": "full"}
    a = labelings(X, ks, "gmm", n_init=2, random_state=3, options=cov)
    b = labelings(X.astype(np.float64), ks, "gmm", n_init=2, random_state=3, options=cov)
    assert a.shape == (3, len(X)) and a.dtype == np.int64
    np.testing.assert_array_equal(a, b)  # same seed, float32 or float64 input: same labels
    assert [len(np.unique(row)) for row in a] == ks
    assert adjusted_rand_score(y, a[1]) == 1.0, adjusted_rand_score(y, a[1])
    # k fitted alone (the cluster stage) gives the labels scored within the range (select_k)
    final = fit_clusters(X, _ids(len(X)), 4, algorithm="gmm", n_init=2, random_state=3,
                         options=cov).labels["cluster"]
    np.testing.assert_array_equal(final, order_by_size(a[1]))
    fits = gmm_fits(X, ks, n_init=2, random_state=3)
    np.testing.assert_array_equal(fits.labels, a)
    assert np.argmin(fits.bic) == 1, fits.bic  # 4 blobs: the lowest BIC at k=4


def test_gmm_refuses_full_covariance_on_many_dimensions():
    X = np.random.default_rng(0).normal(size=(80, 65))
    for cov in ("full", "tied"):
        with pytest.raises(ConfigError, match=rf"\[select_k.covariance_type\] = '{cov}'.*65-d.*"
                           r"covariance_type: diag.*reduce.method: umap or pca"):
            labelings(X, [2], "gmm", n_init=1, random_state=0, options={"covariance_type": cov})
    row = labelings(X, [3], "gmm", n_init=1, random_state=0, options={"covariance_type": "diag"})
    assert row.shape == (1, 80)
    assert labelings(X[:, :64], [2], "gmm", n_init=1, random_state=0).shape == (1, 80)


def test_unknown_algorithm_and_bad_k():
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(ConfigError, match=r"'spectral' is not a known clusterer"):
        labelings(X, [2], "spectral", n_init=1, random_state=0)
    with pytest.raises(DataError, match=r"n_clusters = 10 needs 2 <= n_clusters < 10"):
        fit_clusters(X, _ids(10), 10)
    with pytest.raises(DataError, match=r"10 feature rows but 9 post_ids"):
        fit_clusters(X, _ids(9), 3)


def _write_inputs(tmp_path, X, y):
    n = len(X)
    feat = tmp_path / "reduce"
    feat.mkdir()
    np.save(feat / catalog.FEATURES.name, X)
    ids = _ids(n)
    ids.to_parquet(feat / catalog.FEATURE_IDS.name)
    select = records.SelectKRecord(
        best_k=4, prominence=0.4, has_peak=True, rule="prominence", fallback=None, exact=True,
        n=n, n_scored=n, silhouette=0.7, k_min=2, k_max=8, k_step=1, algorithm="kmeans",
        n_init=4, random_state=0, exact_max_n=10000, sample_size=5000, n_repeats=5, warnings=[],
        chosen_by="silhouette peak", stability_pairs=10, stability_n=n)
    (tmp_path / catalog.SELECT_K.name).write_text(json.dumps(select.to_json()))
    extra = [f"x{i}" for i in range(5)]  # posts dropped upstream
    all_ids = ids["post_id"].tolist() + extra
    posts = pd.DataFrame({
        "post_id": all_ids, "content": "c", "tags": "t",
        "posted_at": pd.Timestamp("2024-03-01", tz="UTC"),
        "month": ["2024-03" if i % 2 else "2024-04" for i in range(n + 5)],
        "image_path": "images/a.png",
        "label": [f"style{v}" for v in y] + [None] * 5,
    })
    posts.to_parquet(tmp_path / catalog.POSTS.name)
    texts = pd.DataFrame({"post_id": all_ids, "text": "t", "tokens": [["t"]] * (n + 5),
                          "keywords": [["t"]] * (n + 5), "n_chars": np.arange(n + 5),
                          "has_text": True, "embed_input": "t"})
    texts.to_parquet(tmp_path / catalog.TEXTS.name)


def test_stage_script_n_clusters_override(tmp_path, blobs, monkeypatch):
    X, y = blobs
    _write_inputs(tmp_path, X, y)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"cluster": {"n_clusters": 3}}))
    # in-process (runpy) to spare a Python start-up; the test above runs the script as a subprocess
    monkeypatch.setattr(sys, "argv", [
        "stages/cluster.py", "--features", str(tmp_path / "reduce"),
        "--select", str(tmp_path / catalog.SELECT_K.name), "--posts", str(tmp_path / catalog.POSTS.name),
        "--texts", str(tmp_path / catalog.TEXTS.name), "--out", str(tmp_path / "cluster"),
        "--metrics", str(tmp_path / catalog.METRICS.name), "--params", str(tmp_path / "params.yaml")])
    runpy.run_path(str(ROOT / "stages" / "cluster.py"), run_name="__main__")
    scores = json.loads((tmp_path / catalog.METRICS.name).read_text())
    assert scores["n_clusters"] == 3 and scores["best_k"] == 4, scores
    labels = pd.read_parquet(tmp_path / "cluster" / catalog.LABELS.name)
    assert labels["cluster"].value_counts().sort_index().is_monotonic_decreasing


# --- hdbscan: density clusters and unassigned posts ----------------------------------------------

@pytest.fixture(scope="module")
def noisy_blobs(blobs):
    """The blobs plus 15 posts scattered far from all of them (the last 15 rows)."""
    # HDBSCAN needs density gaps: blobs 12 apart (make_blobs' random centres can touch)
    sizes = [120, 40, 80, 60]
    rng = np.random.default_rng(7)
    y = np.repeat(np.arange(4), sizes)
    X = rng.normal(0, 0.8, (len(y), 5)) + 12.0 * np.eye(5)[y]
    noise = rng.uniform(-60, 60, (15, 5))
    return np.vstack([X, noise]).astype(np.float32), np.r_[y, [-1] * 15]


def test_hdbscan_recovers_blobs_and_leaves_noise_unassigned(noisy_blobs):
    from stylecluster.pipeline.cluster import fit_density

    X, y = noisy_blobs
    res = fit_density(X, _ids(len(X)), min_cluster_size=10, n_representatives=3)
    cl = res.labels["cluster"].to_numpy()
    assert (cl[-15:] == schemas.UNASSIGNED).all(), cl[-15:]
    assigned = cl != schemas.UNASSIGNED
    ari = adjusted_rand_score(y[assigned], cl[assigned])
    assert ari > 0.95, f"ARI on the assigned posts {ari:.3f}"
    assert sorted(set(cl[assigned])) == [0, 1, 2, 3]
    sizes = np.bincount(cl[assigned])
    assert (np.diff(sizes) <= 0).all(), f"not ordered by size: {sizes}"
    assert res.labels.loc[~assigned, "distance"].isna().all()
    assert res.labels.loc[assigned, "distance"].notna().all()
    assert schemas.UNASSIGNED not in set(res.representatives["cluster"])
    assert res.centers.shape == (4, X.shape[1])


def test_hdbscan_is_deterministic_and_row_order_invariant(noisy_blobs):
    from stylecluster.pipeline.cluster import fit_density

    X, _ = noisy_blobs
    ids = _ids(len(X))
    a = fit_density(X, ids, min_cluster_size=10).labels
    perm = np.random.default_rng(0).permutation(len(X))
    b = fit_density(X[perm], ids.iloc[perm].reset_index(drop=True), min_cluster_size=10).labels
    b = b.set_index("post_id").loc[a["post_id"]]
    assert adjusted_rand_score(a["cluster"], b["cluster"]) == 1.0
    assert ((a["cluster"].to_numpy() == -1) == (b["cluster"].to_numpy() == -1)).all()


def test_hdbscan_too_few_clusters_names_the_settings(noisy_blobs):
    from stylecluster.pipeline.cluster import fit_density

    X = noisy_blobs[0][:300]
    with pytest.raises(DataError, match="found 0 cluster.*Lower select_k.min_cluster_size"):
        fit_density(X, _ids(len(X)), min_cluster_size=250)
    with pytest.raises(DataError, match="300 posts but select_k.min_cluster_size = 400"):
        fit_density(X, _ids(len(X)), min_cluster_size=400)
    with pytest.raises(ConfigError, match="finds its own number of clusters"):
        labelings(X, [3], "hdbscan", n_init=1, random_state=0)


def test_order_by_size_keeps_unassigned():
    assert order_by_size(np.array([3, -1, 3, 5, -1, 5, 5])).tolist() == [1, -1, 1, 0, -1, 0, 0]
    assert order_by_size(np.array([-1, -1])).tolist() == [-1, -1]


def test_cluster_posts_with_hdbscan_counts_unassigned_in_metrics(noisy_blobs):
    from stylecluster.config import ClusterParams, SelectKParams
    from stylecluster.pipeline.final import cluster_posts
    from stylecluster.pipeline.select_k import skipped

    X, y = noisy_blobs
    ids = _ids(len(X))
    record = records.SelectKRecord.from_json(
        skipped(len(X), SelectKParams(algorithm="hdbscan", min_cluster_size=10), 0).summary, "t")
    posts = ids.assign(month=["2024-01" if i % 2 else "2024-02" for i in range(len(X))],
                       label=[f"s{v}" for v in y])
    final = cluster_posts(X, ids, record, ClusterParams(), posts, None, random_state=0)
    m = final.metrics
    n_noise = int((final.clusters.labels["cluster"] == -1).sum())
    assert m["n_unassigned"] == n_noise >= 15 and m["unassigned_share"] == n_noise / len(X)
    assert m["n_clusters"] == 4 and m["best_k"] is None and m["has_peak"] is None
    assert m["ari"] > 0.95, m  # the unassigned posts count as one group against the labels
    assert 0.5 < final.silhouette <= 1, final.silhouette  # of the assigned posts
    with pytest.raises(ConfigError, match=r"cluster.n_clusters\] = 3 but select_k.algorithm"):
        cluster_posts(X, ids, record, ClusterParams(n_clusters=3), posts, None, random_state=0)
