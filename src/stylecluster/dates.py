"""Timestamps are parsed once, with an explicit format, and the month key comes from here only."""

from __future__ import annotations

import pandas as pd


def parse_timestamps(values: pd.Series, time_format: str, timezone: str) -> pd.Series:
    """Parse timestamps into tz-aware UTC; unparseable values become NaT (never guessed).

    Args:
        values: Strings in `time_format`, or datetimes (naive ones are taken as `timezone`).
        time_format: A strptime format, e.g. "%Y-%m-%d %H:%M:%S".
        timezone: The zone of naive timestamps, e.g. "Asia/Shanghai".

    Returns:
        A datetime64[ns, UTC] Series aligned with `values`.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = pd.to_datetime(values)
    else:
        text = values.astype("string").str.strip()
        parsed = pd.to_datetime(text, format=time_format, errors="coerce")
    if getattr(parsed.dt, "tz", None) is None:
        parsed = parsed.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
    return parsed.dt.tz_convert("UTC")


def month_key(timestamps: pd.Series, timezone: str) -> pd.Series:
    """Return "YYYY-MM" of each UTC timestamp as seen in `timezone` (where the posts were made)."""
    return timestamps.dt.tz_convert(timezone).dt.strftime("%Y-%m")
