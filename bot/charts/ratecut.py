"""P(cut) per venue for one FOMC meeting: swings and flips marked, the decision, 1M/1W/1D ago;
below it, when a venue publishes sizes, the expected move or path in bp with the size alerts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.dates as mdates
import numpy as np
from matplotlib.figure import Figure

from bot.charts import LEVEL_COLOURS
from bot.charts._levels import level_handles
from signals.ratecut import RateCutChart, VenueLine

VENUE_STYLE: dict[str, dict[str, Any]] = {
    "kalshi": {"color": "#1565c0", "linewidth": 1.4, "zorder": 4},
    "polymarket": {"color": "#8e24aa", "linewidth": 1.0, "alpha": 0.8, "zorder": 3},
    "fedwatch": {"color": "#2e7d32", "linewidth": 0.9, "marker": "s", "markersize": 3.5, "linestyle": "--"},
}
KIND_MARKERS = {"divergence": "X", "flip": "D", "swing": "o"}  # swings (whipsaws) drawn on top


def draw(fig: Figure, data: RateCutChart) -> None:
    sizes = data.size_series
    if sizes:
        ax, low = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2, 1], "hspace": 0.08})
        fig.subplots_adjust(left=0.07, right=0.97, top=0.92, bottom=0.10)
        _draw_sizes(low, data, sizes)
    else:
        ax = fig.subplots()
        fig.subplots_adjust(left=0.07, right=0.97, top=0.92, bottom=0.12)
    fig.suptitle(data.title, x=0.07, ha="left", fontsize=12)
    for s in data.series:
        ax.plot(s.x, s.y, label=s.label, **VENUE_STYLE.get(s.venue, {}))
    ax.axhline(50, color="#757575", linewidth=0.8, linestyle=":")
    ax.text(0.0, 50, " 50%", transform=ax.get_yaxis_transform(), va="bottom", fontsize=7, color="#757575")
    if data.show_decision:
        ax.axvline(data.decision, color="#c62828", linewidth=1.0, linestyle="--")
        ax.text(
            data.decision,
            98,
            f" {data.decision_label}",
            color="#c62828",
            fontsize=8,
            va="top",
            ha="right",
            rotation=90,
        )
    refs = data.refs
    if refs:
        rx = np.array([r[0] for r in refs], dtype="datetime64[ns]")
        ry = np.array([r[1] for r in refs])
        ax.scatter(rx, ry, s=46, facecolors="white", edgecolors="#212121", linewidths=1.1, zorder=6)
        xs = [s.x for s in data.series if len(s.x)]
        span = (max(x.max() for x in xs) - min(x.min() for x in xs)) if xs else np.timedelta64(1, "D")
        for x, y, text, below in ref_labels(refs, np.timedelta64(span, "ns")):
            ax.annotate(
                text,
                (x, y),
                textcoords="offset points",
                xytext=(0, -13 if below else 8),
                ha="center",
                fontsize=7,
            )
    marks = data.marks
    kinds: list[Any] = []
    for kind, marker in KIND_MARKERS.items():
        sel = [m for m in marks if m[3] == kind]
        if sel:
            ax.scatter(
                np.array([m[0] for m in sel], dtype="datetime64[ns]"),
                np.array([m[1] for m in sel]),
                s=60,
                marker=marker,
                c=[LEVEL_COLOURS.get(m[2], "#000000") for m in sel],
                edgecolors="white",
                linewidths=0.8,
                zorder=7,
            )
            kinds.append(kind_handle(kind, marker))
    locator = mdates.AutoDateLocator(minticks=4, maxticks=9)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_ylim(0, 100)
    ax.set_ylabel("P(cut), %")
    ax.grid(alpha=0.25)
    # the marker's shape says what happened, its colour the level: an entry for each
    handles = ax.get_legend_handles_labels()[0] + kinds + level_handles(m[2] for m in marks)
    ax.legend(
        handles=handles, loc="upper left", frameon=True, framealpha=0.85, edgecolor="none", ncol=6, fontsize=8
    )


def _draw_sizes(ax: Any, data: RateCutChart, sizes: list[VenueLine]) -> None:
    for s in sizes:
        ax.plot(s.x, s.y, label=s.label, **VENUE_STYLE.get(s.venue, {}))
    ax.axhline(0, color="#757575", linewidth=0.8, linestyle=":")
    sel = [m for m in data.marks if m[3] == "size"]
    if sel:
        ax.scatter(
            np.array([m[0] for m in sel], dtype="datetime64[ns]"),
            np.array([m[1] for m in sel]),
            s=60,
            marker="s",
            c=[LEVEL_COLOURS.get(m[2], "#000000") for m in sel],
            edgecolors="white",
            linewidths=0.8,
            zorder=7,
        )
        ax.legend(
            handles=[kind_handle("size", "s")],
            loc="upper left",
            frameon=True,
            framealpha=0.85,
            edgecolor="none",
            fontsize=8,
        )
    ax.set_ylabel(data.size_label, fontsize=8)
    ax.grid(alpha=0.25)


def kind_handle(kind: str, marker: str) -> Any:
    """A legend entry for a kind of mark: its shape, in grey (the colour is the level's)."""
    from matplotlib.lines import Line2D

    return Line2D(
        [],
        [],
        linestyle="none",
        marker=marker,
        markersize=7.5,
        color="#757575",
        markeredgecolor="white",
        label=kind,
    )


def ref_labels(
    refs: Sequence[tuple[Any, float, str]], span: np.timedelta64
) -> list[tuple[Any, float, str, bool]]:
    """The 1M/1W/1D/now labels, placed so none overlaps another: references closer than a
    twelfth of the chart that read the same are one label ("1W · 1D · now 100%"); close ones that
    differ alternate above and below their point. (x, y, text, below) each."""
    out: list[tuple[Any, float, str, bool]] = []
    near = span / 12
    group: list[tuple[Any, float, str]] = []

    def flush() -> None:
        if not group:
            return
        x, y = group[-1][0], group[-1][1]
        names = " · ".join(g[2] for g in group)
        close = bool(out) and bool(np.datetime64(x, "ns") - np.datetime64(out[-1][0], "ns") < near)
        below = close and not out[-1][3]
        out.append((x, y, f"{names} {y:.0f}%", below))
        group.clear()

    for x, y, label in sorted(refs, key=lambda r: np.datetime64(r[0], "ns")):
        if group and (
            round(y) != round(group[-1][1])
            or np.datetime64(x, "ns") - np.datetime64(group[-1][0], "ns") >= near
        ):
            flush()
        group.append((x, y, label))
    flush()
    return out
