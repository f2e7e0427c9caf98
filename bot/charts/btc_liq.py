"""Long (red, up) and short (green, down) liquidations per bucket as stepped fills; BTC price on
a twin axis; cascades shaded; stream gaps hatched; alert points marked."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from bot.charts import LEVEL_COLOURS

LONG_COLOUR, SHORT_COLOUR, PRICE_COLOUR = "#c62828", "#2e7d32", "#37474f"


def draw(fig: Figure, data: dict[str, Any]) -> None:
    ax = fig.subplots()
    fig.subplots_adjust(left=0.08, right=0.9, top=0.92, bottom=0.1)
    fig.suptitle(data.get("title", "BTC liquidations"), x=0.08, ha="left", fontsize=12)
    x, long, short = data["x"], data["long"], data["short"]
    res = np.timedelta64(int(data.get("res", 60)), "s")
    if len(x):
        edges = np.append(x, x[-1] + res)
        ax.fill_between(
            edges, np.append(long, long[-1]), step="post", color=LONG_COLOUR, lw=0, label="longs liquidated"
        )
        ax.fill_between(
            edges,
            -np.append(short, short[-1]),
            step="post",
            color=SHORT_COLOUR,
            lw=0,
            label="shorts liquidated",
        )
        top = float(max(long.max(), short.max(), 1e-9))
        ax.set_ylim(-top * 1.1, top * 1.1)
    ax.axhline(0, color="#9e9e9e", linewidth=0.6)
    for a, b, level in data.get("cascades", []):
        ax.axvspan(a, b, color=LEVEL_COLOURS.get(level, "#ef6c00"), alpha=0.15, lw=0)
    for a, b, _label in data.get("gaps", []):
        ax.axvspan(a, b, facecolor="none", edgecolor="#757575", hatch="///", lw=0, alpha=0.6)
    marks = data.get("marks") or []
    if marks:
        mx = np.array([m[0] for m in marks], dtype="datetime64[s]")
        ax.scatter(
            mx,
            np.full(len(mx), ax.get_ylim()[1] * 0.92),
            s=36,
            c=[LEVEL_COLOURS.get(m[1], "#000000") for m in marks],
            marker="v",
            zorder=5,
        )
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.set_ylabel("USD liquidated per bucket (millions; shorts below zero)")
    ax.grid(alpha=0.25)
    ax.legend(loc="upper left", frameon=False, ncol=2, fontsize=8)
    if len(data.get("price", [])):
        tw = ax.twinx()
        tw.plot(data["price_x"], data["price"], color=PRICE_COLOUR, linewidth=1.0)
        tw.set_ylabel("BTC (USD)", color=PRICE_COLOUR)
