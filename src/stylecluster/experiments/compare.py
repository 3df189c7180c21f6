"""Compare DVC experiments: the grid, the table of params and metrics, verdicts and the overlay.

Pure functions on parsed `dvc exp show --json` data, the experiments' logs and silhouette curves;
`stylecluster.experiments.run` runs dvc and writes what these functions build (rendered by
`stylecluster.experiments.render`). The verdicts follow the
research's three criteria: a clear silhouette peak, balanced clusters and months, and coherent
clusters (agreement with known labels, or keyword purity when the data has no labels).
"""

from __future__ import annotations

import copy
import itertools
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import yaml

from stylecluster.errors import ConfigError
from stylecluster.experiments.outcomes import embed_reuse, failure_reason
from stylecluster.records import EmbedRunRecord
from stylecluster.judging import MAX_LARGEST_SHARE, MAX_MONTH_SHARE
from stylecluster.judging import number as _num

log = logging.getLogger(__name__)

# Metrics shown first (the research's criteria), then every other metrics.json key, sorted.
PREFERRED_METRICS = ("best_k", "silhouette", "has_peak", "prominence", "largest_cluster_share",
                     "unassigned_share", "worst_month_top_share", "length_skew", "ari", "nmi",
                     "keyword_purity")
VERDICT_COLUMNS = ("peak", "balanced", "coherent", "verdict", "rank", "embed", "rev", "error")
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._]+")


@dataclass(frozen=True)
class Thresholds:
    """Where each criterion passes; see `judge`."""

    # A clear peak: has_peak, i.e. an interior peak at least the experiment's own
    # select_k.min_prominence high; a number here also requires prominence >= it.
    min_prominence: float | None = None
    max_largest_share: float = MAX_LARGEST_SHARE  # balanced clusters (stylecluster.judging)
    max_month_share: float = MAX_MONTH_SHARE  # balanced months
    min_ari: float = 0.20  # coherent (labels known): ARI and NMI at least these
    min_nmi: float = 0.40
    min_keyword_purity: float = 0.50  # coherent (no labels): keyword purity at least this

    def __post_init__(self) -> None:
        for name in ("max_largest_share", "max_month_share", "min_keyword_purity", "min_nmi"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"compare: --{name.replace('_', '-')} = {value} is not in "
                                  "[0, 1]; pass a share between 0 and 1.")
        if self.min_prominence is not None and self.min_prominence < 0:
            raise ConfigError(f"compare: --min-prominence = {self.min_prominence} must be >= 0.")
        if not -1.0 <= self.min_ari <= 1.0:
            raise ConfigError(f"compare: --min-ari = {self.min_ari} must be in [-1, 1].")


@dataclass(frozen=True)
class Experiment:
    """One row of `dvc exp show --json`, flattened."""

    name: str
    rev: str | None
    status: str  # success | failed | queued | running | missing
    params: dict[str, Any] = field(default_factory=dict)  # dotted keys of params.yaml
    metrics: dict[str, Any] = field(default_factory=dict)  # empty unless status is success
    log_path: str | None = None  # the queue's log of this run, when DVC still has it


@dataclass(frozen=True)
class Verdict:
    """The three criteria for one experiment: each "pass", "fail" or "n/a" (metric missing)."""

    peak: str
    balanced: str
    coherent: str
    reasons: tuple[str, ...]

    @property
    def n_pass(self) -> int:
        return [self.peak, self.balanced, self.coherent].count("pass")

    @property
    def n_known(self) -> int:
        return 3 - [self.peak, self.balanced, self.coherent].count("n/a")

    def summary(self) -> str:
        head = f"{self.n_pass}/{self.n_known} pass"
        return f"{head}: {'; '.join(self.reasons)}" if self.reasons else head


# --- the grid --------------------------------------------------------------------------------


def parse_values(flag: str, text: str) -> list[str]:
    """Split a comma-separated grid flag ("image,text") into its values, in order.

    Raises:
        ConfigError: If it is empty or repeats a value.
    """
    values = [v.strip() for v in text.split(",") if v.strip()]
    if not values or len(set(values)) != len(values):
        raise ConfigError(f"compare: {flag} {text!r} must list distinct values separated by "
                          "commas, e.g. image,text,concat.")
    return values


def parse_set(text: str) -> tuple[str, str]:
    """Split a `--set key=value` override into the dotted key and the value as typed.

    Raises:
        ConfigError: If there is no `=` or the key is empty.
    """
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"compare: --set {text!r} must look like section.key=value, e.g. "
                          "select_k.k_max=20.")
    return key.strip(), value.strip()


def check_keys(params: Mapping[str, Any], keys: Iterable[str]) -> None:
    """Check that each dotted key names an existing params.yaml entry (as `dvc exp run -S` needs).

    Raises:
        ConfigError: Naming the first unknown key and the keys its parent section does have.
    """
    for key in keys:
        node: Any = params
        parts = key.split(".")
        for depth, part in enumerate(parts):
            if not isinstance(node, Mapping) or part not in node:
                parent = ".".join(parts[:depth]) or "(top level)"
                known = sorted(node) if isinstance(node, Mapping) else []
                raise ConfigError(
                    f"compare: unknown param key {key!r}: params.yaml [{parent}] has no "
                    f"{part!r} (it has {known}). Fix the key in --set or the grid flags; "
                    "`dvc exp run -S` only overrides keys that exist.")
            node = node[part]


