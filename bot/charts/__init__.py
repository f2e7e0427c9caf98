"""Charts: matplotlib's object API on the Agg backend, rendered to PNG bytes.

Never pyplot. One module per signal (``bot/charts/<signal>.py``) exposes
``draw(fig, data)``; the signal's ``chart_data`` builds ``data`` (pure). Renders run on one
render worker thread, off the event loop (matplotlib serialises renders anyway).

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

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WIDTH_IN, HEIGHT_IN, DPI = 10.0, 6.0, 100

LEVEL_COLOURS = {"ok": "#2e7d32", "watch": "#f9a825", "alert": "#ef6c00", "severe": "#c62828"}


class ChartError(Exception):
    pass


@cache
def _agg() -> tuple[type[Figure], Any]:
    """The Figure class and the Agg canvas, imported once (the first render)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    return Figure, FigureCanvasAgg


def _draw_fn(signal: str) -> Callable[[Figure, dict[str, Any]], None]:
    _agg()
    try:
        module = importlib.import_module(f"bot.charts.{signal}")
    except ModuleNotFoundError:
        raise ChartError(f"no chart for signal {signal!r}") from None
    draw: Callable[[Figure, dict[str, Any]], None] = module.draw
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


def footer(fig: Figure, data: dict[str, Any]) -> None:
    """Source and as-of time at the bottom of every chart."""
    as_of = data.get("as_of")
    when = ""
    if isinstance(as_of, datetime):
        when = "  ·  as of " + as_of.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    fig.text(0.01, 0.01, f"{data.get('source', '')}{when}  ·  flowwatch", fontsize=8, color="#555555")


def render_png(
    data: dict[str, Any], width: float = WIDTH_IN, height: float = HEIGHT_IN, dpi: int = DPI
) -> bytes:
    """Render the chart described by ``data`` (must carry ``data['signal']``) to PNG bytes."""
    draw = _draw_fn(str(data["signal"]))
    fig = new_figure(width, height, dpi)
    draw(fig, data)
    footer(fig, data)
    return to_png(fig)


class Renderer:
    """The single render worker: ``await renderer.render(data)`` from the event loop."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="render")

    async def render(self, data: dict[str, Any]) -> bytes:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, render_png, data)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
