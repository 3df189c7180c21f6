"""What counts as balanced, shared by the report's verdict and `stylecluster compare`.

One place for the numbers both judge a run by, so the page and the comparison of experiments
cannot disagree, and one reader of a metric that may be missing, null or not a number.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_LARGEST_SHARE = 0.40  # balanced clusters: the largest holds at most this share of the posts
MAX_MONTH_SHARE = 0.60  # balanced months: no cluster holds more of any one (counted) month


def number(metrics: Mapping[str, Any], key: str) -> float | None:
    """`metrics[key]` as a float; None when it is missing, null, a bool or not a number."""
    value = metrics.get(key)
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