def apply_overrides(params: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, Any]:
    """A copy of `params` with each dotted key set to its value, parsed as YAML like DVC's -S."""
    out = copy.deepcopy(dict(params))
    for key, text in overrides.items():
        *parents, last = key.split(".")
        node = out
        for part in parents:
            node = node[part]
        node[last] = yaml.safe_load(text) if text != "" else ""
    return out


def grid_points(axes: Mapping[str, Sequence[str]]) -> list[dict[str, str]]:
    """Every combination of the axes' values, the first axis varying slowest."""
    keys = list(axes)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(axes[k] for k in keys))]


def experiment_names(points: Sequence[Mapping[str, str]], taken: Iterable[str]) -> list[str]:
    """Readable experiment names from the grid values ("image-umap"), unique against `taken`.

    A name already used on this baseline (an earlier comparison) gets a suffix: "image-umap-2".
    """
    used = set(taken)
    names = []
    for point in points:
        base = "-".join(_NAME_UNSAFE.sub("_", str(v)).strip("._") or "x" for v in point.values())
        name, i = base, 1
        while name in used:
            i += 1
            name = f"{base}-{i}"
        used.add(name)
        names.append(name)
    return names


# --- reading dvc exp show --json --------------------------------------------------------------


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mapping -> {"section.key": value} (lists and scalars are leaves)."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def _files_data(section: Mapping[str, Any] | None) -> dict[str, Any]:
    """Merge the `data` of every file of a params/metrics block of exp show."""
    merged: dict[str, Any] = {}
    for entry in (section or {}).values():
        if isinstance(entry, Mapping) and isinstance(entry.get("data"), Mapping):
            merged.update(flatten(entry["data"]))
    return merged


def parse_exp_show(data: Sequence[Mapping[str, Any]]) -> list[Experiment]:
    """The experiments of `dvc exp show --json` (workspace and baseline commits are skipped).

    The status comes from the queue's executor state when DVC still has it, else from the
    experiment's error field. A failed experiment's params are its overrides (DVC reads them from
    the queued commit) and its metrics are left empty: what DVC shows there is the baseline's.
    """
    out: list[Experiment] = []
    for baseline in data:
        for exp in baseline.get("experiments") or []:
            revs = exp.get("revs") or [{}]
            head = revs[0]
            executor = exp.get("executor") or {}
            status = executor.get("state") or ("failed" if head.get("error") else "success")
            payload = head.get("data") or {}
            metrics = _files_data(payload.get("metrics")) if status == "success" else {}
            local = executor.get("local") or {}
            out.append(Experiment(name=exp.get("name") or head.get("name") or str(head.get("rev")),
                                  rev=head.get("rev"), status=status,
                                  params=_files_data(payload.get("params")), metrics=metrics,
                                  log_path=local.get("log")))
    return out


def select(experiments: Sequence[Experiment], names: Sequence[str]) -> list[Experiment]:
    """The experiments named, in the order named; a name DVC does not show becomes "missing"."""
    by_name = {e.name: e for e in experiments}
    return [by_name.get(n, Experiment(name=n, rev=None, status="missing")) for n in names]


def varied_keys(experiments: Sequence[Experiment], always: Sequence[str] = ()) -> list[str]:
    """`always` (the grid's keys), then every other param whose value differs between rows."""
    keys = list(always)
    seen = sorted({k for e in experiments for k in e.params} - set(keys))
    for key in seen:
        values = {repr(e.params.get(key)) for e in experiments}
        if len(values) > 1:
            keys.append(key)
    return keys


def metric_columns(experiments: Sequence[Experiment]) -> list[str]:
    """The criteria's metrics first, then every other metrics key, sorted."""
    present = {k for e in experiments for k in e.metrics}
    return ([k for k in PREFERRED_METRICS if k in present]
            + sorted(present - set(PREFERRED_METRICS)))


# --- verdicts and the table ------------------------------------------------------------------



