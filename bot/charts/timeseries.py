"""The default chart: one panel per key with its values, the levels' entry lines and the alerts.

Any signal that declares no chart of its own is drawn here (:class:`signals.charts.TimeSeriesChart`,
built by :func:`signals.charts.default_chart` from its readings), so a plain signal needs no
module in ``bot/``.

A panel's y label is fitted to the panel's height when drawn (wrapped over up to three lines,
then made smaller), so on short stacked panels no label runs into its neighbour's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import combinations, pairwise
from typing import Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from bot.charts import LEVEL_COLOURS
from bot.charts._levels import legend_with_levels, threshold_lines
from signals.charts import Panel, TimeSeriesChart

LINE_COLOURS = ("#212121", "#1565c0", "#6a1b9a", "#00838f")
#: a y label's size, the smallest it is made before it takes another line, and the most lines
YLABEL_PT, YLABEL_MIN_PT, YLABEL_LINES = 8.0, 6.5, 3
#: never smaller than this: a label still too long there is cut short ("…")
YLABEL_FLOOR_PT = 5.0
#: room kept free at each end of a panel's y label (pixels), so neighbours never touch
YLABEL_PAD_PX = 1.5


def draw(fig: Figure | Any, data: TimeSeriesChart) -> None:
    panels = list(data.panels) or [Panel("", ())]
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    fig.subplots_adjust(left=0.08, right=0.9, top=0.92, bottom=0.1, hspace=0.12)
    fig.suptitle(data.title, x=0.08, ha="left", fontsize=12)
    for ax, panel in zip(axes, panels, strict=True):
        _panel(ax, panel)
    locator = AutoDateLocator()
    axes[-1].xaxis.set_major_locator(locator)
    axes[-1].xaxis.set_major_formatter(ConciseDateFormatter(locator))


def _panel(ax: Any, panel: Panel) -> None:
    for i, line in enumerate(panel.lines):
        ax.plot(line.x, line.y, color=LINE_COLOURS[i % len(LINE_COLOURS)], linewidth=1.2, label=line.label)
    threshold_lines(ax, panel.thresholds)
    if panel.marks:
        ax.scatter(
            np.array([m.at for m in panel.marks], dtype="datetime64[ns]"),
            np.array([m.y for m in panel.marks], dtype=float),
            s=36,
            c=[LEVEL_COLOURS.get(m.level, "#000000") for m in panel.marks],
            zorder=5,
            edgecolors="white",
            linewidths=0.8,
        )
    ax.set_ylabel(panel.ylabel, fontsize=YLABEL_PT)
    if panel.ylabel.strip():
        ax.add_artist(_FitYLabel(ax, panel.ylabel))
    ax.grid(alpha=0.25)
    legend_with_levels(
        ax,
        {m.level for m in panel.marks},
        loc="upper left",
        frameon=True,
        framealpha=0.85,
        edgecolor="none",
        fontsize=8,
    )


def _joined(words: list[tuple[str, str]]) -> str:
    return "".join(w + sep for w, sep in words).rstrip()


def wraps(words: list[tuple[str, str]], lines: int) -> list[list[str]]:
    """Every way to put ``words`` (each with what follows it: a space, or nothing after a
    hyphen inside a word) on ``lines`` lines in order (none empty)."""
    n = len(words)
    if not 1 <= lines <= n:
        return []
    out = []
    for cuts in combinations(range(1, n), lines - 1):
        bounds = (0, *cuts, n)
        out.append([_joined(words[a:b]) for a, b in pairwise(bounds)])
    return out


def fit_label(
    text: str,
    length: Callable[[str], float],
    room: float,
    depth: Callable[[int], float] | None = None,
    depth_room: float = float("inf"),
    size: float = YLABEL_PT,
    min_size: float = YLABEL_MIN_PT,
) -> tuple[str, float]:
    """``text`` wrapped and sized to fit ``room`` along the label and ``depth_room`` across it
    (pixels): ``length(line)`` is a line's length and ``depth(lines)`` the depth of that many
    lines, both at ``size``. One line at full size if it fits, else the fewest lines that fit at
    full size, else the fewest that fit at ``min_size`` or more (made just small enough), else the
    wrapping that allows the largest size (never one that runs past its room)."""
    # a line may break at a space or after a hyphen inside a word ("De-" / "leveraging")
    words = [
        (m.group(), "" if m.end() < len(text) and not text[m.end()].isspace() else " ")
        for m in re.finditer(r"\S+?-(?=[^\s-])|\S+", text)
    ]
    best: list[tuple[str, float]] = []
    for lines in range(1, min(YLABEL_LINES, len(words)) + 1):
        longest, split = min((max(length(line) for line in w), w) for w in wraps(words, lines))
        deep = depth(lines) if depth is not None else 0.0
        fits = min(size, size * room / max(longest, 1e-9), size * depth_room / max(deep, 1e-9))
        best.append(("\n".join(split), fits))
    if not best:
        return text, size
    for ok in (lambda s: s >= size, lambda s: s >= min_size):
        for label, fits in best:
            if ok(fits):
                return label, fits
    return max(best, key=lambda b: b[1])


class _FitYLabel(Artist):
    """Fits an axes' y label to the axes' height, and to the room left of its tick labels, just
    before the axis is drawn (on the final figure size: a dashboard draws the same chart in a
    smaller subfigure)."""

    def __init__(self, ax: Any, text: str) -> None:
        super().__init__()
        self._ax = ax
        self.text = text
        self.set_zorder(-1)  # drawn (as nothing) before the axis and its label
        self.set_in_layout(False)

    def draw(self, renderer: Any) -> None:
        ax = self._ax
        label = ax.yaxis.label
        if not label.get_visible():
            return
        room = ax.bbox.height - 2 * YLABEL_PAD_PX
        label.set_fontsize(YLABEL_PT)
        label.set_text(self.text)
        if label.get_window_extent(renderer).height <= room:  # fits as it is (most labels)
            return
        label.set_visible(False)
        ticks = ax.yaxis.get_tightbbox(renderer)  # the tick labels' extent, without the label
        label.set_visible(True)
        right = (ticks.x0 if ticks is not None else ax.bbox.x0) - renderer.points_to_pixels(ax.yaxis.labelpad)
        depth_room = right - ax.get_figure(root=False).bbox.x0 - YLABEL_PAD_PX
        measured: dict[str, float] = {}

        def length(line: str) -> float:
            if line not in measured:
                label.set_text(line)
                measured[line] = label.get_window_extent(renderer).height  # the label is vertical
            return measured[line]

        def depth(lines: int) -> float:
            label.set_text("\n".join(["Ag"] * lines))
            return float(label.get_window_extent(renderer).width)

        wrapped, size = fit_label(self.text, length, room, depth, depth_room)
        label.set_text(wrapped)
        # text does not scale exactly with its size (glyphs snap to pixels): measured, made smaller
        for _ in range(3):
            size = max(size, YLABEL_FLOOR_PT)
            label.set_fontsize(size)
            box = label.get_window_extent(renderer)
            over = max(box.height / room, box.width / depth_room) if room > 0 and depth_room > 0 else 1.0
            if over <= 1.0 or size <= YLABEL_FLOOR_PT:
                break
            size *= 0.99 / over
        while label.get_window_extent(renderer).height > room and len(wrapped) > 1:
            wrapped = wrapped[:-1].rstrip()
            label.set_text(wrapped + "…")
