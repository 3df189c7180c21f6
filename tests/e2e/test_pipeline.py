"""The whole pipeline: copy the project into a temp dir, build a small sample, `dvc repro`, check
every output against its schema, then check that a second `dvc status` reports nothing changed."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from stylecluster import io, schemas
from tests.conftest import ROOT

BIN = ROOT / ".venv" / "bin"
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

COPY_IGNORE = shutil.ignore_patterns(".venv", ".git", "data", "reports", "__pycache__",
                                     ".pytest_cache", "*.egg-info", "tmp")


def sh(*args, cwd, check=True):
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    proc = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, env=env)
    if check and proc.returncode:
        raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the project (git + DVC) with a 120-post sample and params sized for it."""
    dest = tmp_path_factory.mktemp("e2e") / "project"
    shutil.copytree(ROOT, dest, ignore=COPY_IGNORE)
    shutil.copytree(ROOT / "data" / "external", dest / "data" / "external")
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["base"]["progress"] = False
    params["select_k"].update(k_min=2, k_max=16)
    (dest / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False))
    if (dest / "data" / "raw.dvc").exists():
        (dest / "data" / "raw.dvc").unlink()  # the full sample's hash; this copy has a small one
    sh("git", "init", "-q", cwd=dest)
    sh("git", "config", "user.email", "t@example.com", cwd=dest)
    sh("git", "config", "user.name", "t", cwd=dest)
    sh(BIN / "stylecluster", "sample", "--out", "data/raw", "--n-posts", "120", "--quiet", cwd=dest)
    sh(BIN / "dvc", "add", "-q", "data/raw", cwd=dest)
    sh("git", "add", "-A", cwd=dest)
    sh("git", "commit", "-qm", "e2e copy", cwd=dest)
    return dest


@pytest.fixture(scope="module")
def repro(project):
    return sh(BIN / "dvc", "repro", cwd=project)


def test_repro_runs_every_stage(project, repro):
    stages = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]
    for name in stages:
        assert f"Running stage '{name}'" in repro.stdout, repro.stdout[-3000:]


def test_outputs_match_schemas(project, repro):
    posts = io.read_table(project / "data/interim/validate/posts.parquet", "posts")
    assert len(posts) == 120
    manifest = io.read_table(project / "data/interim/segment/manifest.parquet", "segment_manifest")
    assert set(manifest["post_id"]) == set(posts["post_id"]), "segment accounts for every post"
    texts = io.read_table(project / "data/interim/preprocess/texts.parquet", "texts")
    assert set(texts["post_id"]) == set(posts["post_id"])
    for modality in ("image", "text"):
        ids = io.read_table(project / f"data/interim/embed/{modality}_ids.parquet", "ids")
        io.read_matrix(project / f"data/interim/embed/{modality}.npy", ids)
    ids = io.read_table(project / "data/interim/reduce/ids.parquet", "ids")
    io.read_matrix(project / "data/interim/reduce/features.npy", ids)
    io.read_matrix(project / "data/interim/reduce/map2d.npy", ids)
    schemas.check(io.read_csv(project / "data/interim/select_k/silhouette.csv"), "silhouette",
                  "silhouette.csv")
    labels = io.read_table(project / "data/processed/cluster/labels.parquet", "labels")
    assert set(labels["post_id"]) == set(ids["post_id"])
    metrics = io.read_json(project / "reports/metrics.json")
    dropped = metrics["n_posts_dropped"]
    assert metrics["n_posts_used"] + dropped == len(posts), metrics
    for key in ("best_k", "silhouette", "prominence", "largest_cluster_share", "ari"):
        assert key in metrics, key


def test_second_status_is_clean(project, repro):
    status = sh(BIN / "dvc", "status", cwd=project)
    assert "up to date" in status.stdout, status.stdout
    again = sh(BIN / "dvc", "repro", cwd=project)
    assert "Running stage" not in again.stdout, again.stdout