def judge(metrics: Mapping[str, Any], thresholds: Thresholds) -> Verdict:
    """Score one experiment's metrics on the three criteria.

    peak: has_peak (an interior silhouette peak at least select_k.min_prominence high), and
    prominence >= min_prominence when that is set; n/a for select_k.algorithm hdbscan (no k is
    chosen: has_peak is null). balanced: largest_cluster_share <=
    max_largest_share and worst_month_top_share <= max_month_share. coherent: ARI >= min_ari and
    NMI >= min_nmi when labels exist, else keyword_purity >= min_keyword_purity. A criterion whose
    metrics are missing is "n/a" and counts neither way.
    """
    t = thresholds
    reasons: list[str] = []
    prom = _num(metrics, "prominence")
    if metrics.get("has_peak") is None and prom is None:  # missing, or hdbscan: no k chosen
        peak = "n/a"
    elif not metrics.get("has_peak"):
        peak = "fail"
        reasons.append("no silhouette peak")
    elif t.min_prominence is not None and (prom is None or prom < t.min_prominence):
        peak = "fail"
        reasons.append(f"peak prominence {prom if prom is not None else float('nan'):.3f} < "
                       f"{t.min_prominence:g}")
    else:
        peak = "pass"

    largest, month = _num(metrics, "largest_cluster_share"), _num(metrics, "worst_month_top_share")
    if largest is None and month is None:
        balanced = "n/a"
    else:
        balanced = "pass"
        if largest is not None and largest > t.max_largest_share:
            balanced = "fail"
            reasons.append(f"largest cluster {largest:.2f} > {t.max_largest_share:g}")
        if month is not None and month > t.max_month_share:
            balanced = "fail"
            reasons.append(f"worst month top share {month:.2f} > {t.max_month_share:g}")

    ari, nmi, purity = _num(metrics, "ari"), _num(metrics, "nmi"), _num(metrics, "keyword_purity")
    if ari is not None and nmi is not None:
        coherent = "pass" if ari >= t.min_ari and nmi >= t.min_nmi else "fail"
        if coherent == "fail":
            reasons.append(f"labels ARI {ari:.2f} / NMI {nmi:.2f} < {t.min_ari:g} / {t.min_nmi:g}")
    elif purity is not None:
        coherent = "pass" if purity >= t.min_keyword_purity else "fail"
        if coherent == "fail":
            reasons.append(f"keyword purity {purity:.2f} < {t.min_keyword_purity:g}")
    else:
        coherent = "n/a"
    return Verdict(peak, balanced, coherent, tuple(reasons))


def build_table(
    experiments: Sequence[Experiment],
    param_keys: Sequence[str],
    thresholds: Thresholds,
    logs: Mapping[str, str | None] | None = None,
    records: Mapping[str, EmbedRunRecord] | None = None,
) -> pd.DataFrame:
    """One row per experiment: experiment, status, params, metrics, verdicts, rank, embed, error.

    Args:
        experiments: The rows, in grid order (failed ones included).
        param_keys: Dotted params to show (`varied_keys`).
        thresholds: Where each criterion passes.
        logs: Each experiment's DVC log text by name (embed reuse and failure reasons).
        records: Each experiment's embed run record by name, where the embed stage ran.

    Returns:
        The table; `rank` (1 = best) orders successful rows by criteria passed, then silhouette.
    """
    logs, records = logs or {}, records or {}
    metric_keys = metric_columns(experiments)
    rows = []
    for exp in experiments:
        row: dict[str, Any] = {"experiment": exp.name, "status": exp.status}
        row.update({k: exp.params.get(k) for k in param_keys})
        row.update({k: exp.metrics.get(k) for k in metric_keys})
        text = logs.get(exp.name)
        if exp.status == "success":
            v = judge(exp.metrics, thresholds)
            row.update(peak=v.peak, balanced=v.balanced, coherent=v.coherent, verdict=v.summary(),
                       _pass=v.n_pass)
            error = None
        else:
            row.update(peak=None, balanced=None, coherent=None,
                       verdict=f"not judged ({exp.status})", _pass=-1)
            error = failure_reason(text) or ("see `dvc queue logs " + exp.name + "`"
                                              if exp.status == "failed" else None)
        row.update(embed=embed_reuse(text, records.get(exp.name)), rev=(exp.rev or "")[:7] or None, error=error)
        rows.append(row)
    table = pd.DataFrame(rows, columns=["experiment", "status", *param_keys, *metric_keys,
                                        "peak", "balanced", "coherent", "verdict", "_pass",
                                        "embed", "rev", "error"])
    ok = table["status"] == "success"
    sil = pd.to_numeric(table.get("silhouette", pd.Series(index=table.index, dtype=float)),
                        errors="coerce").fillna(float("-inf"))
    order = (pd.DataFrame({"p": table["_pass"], "s": sil})[ok]
             .sort_values(["p", "s"], ascending=False, kind="stable").index)
    table["rank"] = pd.Series(pd.NA, index=table.index, dtype="Int64")
    table.loc[order, "rank"] = range(1, len(order) + 1)
    return table[["experiment", "status", *param_keys, *metric_keys, *VERDICT_COLUMNS]]


def best_experiment(table: pd.DataFrame) -> str | None:
    """The name of the rank-1 experiment, or None when none succeeded."""
    top = table[table["rank"] == 1]
    return None if top.empty else str(top["experiment"].iloc[0])


def apply_hint(best: str | None) -> str:
    """What to run to bring the best experiment into the workspace."""
    if best is None:
        return "No experiment succeeded; see the error column and `dvc queue logs <name>`."
    return (f"Best: {best}. Nothing was applied; to make it the workspace's params and outputs "
            f"run `dvc exp apply {best}` (then `git add` and commit).")
