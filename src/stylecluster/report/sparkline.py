"""Trend sparklines for the report's cluster cards: the geometry of a tiny inline SVG.

Pure: a list of shares in, coordinates out; templates/body.html draws the `<svg>` from them, so the
page stays one file with no script and no extra image per card.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT, PAD = 132, 30, 3  # CSS pixels; PAD keeps the end dots inside the box


@dataclass(frozen=True)
class Sparkline:
    """A polyline and two marked points, in SVG user units (= CSS pixels).

    Attributes:
        points: The polyline's `points` attribute ("x,y x,y ...").
        last: (x, y) of the last month's point.
        peak: (x, y) of the highest point (the earliest when tied).
        width, height: The SVG's size.
        top: The share at the top of the box (the series' maximum), for the tooltip.
    """

    points: str
    last: tuple[float, float]
    peak: tuple[float, float]
    width: int
    height: int
    top: float


def sparkline(values: Sequence[float], width: int = WIDTH, height: int = HEIGHT,
              pad: int = PAD) -> Sparkline:
    """Scale `values` (shares, >= 0) into a width x height box: x evenly spaced, y from 0 at the
    bottom to the series' maximum at the top (a flat zero series lies on the bottom).

    Args:
        values: One share per month, in month order (at least one).
        width, height: The box in CSS pixels.
        pad: Margin inside the box.

    Returns:
        A Sparkline; a single value is drawn as a short flat line across the box.

    Raises:
        ValueError: If `values` is empty.
    """
    if not len(values):
        raise ValueError("sparkline: no values; pass at least one month's share.")
    vals = [max(float(v), 0.0) for v in values]
    if len(vals) == 1:
        vals = vals * 2
    top = max(vals)
    span_x, span_y = width - 2 * pad, height - 2 * pad
    xy = [(round(pad + span_x * i / (len(vals) - 1), 1),
           round(height - pad - (span_y * v / top if top > 0 else 0.0), 1))
          for i, v in enumerate(vals)]
    peak = xy[vals.index(top)]
    return Sparkline(points=" ".join(f"{x:g},{y:g}" for x, y in xy), last=xy[-1], peak=peak,
                     width=width, height=height, top=top)
