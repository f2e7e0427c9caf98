"""Charts: matplotlib's object API on the Agg backend, rendered to PNG bytes.

Never pyplot. A chart is typed data a signal builds (pure: :mod:`signals.charts`); its class
names the module that draws it (``bot/charts/<renderer>.py``, exposing ``draw(fig, data)``):
``timeseries`` draws the default chart of any signal that declares none; a signal with a chart
of its own has its module here. Renders run on one render worker thread, off the event loop
(matplotlib serialises renders anyway).

matplotlib's figure and Agg modules are imported at the first render, not at import: they
are a fifth of a second of every start-up, and a bot may run for hours before its first chart.
"""

from __future__ import annotations

import asyncio
import importlib
import io
import os
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

os.environ.setdefault("MPLCONFIGDIR", os.path.join(tempfile.gettempdir(), "flowwatch-mpl"))

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from signals.charts import ChartData

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WIDTH_IN, HEIGHT_IN, DPI = 10.0, 6.0, 100

LEVEL_COLOURS = {"ok": "#2e7d32", "watch": "#f9a825", "alert": "#ef6c00", "severe": "#c62828"}


class ChartError(Exception):
    pass


@dataclass(frozen=True, kw_only=True)
class Unavailable(ChartData):
    """A signal whose chart could not be built (its error is shown in its panel)."""

    error: str


@dataclass(frozen=True, kw_only=True)
class Dashboard(ChartData):
    """The daily summary's image: a panel per signal, with its worst level."""

    renderer: ClassVar[str] = "dashboard"

    panels: list[ChartData] = field(default_factory=list)
    levels: Mapping[str, str] = field(default_factory=dict)


@cache
def _agg() -> tuple[type[Figure], Any]:
    """The Figure class and the Agg canvas, imported once (the first render)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    return Figure, FigureCanvasAgg


def _draw_fn(renderer: str) -> Callable[[Figure, Any], None]:
    _agg()
    try:
        module = importlib.import_module(f"bot.charts.{renderer}")
    except ModuleNotFoundError:
        raise ChartError(f"no renderer {renderer!r} for this chart") from None
    draw: Callable[[Figure, Any], None] = module.draw
    return draw


def new_figure(width: float = WIDTH_IN, height: float = HEIGHT_IN, dpi: int = DPI) -> Figure:
    figure, canvas = _agg()
    fig = figure(figsize=(width, height), dpi=dpi)
    canvas(fig)
    return fig


def to_png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi)
    return buf.getvalue()


def footer(fig: Figure, data: ChartData) -> None:
    """Source and as-of time at the bottom of every chart."""
    as_of = data.as_of
    when = ""
    if isinstance(as_of, datetime):
        when = "  ·  as of " + as_of.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    fig.text(0.01, 0.01, f"{data.source}{when}  ·  flowwatch", fontsize=8, color="#555555")


def render_png(data: ChartData, width: float = WIDTH_IN, height: float = HEIGHT_IN, dpi: int = DPI) -> bytes:
    """Render ``data`` to PNG bytes with the renderer its class names."""
    draw = _draw_fn(data.renderer)
    fig = new_figure(width, height, dpi)
    draw(fig, data)
    footer(fig, data)
    return to_png(fig)


class Renderer:
    """The single render worker: ``await renderer.render(data)`` from the event loop."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="render")

    async def render(self, data: ChartData) -> bytes:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, render_png, data)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
