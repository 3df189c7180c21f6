"""runtime.executor: dask gives the same bytes as local, for embed and segment, and survives a lost
worker. A LocalCluster starts worker processes, so these tests live in the integration tier."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from stylecluster import catalog
from stylecluster import encoders, executors, storage
from stylecluster.config import EmbedParams, RuntimeParams
from stylecluster.encoders.hashing import HashEncoder
from stylecluster.pipeline import embed
from tests.harness import run_stage
from tests.unit.test_embed import ROOT, make_manifest, make_texts, synthetic_images
from tests.unit.test_segment import BG, draw_person, draw_scenery

pytest.importorskip("distributed")

DASK = {"executor": "dask", "workers": 2, "threads_per_worker": 1}
N_POSTS = 12


def write_upstream(root: Path) -> tuple[Path, Path]:
    """A segment folder (10 of 12 kept, two masks with the same pixels) and a texts.parquet."""
    seg = root / "segment"
    ids = [f"p{i:02d}" for i in range(N_POSTS)]
    kept = [i < 10 for i in range(N_POSTS)]
    images = synthetic_images(N_POSTS, seed=7)
    images[6] = images[1].copy()  # same pixels, same file bytes: loaded once
    paths = [f"masks/{pid}.png" if k else "" for pid, k in zip(ids, kept)]
    digests = [storage.write_image(img, seg / rel) if rel else "" for img, rel in zip(images, paths)]
    storage.write_table(make_manifest(ids, kept, paths, None, digests), seg / catalog.SEGMENT_MANIFEST.name,
                        "segment_manifest")
    captions = {pid: (f"穿搭 {i % 9} 连衣裙" if i != 4 else "") for i, pid in enumerate(ids)}
    texts = root / catalog.TEXTS.name
    storage.write_table(make_texts(captions), texts, "texts")
    return seg, texts


def run_embed(root: Path, seg: Path, texts: Path, embed_params: dict, runtime: dict):
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["runtime"].update({"progress": False, "shard_size": 4, **runtime})
    params["embed"].update(embed_params)
    root.mkdir(parents=True, exist_ok=True)
    (root / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    return run_stage("embed", "--segment", seg, "--texts", texts, "--cache", root / "cache",
                     "--out", root / "embed", "--run-log", root / "logs" / "embed.json",
                     params=root / "params.yaml", timeout=240)


def same_files(a: Path, b: Path) -> None:
    names = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    differ = [n for n in names if (a / n).read_bytes() != (b / n).read_bytes()]
    assert not differ, f"outputs differ between local and dask: {differ}"
    assert names, "no outputs"


def test_embed_on_dask_writes_the_same_bytes_as_local(tmp_path):
    seg, texts = write_upstream(tmp_path)
    hashed = {"image_encoder": "hash", "text_encoder": "hash", "batch_size": 2}
    local = run_embed(tmp_path / "local", seg, texts, hashed, {"executor": "local"})
    assert local.returncode == 0, local.stderr[-3000:]
    dask = run_embed(tmp_path / "dask", seg, texts, hashed, DASK)
    assert dask.returncode == 0, dask.stderr[-3000:]
    assert "dask: LocalCluster with 2 worker(s)" in dask.stderr, dask.stderr[-3000:]
    assert "in 3 shard(s)" in dask.stderr, "9 distinct images in shards of 4: 3 shards"
    same_files(tmp_path / "local" / "embed", tmp_path / "dask" / "embed")
    run = storage.read_json(tmp_path / "dask" / "logs" / "embed.json")
    assert (run["image"]["encoded"], run["image"]["loaded"]) == (10, 9), run["image"]
    # a warm cache written by the dask run answers everything, locally
    warm = run_embed(tmp_path / "dask", seg, texts, hashed, {"executor": "local"})
    assert warm.returncode == 0, warm.stderr[-3000:]
    run = storage.read_json(tmp_path / "dask" / "logs" / "embed.json")
    assert (run["image"]["cache_hits"], run["image"]["loaded"]) == (10, 0), run["image"]
    same_files(tmp_path / "local" / "embed", tmp_path / "dask" / "embed")

    # a mask that no longer decodes (its digest updated to match): the worker's error, by name
    (seg / "masks" / "p03.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    manifest = storage.read_table(seg / catalog.SEGMENT_MANIFEST.name, "segment_manifest")
    manifest.loc[manifest.post_id == "p03", "mask_sha256"] = storage.file_sha256(
        seg / "masks" / "p03.png")
    storage.write_table(manifest, seg / catalog.SEGMENT_MANIFEST.name, "segment_manifest")
    bad = run_embed(tmp_path / "bad", seg, texts, hashed, {**DASK, "retries": 0})
    assert bad.returncode == 1 and "p03.png: image does not decode" in bad.stderr, \
        bad.stderr[-3000:]


def _scheduler_address(sched_file: Path, proc, log: Path, timeout_s: float = 60.0) -> str:
    """The address `dask scheduler` writes to its scheduler file once it listens; fails with the
    scheduler's own log when it exits or does not write the file in time."""
    import json
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"dask scheduler exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            return json.loads(sched_file.read_text())["address"]
        except (FileNotFoundError, json.JSONDecodeError, KeyError):  # not written (fully) yet
            time.sleep(0.1)
    pytest.fail(f"dask scheduler wrote no {sched_file.name} in {timeout_s:.0f} s:\n"
                f"{log.read_text()[-3000:]}")


