"""select_k.algorithm: hdbscan through the select_k, cluster and report stage scripts:
k-selection is skipped, HDBSCAN's noise posts are counted as unassigned in metrics.json and
reported as their own row, never as a style."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import yaml

from stylecluster import catalog, records, storage
from tests.harness import run_stage
from tests.unit.test_report import ROOT, make_inputs, write_upstream


def test_hdbscan_select_k_cluster_report(tmp_path):
    inputs = make_inputs(n=150, months=("2024-01", "2024-02", "2024-03"), k=3, seed=4)
    paths = write_upstream(tmp_path, inputs)
    rng = np.random.default_rng(0)
    truth = inputs.labels["cluster"].to_numpy()
    X = rng.normal(0, 0.3, (len(truth), 5)) + 8.0 * np.eye(5)[truth]  # 3 tight blobs
    noise = rng.choice(len(truth), 12, replace=False)
    X[noise] = rng.uniform(-15, 25, (12, 5))  # scattered far from every blob
    storage.write_artifact(X.astype(np.float32), catalog.FEATURES, paths["reduce"])
    storage.write_artifact(records.ReduceSummary(
        modality="image", method="umap", n_input=len(X), n_used=len(X), n_dropped=0,
        dropped_by_reason={}, dim_in=5, dim_out=5, weights=None, shared_knn=False).to_json(),
        catalog.REDUCE_SUMMARY, paths["reduce"])
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["select_k"].update(algorithm="hdbscan", min_cluster_size=8)
    params["report"].update(top_n=5, exemplars_per_cluster=1)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True),
                                          encoding="utf-8")
    p = tmp_path / "params.yaml"

    proc = run_stage("select_k", "--features", paths["reduce"], "--out", paths["select"],
                     params=p, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    chosen = json.loads(catalog.SELECT_K.path(paths["select"]).read_text())
    assert chosen["chosen_by"] == "hdbscan" and chosen["best_k"] is None, chosen
    assert chosen["min_cluster_size"] == 8 and chosen["n_scored"] == 0
    assert len(pd.read_csv(catalog.SILHOUETTE.path(paths["select"]))) == 0

    proc = run_stage("cluster", "--features", paths["reduce"],
                     "--select", catalog.SELECT_K.path(paths["select"]), "--posts", paths["posts"],
                     "--texts", paths["texts"], "--out", paths["cluster"],
                     "--metrics", paths["metrics"], params=p, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    labels = pd.read_parquet(catalog.LABELS.path(paths["cluster"]))
    scores = json.loads(paths["metrics"].read_text())
    n_noise = int((labels["cluster"] == -1).sum())
    assert set(labels.loc[labels["post_id"].isin(labels["post_id"].iloc[noise]), "cluster"]) \
        == {-1}, "the scattered posts were not left unassigned"
    assert scores["n_unassigned"] == n_noise >= 12, scores
    assert abs(scores["unassigned_share"] - n_noise / len(labels)) < 1e-12
    assert scores["n_clusters"] == 3 and scores["best_k"] is None, scores
    assert labels.loc[labels["cluster"] == -1, "distance"].isna().all()

    proc = run_stage("report", *[part for flag, path in paths.items()
                                 for part in (f"--{flag}", path)], params=p, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = paths["out"]
    monthly = pd.read_csv(out / catalog.MONTHLY.name)
    assert (monthly["cluster"] == -1).any(), "no unassigned row in monthly_proportions.csv"
    assert np.allclose(monthly.groupby("month")["share"].sum(), 1.0)
    top = pd.read_csv(out / catalog.TOP_PER_MONTH.name)
    assert (top["cluster"] >= 0).all(), "unassigned ranked as a style"
    members = pd.read_csv(out / catalog.MEMBERSHIP_CSV.name, encoding="utf-8-sig")
    assert (members.loc[members["cluster"] == -1, "cluster_name"] == "unassigned").all()
    assert (members["cluster"] == -1).sum() == n_noise and members["cluster"].iloc[-1] == -1
    clusters = json.loads((out / catalog.CLUSTERS.name).read_text(encoding="utf-8"))
    assert clusters["n_unassigned"] == n_noise and clusters["n_clusters"] == 3
    assert [c["cluster"] for c in clusters["clusters"]] == [0, 1, 2]
    page = (out / catalog.REPORT_PAGE.name).read_text(encoding="utf-8")
    assert f"{n_noise} unassigned" in page, "the headline does not count the unassigned posts"
