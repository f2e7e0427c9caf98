"""BTC liquidations.

The history chart: long (red, up) and short (green, down) liquidations per bucket as stepped
fills (5-minute bars for two days, daily bars for a year); BTC price on a twin axis; cascades
shaded; stream gaps hatched; alert points marked.

The alert chart (a :class:`~signals.btc_liq.CascadeChart`): the cascade itself, from a little before it
began to the alert. On top the cumulative USD liquidated since it began, longs and shorts
stacked, with the headline figure written at its end; below, longs and shorts per bucket;
at the bottom the BTC price with its move. The title names the alert and its level.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from bot.charts import LEVEL_COLOURS
from bot.charts._levels import legend_with_levels
from signals.btc_liq import BtcLiqChart, CascadeChart

LONG_COLOUR, SHORT_COLOUR, PRICE_COLOUR = "#c62828", "#2e7d32", "#37474f"


def draw(fig: Figure, data: BtcLiqChart) -> None:
    if isinstance(data, CascadeChart):
        draw_cascade(fig, data)
        return
    ax = fig.subplots()
    fig.subplots_adjust(left=0.08, right=0.9, top=0.92, bottom=0.1)
    fig.suptitle(data.title, x=0.08, ha="left", fontsize=12)
    x, long, short = data.x, data.long, data.short
    res = np.timedelta64(int(data.res), "s")
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
    for a, b, level in data.cascades:
        ax.axvspan(a, b, color=LEVEL_COLOURS.get(level, "#ef6c00"), alpha=0.15, lw=0)
    for a, b, _label in data.gaps:
        ax.axvspan(a, b, facecolor="none", edgecolor="#757575", hatch="///", lw=0, alpha=0.6)
    marks = data.marks
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
    _dates(ax)
    per = {86400: "day", 3600: "hour"}.get(int(data.res), "bucket")
    ax.set_ylabel(f"USD liquidated per {per} (millions; shorts below zero)")
    ax.grid(alpha=0.25)
    legend_with_levels(
        ax,
        [m[1] for m in marks],
        "v",
        loc="upper left",
        frameon=True,
        framealpha=0.85,
        edgecolor="none",
        ncol=2,
        fontsize=8,
    )
    if len(data.price):
        tw = ax.twinx()
        tw.plot(data.price_x, data.price, color=PRICE_COLOUR, linewidth=1.0)
        tw.set_ylabel("BTC (USD)", color=PRICE_COLOUR)


def _dates(ax: Any) -> None:
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def draw_cascade(fig: Figure, data: CascadeChart) -> None:
    level = str(data.level)
    colour = LEVEL_COLOURS.get(level, "#ef6c00")
    cum_ax, bar_ax, px_ax = fig.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [3.2, 1.4, 1.4]})
    fig.subplots_adjust(left=0.09, right=0.97, top=0.9, bottom=0.08, hspace=0.08)
    # parse_math=False: the texts are full of dollar signs
    fig.suptitle(
        data.title,
        x=0.09,
        ha="left",
        fontsize=12,
        color=colour,
        parse_math=False,
    )
    x = data.x
    res = np.timedelta64(int(data.res), "s")
    start = data.start
    if len(x):
        edges = np.append(x, x[-1] + res)
        cl, cs = data.cum_long, data.cum_short
        ends = x + res  # a bucket's total is in by its end
        cum_ax.fill_between(ends, 0, cl, color=LONG_COLOUR, alpha=0.85, lw=0, label="longs (cumulative)")
        cum_ax.fill_between(
            ends, cl, cl + cs, color=SHORT_COLOUR, alpha=0.85, lw=0, label="shorts (cumulative)"
        )
        cum_ax.plot(ends, cl + cs, color="#212121", lw=1.2)
        total = float((cl + cs)[-1])
        cum_ax.set_ylim(0, max(total, 1e-9) * 1.25)
        cum_ax.annotate(
            data.headline,
            xy=(ends[-1], total),
            xytext=(-6, 10),
            textcoords="offset points",
            ha="right",
            va="bottom",
            fontsize=15,
            fontweight="bold",
            color=colour,
            parse_math=False,
        )
        cum_ax.text(
            0.01,
            0.97,
            data.split,
            transform=cum_ax.transAxes,
            va="top",
            fontsize=9,
            color="#424242",
            parse_math=False,
        )
        long, short = data.long, data.short
        bar_ax.fill_between(edges, np.append(long, long[-1]), step="post", color=LONG_COLOUR, lw=0)
        bar_ax.fill_between(edges, -np.append(short, short[-1]), step="post", color=SHORT_COLOUR, lw=0)
        top = float(max(long.max(), short.max(), 1e-9))
        bar_ax.set_ylim(-top * 1.15, top * 1.15)
    bar_ax.axhline(0, color="#9e9e9e", linewidth=0.6)
    minutes = int(data.res) // 60
    bar_ax.set_ylabel(f"per {minutes} min" if minutes < 60 else f"per {minutes // 60} h", fontsize=8)
    cum_ax.set_ylabel("USD liquidated since the start (millions)")
    for ax in (cum_ax, bar_ax, px_ax):
        if start is not None:
            ax.axvline(start, color=colour, lw=1.0, ls="--")
        for a, b, _label in data.gaps:
            ax.axvspan(a, b, facecolor="none", edgecolor="#757575", hatch="///", lw=0, alpha=0.6)
        ax.grid(alpha=0.25)
    cum_ax.legend(
        loc="upper left", bbox_to_anchor=(0, 0.9), frameon=True, framealpha=0.85, edgecolor="none", fontsize=8
    )
    if len(data.price):
        px_ax.plot(data.price_x, data.price, color=PRICE_COLOUR, linewidth=1.2)
        move = data.price_move
        if move:
            px_ax.text(
                0.01,
                0.92,
                move,
                transform=px_ax.transAxes,
                va="top",
                fontsize=10,
                fontweight="bold",
                parse_math=False,
            )
    px_ax.set_ylabel("BTC (USD)", fontsize=8)
    _dates(px_ax)
