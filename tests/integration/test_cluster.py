"""Stage-script tests (integration tier) for cluster; pure tests live in tests/unit/test_cluster.py."""

from stylecluster import catalog
import json

import pandas as pd
import pytest
import yaml

from tests.harness import run_stage
from tests.unit.test_cluster import _write_inputs, blobs  # noqa: F401 (fixtures too)


def _run(tmp_path, params):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    return run_stage("cluster", "--features", tmp_path / "reduce",
                     "--select", tmp_path / catalog.SELECT_K.name, "--posts", tmp_path / catalog.POSTS.name,
                     "--texts", tmp_path / catalog.TEXTS.name, "--out", tmp_path / "cluster",
                     "--metrics", tmp_path / "reports" / catalog.METRICS.name,
                     params=tmp_path / "params.yaml", timeout=120)


def test_stage_script_writes_labels_representatives_and_metrics(tmp_path, blobs):
    X, y = blobs
    _write_inputs(tmp_path, X, y)
    proc = _run(tmp_path, {"base": {"seed": 42}, "cluster": {"n_representatives": 3}})
    assert proc.returncode == 0, proc.stderr
    labels = pd.read_parquet(tmp_path / "cluster" / catalog.LABELS.name)
    reps = pd.read_parquet(tmp_path / "cluster" / catalog.REPRESENTATIVES.name)
    scores = json.loads((tmp_path / "reports" / catalog.METRICS.name).read_text())
    assert len(labels) == len(X) and labels["cluster"].nunique() == 4
    assert len(reps) == 12
    assert scores["n_clusters"] == 4 and scores["best_k"] == 4
    assert scores["n_posts_used"] == 300 and scores["n_posts_dropped"] == 5
    assert scores["accuracy"] == 1.0 and scores["ari"] == 1.0, scores
    assert 0.5 < scores["silhouette"] <= 1 and scores["prominence"] == 0.4
    assert scores["largest_cluster_share"] == pytest.approx(0.4)
