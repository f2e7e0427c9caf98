"""The default chart: one panel per key with its values, the levels' entry lines and the alerts.

Any signal that declares no chart of its own is drawn here (:class:`signals.charts.TimeSeriesChart`,
built by :func:`signals.charts.default_chart` from its readings), so a plain signal needs no
module in ``bot/``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from bot.charts import LEVEL_COLOURS
from bot.charts._levels import legend_with_levels, threshold_lines
from signals.charts import Panel, TimeSeriesChart

LINE_COLOURS = ("#212121", "#1565c0", "#6a1b9a", "#00838f")


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
    ax.set_ylabel(panel.ylabel, fontsize=8)
    ax.grid(alpha=0.25)
    legend_with_levels(ax, {m.level for m in panel.marks}, loc="upper left", frameon=False, fontsize=8)
