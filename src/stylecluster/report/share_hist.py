"""The segment stage's clothing-share histogram, in a module of its own so that the segment stage
depends on this drawing only (editing the report's figures re-runs nothing upstream)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def plot_clothing_share_hist(manifest: pd.DataFrame, threshold: float) -> Figure:
    """Histogram of clothing shares, kept and dropped stacked, with the threshold marked.

    Args:
        manifest: The segment manifest (columns clothing_share, kept); unreadable images
            (clothing_share NaN) are counted in the title, not in the bars.
        threshold: `segment.min_clothing_share`, drawn as a vertical line.

    Drawn without the CJK font context (its labels are ASCII); `plot_clothing_share` is the
    report's copy, drawn inside it.

    Returns:
        A Figure (Agg canvas attached).
    """
    fig = Figure(figsize=(7, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    shares = manifest["clothing_share"]
    readable = shares.notna()
    kept = manifest["kept"].astype(bool)
    bins = np.linspace(0.0, 1.0, 51)
    ax.hist([shares[readable & kept].to_numpy(), shares[readable & ~kept].to_numpy()], bins=bins,
            stacked=True, color=["tab:blue", "tab:gray"],
            label=[f"kept ({int((readable & kept).sum())})",
                   f"dropped ({int((readable & ~kept).sum())})"])
    ax.axvline(threshold, color="tab:red", linestyle="--",
               label=f"min_clothing_share = {threshold:g}")
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel("clothing share (clothing pixels / image pixels)")
    ax.set_ylabel("images")
    ax.set_title(f"Clothing share of {int(readable.sum())} images "
                 f"({int((~readable).sum())} unreadable, not shown)")
    ax.legend(loc="upper right")
    fig.tight_layout()
    return fig
