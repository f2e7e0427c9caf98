"""Charts: matplotlib's object API on the Agg backend, rendered to PNG bytes.

Never pyplot. A chart is typed data a signal builds (pure: :mod:`signals.charts`); its class
names the module that draws it (``bot/charts/<renderer>.py``, exposing ``draw(fig, data)``):
``timeseries`` draws the default chart of any signal that declares none; a signal with a chart
of its own has its module here.

Renders run in a render process of their own (:class:`Renderer`), not on a thread of the bot's:
drawing is CPU-bound Python that holds the GIL, so on a thread a ``/vix`` chart and the event
loop (a fan-out to 1,000 channels, the gateway) slowed each other down; in its own process the
chart draws on another core while the loop runs. A render thread serves the first charts while
the process starts (it starts at the first chart, not with the bot) and any chart that cannot go
to it.

matplotlib's figure and Agg modules are imported at the first render, not at import: they
are a fifth of a second of every start-up, and a bot may run for hours before its first chart.
"""

from __future__ import annotations

import asyncio
import importlib
import io
import logging
import multiprocessing
import os
import pickle
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool, ProcessPoolExecutor
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


log = logging.getLogger("flowwatch.charts")


class _NotInProcess(Exception):
    """The render process cannot take this chart (its classes do not import there)."""


def _process_init(parent: int) -> None:
    # Ctrl-C reaches the whole process group: the bot stops the renders, not a traceback here
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def orphaned() -> None:
        # The bot killed (kill -9, OOM): nobody will ask for a chart again, and this process
        # would hold the bot's stdout and stderr open. ``parent`` comes from the bot: a bot
        # killed while this process was still importing is already gone here. (The task queue
        # never reads an end of file: this process holds both of its ends.)
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=orphaned, name="render-parent-watch", daemon=True).start()
    _agg()


def _render_pickled(blob: bytes) -> bytes:
    """In the render process: the chart the bot pickled, rendered."""
    try:
        data = pickle.loads(blob)
    except Exception as exc:  # a chart class defined where a fresh interpreter cannot import it
        raise _NotInProcess(repr(exc)) from None
    return render_png(data)


def _warm() -> int:
    return os.getpid()


class _RenderProcess:
    """One render process for the whole bot process, started at the first chart (``spawn``: a
    fresh interpreter that inherits neither the bot's threads nor its open files, the run lock
    among them). :meth:`ready` gives its executor once it has started, else None (and starts
    it): the caller renders on its thread meanwhile."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._started: Future[int] | None = None
        self.failures = 0

    def ready(self) -> ProcessPoolExecutor | None:
        with self._lock:
            started = self._start_locked()
            if started is None or not started.done():
                return None
            if started.exception() is not None:
                self._reset_locked(started.exception())
                return None
            return self._pool

    def starting(self) -> Future[int] | None:
        """The start of the render process (started now if it was not), None if it gave up."""
        with self._lock:
            return self._start_locked()

    def _start_locked(self) -> Future[int] | None:
        if self._pool is None:
            if self.failures >= 3:  # a process that keeps dying: the thread does the work
                return None
            try:
                ctx = multiprocessing.get_context("spawn")
                pool = ProcessPoolExecutor(
                    max_workers=1, mp_context=ctx, initializer=_process_init, initargs=(os.getpid(),)
                )
                self._started = pool.submit(_warm)
            except Exception as exc:  # no process here (no semaphores in a sandbox, no executable)
                log.warning("cannot start a render process (%r); charts render on a thread", exc)
                self.failures = 3
                return None
            self._pool = pool
        return self._started

    def reset(self, why: BaseException) -> None:
        with self._lock:
            self._reset_locked(why)

    def _reset_locked(self, why: BaseException | None) -> None:
        if self._pool is not None:
            self.failures += 1
            log.warning(
                "the render process stopped (%r); charts render on a thread until a new one starts", why
            )
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = None
        self._started = None

    def pid(self) -> int | None:
        with self._lock:
            started = self._started
        if started is None or not started.done() or started.exception() is not None:
            return None
        return started.result()


_PROCESS = _RenderProcess()


class Renderer:
    """The bot's renderer: ``await renderer.render(data)`` from the event loop.

    Renders go to the render process (module docstring); to the render thread while it starts,
    when it died (a new one starts at the next chart), or for a chart it cannot take.
    ``processes=False`` keeps every render on the thread.
    """

    def __init__(self, *, processes: bool = True) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="render")
        self._processes = processes
        #: renders done in the render process, and on the thread
        self.in_process = 0
        self.on_thread = 0

    async def render(self, data: ChartData) -> bytes:
        pool = _PROCESS.ready() if self._processes else None
        if pool is not None:
            png = await self._in_process(pool, data)
            if png is not None:
                self.in_process += 1
                return png
        png = await asyncio.get_running_loop().run_in_executor(self._executor, render_png, data)
        self.on_thread += 1
        return png

    async def _in_process(self, pool: ProcessPoolExecutor, data: ChartData) -> bytes | None:
        """The chart rendered by the render process; None when it cannot (the thread renders it)."""
        try:
            blob = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # a chart holding something that does not pickle
            return None
        try:
            future = pool.submit(_render_pickled, blob)
        except (BrokenProcessPool, RuntimeError) as exc:  # died, or shut down meanwhile
            _PROCESS.reset(exc)
            return None
        try:
            return await asyncio.wrap_future(future)
        except _NotInProcess:
            return None
        except BrokenProcessPool as exc:  # killed mid-render (the kernel's OOM killer, a signal)
            _PROCESS.reset(exc)
            return None

    async def started(self) -> bool:
        """Wait until the render process has started (tests, benchmarks); False if it cannot."""
        starting = _PROCESS.starting() if self._processes else None
        if starting is None:
            return False
        try:
            await asyncio.wrap_future(starting)
        except Exception:
            return False
        return _PROCESS.ready() is not None

    def close(self) -> None:
        """Stop the render thread (the render process is the bot process's, and ends with it)."""
        self._executor.shutdown(wait=True)
