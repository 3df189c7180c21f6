"""`stylecluster compare`: queue a grid of `dvc exp run` experiments, run it, write the comparison.

The part that shells out to dvc. The grid runs in DVC's temporary workspaces (`--queue`, then
`--run-all -j N`), so the user's workspace stays as it was: nothing is applied, params.yaml is
byte-identical afterwards. The embedding cache (a `persist`, `cache: false` output of the embed
stage, not in git) is copied into each temporary workspace with `-C`, so DVC sees the embed stage
unchanged and skips it; the log names how each experiment got its embeddings.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

import pandas as pd

from stylecluster import catalog, config
from stylecluster.experiments import compare, outcomes
from stylecluster.experiments import render
from stylecluster import storage
from stylecluster.errors import ConfigError, StyleclusterError
from stylecluster.records import EmbedRunRecord, experiment_record_path

log = logging.getLogger(__name__)

EMBED_STAGE = "embed"


class DvcError(StyleclusterError):
    """A dvc command failed; the message carries DVC's own error."""


@dataclass(frozen=True)
class CompareResult:
    """What `run_compare` wrote and found."""

    table: pd.DataFrame
    best: str | None
    out_dir: Path


def _env() -> dict[str, str]:
    # dvc, and the `python` of the stage commands, must be this environment's.
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}


