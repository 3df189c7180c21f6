"""select_k: the k range, the choice rules, the criteria curve and the stage script."""

import logging
import math
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from stylecluster import catalog, config
from stylecluster import records, schemas, storage
from stylecluster.config import SelectKParams, load_section
from stylecluster.errors import ConfigError, DataError
from stylecluster.pipeline import cluster
from stylecluster.pipeline.cluster import order_by_size
from stylecluster.pipeline.select_k import choose_k, k_range, select_k
from tests.unit._shared import blob_embeddings, ids_frame  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]


_ids = ids_frame


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(600, centers=6, n_features=10, cluster_std=1.0, center_box=(-20, 20),
                      random_state=0)
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def blob_result(blobs):
    X, _ = blobs
    return select_k(X, _ids(len(X)), SelectKParams(k_min=2, k_max=14), random_state=42)


def test_prominence_rule_finds_the_six_blobs(blob_result):
    s = blob_result.summary
    curve = blob_result.curve
    assert s["best_k"] == 6, f"chose k={s['best_k']}; curve {curve[['k', 'silhouette']].values}"
    assert s["has_peak"] and s["prominence"] > 0.1, s
    assert s["exact"] and s["n"] == 600 and s["rule"] == "prominence" and s["fallback"] is None
    # a clear peak decides alone: no stability curve is computed (it is the fallback's)
    assert list(curve.columns) == ["k", "silhouette", "davies_bouldin", "calinski_harabasz"]
    assert s["chosen_by"] == "silhouette peak" and s["stability_pairs"] is None
    assert curve["k"].tolist() == list(range(2, 15))
    best = curve.set_index("k").loc[6]
    assert best["davies_bouldin"] == curve["davies_bouldin"].min(), curve
    assert best["calinski_harabasz"] == curve["calinski_harabasz"].max(), curve
    assert blob_result.labelings.shape == (13, 600)


def test_agglomerative_finds_the_six_blobs_too(blobs):
    X, _ = blobs
    res = select_k(X, _ids(len(X)), SelectKParams(k_min=2, k_max=10, algorithm="agglomerative"), 42)
    assert res.summary["best_k"] == 6, res.curve[["k", "silhouette"]].values


def test_choose_k_prominence_vs_argmax():
    ks = np.arange(2, 12)
    # argmax at k=2 (the UMAP pattern), a clear interior peak at k=7, a small bump at k=4
    sil = np.array([0.70, 0.50, 0.52, 0.45, 0.50, 0.62, 0.48, 0.45, 0.44, 0.43])
    prom = choose_k(ks, sil, "prominence", min_prominence=0.0)
    assert prom.best_k == 7 and prom.has_peak and prom.prominence == pytest.approx(0.17)
    arg = choose_k(ks, sil, "argmax")
    assert arg.best_k == 2 and arg.prominence == 0.0 and arg.has_peak
    # NaN entries (undefined silhouette) are skipped
    sil_nan = sil.copy()
    sil_nan[0] = np.nan
    assert choose_k(ks, sil_nan, "argmax").best_k == 7


def test_no_interior_peak_is_reported_with_warning(caplog):
    ks = np.arange(2, 10)
    falling = np.linspace(0.2, 0.05, len(ks)) + np.array([0, 0, 0.001, 0, 0, 0, 0, 0])
    with caplog.at_level(logging.WARNING):
        choice = choose_k(ks, falling, "prominence", min_prominence=0.01)
    assert not choice.has_peak and choice.fallback == "argmax" and choice.best_k == 2, choice
    assert choice.prominence == 0.0
    assert "no interior peak" in caplog.text and "silhouette abnormal" in caplog.text
    assert "reduce.method: umap" in caplog.text  # the features' reduction is unknown here
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        choose_k(ks, falling, "prominence", min_prominence=0.01, reduction="umap")
    assert "reduce.method: umap" not in caplog.text, "suggests what is already set"
    assert "reduce.n_neighbors" in caplog.text


def test_k_range_clips_k_max_with_warning(caplog):
    with caplog.at_level(logging.WARNING):
        ks = k_range(SelectKParams(k_min=2, k_max=30), n_points=8)
    assert ks == list(range(2, 8)), ks
    assert "clipping k_max to 7" in caplog.text
    assert k_range(SelectKParams(k_min=4, k_max=20, k_step=5), 100) == [4, 9, 14, 19]


def test_too_few_posts_is_an_error():
    X = np.random.default_rng(0).normal(size=(3, 4))
    with pytest.raises(DataError, match=r"3 posts but k_min = 3 needs at least 4"):
        select_k(X, _ids(3), SelectKParams(k_min=3, k_max=5), 42)


