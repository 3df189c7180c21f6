"""Report: posts lost (or left without text) on the way to the clustering, by source and reason.
Pure pandas: no drawing, no IO."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd


def concat_dropped(tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The upstream dropped.parquet tables (post_id, stage, reason) as one, in the given order."""
    if not tables:
        return pd.DataFrame({"post_id": [], "stage": [], "reason": []}, dtype=object)
    return pd.concat(list(tables), ignore_index=True)


def drop_counts(validation: Mapping[str, Any], segment_summary: Mapping[str, Any],
                manifest: pd.DataFrame, texts: pd.DataFrame, dropped: Sequence[pd.DataFrame],
                metrics: Mapping[str, Any]) -> pd.DataFrame:
    """Posts lost (or left without text) on the way to the clustering, by source and reason.

    Rows overlap across sources: a post whose image segment dropped is also listed by embed
    (stage segment) and, for image features, by reduce (no image embedding).

    Args:
        validation: reports/validation.json.
        segment_summary: segment/summary.json.
        manifest: segment/manifest.parquet.
        texts: preprocess/texts.parquet.
        dropped: The embed and reduce stages' dropped.parquet tables (see `concat_dropped`).
        metrics: reports/metrics.json.

    Returns:
        source, reason, n_posts.
    """
    rows: list[tuple[str, str, int]] = []
    v = validation
    if v.get("n_missing_content") is not None:
        rows.append(("validate", "caption (content) missing; tags may remain",
                     int(v["n_missing_content"])))
    for key, reason in (("n_undated", "undated: clustered, left out of the monthly trends"),
                        ("n_undated_dropped", "undated: dropped (validate.undated: drop)"),
                        ("n_text_only", "no image (text-only post)")):
        if v.get(key):
            rows.append(("validate", reason, int(v[key])))
    by_kind = segment_summary.get("dropped_by_reason") or {}
    if by_kind:
        rows += [("segment", str(kind), int(n)) for kind, n in by_kind.items()]
    elif len(manifest):
        not_kept = manifest[~manifest["kept"].astype(bool)]
        rows += [("segment", "dropped", int(len(not_kept)))]
    if "has_text" in texts.columns:
        rows.append(("preprocess", "no text after cleaning (has_text false)",
                     int((~texts["has_text"].astype(bool)).sum())))
    d = concat_dropped(dropped).astype({"stage": str, "reason": str})
    # embed lists segment's drops again, each with its own measured share in the reason: one row
    reason = d["reason"].where(d["stage"] != "segment",
                               "no kept image (dropped by segment, kinds above)")
    src = np.where(d["stage"] == "reduce", "reduce", "embed (" + d["stage"] + ")")
    counts = pd.DataFrame({"source": src, "reason": reason}).value_counts(sort=False)
    order = ["embed (segment)", "embed (preprocess)", "embed (embed)", "reduce"]
    for (s, r), n in sorted(counts.items(), key=lambda item: (
            order.index(item[0][0]) if item[0][0] in order else len(order), item[0])):
        rows.append((s, r, int(n)))
    m = metrics
    if m.get("n_posts_dropped") is not None:
        rows.append(("cluster", "posts not clustered (total, all reasons)",
                     int(m["n_posts_dropped"])))
    return pd.DataFrame(rows, columns=["source", "reason", "n_posts"])
