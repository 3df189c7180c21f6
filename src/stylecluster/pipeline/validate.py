"""Validate raw posts with great-expectations and normalise them into the canonical posts table.

Every expectation runs (nothing stops at the first failure); each result, with its count and up to
20 offending post_ids, goes into the validation report. Blocking failures make the stage fail after
the report is written; soft failures (captions outside the length bounds, missing captions) are
reported and counted only.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from stylecluster.config import ValidateParams
from stylecluster.dates import month_key, parse_dates
from stylecluster.records import ValidationSummary
from stylecluster.schemas import image_path_given, image_path_is_safe

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("post_id", "content", "tags", "posted_at", "image_path")
MAX_EXAMPLES = 20
# C0/C1 controls except tab and newline, and the bidirectional overrides (U+202E turns text
# around in the report): terminal escapes and invisible reordering have no place in a caption.
CONTROL_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
OK_IMAGES = ("ok", "no image")  # a post without an image is a text-only post, not an error

# How to fix each blocking failure, shown next to it on stderr and in the report.
FIXES = {
    "post_id": "give every post a non-empty, unique post_id (see `stylecluster import --map`, "
               "and `--dedupe first` for re-visited posts)",
    "posted_at": "set validate.time_format to the export's format (auto, epoch_s, epoch_ms or "
                 "strptime codes) or fix the rows; an empty date is an undated post "
                 "(validate.undated: keep | drop | error)",
    "posted_at_dst": "these local times do not exist or occur twice in validate.timezone (a "
                     "daylight-saving change): write them with a UTC offset or as epoch times",
    "posted_at_range": "check the rows or widen validate.min_date / validate.max_date",
    "image_path": "use paths relative to the raw folder, without '..', e.g. images/p1.png "
                  "(leave the cell empty for a text-only post)",
    "image_status": "restore or replace the listed images, leave image_path empty for text-only "
                    "posts, or lower validate.image_mostly to drop them (counted) in segment",
    "label": "fix the labels or extend validate.labels",
    "content": "captions longer than validate.caption_max_chars; raise it or ignore (soft check)",
    "columns": "map the export's columns with `stylecluster import --map canonical=theirs,...`",
}
# The frame's helper columns, by the raw column a user knows them as.
SHOWN_AS = {"date_status": "posted_at", "posted_at_local": "posted_at",
            "image_path_safe": "image_path", "image_status": "image_path"}


@dataclass(frozen=True)
class ValidationResult:
    """Outcome of `validate_posts`.

    Attributes:
        posts: The normalised posts table (schema "posts"); None when a blocking check failed.
        report: The validation.json record: every expectation with success, blocking, counts and
            examples (`source` is left for the stage, which knows the file).
        blocking_failures: Human-readable lines, one per failed blocking expectation.
    """

    posts: pd.DataFrame | None
    report: ValidationSummary
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
    parsed = parse_dates(raw["posted_at"], params.time_format, params.timezone)
    frame["posted_at"] = parsed.utc
    frame["date_status"] = "ok"
    frame.loc[parsed.empty, "date_status"] = "undated"
    frame.loc[parsed.bad, "date_status"] = "bad"
    frame.loc[parsed.nonexistent, "date_status"] = "nonexistent"
    frame["posted_at_local"] = parsed.utc.dt.tz_convert(params.timezone).dt.tz_localize(None)
    images = raw["image_path"].astype(object).map(lambda v: v if image_path_given(v) else None)
    frame["image_path"] = images
    frame["image_path_safe"] = images.map(lambda v: v is None or image_path_is_safe(v))
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
    dated = ["ok"] if params.undated == "error" else ["ok", "undated"]
    checks = [
        ("post_id", True, ex.ExpectColumnValuesToNotBeNull(column="post_id")),
        ("post_id", True, ex.ExpectColumnValuesToBeUnique(column="post_id")),
        ("posted_at", True, ex.ExpectColumnValuesToBeInSet(
            column="date_status", value_set=[*dated, "nonexistent"])),
        ("posted_at_dst", True, ex.ExpectColumnValuesToNotBeInSet(
            column="date_status", value_set=["nonexistent"])),
        ("posted_at_range", True, ex.ExpectColumnValuesToBeBetween(
            column="posted_at_local", min_value=lo, max_value=hi)),
        ("image_path", True, ex.ExpectColumnValuesToBeInSet(
            column="image_path_safe", value_set=[True])),
        ("content", False, ex.ExpectColumnValueLengthsToBeBetween(
            column="content", min_value=0, max_value=params.caption_max_chars,
            mostly=params.caption_mostly)),
    ]
    if params.check_images:
        checks.append(("image_status", True, ex.ExpectColumnValuesToBeInSet(
            column="image_status", value_set=list(OK_IMAGES), mostly=params.image_mostly)))
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
        "column": SHOWN_AS.get(kwargs.get("column"), kwargs.get("column")),
        "check_column": kwargs.pop("column", None),
        "kwargs": {k: str(v) for k, v in kwargs.items()},
        "success": bool(res.success),
        "blocking": blocking,
        "unexpected_count": int(details.get("unexpected_count") or 0),
        "unexpected_percent": float(details.get("unexpected_percent") or 0.0),
        "examples": examples,
        "fix": FIXES[fix_key],
    }


def strip_controls(values: pd.Series) -> tuple[pd.Series, int]:
    """Remove control characters (see CONTROL_CHARS) from text cells.

    Returns:
        (the cleaned texts, None kept; how many cells had any).
    """
    def one(v: Any) -> Any:
        return v if v is None else CONTROL_CHARS.sub("", str(v))

    cleaned = values.map(one)
    present = values.notna()  # None != None is True elementwise: compare present cells only
    return cleaned, int((cleaned[present] != values[present].astype(str)).sum())


def image_problems(frame: pd.DataFrame) -> list[dict[str, str]]:
    """One entry per post whose image cannot be used: post_id, image_path and the reason."""
    bad = frame[~frame["image_status"].isin(OK_IMAGES)]
    return [{"post_id": str(pid), "image_path": str(path), "reason": str(status)}
            for pid, path, status in zip(bad["post_id"], bad["image_path"], bad["image_status"])]


def _image_breakdown(problems: list[dict[str, str]]) -> str:
    """"missing: 2 (p1, p2); unreadable: 1 (p3)": why each image failed, by reason."""
    by_reason: dict[str, list[str]] = {}
    for p in problems:
        by_reason.setdefault(p["reason"].split(":")[0], []).append(p["post_id"])
    return "; ".join(f"{reason}: {len(ids)} (e.g. {', '.join(ids[:3])})"
                     for reason, ids in sorted(by_reason.items()))


def validate_posts(raw: pd.DataFrame, params: ValidateParams,
                   image_status: pd.Series | None = None) -> ValidationResult:
    """Check raw posts and return the normalised table plus a report of every check.

    Args:
        raw: The raw posts table (columns post_id, content, tags, posted_at, image_path, [label],
            and any columns `stylecluster import --keep` carried, passed through). Not modified.
        params: The `validate` params.
        image_status: Per row, what `io.image_status` says ("ok", "no image", "missing",
            "unreadable: ...", "too_large: ..."), computed by the caller (the stage reads the
            files); None skips the image check.

    Returns:
        A ValidationResult; `posts` is None when any blocking expectation failed. Undated posts
        have NaT posted_at and month None (validate.undated: keep), or are left out and counted
        (drop). Control characters are removed from content and tags, and counted.
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
        return ValidationResult(None, ValidationSummary(**report), [line])

    frame = _check_frame(raw, params, image_status if params.check_images else None)
    checks = _expectations(params, "label" in raw.columns)
    results = _run_gx(frame, checks)
    entries = [_entry(key, blocking, res) for (key, blocking, _), res in zip(checks, results)]
    problems = image_problems(frame)
    failures = []
    for e in entries:
        if e["blocking"] and not e["success"]:
            detail = f" ({_image_breakdown(problems)})" if e["check_column"] == "image_status" else ""
            failures.append(f"{e['expectation']} on '{e['column']}': {e['unexpected_count']} "
                            f"row(s) fail{detail}, e.g. post_id {e['examples'][:5]}. "
                            f"Fix: {e['fix']}")
    soft = [e for e in entries if not e["blocking"] and not e["success"]]
    undated = frame["date_status"] == "undated"
    report.update(
        success=not failures,
        n_blocking_failures=len(failures),
        n_soft_failures=len(soft),
        n_missing_content=int(frame["content"].isna().sum()),
        n_undated=int(undated.sum()),
        n_text_only=int(frame["image_path"].isna().sum()),
        n_long_captions=int(frame["content"].map(
            lambda c: c is not None and len(c) > params.caption_max_chars).sum()),
        image_problems=problems[:1000],
        results=entries,
    )
    if failures:
        return ValidationResult(None, ValidationSummary(**report), failures)
    return _normalise(raw, frame, params, report)


