"""VIX and VIX3M lines; the ratio below with inversions shaded, thresholds and alert points."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from bot.charts import LEVEL_COLOURS
from bot.charts._levels import legend_with_levels, threshold_lines
from signals.vix_term import VixTermChart


def draw(fig: Figure, data: VixTermChart) -> None:
    if data.focus_key == "vix9d":
        draw_front(fig, data)
        return
    x, vix, vix3m, ratio = data.x, data.vix, data.vix3m, data.ratio
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2], "hspace": 0.08})
    fig.subplots_adjust(left=0.07, right=0.91, top=0.93, bottom=0.1)
    fig.suptitle(data.title, x=0.07, ha="left", fontsize=12)

    top.plot(x, vix, color="#c62828", linewidth=1.3, label="VIX")
    top.plot(x, vix3m, color="#1565c0", linewidth=1.3, label="VIX3M")
    front = data.front_marks
    if front and len(x):
        fx = np.array(front, dtype="datetime64[ns]")
        idx = np.clip(np.searchsorted(x, fx), 0, len(x) - 1)
        top.scatter(
            x[idx],
            vix[idx],
            marker="v",
            s=40,
            color=LEVEL_COLOURS["watch"],
            zorder=5,
            label="VIX9D > VIX (front end)",
        )
    top.set_ylabel("index")
    top.legend(loc="upper left", frameon=True, framealpha=0.85, edgecolor="none", ncol=2)
    top.grid(alpha=0.25)

    bottom.plot(x, ratio, color="#212121", linewidth=1.1, label="VIX / VIX3M")
    if len(ratio):
        bottom.fill_between(
            x,
            1.0,
            ratio,
            where=ratio >= 1.0,
            color=LEVEL_COLOURS["alert"],
            alpha=0.3,
            interpolate=True,
            label="inverted",
        )
    threshold_lines(bottom, data.thresholds, lambda v: f"{v:.2f}")
    marks = data.marks
    if marks and len(x):
        mx = np.array([m[0] for m in marks], dtype="datetime64[ns]")
        idx = np.clip(np.searchsorted(x, mx), 0, len(x) - 1)
        colours = [LEVEL_COLOURS.get(m[1], "#000000") for m in marks]
        bottom.scatter(x[idx], ratio[idx], s=36, c=colours, zorder=5, edgecolors="white", linewidths=0.8)
    bottom.set_ylabel("VIX / VIX3M")
    legend_with_levels(
        bottom,
        [m[1] for m in marks] if len(x) else [],
        loc="upper left",
        frameon=True,
        framealpha=0.85,
        edgecolor="none",
        ncol=5,
        fontsize=8,
    )
    bottom.grid(alpha=0.25)


def draw_front(fig: Figure, data: VixTermChart) -> None:
    """The VIX9D/VIX alert's chart: VIX9D and VIX above, their ratio below with its line."""
    x, vix, vix9d, ratio = data.x, data.vix, data.vix9d, data.front_ratio
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2], "hspace": 0.08})
    fig.subplots_adjust(left=0.07, right=0.91, top=0.93, bottom=0.1)
    fig.suptitle(data.title, x=0.07, ha="left", fontsize=12)
    top.plot(x, vix9d, color="#6a1b9a", linewidth=1.3, label="VIX9D")
    top.plot(x, vix, color="#c62828", linewidth=1.3, label="VIX")
    top.set_ylabel("index")
    top.legend(loc="upper left", frameon=True, framealpha=0.85, edgecolor="none", ncol=2)
    top.grid(alpha=0.25)
    bottom.plot(x, ratio, color="#212121", linewidth=1.1, label="VIX9D / VIX")
    if len(ratio):
        bottom.fill_between(
            x,
            1.0,
            ratio,
            where=np.nan_to_num(ratio) >= 1.0,
            color=LEVEL_COLOURS["watch"],
            alpha=0.35,
            interpolate=True,
        )
    threshold_lines(bottom, data.front_thresholds, lambda v: f"{v:.2f}")
    front = data.front_marks
    if front and len(x):
        fx = np.array(front, dtype="datetime64[ns]")
        idx = np.clip(np.searchsorted(x, fx), 0, len(x) - 1)
        bottom.scatter(x[idx], ratio[idx], s=36, color=LEVEL_COLOURS["watch"], zorder=5, edgecolors="white")
    bottom.set_ylabel("VIX9D / VIX")
    legend_with_levels(
        bottom,
        ["watch"] if front and len(x) else [],
        loc="upper left",
        frameon=True,
        framealpha=0.85,
        edgecolor="none",
        ncol=5,
        fontsize=8,
    )
    bottom.grid(alpha=0.25)
