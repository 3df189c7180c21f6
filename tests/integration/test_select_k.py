"""Stage-script tests (integration tier) for select_k; pure tests live in tests/unit/test_select_k.py."""

from stylecluster import catalog
import json

import numpy as np
import pandas as pd
import yaml

from tests.harness import run_stage
from tests.unit.test_select_k import _ids, blobs, write_reduce_summary  # noqa: F401 (fixtures too)


def test_stage_script_writes_curve_and_choice(tmp_path, blobs):
    X, _ = blobs
    feat = tmp_path / "reduce"
    feat.mkdir()
    np.save(feat / catalog.FEATURES.name, X)
    _ids(len(X)).to_parquet(feat / catalog.FEATURE_IDS.name)
    write_reduce_summary(feat, X)
    params = {"base": {"seed": 42}, "select_k": {"k_min": 2, "k_max": 9}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    out = tmp_path / "select_k"
    proc = run_stage("select_k", "--features", feat, "--out", out,
                     params=tmp_path / "params.yaml", timeout=120)
    assert proc.returncode == 0, proc.stderr
    chosen = json.loads((out / catalog.SELECT_K.name).read_text())
    assert chosen["best_k"] == 6 and chosen["has_peak"] is True and chosen["exact"] is True
    assert {"prominence", "rule", "n", "algorithm", "n_init"} <= set(chosen)
    curve = pd.read_csv(out / catalog.SILHOUETTE.name)
    assert curve["k"].tolist() == list(range(2, 10))
    assert "best_k=6" in proc.stderr
