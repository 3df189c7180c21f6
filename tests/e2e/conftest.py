"""One project copy for every e2e test (session-scoped: its `dvc repro` is the expensive part).

The copy gets a 60-post, 3-month sample (3 months: the report draws one exemplar grid per month,
in every experiment of the compare test) and select_k.k_max 8. dvc.lock is left uncommitted:
compare copies it into its queued experiments.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

BIN = ROOT / ".venv" / "bin"
N_POSTS = 60
COPY_IGNORE = shutil.ignore_patterns(".venv", ".git", "data", "reports", "logs", "__pycache__",
                                     ".pytest_cache", "*.egg-info", "tmp")


def sh(*args, cwd, check=True, env=None):
    """Run a command with the venv first on PATH (DVC stages call `python`)."""
    full_env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", **(env or {})}
    proc = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          env=full_env)
    if check and proc.returncode:
        raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def e2e_project(tmp_path_factory) -> Path:
    """A git + DVC copy of the project with a small sample and params sized for it."""
    dest = tmp_path_factory.mktemp("e2e") / "project"
    shutil.copytree(ROOT, dest, ignore=COPY_IGNORE)
    shutil.copytree(ROOT / "data" / "external", dest / "data" / "external")
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["runtime"]["progress"] = False
    params["select_k"].update(k_min=2, k_max=8)
    params["cluster"]["min_month_posts"] = 5  # the small sample has fewer than 20 posts a month
    (dest / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False))
    (dest / "data" / "raw.dvc").unlink(missing_ok=True)  # the full sample's hash
    (dest / "dvc.lock").unlink(missing_ok=True)
    sh("git", "init", "-q", cwd=dest)
    sh("git", "config", "user.email", "t@example.com", cwd=dest)
    sh("git", "config", "user.name", "t", cwd=dest)
    sh(BIN / "stylecluster", "sample", "--out", "data/raw", "--n-posts", N_POSTS, "--n-months", 3,
       "--quiet", cwd=dest)
    sh(BIN / "dvc", "add", "-q", "data/raw", cwd=dest)
    sh("git", "add", "-A", cwd=dest)
    sh("git", "commit", "-qm", "e2e copy", cwd=dest)
    return dest


@pytest.fixture(scope="session")
def e2e_repro(e2e_project):
    """The first `dvc repro` of the copy (its output)."""
    return sh(BIN / "dvc", "repro", cwd=e2e_project)
