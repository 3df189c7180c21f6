"""The whole pipeline: a copy of the project with a small sample (tests/e2e/conftest.py), `dvc repro`,
every output checked against its schema, then a second `dvc status` reports nothing changed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stylecluster import catalog
from stylecluster import schemas
from stylecluster import storage
from tests.conftest import ROOT
from tests.e2e.conftest import N_POSTS, sh

BIN = ROOT / ".venv" / "bin"
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def project(e2e_project) -> Path:
    return e2e_project


@pytest.fixture(scope="module")
def repro(e2e_repro):
    return e2e_repro


def test_repro_runs_every_stage(project, repro):
    stages = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]
    for name in stages:
        assert f"Running stage '{name}'" in repro.stdout, repro.stdout[-3000:]


def test_outputs_match_schemas(project, repro):
    paths = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))["paths"]

    def at(art: catalog.Artifact):
        return art.in_project(project, paths)

    posts = storage.read_table(at(catalog.POSTS), catalog.POSTS.schema)
    assert len(posts) == N_POSTS
    manifest = storage.read_table(at(catalog.SEGMENT_MANIFEST), catalog.SEGMENT_MANIFEST.schema)
    assert set(manifest["post_id"]) == set(posts["post_id"]), "segment accounts for every post"
    texts = storage.read_table(at(catalog.TEXTS), catalog.TEXTS.schema)
    assert set(texts["post_id"]) == set(posts["post_id"])
    for matrix, ids_art in catalog.EMBEDDINGS.values():
        storage.read_matrix(at(matrix), storage.read_table(at(ids_art), ids_art.schema))
    ids = storage.read_table(at(catalog.FEATURE_IDS), catalog.FEATURE_IDS.schema)
    storage.read_matrix(at(catalog.FEATURES), ids)
    storage.read_matrix(at(catalog.MAP2D), ids)
    schemas.check(storage.read_csv(at(catalog.SILHOUETTE)), catalog.SILHOUETTE.schema,
                  catalog.SILHOUETTE.name)
    labels = storage.read_table(at(catalog.LABELS), catalog.LABELS.schema)
    assert set(labels["post_id"]) == set(ids["post_id"])
    metrics = storage.read_json(at(catalog.METRICS))
    dropped = metrics["n_posts_dropped"]
    assert metrics["n_posts_used"] + dropped == len(posts), metrics
    for key in ("best_k", "silhouette", "prominence", "largest_cluster_share", "ari"):
        assert key in metrics, key


def test_second_status_is_clean(project, repro):
    status = sh(BIN / "dvc", "status", cwd=project)
    assert "up to date" in status.stdout, status.stdout
    again = sh(BIN / "dvc", "repro", cwd=project)
    assert "Running stage" not in again.stdout, again.stdout


def test_forced_rerun_writes_the_same_bytes(project, repro):
    """Stage outputs follow from inputs and params alone: with the embed cache gone, forcing the
    stages whose outputs once carried timings (embed, report) leaves dvc.lock unchanged."""
    import difflib
    import shutil

    lock = (project / "dvc.lock").read_text()
    shutil.rmtree(project / "data" / "cache" / "embed")
    for stage in ("embed", "report"):
        sh(BIN / "dvc", "repro", "-f", "-s", stage, cwd=project)
    run = storage.read_json(project / "logs" / "embed.json")
    assert run["image"]["cache_hits"] == 0 and run["image"]["encoded"] > 0, run
    after = (project / "dvc.lock").read_text()
    assert after == lock, "".join(difflib.unified_diff(lock.splitlines(True),
                                                       after.splitlines(True)))[:3000]
