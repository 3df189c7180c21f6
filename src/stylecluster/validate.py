"""Validate raw posts with great-expectations and normalise them into the canonical posts table.

Every expectation runs (nothing stops at the first failure); each result, with its count and up to
20 offending post_ids, goes into the validation report. Blocking failures make the stage fail after
the report is written; soft failures (captions outside the length bounds, missing captions) are
reported and counted only.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import pandas as pd

from stylecluster.config import ValidateParams
from stylecluster.dates import month_key, parse_timestamps
from stylecluster.io import image_path_is_safe

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("post_id", "content", "tags", "posted_at", "image_path")
MAX_EXAMPLES = 20

# How to fix each blocking failure, shown next to it on stderr and in the report.
FIXES = {
    "post_id": "give every post a non-empty, unique post_id (see `stylecluster import --map`)",
    "posted_at": "set validate.time_format to the export's format (strptime codes) or fix the rows",
    "posted_at_range": "check the rows or widen validate.min_date / validate.max_date",
    "image_path": "use paths relative to the raw folder, without '..', e.g. images/p1.png",
    "image_status": "restore or remove the listed images (or lower validate.image_mostly)",
    "label": "fix the labels or extend validate.labels",
    "content": "captions longer than validate.caption_max_chars; raise it or ignore (soft check)",
    "columns": "map the export's columns with `stylecluster import --map canonical=theirs,...`",
}


@dataclass(frozen=True)
class ValidationResult:
    """Outcome of `validate_posts`.

    Attributes:
        posts: The normalised posts table (schema "posts"); None when a blocking check failed.
        report: JSON-ready report: every expectation with success, blocking, counts and examples.
        blocking_failures: Human-readable lines, one per failed blocking expectation.
    """

    posts: pd.DataFrame | None
    report: dict[str, Any]
    blocking_failures: list[str]

    @property
    def ok(self) -> bool:
        return not self.blocking_failures


def _text_or_none(values: pd.Series) -> pd.Series:
    """Keep strings as they are (cleaning belongs to preprocess); NaN/None -> None."""
    return values.astype(object).where(values.notna(), None)


def _check_frame(raw: pd.DataFrame, params: ValidateParams,
                 image_status: pd.Series | None) -> pd.DataFrame:
    """Columns the expectations run on, derived from the raw table without changing it."""
    frame = pd.DataFrame(index=raw.index)
    frame["post_id"] = raw["post_id"].astype("string")
    frame["posted_at"] = parse_timestamps(raw["posted_at"], params.time_format, params.timezone)
    frame["posted_at_naive"] = frame["posted_at"].dt.tz_localize(None)
    frame["image_path"] = _text_or_none(raw["image_path"])
    frame["image_path_safe"] = raw["image_path"].map(image_path_is_safe)
    frame["image_status"] = image_status if image_status is not None else "ok"
    frame["content"] = _text_or_none(raw["content"])
    if "label" in raw.columns:
        frame["label"] = _text_or_none(raw["label"])
    return frame


def _expectations(params: ValidateParams, has_label: bool) -> list[tuple[str, bool, Any]]:
    """(fix key, blocking, expectation) for every check, in report order."""
    import great_expectations as gx

    ex = gx.expectations
    lo = pd.Timestamp(params.min_date).tz_localize(None)
    hi = pd.Timestamp(params.max_date).tz_localize(None)
    checks = [
        ("post_id", True, ex.ExpectColumnValuesToNotBeNull(column="post_id")),
        ("post_id", True, ex.ExpectColumnValuesToBeUnique(column="post_id")),
        ("posted_at", True, ex.ExpectColumnValuesToNotBeNull(column="posted_at_naive")),
        ("posted_at_range", True, ex.ExpectColumnValuesToBeBetween(
            column="posted_at_naive", min_value=lo, max_value=hi)),
        ("image_path", True, ex.ExpectColumnValuesToNotBeNull(column="image_path")),
        ("image_path", True, ex.ExpectColumnValuesToBeInSet(
            column="image_path_safe", value_set=[True])),
        ("content", False, ex.ExpectColumnValueLengthsToBeBetween(
            column="content", min_value=0, max_value=params.caption_max_chars,
            mostly=params.caption_mostly)),
    ]
    if params.check_images:
        checks.append(("image_status", True, ex.ExpectColumnValuesToBeInSet(
            column="image_status", value_set=["ok"], mostly=params.image_mostly)))
    if has_label and params.labels is not None:
        checks.append(("label", True, ex.ExpectColumnValuesToBeInSet(
            column="label", value_set=list(params.labels))))
    return checks


def _run_gx(frame: pd.DataFrame, checks: list[tuple[str, bool, Any]]) -> list[Any]:
    """Validate `frame` against the expectations in an ephemeral context, progress bars off."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")  # never phone home
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("posts").add_dataframe_asset("posts")
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
        batch_parameters={"dataframe": frame})
    suite = gx.ExpectationSuite(name="posts")
    for _, _, expectation in checks:
        suite.add_expectation(expectation)
    result = batch.validate(suite, result_format={
        "result_format": "COMPLETE", "unexpected_index_column_names": ["post_id"]})
    return list(result.results)


