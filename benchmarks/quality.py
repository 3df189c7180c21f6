"""The quality harness (`make quality`): how well the pipeline recovers known groupings on labelled
sets, one table for every default the project changes. Not a test: a measurement.

Each set is a file `benchmarks/quality/<set>.yaml`:

    description: one line
    source: {kind: sample}                       # the bundled generator (n_posts, cutout: options)
            {kind: image_folder, path: ../shared/dev/fashion-mnist-train-3k,
             labels: labels.csv, file: file, label: label_name}   # real labelled images
            {kind: sklearn_digits}               # the digits shipped inside scikit-learn
    params: {segment: {method: none}}            # the set's params, over params.yaml
    variants: {image: {reduce: {modality: image}}, text: {...}}   # one run each, over `params`

For every set the data is imported into a scratch folder (`tmp/quality/<set>/`, git-ignored;
development data is read in place, never copied into the project), and the stage scripts run in
dvc.yaml order with a params file whose paths point there (the same commands DVC runs, without
DVC). Stages up to embed run once per distinct upstream params; reduce, select_k and cluster once
per variant. Embedding vectors come from the project's content-addressed cache (paths.embed_cache),
so a second run, or a set sharing images with the sample, does not re-encode.

Output: `reports/quality/quality.json` (a list of records: set, variant, n, params that differ
from params.yaml, best_k, has_peak, rule, nmi, ari, accuracy, v_measure, largest_cluster_share,
length_skew, length_cluster_corr, seconds) and the same as `quality.md`.

Usage: python benchmarks/quality.py [--sets fashion-mnist-train-3k,sample] [--variants image]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, VENV_BIN, log, stage_argv  # noqa: E402

from stylecluster import catalog  # noqa: E402

SETS_DIR = ROOT / "benchmarks" / "quality"
UPSTREAM = ("validate", "segment", "preprocess", "embed")
DOWNSTREAM = ("reduce", "select_k", "cluster")
COLUMNS = ("set", "variant", "n", "best_k", "has_peak", "rule", "nmi", "ari", "accuracy",
           "v_measure", "largest_cluster_share", "length_skew", "length_cluster_corr", "seconds")
# Folders a run writes, each under its own scratch folder (the rest of paths: stays as in params.yaml).
UPSTREAM_PATHS = ("raw", "validate", "segment", "preprocess", "embed", "reports", "logs")
DOWNSTREAM_PATHS = ("reduce", "select_k", "cluster", "reports", "logs")


def merge(base: dict, over: dict) -> dict:
    """`over` written onto a copy of `base`, section by section (nested mappings merged)."""
    out = dict(base)
    for key, value in (over or {}).items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(
            out.get(key), dict) else value
    return out


def flat_diff(base: dict, params: dict, prefix: str = "") -> dict[str, Any]:
    """The dotted keys whose value in `params` differs from `base` (paths excluded)."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        dotted = f"{prefix}{key}"
        if dotted in ("paths", "runtime"):
            continue
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            out.update(flat_diff(base[key], value, dotted + "."))
        elif base.get(key) != value:
            out[dotted] = value
    return out


def _sh(cmd: list[Any], log_file: Path) -> None:
    env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "GX_ANALYTICS_ENABLED": "False"}
    with open(log_file, "ab") as fh:
        fh.write(f"$ {' '.join(map(str, cmd))}\n".encode())
        fh.flush()
        proc = subprocess.run([str(c) for c in cmd], cwd=ROOT, env=env, stdout=fh, stderr=fh)
    if proc.returncode:
        tail = log_file.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{cmd[:2]} failed ({proc.returncode}); log {log_file}:\n{tail}")


# -- sources: each writes a canonical raw folder at `raw` ------------------------------------------

