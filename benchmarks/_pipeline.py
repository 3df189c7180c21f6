"""Pipeline benchmark items: end-to-end `dvc repro`, DVC overhead, incremental embed, memory.

All of them run in a throw-away copy of the project (never in the checkout itself): the files git
knows about (tracked, or new and not ignored), minus data, reports and dvc.lock, plus a fresh sample
of `n_posts` posts, `git init`, `dvc add data/raw`. Stage scripts and DVC run from that copy.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from _common import ROOT, VENV_BIN, WRAPPER, log, run_measured, stage_argv
from stylecluster import catalog

EXCLUDE = re.compile(
    r"^(data/(?!external/|\.gitignore$)|reports/|dvc\.lock$|.*\.dvc$|.*__pycache__)")


def _project_files() -> list[str]:
    """Files git tracks or would track (not ignored) in the checkout; read-only git query."""
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], capture_output=True, check=True).stdout
        files = [f for f in out.decode().split("\0") if f]
    except (OSError, subprocess.CalledProcessError):
        ignore = {".venv", ".git", "data", "reports", "__pycache__", ".pytest_cache", "tmp"}
        files = [p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*")
                 if p.is_file() and not ignore & set(p.relative_to(ROOT).parts)]
        files += [p.relative_to(ROOT).as_posix() for p in (ROOT / "data/external").rglob("*")
                  if p.is_file()]
    return sorted(f for f in set(files) if not EXCLUDE.match(f) and (ROOT / f).is_file())


class Project:
    """A throw-away copy of the project with a sample, and the commands that run in it."""

    def __init__(self, workdir: Path, n_posts: int) -> None:
        self.work = workdir
        self.dir = workdir / "project"
        self.n_posts = n_posts
        self.logs = workdir / "logs"
        self.stage_log = workdir / "stage_times.jsonl"
        self.numba_cold = workdir / "numba-cache-e2e"
        self.python = str(VENV_BIN / "python")
        self.e2e: dict[str, Any] | None = None

    def folder(self, key: str) -> Path:
        """The copy's folder for params.yaml `paths.<key>`."""
        params = yaml.safe_load((self.dir / "params.yaml").read_text(encoding="utf-8"))
        return self.dir / params["paths"][key]

    def at(self, art: Any) -> Path:
        """Where the copy keeps a catalog artifact."""
        return self.folder(art.folder) / art.name

    # -- setup ---------------------------------------------------------------------------------

    def env(self, shim: bool = False, **extra: str) -> dict[str, str]:
        path = f"{VENV_BIN}:{os.environ.get('PATH', '')}"
        if shim:
            path = f"{self.work / 'shim'}:{path}"
        env = {**os.environ, "PATH": path, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "GX_ANALYTICS_ENABLED": "False", "DVC_NO_ANALYTICS": "1",
               "BENCH_STAGE_LOG": str(self.stage_log)}
        env.update(extra)
        return env

    def setup(self) -> dict:
        """Copy the project, write params for the copy, build the sample, git init, dvc add."""
        self.logs.mkdir(parents=True, exist_ok=True)
        files = _project_files()
        for rel in files:
            dest = self.dir / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, dest)
        params = yaml.safe_load((self.dir / "params.yaml").read_text(encoding="utf-8"))
        params["runtime"]["progress"] = False
        (self.dir / "params.yaml").write_text(
            yaml.safe_dump(params, allow_unicode=True, sort_keys=False), encoding="utf-8")
        # `python` in front of PATH: DVC's stage commands go through the RSS wrapper
        shim = self.work / "shim"
        shim.mkdir(exist_ok=True)
        for name in ("python", "python3"):
            f = shim / name
            f.write_text(f"#!{self.python}\nimport os, sys\n"
                         f"sys.path.insert(0, {str(WRAPPER.parent)!r})\n"
                         "from _rss_wrapper import main\n"
                         f"sys.exit(main(['--log', os.environ['BENCH_STAGE_LOG'], '--', "
                         f"{self.python!r}, *sys.argv[1:]]))\n")
            f.chmod(0o755)
        t0 = time.perf_counter()
        self.sh(["git", "init", "-q"])
        self.sh([VENV_BIN / "stylecluster", "sample", "--out", "data/raw", "--n-posts",
                 str(self.n_posts), "--quiet"])
        sample_s = time.perf_counter() - t0
        self.sh([VENV_BIN / "dvc", "add", "-q", "data/raw"])
        return {"files_copied": len(files), "sample_s": round(sample_s, 2)}

    def sh(self, cmd: list[Any], **kw: Any) -> subprocess.CompletedProcess:
        with open(self.logs / "commands.log", "ab") as fh:
            fh.write(f"$ {' '.join(map(str, cmd))}\n".encode())
            proc = subprocess.run([str(c) for c in cmd], cwd=self.dir, env=self.env(),
                                  stdout=fh, stderr=subprocess.STDOUT, **kw)
        if proc.returncode:
            tail = (self.logs / "commands.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{cmd} failed ({proc.returncode}):\n{tail}")
        return proc

    def stage_names(self) -> list[str]:
        return list(yaml.safe_load((self.dir / "dvc.yaml").read_text())["stages"])

    def _stage_log(self) -> list[dict]:
        if not self.stage_log.exists():
            return []
        return [json.loads(line) for line in self.stage_log.read_text().splitlines() if line]

    # -- 7. end-to-end repro ---------------------------------------------------------------------

    def repro(self) -> dict:
        """`dvc repro` from a clean DVC cache, an empty embedding cache and a cold numba cache."""
        shutil.rmtree(self.numba_cold, ignore_errors=True)
        self.stage_log.unlink(missing_ok=True)
        env = self.env(shim=True, NUMBA_CACHE_DIR=str(self.numba_cold))
        res = run_measured([VENV_BIN / "dvc", "repro"], cwd=self.dir, env=env,
                           log_to=self.logs / "e2e_repro.log")
        stages = {}
        for rec in self._stage_log():
            argv = rec["argv"]
            script = next((a for a in argv if a.startswith("stages/")), " ".join(argv))
            stages[Path(script).stem] = {"wall_s": rec["wall_s"], "peak_rss_mb": rec["peak_rss_mb"],
                                         "rc": rec["rc"]}
        self.e2e = {"wall_s": res["wall_s"], "peak_rss_mb": res["peak_rss_mb"], "stages": stages}
        return self.e2e

    # -- 6. DVC overhead --------------------------------------------------------------------------

    def noop(self, command: str, repeats: int) -> dict:
        """Time `dvc repro` / `dvc status` when nothing changed; check that no stage ran."""
        before = len(self._stage_log())
        times, rss = [], []
        for i in range(repeats):
            res = run_measured([VENV_BIN / "dvc", command], cwd=self.dir, env=self.env(shim=True),
                               log_to=self.logs / f"dvc_{command.lstrip('-')}_{i}.log")
            times.append(res["wall_s"])
            rss.append(res["peak_rss_mb"])
        out = (self.logs / f"dvc_{command.lstrip('-')}_0.log").read_text(errors="replace")
        return {"times": times, "peak_rss_mb": max(rss),
                "stages_run": len(self._stage_log()) - before,
                "output_head": out.strip().splitlines()[:3]}

    def minimal_noop(self, repeats: int) -> dict:
        """Time a no-op `dvc repro` of a one-stage project (`echo hi > out.txt`): DVC's own floor.

        The difference to `noop("repro")` is what this project's 8 stages, their deps and params
        add to a no-op on this machine.
        """
        d = self.work / "dvc-minimal"
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        env = self.env()
        for cmd in (["git", "init", "-q"], [VENV_BIN / "dvc", "init", "-q"],
                    [VENV_BIN / "dvc", "config", "core.analytics", "false"]):
            subprocess.run(cmd, cwd=d, env=env, check=True, capture_output=True)
        (d / "dvc.yaml").write_text("stages:\n  a:\n    cmd: echo hi > out.txt\n    outs:\n"
                                    "      - out.txt\n")
        subprocess.run([VENV_BIN / "dvc", "repro", "-q"], cwd=d, env=env, check=True,
                       capture_output=True)
        runs = [run_measured([VENV_BIN / "dvc", "repro"], cwd=d, env=env,
                             log_to=self.logs / f"dvc_minimal_{i}.log") for i in range(repeats)]
        return {"times": [r["wall_s"] for r in runs],
                "peak_rss_mb": max(r["peak_rss_mb"] for r in runs)}

    # -- stage commands ----------------------------------------------------------------------------

    def stage_cmd(self, name: str, params_file: Path | None = None) -> list[str]:
        """The stage's dvc.yaml `cmd` with `${...}` filled from the params file (venv python)."""
        return stage_argv(self.dir / "dvc.yaml", params_file or self.dir / "params.yaml", name,
                          self.python)

    def run_embed(self, segment: Path, texts: Path, cache: Path, out: Path, tag: str) -> dict:
        """Run stages/embed.py as a subprocess (no DVC); return wall, RSS and its run log."""
        run_log = out.parent / f"embed_{tag}_run.json"
        cmd = [self.python, "stages/embed.py", "--segment", segment, "--texts", texts,
               "--cache", cache, "--out", out, "--run-log", run_log,
               "--params", self.dir / "params.yaml"]
        res = run_measured(cmd, cwd=self.dir, env=self.env(), log_to=self.logs / f"embed_{tag}.log")
        res["summary"] = json.loads(run_log.read_text())
        return res

    # -- 5. incremental embed ---------------------------------------------------------------

    def subset_inputs(self, post_ids: list[str], dest: Path) -> tuple[Path, Path]:
        """segment folder + texts.parquet restricted to `post_ids` (masks linked, not copied)."""
        from stylecluster import storage

        seg = self.folder("segment")
        manifest = storage.read_table(seg / catalog.SEGMENT_MANIFEST.name, "segment_manifest")
        texts = storage.read_table(self.at(catalog.TEXTS), "texts")
        keep = set(post_ids)
        (dest / "segment").mkdir(parents=True, exist_ok=True)
        storage.write_table(manifest[manifest["post_id"].isin(keep)].reset_index(drop=True),
                       dest / "segment" / catalog.SEGMENT_MANIFEST.name, "segment_manifest")
        if not (dest / "segment/masks").exists():
            (dest / "segment/masks").symlink_to(seg / "masks")
        storage.write_table(texts[texts["post_id"].isin(keep)].reset_index(drop=True),
                       dest / catalog.TEXTS.name, "texts")
        return dest / "segment", dest / catalog.TEXTS.name

    def post_ids(self) -> list[str]:
        from stylecluster import storage

        manifest = storage.read_table(self.at(catalog.SEGMENT_MANIFEST),
                                 "segment_manifest")
        return sorted(manifest["post_id"].astype(str))

    def incremental(self, repeats: int, cold_repeats: int) -> dict:
        """Embed the first ~91% of the posts (cold), then all of them with that cache (10% new).

        The cold baseline on all posts is e2e's embed stage (same command, empty cache) plus
        `cold_repeats - 1` dedicated cold runs.
        """
        ids = self.post_ids()
        n = len(ids)
        n_new = max(1, n // 11)
        base_ids = ids[: n - n_new]
        w = self.work / "incremental"
        shutil.rmtree(w, ignore_errors=True)
        base_seg, base_txt = self.subset_inputs(base_ids, w / "base")
        full_seg = self.folder("segment")
        full_txt = self.at(catalog.TEXTS)
        cold = []
        if self.e2e and "embed" in self.e2e["stages"]:
            cold.append({**self.e2e["stages"]["embed"], "source": "e2e dvc repro"})
        for i in range(max(0, cold_repeats - len(cold))):
            log(f"incremental: cold run {i + 1} on all {n} posts")
            cold.append({**self.run_embed(full_seg, full_txt, w / f"cache-cold{i}",
                                          w / f"out-cold{i}", f"cold{i}"), "source": "dedicated"})
        log(f"incremental: first run (cold) on the first {len(base_ids)} posts")
        first = self.run_embed(base_seg, base_txt, w / "cache-base", w / "out-base", "base")
        incs = []
        for i in range(repeats):
            cache = w / f"cache-inc{i}"
            shutil.copytree(w / "cache-base", cache)
            log(f"incremental: run {i + 1}/{repeats} on all {n} posts ({n_new} new)")
            incs.append(self.run_embed(full_seg, full_txt, cache, w / f"out-inc{i}", f"inc{i}"))
        from stylecluster.pipeline import embed
        from stylecluster import storage

        full = embed.select_inputs(storage.read_table(full_seg / catalog.SEGMENT_MANIFEST.name, "segment_manifest"),
                                   storage.read_table(full_txt, "texts"))
        new = set(ids[n - n_new:])
        new_items = {"image": sum(p in new for p in full.image_ids),
                     "text": sum(p in new for p in full.text_ids)}
        got = {m: [r["summary"][m]["encoded"] for r in incs] for m in ("image", "text")}
        return {"n": n, "n_base": len(base_ids), "n_new": n_new, "cold": cold, "first": first,
                "inc": incs, "new_items": new_items, "encoded": got}

    # -- 8. memory --------------------------------------------------------------------------

    def segment_at(self, n_small: int) -> dict:
        """The segment stage on the first `n_small` validated posts (as a subprocess)."""
        from stylecluster import storage

        w = self.work / f"segment-n{n_small}"
        posts = storage.read_table(self.at(catalog.POSTS), "posts")
        storage.write_table(posts.iloc[:n_small].reset_index(drop=True), w / catalog.POSTS.name, "posts")
        cmd = [self.python, "stages/segment.py", "--posts", w / catalog.POSTS.name, "--raw",
               self.folder("raw"), "--out", w / "segment", "--params", self.dir / "params.yaml"]
        return run_measured(cmd, cwd=self.dir, env=self.env(),
                            log_to=self.logs / "segment_small.log")

    def embed_at(self, n_small: int) -> dict:
        """The embed stage, cold, on the first `n_small` posts."""
        w = self.work / f"embed-n{n_small}"
        seg, txt = self.subset_inputs(self.post_ids()[:n_small], w)
        return self.run_embed(seg, txt, w / "cache", w / "out", f"n{n_small}")

    def synthetic_chain(self, n: int, seed: int) -> dict:
        """Run the stages whose memory grows with n on `n` synthetic posts; see README."""
        import numpy as np
        import pandas as pd

        from stylecluster.pipeline import embed
        from stylecluster import storage

        w = self.work / f"mem-{n}"
        shutil.rmtree(w, ignore_errors=True)
        params = yaml.safe_load((self.dir / "params.yaml").read_text(encoding="utf-8"))
        paths = params["paths"]
        for key in ("raw", "validate", "segment", "preprocess", "embed", "embed_cache", "reduce",
                    "select_k", "cluster", "reports"):
            if key in paths:
                paths[key] = str(w / key)
        params["validate"]["check_images"] = False
        pfile = w / "params.yaml"
        w.mkdir(parents=True)
        pfile.write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False),
                         encoding="utf-8")
        # raw: the sample's rows repeated to n posts with new ids (same images, not decoded)
        raw = pd.read_parquet(self.folder("raw") / catalog.RAW_POSTS)
        rep = raw.iloc[np.arange(n) % len(raw)].reset_index(drop=True)
        source_ids = rep["post_id"].astype(str).tolist()
        rep["post_id"] = [f"m{i:06d}" for i in range(n)]
        (w / "raw").mkdir()
        rep.to_parquet(w / "raw" / catalog.RAW_POSTS, index=False)
        (w / "raw/images").symlink_to(self.folder("raw") / catalog.RAW_IMAGES)
        results: dict[str, Any] = {}
        order = self.stage_names()

        def run(stage: str) -> None:
            log(f"memory n={n}: {stage}")
            try:
                res = run_measured(self.stage_cmd(stage, pfile), cwd=self.dir, env=self.env(),
                                   log_to=self.logs / f"mem{n}_{stage}.log")
            except RuntimeError as exc:
                res = {"error": str(exc)[-1500:]}
            results[stage] = res

        for stage in ("validate", "preprocess"):
            if stage in order:
                run(stage)
        try:
            scaffold = self.embed_scaffolding(w, pfile, [self.n_posts, n])
        except Exception as exc:  # noqa: BLE001 - reported in the record, the chain goes on
            log(f"memory: embed scaffolding failed: {exc}")
            scaffold = {}
        # segment and embed outputs: synthetic (they stream per image / per batch, see README)
        manifest = storage.read_table(self.at(catalog.SEGMENT_MANIFEST),
                                 "segment_manifest").set_index("post_id")
        seg = manifest.loc[source_ids].reset_index(drop=True)
        seg.insert(0, "post_id", rep["post_id"])
        storage.write_table(seg, w / "segment" / catalog.SEGMENT_MANIFEST.name, "segment_manifest")
        for f in (self.folder("segment")).iterdir():  # summary.json, histogram
            if f.is_file() and f.name != catalog.SEGMENT_MANIFEST.name:
                shutil.copy2(f, w / "segment" / f.name)
        (w / "segment/masks").symlink_to(self.folder("segment") / catalog.SEGMENT_MASKS.name)
        texts = storage.read_table(w / "preprocess" / catalog.TEXTS.name, "texts")
        inputs = embed.select_inputs(seg, texts)
        rng = np.random.default_rng(seed)
        for modality, ids, dim in (("image", inputs.image_ids, 1280),
                                   ("text", inputs.text_ids, 384)):
            centres = rng.normal(size=(24, dim))
            m = centres[rng.integers(0, 24, len(ids))] + 0.8 * rng.normal(size=(len(ids), dim))
            m = np.abs(m)  # (n, dim), non-negative like pooled ReLU features
            m /= np.linalg.norm(m, axis=1, keepdims=True)
            storage.write_matrix(m.astype(np.float32), w / f"embed/{modality}.npy")
            storage.write_table(pd.DataFrame({"post_id": pd.Series(ids, dtype=object)}),
                           w / f"embed/{modality}_ids.parquet", "ids")
        storage.write_table(inputs.dropped, w / "embed" / catalog.EMBED_DROPPED.name, "dropped")
        storage.write_json({"synthetic": True, "image": {"n": len(inputs.image_ids), "dim": 1280},
                       "text": {"n": len(inputs.text_ids), "dim": 384}}, w / "embed" / catalog.EMBED_SUMMARY.name)
        for stage in order:
            if stage not in ("validate", "preprocess", "segment", "embed"):
                run(stage)
        return {"stages": results, "n_image": len(inputs.image_ids), "n_text": len(inputs.text_ids),
                "params_file": str(pfile), "embed_scaffolding": scaffold}

    def embed_scaffolding(self, w: Path, pfile: Path, sizes: list[int]) -> dict:
        """The embed stage's own growth with n: the `hash` stand-in encoder on tiny unique images.

        The models' memory is per batch (measured for real at two sizes); what grows with n is the
        stage's bookkeeping (tables, output matrices, cache). Run the stage with the 64-d `hash`
        encoder on `sizes` posts, every post with a unique 16x16 image and a unique text.
        """
        import numpy as np
        import pandas as pd
        from PIL import Image

        from stylecluster import storage

        d = w / "embed-scaffolding"
        params = yaml.safe_load(pfile.read_text(encoding="utf-8"))
        params["embed"].update(image_encoder="hash", text_encoder="hash")
        hfile = d / "params.yaml"
        (d / "segment/masks").mkdir(parents=True)
        hfile.write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False),
                         encoding="utf-8")
        texts = storage.read_table(w / "preprocess" / catalog.TEXTS.name, "texts")
        n_max = min(max(sizes), len(texts))
        rng = np.random.default_rng(0)
        ids = texts["post_id"].astype(str).tolist()[:n_max]
        digests = [storage.write_image(Image.fromarray(rng.integers(0, 256, (16, 16, 3),
                                                                dtype=np.uint8)),
                                  d / f"segment/masks/{pid}.png") for pid in ids]
        texts = texts.iloc[:n_max].copy()
        texts["has_text"] = True
        texts["embed_input"] = (texts["embed_input"].fillna("").astype(str) + " #"
                                + texts["post_id"])
        out = {}
        for n in sizes:
            n = min(n, n_max)
            manifest = pd.DataFrame({"post_id": ids[:n], "clothing_share": 0.5,
                                     "person_share": 0.5, "kept": True, "reason": "",
                                     "mask_path": [f"masks/{p}.png" for p in ids[:n]],
                                     "mask_source": "mediapipe",
                                     "mask_sha256": digests[:n]})
            storage.write_table(manifest, d / "segment" / catalog.SEGMENT_MANIFEST.name, "segment_manifest")
            storage.write_table(texts.iloc[:n].reset_index(drop=True), d / catalog.TEXTS.name, "texts")
            log(f"memory: embed stage with the hash stand-in encoder on {n} posts")
            cmd = [self.python, "stages/embed.py", "--segment", d / "segment", "--texts",
                   d / catalog.TEXTS.name, "--cache", d / f"cache-{n}", "--out", d / f"out-{n}",
                   "--params", hfile]
            try:
                out[n] = run_measured(cmd, cwd=self.dir, env=self.env(),
                                      log_to=self.logs / f"embed_hash_{n}.log")
            except RuntimeError as exc:
                out[n] = {"error": str(exc)[-1500:]}
        return out


def reduce_sets_numba_cache() -> bool:
    """Whether stages/reduce.py (or the reduce core) sets NUMBA_CACHE_DIR itself."""
    return any("NUMBA_CACHE_DIR" in (ROOT / f).read_text(encoding="utf-8")
               for f in ("stages/reduce.py", "src/stylecluster/pipeline/reduce.py") if (ROOT / f).exists())


def umap_in_tree_cache_writable() -> bool:
    """Whether numba can cache beside umap's sources (its default without NUMBA_CACHE_DIR)."""
    import importlib.util

    spec = importlib.util.find_spec("umap")
    if spec is None or not spec.origin:
        return False
    return os.access(Path(spec.origin).parent, os.W_OK)

