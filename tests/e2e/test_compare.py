"""`stylecluster compare` on a real 2x2 grid of queued DVC experiments, in a copy of the project.

The copy gets a 60-post, 3-month sample, select_k.k_max 8 and reduce.method pca (the grid is image/text x
none/pca: UMAP's numba compile would cost ~40 s per experiment), one `dvc repro`, then the grid.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from stylecluster import experiments
from tests.conftest import ROOT

BIN = ROOT / ".venv" / "bin"
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

COPY_IGNORE = shutil.ignore_patterns(".venv", ".git", "data", "reports", "__pycache__",
                                     ".pytest_cache", "*.egg-info", "tmp")
GRID = ["image-none", "image-pca", "text-none", "text-pca"]


def sh(*args, cwd, check=True):
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    proc = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, env=env)
    if check and proc.returncode:
        raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def workspace_state(root: Path) -> dict:
    """params.yaml and dvc.lock bytes, and git's view of every file except the comparison."""
    status = sh("git", "status", "--porcelain", "--untracked-files=all", cwd=root).stdout
    return {"params": (root / "params.yaml").read_bytes(),
            "lock": (root / "dvc.lock").read_bytes(),
            "git": sorted(ln for ln in status.splitlines() if "reports/compare/" not in ln)}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A git + DVC copy with a 60-post sample, reproduced once (dvc.lock left uncommitted: compare
    copies it into the queued experiments)."""
    dest = tmp_path_factory.mktemp("e2e_compare") / "project"
    shutil.copytree(ROOT, dest, ignore=COPY_IGNORE)
    shutil.copytree(ROOT / "data" / "external", dest / "data" / "external")
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["base"]["progress"] = False
    params["select_k"].update(k_min=2, k_max=8)
    params["reduce"]["method"] = "pca"
    (dest / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False))
    (dest / "data" / "raw.dvc").unlink(missing_ok=True)  # the full sample's hash
    (dest / "dvc.lock").unlink(missing_ok=True)
    sh("git", "init", "-q", cwd=dest)
    sh("git", "config", "user.email", "t@example.com", cwd=dest)
    sh("git", "config", "user.name", "t", cwd=dest)
    # 3 months, not 12: the report stage draws one exemplar grid per month in every experiment
    sh(BIN / "stylecluster", "sample", "--out", "data/raw", "--n-posts", "60", "--n-months", "3",
       "--quiet", cwd=dest)
    sh(BIN / "dvc", "add", "-q", "data/raw", cwd=dest)
    sh("git", "add", "-A", cwd=dest)
    sh("git", "commit", "-qm", "e2e compare copy", cwd=dest)
    sh(BIN / "dvc", "repro", cwd=dest)
    return dest


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