def _export_images(rows: list[dict], images: Path, work: Path, raw: Path, log_file: Path) -> None:
    """Import labelled image rows (post_id, file, label) with synthetic dates through the CLI."""
    import random

    rng = random.Random(0)  # dates independent of the label: 12 balanced months
    months = [1 + i % 12 for i in range(len(rows))]
    rng.shuffle(months)
    lines = ["post_id,posted_at,image_path,label"]
    for row, month in zip(rows, months):
        lines.append(f"{row['post_id']},2024-{month:02d}-15 12:00:00,{row['file']},{row['label']}")
    export = work / "export.csv"
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _sh([VENV_BIN / "stylecluster", "import", "--posts", export, "--images", images, "--map",
         "post_id=post_id,posted_at=posted_at,image_path=image_path,label=label",
         "--out", raw, "--force"], log_file)


def build_raw(source: dict, work: Path, raw: Path, log_file: Path) -> None:
    """Write the set's canonical raw folder (stylecluster import / sample) at `raw`."""
    kind = source["kind"]
    if kind == "sample":
        cmd = [VENV_BIN / "stylecluster", "sample", "--out", raw, "--quiet"]
        if source.get("n_posts"):
            cmd += ["--n-posts", source["n_posts"]]
        if source.get("cutout"):
            cmd += ["--cutout"]
        shutil.rmtree(raw, ignore_errors=True)
        _sh(cmd, log_file)
    elif kind == "image_folder":
        import csv

        root = (ROOT / source["path"]).resolve()
        with open(root / source.get("labels", "labels.csv"), encoding="utf-8") as fh:
            table = list(csv.DictReader(fh))
        rows = [{"post_id": Path(r[source.get("file", "file")]).stem,
                 "file": r[source.get("file", "file")], "label": r[source.get("label", "label")]}
                for r in table]
        _export_images(rows, root / source.get("images", "images"), work, raw, log_file)
    elif kind == "sklearn_digits":
        import numpy as np
        from PIL import Image
        from sklearn.datasets import load_digits

        digits = load_digits()  # 1,797 8x8 scans bundled in the wheel (UCI, CC BY 4.0)
        images = work / "digits"
        images.mkdir(parents=True, exist_ok=True)
        rows = []
        for i, (img, label) in enumerate(zip(digits.images, digits.target)):
            name = f"d{i:04d}.png"
            pixels = (255 - img * 255 / 16).astype(np.uint8)  # dark strokes on white
            Image.fromarray(pixels).resize((56, 56), Image.NEAREST).save(images / name)
            rows.append({"post_id": f"d{i:04d}", "file": name, "label": str(label)})
        _export_images(rows, images, work, raw, log_file)
    else:
        raise SystemExit(f"source.kind {kind!r} is not known (sample | image_folder | "
                         "sklearn_digits)")


# -- running ---------------------------------------------------------------------------------------

def _params_file(params: dict, folder: Path, keys: tuple[str, ...], fixed: dict) -> Path:
    params = merge(params, {"paths": {**{k: str(folder / k) for k in keys}, **fixed},
                            "runtime": {"progress": False}})
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _digest(params: dict, sections: tuple[str, ...]) -> str:
    blob = json.dumps({s: params.get(s) for s in sections}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:10]


