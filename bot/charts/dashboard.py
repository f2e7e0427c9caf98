"""The daily summary's dashboard: one panel per signal, generic over the registry.

A :class:`Dashboard` holds each signal's own chart; a panel is drawn by the renderer its chart
names (``bot/charts/<renderer>.py``): its ``panel(fig, data)`` when it has a compact one, else
its full ``draw(fig, data)``, into a matplotlib subfigure. A new signal (with the default chart
or its own) therefore appears on the dashboard without any change here.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from matplotlib.figure import Figure, SubFigure

from bot.charts import LEVEL_COLOURS, WIDTH_IN, Dashboard, Unavailable
from signals.charts import ChartData

log = logging.getLogger("flowwatch.charts")

PANEL_HEIGHT_IN = 4.2
FOOTER_IN = 0.35


def _panel_fn(renderer: str) -> Any:
    module = importlib.import_module(f"bot.charts.{renderer}")
    return getattr(module, "panel", None) or module.draw


def _empty(panel: ChartData) -> str | None:
    if isinstance(panel, Unavailable):
        return f"chart unavailable: {panel.error}"
    if panel.empty:
        return "no data yet"
    return None


def draw_panel(sub: SubFigure, panel: ChartData, level: str) -> None:
    signal = panel.signal
    why = _empty(panel)
    if why is None:
        try:
            _panel_fn(panel.renderer)(sub, panel)
        except Exception as exc:  # one broken panel must not sink the dashboard
            log.warning("dashboard panel %s failed: %s", signal, exc)
            for ax in list(sub.axes):
                ax.remove()
            why = f"chart unavailable: {exc}"
    if why is not None:
        sub.text(0.02, 0.9, panel.title or signal, fontsize=12, ha="left")
        sub.text(0.5, 0.5, why, ha="center", va="center", fontsize=11, color="#555555")
    sub.text(
        0.995,
        0.985,
        level.upper(),
        ha="right",
        va="top",
        fontsize=10,
        fontweight="bold",
        color="white",
        bbox={
            "boxstyle": "round,pad=0.3",
            "facecolor": LEVEL_COLOURS.get(level, "#607d8b"),
            "edgecolor": "none",
        },
    )


def draw(fig: Figure, data: Dashboard) -> None:
    panels = list(data.panels)
    levels = dict(data.levels)
    n = max(1, len(panels))
    fig.set_size_inches(WIDTH_IN, PANEL_HEIGHT_IN * n + FOOTER_IN)
    # the last, thin row keeps the figure's footer (source, as-of) clear of the panels
    subs = fig.subfigures(n + 1, 1, squeeze=False, height_ratios=[PANEL_HEIGHT_IN] * n + [FOOTER_IN])[:, 0]
    if not panels:
        subs[0].text(0.5, 0.5, "no signals registered", ha="center", va="center")
        return
    for sub, panel in zip(subs, panels, strict=False):
        draw_panel(sub, panel, levels.get(panel.signal, "ok"))
