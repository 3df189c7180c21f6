"""Timestamps are parsed here, with an explicit format, and the month key comes from here only.

A format is a strptime pattern (`%Y/%m/%d %H:%M`), `epoch_s` or `epoch_ms` (what scrapers write),
or `auto`: ISO 8601 with or without a UTC offset, `YYYY/M/D`, `YYYY-MM-DD HH:MM`, `YYYY年M月D日`,
10-digit epoch seconds and 13-digit epoch milliseconds, value by value. Nothing else is guessed.
An offset-aware value is converted to UTC exactly; a naive one is read as local time of the posts'
time zone. Year-less dates (`05-17`, as the platform shows recent posts) need a year: a fixed one or
`infer` (the year of the nearest row that has a full date).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import numpy as np
import pandas as pd

from stylecluster.errors import ConfigError

SPECIAL_FORMATS = ("auto", "epoch_s", "epoch_ms")
EMPTY_MARKERS = ("", "nan", "none", "null", "nat")  # what exports write for "no date"

_CLOCK = r"(?:[T\s]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?"
_OFFSET = r"\s*(?P<tz>Z|UTC|GMT|[+-]\d{2}:?\d{2})?"
_FULL = re.compile(r"^(?P<y>\d{4})[-/.年](?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})日?" + _CLOCK + _OFFSET + "$")
_YEARLESS = re.compile(r"^(?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})日?" + _CLOCK + "$")
_EPOCH = re.compile(r"^\d{10}(?:\.\d+)?$|^\d{13}$")


@dataclass(frozen=True)
class ParsedDates:
    """Parsed timestamps with the reason each missing one is missing.

    Attributes:
        utc: datetime64[ns, UTC], NaT where a value is empty, bad or does not exist locally.
        empty: True where the value is missing or blank (an undated post, not an error).
        bad: True where a value is present but does not parse with the format.
        nonexistent: True where a naive local time falls in a daylight-saving gap or repeated hour.
        yearless: True where the value had no year (and took `year`).
    """

    utc: pd.Series
    empty: pd.Series
    bad: pd.Series
    nonexistent: pd.Series
    yearless: pd.Series


def check_timezone(name: str, where: str) -> str:
    """Return `name` if the tz database knows it.

    Raises:
        ConfigError: Naming `where`, the value and close matches (e.g. Asia/Beijing -> Asia/Shanghai).
    """
    try:
        ZoneInfo(name)
        return name
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        pass
    close = difflib.get_close_matches(str(name), sorted(available_timezones()), n=3)
    hint = f" Close names: {', '.join(close)}." if close else ""
    raise ConfigError(f"{where} = {name!r} is not a time zone of the tz database (China is "
                      f"'Asia/Shanghai'; UTC is 'UTC').{hint}")


def is_date_format(date_format: str) -> bool:
    """Whether `date_format` is a special name (auto, epoch_s, epoch_ms) or a strptime pattern."""
    return date_format in SPECIAL_FORMATS or "%" in date_format


def check_format(date_format: str, where: str) -> str:
    """Return the canonical form of a date format (`%s` -> `epoch_s`).

    Raises:
        ConfigError: If it is neither a special name nor a strptime pattern.
    """
    if date_format == "%s":
        return "epoch_s"
    if is_date_format(date_format):
        return date_format
    raise ConfigError(f"{where} = {date_format!r} is not a date format: use one of "
                      f"{', '.join(SPECIAL_FORMATS)} or strptime codes such as '%Y/%m/%d %H:%M'.")


def parse_dates(values: pd.Series, date_format: str, timezone: str, *,
                year: int | str | None = None) -> ParsedDates:
    """Parse timestamps to UTC, saying for each missing one why (empty, bad, nonexistent).

    Args:
        values: Strings, numbers (epochs) or datetimes, as the export holds them. Not modified.
        date_format: A strptime pattern, `auto`, `epoch_s` or `epoch_ms` (see the module doc).
        timezone: tz database name of naive timestamps, e.g. "Asia/Shanghai".
        year: Year of year-less values: an int, "infer" (nearest row with a full date) or None
            (year-less values are then bad).

    Returns:
        A ParsedDates aligned with `values`.
    """
    date_format = check_format(date_format, "date format")
    index = values.index
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = pd.Series(pd.to_datetime(values), index=index)
        empty = stamps.isna()
        aware = getattr(stamps.dt, "tz", None) is not None
        local = None if aware else stamps
        utc = stamps.dt.tz_convert("UTC") if aware else None
        no = pd.Series(False, index=index)
        return _finish(local, utc, timezone, empty, no.copy(), no.copy())
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        text = values.astype("Float64").astype("string").str.replace(r"\.0$", "", regex=True)
    else:
        text = values.astype("string").str.strip()
    empty = text.isna() | text.str.lower().isin(EMPTY_MARKERS).fillna(True)
    empty = empty.astype(bool)
    present = text.where(~empty)
    no = pd.Series(False, index=index)
    if date_format in ("epoch_s", "epoch_ms"):
        utc = _epoch(present, date_format)
        return _finish(None, utc, timezone, empty, (~empty) & utc.isna(), no.copy())
    if date_format == "auto":
        return _auto(present, timezone, empty, year)
    yearless_fmt = not re.search(r"%[Yy]", date_format)
    aware = bool(re.search(r"%[zZ]", date_format))
    parsed = pd.to_datetime(present, format=date_format, errors="coerce", utc=aware)
    parsed = pd.Series(parsed, index=index)
    bad = (~empty) & parsed.isna()
    yearless = (~empty) & (~bad) if yearless_fmt else no.copy()
    if aware:
        return _finish(None, parsed, timezone, empty, bad, yearless)
    if yearless_fmt:
        parsed, bad = _with_year(parsed, yearless, bad, None, year, timezone)
    return _finish(parsed, None, timezone, empty, bad, yearless)


def _epoch(text: pd.Series, unit_name: str) -> pd.Series:
    numbers = pd.to_numeric(text, errors="coerce")
    unit = "ms" if unit_name == "epoch_ms" else "s"
    return pd.Series(pd.to_datetime(numbers, unit=unit, utc=True, errors="coerce"), index=text.index)


def _auto(text: pd.Series, timezone: str, empty: pd.Series, year: int | str | None) -> ParsedDates:
    index = text.index
    local = pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
    utc = pd.Series(pd.NaT, index=index, dtype="datetime64[ns, UTC]")
    full = text.str.extract(_FULL)
    has_full = full["y"].notna()
    clock = _from_parts(full, full["y"])
    offset = full["tz"].map(_offset_minutes, na_action="ignore")
    aware = has_full & offset.notna()
    utc[aware] = (clock[aware] - pd.to_timedelta(offset[aware], unit="m")).dt.tz_localize("UTC")
    local[has_full & ~aware] = clock[has_full & ~aware]
    epoch = text.str.match(_EPOCH).fillna(False).astype(bool) & ~has_full
    if epoch.any():
        digits = text[epoch]
        ms = digits.str.len() == 13
        utc[epoch & ms.reindex(index, fill_value=False)] = _epoch(digits[ms], "epoch_ms")
        utc[epoch & ~ms.reindex(index, fill_value=True)] = _epoch(digits[~ms], "epoch_s")
    short = text.str.extract(_YEARLESS)
    yearless = short["m"].notna() & ~has_full & ~epoch
    bad = (~empty) & ~has_full & ~epoch & ~yearless
    bad |= has_full & local.isna() & utc.isna()  # e.g. month 13
    if yearless.any():
        parts = _from_parts(short, pd.Series(2000, index=index))  # 2000 is leap: 02-29 parses
        dated, bad = _with_year(parts, yearless, bad, local, year, timezone, full_utc=utc)
        local = local.where(~yearless, dated)
    return _finish(local, utc, timezone, empty, bad, yearless & ~bad)


def _from_parts(parts: pd.DataFrame, years: pd.Series) -> pd.Series:
    """Naive timestamps from regex groups y/m/d/H/M/S/f (NaT where any part is invalid)."""
    frame = pd.DataFrame({
        "year": pd.to_numeric(years, errors="coerce"),
        "month": pd.to_numeric(parts["m"], errors="coerce"),
        "day": pd.to_numeric(parts["d"], errors="coerce"),
        "hour": pd.to_numeric(parts["H"], errors="coerce").fillna(0),
        "minute": pd.to_numeric(parts["M"], errors="coerce").fillna(0),
        "second": pd.to_numeric(parts["S"], errors="coerce").fillna(0),
    })
    frac = parts["f"].fillna("0").str.ljust(9, "0").str[:9]
    frame["ns"] = pd.to_numeric(frac, errors="coerce").fillna(0)
    ok = frame[["year", "month", "day"]].notna().all(axis=1)
    out = pd.Series(pd.NaT, index=parts.index, dtype="datetime64[ns]")
    if ok.any():
        out[ok] = pd.to_datetime(frame[ok].astype("int64"), errors="coerce")
    return out


def _offset_minutes(tz: str) -> float:
    if tz in ("Z", "UTC", "GMT"):
        return 0.0
    sign = -1.0 if tz[0] == "-" else 1.0
    digits = tz[1:].replace(":", "")
    return sign * (int(digits[:2]) * 60 + int(digits[2:]))


def _with_year(parts: pd.Series, yearless: pd.Series, bad: pd.Series, full_local: pd.Series | None,
               year: int | str | None, timezone: str,
               full_utc: pd.Series | None = None) -> tuple[pd.Series, pd.Series]:
    """Give year-less rows their year; rows that cannot get one become bad."""
    if not yearless.any():
        return parts, bad
    if year is None:
        return parts, bad | yearless
    if year == "infer":
        known = pd.Series(np.nan, index=parts.index)
        if full_local is not None:
            known = known.fillna(full_local.dt.year)
        if full_utc is not None:
            known = known.fillna(full_utc.dt.tz_convert(timezone).dt.year)
        positions = np.flatnonzero(known.notna().to_numpy())
        if not len(positions):
            return parts, bad | yearless
        rows = np.arange(len(parts))
        nearest = positions[np.abs(rows[:, None] - positions[None, :]).argmin(axis=1)]
        years = pd.Series(known.to_numpy()[nearest], index=parts.index)
    else:
        years = pd.Series(int(year), index=parts.index)
    fixed = parts.copy()
    offsets = (years - parts.dt.year).where(yearless)
    for delta in offsets.dropna().unique():
        rows = yearless & (offsets == delta)
        fixed[rows] = parts[rows] + pd.DateOffset(years=int(delta))
    # 02-29 in a non-leap year: DateOffset moves it to 02-28; call that bad, not a silent shift.
    shifted = yearless & (fixed.dt.day != parts.dt.day)
    return fixed, bad | shifted


def _finish(local: pd.Series | None, utc: pd.Series | None, timezone: str, empty: pd.Series,
            bad: pd.Series, yearless: pd.Series) -> ParsedDates:
    index = empty.index
    result = pd.Series(pd.NaT, index=index, dtype="datetime64[ns, UTC]")
    nonexistent = pd.Series(False, index=index)
    if utc is not None:
        result = result.where(utc.isna(), utc)
    if local is not None:
        has_local = local.notna()
        localized = local.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
        nonexistent = has_local & localized.isna()
        result = result.where(~has_local, localized.dt.tz_convert("UTC"))
    result = pd.Series(result, index=index).astype("datetime64[ns, UTC]").where(~bad)
    return ParsedDates(result, empty.astype(bool), bad.astype(bool), nonexistent.astype(bool),
                       yearless.astype(bool))


def month_key(timestamps: pd.Series, timezone: str) -> pd.Series:
    """Return "YYYY-MM" of each UTC timestamp as seen in `timezone`; None where undated (NaT)."""
    months = timestamps.dt.tz_convert(timezone).dt.strftime("%Y-%m")
    return months.astype(object).where(timestamps.notna(), None)