def test_embed_on_an_existing_scheduler_writes_the_same_bytes_as_local(tmp_path):
    """runtime.executor_address: a scheduler and workers started the way README says (`dask
    scheduler`, `dask worker`), as separate processes; the stage connects to them."""
    import subprocess

    seg, texts = write_upstream(tmp_path)
    hashed = {"image_encoder": "hash", "text_encoder": "hash", "batch_size": 2}
    local = run_embed(tmp_path / "local", seg, texts, hashed, {"executor": "local"})
    assert local.returncode == 0, local.stderr[-3000:]
    dask_cli = Path(sys.executable).with_name("dask")
    sched_file = tmp_path / "scheduler.json"
    common = ["--scheduler-file", str(sched_file), "--no-dashboard"]
    sched_log = tmp_path / "scheduler.log"
    with sched_log.open("wb") as log_fh:
        procs = [subprocess.Popen([dask_cli, "scheduler", "--port", "0", "--host", "127.0.0.1",
                                   *common], stdout=subprocess.DEVNULL, stderr=log_fh)]
    try:
        address = _scheduler_address(sched_file, procs[0], sched_log)
        procs.append(subprocess.Popen([dask_cli, "worker", "--nworkers", "2", "--nthreads", "1",
                                       *common], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=120)
        remote = run_embed(tmp_path / "remote", seg, texts, hashed,
                           {"executor": "dask", "executor_address": address})
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(timeout=60)
    assert remote.returncode == 0, remote.stderr[-3000:]
    assert f"dask: {address} with 2 worker(s)" in remote.stderr, remote.stderr[-3000:]
    same_files(tmp_path / "local" / "embed", tmp_path / "remote" / "embed")


@pytest.mark.slow
def test_embed_on_dask_with_the_real_default_encoders(tmp_path):
    seg, texts = write_upstream(tmp_path)
    local = run_embed(tmp_path / "local", seg, texts, {"batch_size": 4}, {"executor": "local"})
    assert local.returncode == 0, local.stderr[-3000:]
    (tmp_path / "dask" / "cache").mkdir(parents=True)
    for f in (tmp_path / "local" / "cache").iterdir():  # the ONNX export, not the vectors
        if not f.name.startswith("embeddings.sqlite"):
            shutil.copy(f, tmp_path / "dask" / "cache" / f.name)
    dask = run_embed(tmp_path / "dask", seg, texts, {"batch_size": 4}, DASK)
    assert dask.returncode == 0, dask.stderr[-3000:]
    same_files(tmp_path / "local" / "embed", tmp_path / "dask" / "embed")
    assert np.load(tmp_path / "dask" / "embed" / catalog.IMAGE_MATRIX.name).shape == (10, 1280)


def write_raw(root: Path) -> Path:
    raw = root / "raw"
    (raw / "images").mkdir(parents=True)
    draw_person().save(raw / "images" / "p1.png")
    draw_person(garment=(200, 40, 40), bg=(180, 200, 220)).save(raw / "images" / "p2.png")
    draw_scenery().save(raw / "images" / "p3.png")
    (raw / "images" / "p4.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(200)))
    person = np.asarray(draw_person(garment=(30, 120, 60)))
    alpha = np.where((person == np.array(BG, np.uint8)).all(axis=2), 0, 255).astype(np.uint8)
    Image.fromarray(np.dstack([person, alpha]), "RGBA").save(raw / "images" / "p5.png")
    ids = ["p1", "p2", "p3", "p4", "p5", "p6"]
    posts = pd.DataFrame({
        "post_id": ids, "content": ["c"] * 6, "tags": ["t"] * 6,
        "posted_at": pd.to_datetime(["2024-01-05"] * 6, utc=True), "month": ["2024-01"] * 6,
        "image_path": [f"images/{i}.png" for i in ids[:5]] + [None]})
    storage.write_table(posts, root / catalog.POSTS.name, "posts")
    return raw


def test_segment_on_dask_writes_the_same_bytes_as_local(tmp_path):
    raw = write_raw(tmp_path)
    outs = {}
    for name, runtime in (("local", {"executor": "local"}), ("dask", DASK)):
        params = tmp_path / f"{name}.yaml"
        params.write_text(yaml.safe_dump({"runtime": {"progress": False, "shard_size": 2,
                                                      **runtime}}))
        outs[name] = tmp_path / name
        proc = run_stage("segment", "--posts", tmp_path / catalog.POSTS.name, "--raw", raw,
                         "--out", outs[name], params=params, timeout=240)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "kept 3 of 6 images" in proc.stderr, proc.stderr[-2000:]
        assert ("dask: LocalCluster with 2 worker(s)" in proc.stderr) == (name == "dask")
    same_files(outs["local"], outs["dask"])


# ---- a worker lost mid-run -----------------------------------------------------------------


@dataclass(frozen=True)
class KillOnceRecipe:
    """Builds a hash encoder that kills its own worker process on its first batch of the run
    (a marker file says it happened), as a crashed or preempted machine would."""

    marker: str

    def key(self) -> str:
        return repr(self)

    def build(self) -> HashEncoder:
        marker = Path(self.marker)

        class KillOnce(HashEncoder):
            def _encode(self, batch):
                if not marker.exists():
                    marker.write_text(str(os.getpid()))
                    os._exit(1)  # the worker process dies mid-task
                return super()._encode(batch)

        return KillOnce(None, "image")


def test_a_worker_killed_mid_run_still_gives_the_same_matrix(tmp_path):
    import cloudpickle

    from stylecluster.executors.dask_executor import DaskExecutor

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/
    ids = [f"p{i}" for i in range(16)]
    images = synthetic_images(16, seed=11)
    files = [tmp_path / "masks" / f"{pid}.png" for pid in ids]
    for img, f in zip(images, files):
        storage.write_image(img, f)
    hash_image = encoders.get_encoder("hash", "image", EmbedParams())
    local = embed.embed_images(ids, storage.read_image, hash_image, None, 2,
                               items=[str(f) for f in files], shard_size=4)
    marker = tmp_path / "killed"
    runtime = RuntimeParams(executor="dask", workers=2, threads_per_worker=1, retries=1)
    with DaskExecutor(runtime) as pool:
        got = embed.embed_images(
            ids, storage.read_image, hash_image, None, 2, items=[str(f) for f in files],
            shard_size=4, run_shards=executors.shard_runner(pool, KillOnceRecipe(str(marker)),
                                                            None))
    assert marker.exists(), "no worker was killed: the test did not test anything"
    assert np.array_equal(got.matrix, local.matrix) and got.matrix.tobytes() == local.matrix.tobytes()
    assert got.n_loaded == 16