def test_identical_features_are_an_error():
    with pytest.raises(DataError, match=r"all 20 feature rows are identical"):
        select_k(np.ones((20, 4), np.float32), _ids(20), SelectKParams(), 42)


def test_few_distinct_rows_clip_k_max(caplog):
    X = np.repeat(np.eye(4, dtype=np.float32) * 10, 5, axis=0)  # 20 posts, 4 distinct rows
    with caplog.at_level(logging.WARNING):
        res = select_k(X, _ids(20), SelectKParams(k_min=2, k_max=10), 42)
    assert res.curve["k"].tolist() == [2, 3], res.curve
    assert "only 4 distinct feature rows" in caplog.text


def test_nan_rows_are_named():
    X = np.random.default_rng(0).normal(size=(30, 4)).astype(np.float32)
    X[[3, 17]] = np.nan
    with pytest.raises(DataError, match=r"2 feature row\(s\) contain NaN or inf, post_ids "
                                        r"\['p00003', 'p00017'\]"):
        select_k(X, _ids(30), SelectKParams(), 42)


def test_sampled_mode_records_spread(blobs):
    X, _ = blobs
    params = SelectKParams(k_min=2, k_max=9, exact_max_n=300, sample_size=200, n_repeats=3)
    res = select_k(X, _ids(len(X)), params, 42)
    assert not res.summary["exact"] and res.summary["n_scored"] == 200
    assert "silhouette_std" in res.curve.columns and (res.curve["silhouette_std"] >= 0).all()
    assert res.summary["best_k"] == 6, res.curve


def write_reduce_summary(folder, X: np.ndarray, method: str = "none") -> None:
    """The reduce/summary.json the select_k stage reads beside the features."""
    summary = records.ReduceSummary(modality="image", method=method, n_input=len(X),
                                    n_used=len(X), n_dropped=0, dropped_by_reason={},
                                    dim_in=X.shape[1], dim_out=X.shape[1], weights=None,
                                    shared_knn=False)
    storage.write_json(summary.to_json(), folder / "summary.json")


def test_stage_script_fails_clearly_on_nan(tmp_path, monkeypatch, caplog):
    feat = tmp_path / "reduce"
    feat.mkdir()
    X = np.random.default_rng(0).normal(size=(30, 4)).astype(np.float32)
    X[5, 0] = np.inf
    np.save(feat / catalog.FEATURES.name, X)
    _ids(30).to_parquet(feat / catalog.FEATURE_IDS.name)
    write_reduce_summary(feat, X)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"select_k": {"k_max": 5}}))
    # in-process (runpy) to spare a Python start-up; the happy path above runs as a subprocess
    monkeypatch.setattr(sys, "argv", [
        "stages/select_k.py", "--features", str(feat), "--out", str(tmp_path / "o"),
        "--params", str(tmp_path / "params.yaml")])
    with pytest.raises(SystemExit) as exit_info, caplog.at_level(logging.ERROR):
        runpy.run_path(str(ROOT / "stages" / "select_k.py"), run_name="__main__")
    assert exit_info.value.code == 1
    assert "select_k failed" in caplog.text and "post_ids ['p00005']" in caplog.text, caplog.text
    assert not (tmp_path / "o").exists()


def test_hdbscan_skips_k_selection(blobs):
    X, _ = blobs
    params = SelectKParams(algorithm="hdbscan", min_cluster_size=12, min_samples=4)
    result = select_k(X, _ids(len(X)), params, random_state=42)
    s = result.summary
    assert s["chosen_by"] == "hdbscan" and s["best_k"] is None and s["n_scored"] == 0
    assert (s["min_cluster_size"], s["min_samples"], s["cluster_selection_method"]) == (12, 4,
                                                                                        "eom")
    assert result.curve.empty and list(result.curve.columns) == ["k", "silhouette",
                                                                 "davies_bouldin",
                                                                 "calinski_harabasz"]
    record = records.SelectKRecord.from_json(s, catalog.SELECT_K.name)  # what cluster reads back
    assert record.algorithm == "hdbscan" and record.min_samples == 4
    assert any("k-selection skipped" in w for w in s["warnings"])


def test_kmeans_record_has_no_hdbscan_keys(blob_result):
    assert not {"min_cluster_size", "min_samples",
                "cluster_selection_method"} & set(blob_result.summary)


def test_hdbscan_min_cluster_size_is_a_share_of_the_posts_or_a_count(blobs):
    """The default, 2% of the posts, is resolved to a count in the record cluster reads."""
    X, _ = blobs
    share = select_k(X, _ids(len(X)), SelectKParams(algorithm="hdbscan"), random_state=0)
    assert share.summary["min_cluster_size"] == math.ceil(0.02 * len(X)) > 5
    assert cluster.resolve_min_cluster_size(0.02, 100) == 5  # never below sklearn's default
    assert cluster.resolve_min_cluster_size(0.1, 1109) == 111
    assert cluster.resolve_min_cluster_size(10, 1_000_000) == 10  # an int is a count
    loaded = config.load_all({"select_k": {"algorithm": "hdbscan", "min_cluster_size": 0.05}})
    assert loaded["select_k"].min_cluster_size == 0.05


