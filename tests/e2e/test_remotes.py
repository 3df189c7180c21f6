"""Versioned data round trips: push the sample to a local-directory remote and to an S3 bucket
(moto's server on 127.0.0.1, fake credentials), clone into a new folder, `dvc pull`, and compare
every file byte for byte. An unreachable remote fails with a message naming the endpoint."""

from __future__ import annotations

import filecmp
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

BIN = ROOT / ".venv" / "bin"
pytestmark = pytest.mark.e2e


def sh(*args, cwd, env=None, check=True):
    proc = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    if check and proc.returncode:
        raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """A git + DVC repo whose data/raw (a small sample) is tracked by DVC."""
    repo = tmp_path_factory.mktemp("origin")
    sh("git", "init", "-q", cwd=repo)
    sh("git", "config", "user.email", "t@example.com", cwd=repo)
    sh("git", "config", "user.name", "t", cwd=repo)
    sh(BIN / "dvc", "init", "-q", cwd=repo)
    sh(BIN / "dvc", "config", "core.analytics", "false", cwd=repo)
    sh(BIN / "stylecluster", "sample", "--out", "data/raw", "--n-posts", "24", "--quiet", cwd=repo)
    sh(BIN / "dvc", "add", "-q", "data/raw", cwd=repo)
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-qm", "sample", cwd=repo)
    return repo


def _all_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _clone_pull_compare(repo: Path, dest: Path, remote: str, env=None) -> None:
    sh("git", "clone", "-q", repo, dest, cwd=dest.parent)
    assert not (dest / "data" / "raw").exists()
    sh(BIN / "dvc", "pull", "-q", "-r", remote, cwd=dest, env=env)
    original, pulled = repo / "data" / "raw", dest / "data" / "raw"
    files = _all_files(original)
    assert len(files) == 25 and files == _all_files(pulled)
    match, mismatch, errors = filecmp.cmpfiles(original, pulled, files, shallow=False)
    assert not mismatch and not errors and len(match) == 25


def test_local_directory_remote(repo, tmp_path):
    store = tmp_path / "store"
    sh(BIN / "dvc", "remote", "add", "-f", "localstore", store, cwd=repo)
    sh(BIN / "dvc", "push", "-q", "-r", "localstore", cwd=repo)
    sh("git", "commit", "-qam", "remote", cwd=repo)
    _clone_pull_compare(repo, tmp_path / "clone", "localstore")


def test_s3_remote_on_moto(repo, tmp_path):
    boto3 = pytest.importorskip("boto3")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1"}
        sh(BIN / "dvc", "remote", "add", "-f", "s3store", "s3://styles/sample", cwd=repo)
        sh(BIN / "dvc", "remote", "modify", "s3store", "endpointurl", endpoint, cwd=repo)
        # DVC does not create the bucket: README says to, and names the error without it
        missing = sh(BIN / "dvc", "push", "-r", "s3store", cwd=repo, env=creds, check=False)
        assert missing.returncode != 0
        assert "specified bucket does not exist" in (missing.stderr + missing.stdout).lower()
        boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="testing",
                     aws_secret_access_key="testing", region_name="us-east-1"
                     ).create_bucket(Bucket="styles")
        sh(BIN / "dvc", "push", "-q", "-r", "s3store", cwd=repo, env=creds)
        sh("git", "commit", "-qam", "s3 remote", cwd=repo)
        listed = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="testing",
                              aws_secret_access_key="testing", region_name="us-east-1"
                              ).list_objects_v2(Bucket="styles")
        assert listed["KeyCount"] >= 25
        _clone_pull_compare(repo, tmp_path / "clone", "s3store", env=creds)
    finally:
        server.stop()


def test_unreachable_remote_names_endpoint(repo, tmp_path):
    sh(BIN / "dvc", "remote", "add", "-f", "dead", "s3://styles/x", cwd=repo)
    sh(BIN / "dvc", "remote", "modify", "dead", "endpointurl", "http://127.0.0.1:9", cwd=repo)
    proc = sh(BIN / "dvc", "push", "-r", "dead", cwd=repo, check=False,
              env={"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"})
    assert proc.returncode != 0
    assert "Could not connect to the endpoint URL" in proc.stderr + proc.stdout
    assert "127.0.0.1:9" in proc.stderr + proc.stdout