def _entry(fix_key: str, blocking: bool, res: Any) -> dict[str, Any]:
    """One report entry from a GX expectation result."""
    cfg = res.expectation_config
    kwargs = {k: v for k, v in cfg.kwargs.items() if k not in ("batch_id",)}
    details = res.result or {}
    examples = [row.get("post_id") for row in details.get("unexpected_index_list") or []]
    examples = list(dict.fromkeys(str(e) for e in examples))[:MAX_EXAMPLES]
    return {
        "expectation": cfg.type,
        "column": kwargs.pop("column", None),
        "kwargs": {k: str(v) for k, v in kwargs.items()},
        "success": bool(res.success),
        "blocking": blocking,
        "unexpected_count": int(details.get("unexpected_count") or 0),
        "unexpected_percent": float(details.get("unexpected_percent") or 0.0),
        "examples": examples,
        "fix": FIXES[fix_key],
    }


def validate_posts(raw: pd.DataFrame, params: ValidateParams,
                   image_status: pd.Series | None = None) -> ValidationResult:
    """Check raw posts and return the normalised table plus a report of every check.

    Args:
        raw: The raw posts table (columns post_id, content, tags, posted_at, image_path, [label]).
            It is not modified.
        params: The `validate` params.
        image_status: Per row, "ok" or why the image cannot be used ("missing", "corrupt: ..."),
            computed by the caller (the stage reads the files); None skips the image check.

    Returns:
        A ValidationResult; `posts` is None when any blocking expectation failed.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    report: dict[str, Any] = {"n_rows": int(len(raw)), "required_columns": list(REQUIRED_COLUMNS)}
    if missing:
        line = (f"missing required column(s) {missing}; the table has {list(raw.columns)}. "
                f"Fix: {FIXES['columns']}")
        report.update(success=False, results=[{
            "expectation": "expect_column_to_exist", "column": c, "success": False,
            "blocking": True, "unexpected_count": 0, "examples": [], "fix": FIXES["columns"]}
            for c in missing])
        return ValidationResult(None, report, [line])

    frame = _check_frame(raw, params, image_status if params.check_images else None)
    checks = _expectations(params, "label" in raw.columns)
    results = _run_gx(frame, checks)
    entries = [_entry(key, blocking, res) for (key, blocking, _), res in zip(checks, results)]
    failures = [
        f"{e['expectation']} on '{e['column']}': {e['unexpected_count']} row(s) fail, e.g. "
        f"post_id {e['examples'][:5]}. Fix: {e['fix']}"
        for e in entries if e["blocking"] and not e["success"]
    ]
    soft = [e for e in entries if not e["blocking"] and not e["success"]]
    report.update(
        success=not failures,
        n_blocking_failures=len(failures),
        n_soft_failures=len(soft),
        n_missing_content=int(frame["content"].isna().sum()),
        results=entries,
    )
    if failures:
        return ValidationResult(None, report, failures)

    posts = pd.DataFrame({
        "post_id": frame["post_id"].astype(str),
        "content": frame["content"],
        "tags": _text_or_none(raw["tags"]),
        "posted_at": frame["posted_at"],
        "month": month_key(frame["posted_at"], params.timezone),
        "image_path": frame["image_path"].astype(str),
    })
    if "label" in frame.columns:
        posts["label"] = frame["label"]
    posts = posts.sort_values(["posted_at", "post_id"], kind="stable").reset_index(drop=True)
    report["months"] = posts["month"].value_counts().sort_index().to_dict()
    return ValidationResult(posts, report, [])