def run_set(name: str, spec: dict, base: dict, only: set[str] | None) -> list[dict]:
    """Run every variant of one set; return its records."""
    work = ROOT / "tmp" / "quality" / name
    work.mkdir(parents=True, exist_ok=True)
    log_file = work / "run.log"
    raw = work / "raw"
    t0 = time.perf_counter()
    build_raw(spec["source"], work, raw, log_file)
    raw_s = time.perf_counter() - t0
    upstream_done: dict[str, tuple[Path, float]] = {}
    records = []
    for variant, over in (spec.get("variants") or {"default": {}}).items():
        if only and variant not in only:
            continue
        params = merge(merge(base, spec.get("params") or {}), over or {})
        key = _digest(params, ("base", *UPSTREAM))
        if key not in upstream_done:
            up = work / f"up-{key}"
            pfile = _params_file(params, up, UPSTREAM_PATHS, {"raw": str(raw)})
            t1 = time.perf_counter()
            for stage in UPSTREAM:
                log(f"{name}/{variant}: {stage}")
                _sh(stage_argv(ROOT / "dvc.yaml", pfile, stage, str(VENV_BIN / "python")),
                    log_file)
            upstream_done[key] = (up, raw_s + time.perf_counter() - t1)
        up, up_s = upstream_done[key]
        fixed = {k: str(up / k) for k in ("raw", "validate", "segment", "preprocess", "embed")}
        fixed["raw"] = str(raw)
        down = work / f"v-{variant}"
        pfile = _params_file(params, down, DOWNSTREAM_PATHS, fixed)
        t2 = time.perf_counter()
        for stage in DOWNSTREAM:
            log(f"{name}/{variant}: {stage}")
            _sh(stage_argv(ROOT / "dvc.yaml", pfile, stage, str(VENV_BIN / "python")), log_file)
        down_s = time.perf_counter() - t2
        metrics = json.loads((down / "reports" / catalog.METRICS.name).read_text(encoding="utf-8"))
        select = json.loads((down / "select_k" / catalog.SELECT_K.name).read_text(encoding="utf-8"))
        rec = {"set": name, "variant": variant, "n": metrics.get("n_posts_used"),
               "params": flat_diff(base, params)}
        for col in COLUMNS[4:-1]:
            rec[col] = metrics.get(col)
        rec.update(best_k=metrics.get("n_clusters"), has_peak=select.get("has_peak"),
                   rule=choice_rule(params, select),
                   seconds=round(up_s + down_s, 1), upstream_seconds=round(up_s, 1))
        records.append(rec)
        log(f"{name}/{variant}: k={rec['best_k']} nmi={rec['nmi']} ({rec['seconds']} s)")
    return records


def choice_rule(params: dict, select: dict) -> str | None:
    """What chose the run's k: `cluster.n_clusters` when the params fix it, else select_k's
    fallback when the silhouette curve had no clear peak, else its rule."""
    if (params.get("cluster") or {}).get("n_clusters") is not None:
        return "cluster.n_clusters"
    return select.get("fallback") or select.get("rule")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return "" if value is None else str(value)


def markdown(records: list[dict]) -> str:
    """The records as a Markdown table, each row's params below it."""
    head = "| " + " | ".join(COLUMNS) + " |\n|" + "---|" * len(COLUMNS) + "\n"
    rows = "".join("| " + " | ".join(_cell(r.get(c)) for c in COLUMNS) + " |\n" for r in records)
    notes = "".join(f"- {r['set']}/{r['variant']}: "
                    + (", ".join(f"`{k}={v}`" for k, v in r["params"].items()) or "defaults")
                    + "\n" for r in records)
    return ("# Quality harness\n\nk = the k the pipeline chose (cluster.n_clusters when a variant "
            "fixes it); rule = what chose k: cluster.n_clusters, the fallback when the silhouette "
            "curve had no clear peak (`select_k.fallback`: stability or argmax), or the choice "
            "rule. seconds include "
            "the set's import and upstream stages (embedding vectors come from the shared cache "
            "when warm).\n\n" + head + rows
            + "\nParams that differ from params.yaml:\n\n" + notes)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", help="comma-separated set names (default: every file in "
                    "benchmarks/quality/)")
    ap.add_argument("--variants", help="comma-separated variant names to run (default: all)")
    ap.add_argument("--out", default=str(ROOT / "reports" / "quality"))
    args = ap.parse_args(argv)
    names = args.sets.split(",") if args.sets else sorted(p.stem for p in SETS_DIR.glob("*.yaml"))
    only = set(args.variants.split(",")) if args.variants else None
    base = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    records = []
    for name in names:
        spec_file = SETS_DIR / f"{name}.yaml"
        if not spec_file.is_file():
            raise SystemExit(f"{spec_file}: no such set; known: "
                             f"{sorted(p.stem for p in SETS_DIR.glob('*.yaml'))}")
        records += run_set(name, yaml.safe_load(spec_file.read_text(encoding="utf-8")), base, only)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "quality.json").write_text(json.dumps(records, indent=2, ensure_ascii=False) + "\n",
                                      encoding="utf-8")
    (out / "quality.md").write_text(markdown(records), encoding="utf-8")
    log(f"wrote {out / 'quality.json'} and quality.md ({len(records)} records)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
