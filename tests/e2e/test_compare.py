"""`stylecluster compare` on a real 2x2 grid of queued DVC experiments, in a copy of the project.

The shared e2e copy (tests/e2e/conftest.py) is reproduced once, then the grid runs: image/text x
none/pca (UMAP features would add ~40 s of numba compile per experiment).
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest

from stylecluster.experiments import run as experiments
from tests.conftest import ROOT
from tests.e2e.conftest import sh

BIN = ROOT / ".venv" / "bin"
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

GRID = ["image-none", "image-pca", "text-none", "text-pca"]


def workspace_state(root: Path) -> dict:
    """params.yaml and dvc.lock bytes, and git's view of every file except the comparison."""
    status = sh("git", "status", "--porcelain", "--untracked-files=all", cwd=root).stdout
    return {"params": (root / "params.yaml").read_bytes(),
            "lock": (root / "dvc.lock").read_bytes(),
            "git": sorted(ln for ln in status.splitlines() if "reports/compare/" not in ln)}


@pytest.fixture(scope="module")
def project(e2e_project, e2e_repro) -> Path:
    return e2e_project


@pytest.fixture(scope="module")
def compared(project):
    before = workspace_state(project)
    start = time.monotonic()
    proc = sh(BIN / "stylecluster", "compare", "--modality", "image,text", "--method", "none,pca",
              cwd=project, check=False)
    return proc, before, time.monotonic() - start


def test_grid_completes_with_four_rows(project, compared):
    proc, _, seconds = compared
    assert proc.returncode == 0, proc.stderr[-4000:]
    table = pd.read_csv(project / "reports/compare/compare.csv")
    assert list(table["experiment"]) == GRID, table
    assert (table["status"] == "success").all(), table[["experiment", "status", "error"]]
    cols = list(table.columns)
    assert cols[:4] == ["experiment", "status", "reduce.modality", "reduce.method"], cols
    for key in ("best_k", "silhouette", "prominence", "largest_cluster_share",
                "worst_month_top_share", "length_skew", "ari", "nmi", "verdict", "rank"):
        assert key in cols, key
    assert sorted(table["rank"]) == [1, 2, 3, 4]
    assert table["best_k"].between(2, 8).all(), table["best_k"]
    for name in ("compare.md", "compare.html", "silhouette_overlay.png"):
        assert (project / "reports/compare" / name).stat().st_size > 0, name
    assert "dvc exp apply" in proc.stderr
    print(f"compare of a 2x2 grid took {seconds:.0f} s")


def test_embeddings_are_not_recomputed(project, compared):
    proc, _, _ = compared
    table = pd.read_csv(project / "reports/compare/compare.csv")
    assert (table["embed"] == "unchanged").all(), table[["experiment", "embed"]]
    assert "Running stage 'embed'" not in proc.stderr, proc.stderr[-4000:]


def test_workspace_is_left_as_found(project, compared):
    _, before, _ = compared
    after = workspace_state(project)
    assert after["params"] == before["params"], "params.yaml changed"
    assert after["lock"] == before["lock"], "dvc.lock changed"
    assert after["git"] == before["git"]


def test_unknown_key_is_named(project, compared):
    proc = sh(BIN / "stylecluster", "compare", "--modality", "image", "--method", "none",
              "--set", "reduce.modalty=text", cwd=project, check=False)
    assert proc.returncode == 1
    assert "unknown param key 'reduce.modalty'" in proc.stderr, proc.stderr


def test_dvc_error_is_passed_through(project, compared):
    with pytest.raises(experiments.DvcError, match=r"reduce\.modalty"):
        experiments.run_dvc(["exp", "run", "--queue", "-S", "reduce.modalty=text"], project)