def run_dvc(args: Sequence[str], root: Path, stream: bool = False) -> str:
    """Run `dvc <args>` in `root`; return its output (stderr folded in).

    Args:
        args: Arguments after `dvc`.
        root: The project root.
        stream: Log progress lines ("Reproducing experiment", "Running stage", errors) as they come.

    Raises:
        DvcError: If dvc exits non-zero; the message ends with DVC's error lines.
    """
    log.debug("$ dvc %s", " ".join(args))
    try:
        proc = subprocess.Popen(["dvc", *args], cwd=root, env=_env(), text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except FileNotFoundError as exc:
        raise DvcError("dvc is not installed in this environment; run `make install`.") from exc
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        text = line.rstrip()
        if stream and text.startswith(("Reproducing experiment", "Running stage", "ERROR",
                                       "Stage 'embed'", "Restored stage 'embed'")):
            log.info("dvc: %s", text)
        else:
            log.debug("dvc: %s", text)
    output = "".join(lines)
    if proc.wait():
        out_lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
        first = next((i for i, ln in enumerate(out_lines) if "ERROR" in ln), None)
        # DVC's message and the lines after it (e.g. the key an -S override names)
        errors = out_lines[first:first + 6] if first is not None else out_lines[-5:]
        raise DvcError(f"`dvc {' '.join(args)}` failed (exit {proc.returncode}): "
                       + " | ".join(errors))
    return output


def exp_show(root: Path) -> list[dict]:
    """`dvc exp show --json` (experiments of the current baseline)."""
    return json.loads(run_dvc(["exp", "show", "--json"], root) or "[]")


def read_curve(root: Path, rev: str, path: str) -> pd.DataFrame | None:
    """An experiment's silhouette.csv, read from its commit (DVC-cached outputs via the cache)."""
    import dvc.api

    try:
        return pd.read_csv(StringIO(dvc.api.read(path, repo=str(root), rev=rev)))
    except Exception as exc:  # noqa: BLE001 - a missing curve leaves a gap, it is not fatal
        log.warning("compare: could not read %s at %s (%s); its curve is not drawn", path,
                    rev[:7], exc)
        return None


def _read_log(path: str | None) -> str | None:
    if path and Path(path).is_file():
        return storage.read_text(path, "experiment log", lenient=True)
    return None


def _read_record(root: Path, logs_dir: str, name: str) -> EmbedRunRecord | None:
    """The embed run record a queued experiment left in this project (None if the stage did not run)."""
    path = experiment_record_path(root, logs_dir, name)
    if not path.is_file():
        return None
    return EmbedRunRecord.from_json(storage.read_json(path), str(path))


def _queue(root: Path, names: Sequence[str], overrides: Sequence[Mapping[str, str]],
           copy: Sequence[str]) -> None:
    """Queue one experiment per name; on a failure, take the ones already queued out again."""
    done: list[str] = []
    try:
        for name, sets in zip(names, overrides):
            args = [a for k, v in sets.items() for a in ("-S", f"{k}={v}")]
            run_dvc(["exp", "run", "--queue", "-n", name, *args, *copy], root)
            done.append(name)
    except BaseException:
        if done:
            log.warning("compare: removing the %d experiment(s) already queued: %s", len(done),
                        done)
            run_dvc(["queue", "remove", *done], root)
        raise


def run_compare(
    root: Path,
    axes: Mapping[str, Sequence[str]],
    fixed: Mapping[str, str],
    out_dir: Path,
    thresholds: compare.Thresholds,
    jobs: int = 1,
) -> CompareResult:
    """Queue and run the grid as DVC experiments, then write the comparison to `out_dir`.

    Long mostly by this docstring; the steps (plan, queue and run, read back, write) are helpers.

    Args:
        root: The project root (dvc.yaml, params.yaml, a git repository with a commit).
        axes: Dotted param -> the values to try, e.g. {"reduce.modality": ["image", "text"]}.
        fixed: Dotted param -> value set in every experiment (`--set`).
        out_dir: Where compare.csv/.md/.html and silhouette_overlay.png go.
        thresholds: The verdicts' thresholds.
        jobs: Experiments run at once (`dvc exp run --run-all -j`).

    Returns:
        The table, the best experiment's name and the output folder.

    Raises:
        ConfigError: An unknown key or an invalid value in the grid, or experiments already queued.
        DvcError: A dvc command failed (DVC's message included).
    """
    params_file = root / "params.yaml"
    params = storage.read_params(params_file)
    points, names = _plan(root, params, axes, fixed)
    # A queued experiment starts from a git clone: copy in what git does not carry. dvc.lock, in
    # case it is not committed yet (without it every stage runs again), and the embed cache (a
    # `persist` out DVC cannot restore; without it the embed stage runs again, re-encoding all).
    cache_dir = params.get("paths", {}).get("embed_cache")
    copy = [a for p in ("dvc.lock", cache_dir) if p and (root / p).exists() for a in ("-C", p)]
    if cache_dir not in copy:
        log.warning("compare: the embed cache %s does not exist; each experiment that runs the "
                    "embed stage re-encodes everything. Run `dvc repro` first.", cache_dir)

    logs_dir = params.get("paths", {}).get("logs", "logs")
    for name in names:  # a record left by an earlier experiment of the same name is not this one's
        storage.remove_tree(experiment_record_path(root, logs_dir, name).parent)
    snapshot = {p: storage.read_bytes(p) for p in (params_file, root / "dvc.lock") if p.exists()}
    try:
        _queue(root, names, [{**fixed, **point} for point in points], copy)
        log.info("compare: queued %d experiment(s) %s; running them %d at a time",
                 len(names), names, jobs)
        try:
            run_dvc(["exp", "run", "--run-all", "-j", str(jobs)], root, stream=True)
        except DvcError as exc:  # the table still shows what ran and what failed
            log.error("compare: %s", exc)
    finally:
        for path, data in snapshot.items():
            if storage.read_bytes(path) != data:
                log.warning("compare: %s changed during the run; restoring it", path.name)
                storage.write_bytes(data, path)

    experiments = compare.select(compare.parse_exp_show(exp_show(root)), names)
    logs = {e.name: _read_log(e.log_path) for e in experiments}
    records = {e.name: r for e in experiments
               for r in [_read_record(root, logs_dir, e.name)] if r is not None}
    summary, reencoded = outcomes.embed_summary(
        {name: outcomes.embed_reuse(text, records.get(name)) for name, text in logs.items()})
    log.info("compare: %s", summary)
    if reencoded:
        log.warning("compare: %s encoded items again (see the embed column): the embed stage's "
                    "inputs differ between experiments (e.g. preprocess.fields)", reencoded)
    table = compare.build_table(experiments, compare.varied_keys(experiments, list(axes)),
                                thresholds, logs, records)
    curve_path = f"{params['paths']['select_k']}/{catalog.SILHOUETTE.name}"
    curves = {e.name: c for e in experiments if e.status == "success" and e.rev
              for c in [read_curve(root, e.rev, curve_path)] if c is not None}
    best = compare.best_experiment(table)
    _write(out_dir, table, compare.apply_hint(best), thresholds,
           render.overlay_figure(curves, {e.name: e.metrics.get("best_k") for e in experiments}))
    return CompareResult(table, best, out_dir)


def _plan(root: Path, params: Mapping[str, Any], axes: Mapping[str, Sequence[str]],
          fixed: Mapping[str, str]) -> tuple[list[dict[str, str]], list[str]]:
    """Check the grid against params and the queue; return its points and new experiment names."""
    compare.check_keys(params, [*axes, *fixed])
    points = compare.grid_points(axes)
    for point in points:  # every combination must pass the stages' own checks before queueing
        config.load_all(compare.apply_overrides(params, {**fixed, **point}))
    before = compare.parse_exp_show(exp_show(root))
    waiting = [e.name for e in before if e.status in ("queued", "running")]
    if waiting:
        raise ConfigError(f"compare: {len(waiting)} experiment(s) already queued or running "
                          f"({waiting}); `dvc exp run --run-all` would run them too. Run them or "
                          "`dvc queue remove --queued`, then compare again.")
    stale = json.loads(run_dvc(["status", "--json", EMBED_STAGE], root) or "{}")
    if stale:
        log.warning("compare: %s and its upstream stages are not up to date (%s): every "
                    "experiment will recompute them. Run `dvc repro %s` (and commit) first.",
                    EMBED_STAGE, ", ".join(sorted(stale)), EMBED_STAGE)
    return points, compare.experiment_names(points, [e.name for e in before])


def _write(out_dir: Path, table: pd.DataFrame, hint: str, thresholds: compare.Thresholds,
           overlay: Any) -> None:
    """compare.csv, .md, .html and silhouette_overlay.png."""
    storage.write_csv(table, out_dir / "compare.csv")
    storage.write_text(render.to_markdown(table, hint, thresholds), out_dir / "compare.md")
    storage.write_text(render.to_html(table, hint, thresholds), out_dir / "compare.html")
    storage.write_figure(overlay, out_dir / "silhouette_overlay.png")


def grid_axes(args: argparse.Namespace) -> dict[str, list[str]]:
    """The grid of the compare flags: dotted param -> values (the first axis varies slowest)."""
    axes = {"reduce.modality": compare.parse_values("--modality", args.modality),
            "reduce.method": compare.parse_values("--method", args.method)}
    if args.fields:
        axes["preprocess.fields"] = compare.parse_values("--fields", args.fields)
    if args.algorithm:
        axes["select_k.algorithm"] = compare.parse_values("--algorithm", args.algorithm)
    return axes


def _cmd_compare(args: argparse.Namespace) -> str:
    axes = grid_axes(args)
    fixed = dict(compare.parse_set(s) for s in args.set)
    if args.jobs < 1:
        raise ConfigError(f"compare: --jobs {args.jobs} must be >= 1.")
    thresholds = compare.Thresholds(
        min_prominence=args.min_prominence, max_largest_share=args.max_largest_share,
        max_month_share=args.max_month_share, min_ari=args.min_ari, min_nmi=args.min_nmi,
        min_keyword_purity=args.min_keyword_purity)
    root = Path.cwd()
    if not (root / "dvc.yaml").is_file():
        raise ConfigError(f"compare: no dvc.yaml in {root}; run it from the project root.")
    result = run_compare(root, axes, fixed, root / args.out, thresholds, jobs=args.jobs)
    counts = result.table["status"].value_counts().to_dict()
    return (f"compared {len(result.table)} experiments ({counts}) -> "
            f"{result.out_dir}/compare.html. {compare.apply_hint(result.best)}")


def add_compare_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the `compare` subcommand on the CLI's subparsers."""
    t = compare.Thresholds()
    p = sub.add_parser(
        "compare", help="run a grid of DVC experiments and compare them",
        description="Queue `dvc exp run --queue -S ...` over reduce.modality x reduce.method "
        "(x preprocess.fields), run the queue, and write reports/compare/ (compare.csv/.md/.html, "
        "silhouette_overlay.png) with a verdict per experiment. The workspace is left as it was; "
        "apply the best with `dvc exp apply <name>`. Run from the project root after `dvc repro` "
        "(embeddings are computed once and reused).")
    p.add_argument("--modality", default="image,text,concat", help="reduce.modality values")
    p.add_argument("--method", default="none,umap", help="reduce.method values")
    p.add_argument("--fields", default=None, help="preprocess.fields values (e.g. content,tags,"
                   "both); not varied unless given (varying it re-runs embed for the texts)")
    p.add_argument("--algorithm", default=None, help="select_k.algorithm values (e.g. "
                   "kmeans,gmm,hdbscan); not varied unless given. hdbscan runs report "
                   "n_unassigned and unassigned_share, and their peak verdict is n/a")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a fixed override for every experiment, e.g. select_k.k_max=50 (repeat)")
    p.add_argument("--jobs", "-j", type=int, default=1, help="experiments at once (default 1)")
    p.add_argument("--out", default="reports/compare", help="output folder")
    g = p.add_argument_group("verdict thresholds")
    g.add_argument("--min-prominence", type=float, default=t.min_prominence,
                   help="clear peak: has_peak (a peak at least select_k.min_prominence high, "
                   "the default) and also prominence >= this")
    g.add_argument("--max-largest-share", type=float, default=t.max_largest_share,
                   help="balanced: largest_cluster_share <= this (default %(default)s)")
    g.add_argument("--max-month-share", type=float, default=t.max_month_share,
                   help="balanced: worst_month_top_share <= this (default %(default)s)")
    g.add_argument("--min-ari", type=float, default=t.min_ari,
                   help="coherent (labels): ARI >= this (default %(default)s) ...")
    g.add_argument("--min-nmi", type=float, default=t.min_nmi,
                   help="... and NMI >= this (default %(default)s)")
    g.add_argument("--min-keyword-purity", type=float, default=t.min_keyword_purity,
                   help="coherent (no labels): keyword_purity >= this, when the metrics have it "
                   "(default %(default)s)")
    p.set_defaults(func=_cmd_compare)
    return p