@pytest.fixture(scope="module")
def gmm_blobs():
    X, ids, y = blob_embeddings(300)  # 5 blobs in 24-d
    results = {rule: select_k(X, ids, SelectKParams(k_min=2, k_max=9, algorithm="gmm", rule=rule,
                                                    covariance_type="diag", n_init=1), 7)
               for rule in ("bic", "prominence")}
    return X, ids, y, results


def test_gmm_rule_bic_picks_the_true_k(gmm_blobs):
    from stylecluster.config import ClusterParams
    from stylecluster.pipeline.final import fit_final

    X, ids, y, results = gmm_blobs
    res = results["bic"]
    s, curve = res.summary, res.curve
    assert s["best_k"] == 5, f"chose k={s['best_k']}; BIC {curve[['k', 'bic']].values}"
    assert s["chosen_by"] == "bic minimum" and s["rule"] == "bic" and s["fallback"] is None
    assert s["algorithm"] == "gmm" and s["covariance_type"] == "diag"
    assert curve.loc[curve["bic"].idxmin(), "k"] == 5 and np.isfinite(curve["bic"]).all()
    assert s["has_peak"] and s["prominence"] > 0.05, s  # the silhouette agrees: a peak at 5
    assert not s["warnings"], s["warnings"]
    schemas.check(curve, "silhouette", "silhouette.csv")
    # the cluster stage refits from the record (covariance_type included): the labels scored at 5
    record = records.SelectKRecord.from_json(s, catalog.SELECT_K.name)
    final = fit_final(X, ids, record, ClusterParams(), random_state=7).labels["cluster"]
    scored = res.labelings[curve.index[curve["k"] == 5][0]]
    np.testing.assert_array_equal(final, order_by_size(scored))
    assert adjusted_rand_score(y, final) == 1.0


def test_gmm_with_the_prominence_rule_finds_the_blobs_too(gmm_blobs):
    _, _, _, results = gmm_blobs
    res = results["prominence"]
    assert res.summary["best_k"] == 5, res.curve[["k", "silhouette"]].values
    assert res.summary["chosen_by"] == "silhouette peak"
    assert "bic" in res.curve  # recorded with gmm whatever the rule
    np.testing.assert_array_equal(res.labelings, results["bic"].labelings)


def test_bic_is_recorded_only_for_gmm(blob_result):
    assert "bic" not in blob_result.curve and "covariance_type" not in blob_result.summary


def test_choose_k_bic_takes_the_lowest_and_keeps_the_silhouette_verdict():
    ks = np.arange(2, 8)
    sil = np.array([0.3, 0.5, 0.35, 0.4, 0.3, 0.2])  # a peak at 3
    bic = np.array([90.0, 80, 70, np.nan, 70, 75])  # lowest at 4 and 6: the smaller k
    c = choose_k(ks, sil, "bic", bic=bic)
    assert (c.best_k, c.has_peak, c.prominence, c.fallback) == (4, True, 0.0, None)
    assert choose_k(ks, sil, "bic", bic=np.array([9.0, 1, 5, 6, 7, 8])).prominence == \
        pytest.approx(0.2)
    with pytest.raises(DataError, match="BIC is undefined at every k"):
        choose_k(ks, sil, "bic", bic=np.full(6, np.nan))


def test_rule_bic_needs_gmm():
    for algorithm in ("kmeans", "agglomerative", "hdbscan"):
        with pytest.raises(ConfigError, match=r"\[select_k.rule\] = 'bic' is not allowed.*"
                           rf"select_k.algorithm '{algorithm}'.*select_k.algorithm: gmm"):
            SelectKParams(algorithm=algorithm, rule="bic")
    assert SelectKParams(algorithm="gmm", rule="bic").covariance_type == "full"
    with pytest.raises(ConfigError, match=r"\[select_k.covariance_type\] = 'free'.*'diag'"):
        load_section({"select_k": {"algorithm": "gmm", "covariance_type": "free"}}, "select_k")


def test_hdbscan_params_are_checked():
    for bad in (1, 0.0, 0.6, True, "10"):
        with pytest.raises(ConfigError, match=r"\[select_k.min_cluster_size\] = .* is not allowed"
                           r".*a share of the posts in \(0, 0.5\]"):
            SelectKParams(min_cluster_size=bad)
    with pytest.raises(ConfigError, match=r"\[select_k.min_samples\] = 0 is not allowed"):
        SelectKParams(min_samples=0)