def _normalise(raw: pd.DataFrame, frame: pd.DataFrame, params: ValidateParams,
               report: dict[str, Any]) -> ValidationResult:
    """The canonical posts table from rows that passed every blocking check."""
    content, n_content = strip_controls(frame["content"])
    tags, n_tags = strip_controls(_text_or_none(raw["tags"]))
    report["n_control_char_cells"] = n_content + n_tags
    posts = pd.DataFrame({
        "post_id": frame["post_id"].astype(str),
        "content": content,
        "tags": tags,
        "posted_at": frame["posted_at"],
        "month": month_key(frame["posted_at"], params.timezone),
        "image_path": frame["image_path"].astype(object),
    })
    if "label" in frame.columns:
        posts["label"] = frame["label"]
    for extra in [c for c in raw.columns if c not in (*REQUIRED_COLUMNS, "label", "month")]:
        posts[extra] = raw[extra]  # carried by `import --keep`: passed through as given
    report["extra_columns"] = [c for c in posts.columns
                               if c not in (*REQUIRED_COLUMNS, "label", "month")]
    if params.undated == "drop":
        keep = posts["posted_at"].notna()
        report["n_undated_dropped"] = int((~keep).sum())
        posts = posts[keep]
    if len(posts) < params.min_posts:
        line = (f"only {len(posts)} post(s) remain after validation, but the pipeline needs at "
                f"least validate.min_posts = {params.min_posts} (reduce's UMAP to "
                "reduce.n_components dimensions needs n_components + 2 posts, select_k needs "
                "k_min + 1). Fix: add posts, or lower validate.min_posts together with "
                "reduce.n_components and select_k.k_max.")
        report.update(success=False, n_blocking_failures=1, min_posts_failure=line)
        return ValidationResult(None, ValidationSummary(**report), [line])
    posts = posts.sort_values(["posted_at", "post_id"], kind="stable",
                              na_position="last").reset_index(drop=True)
    report["months"] = posts["month"].value_counts().sort_index().to_dict()
    return ValidationResult(posts, ValidationSummary(**report), [])
