from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

from bot.charts import Renderer, render_png
from signals.contract import default_params
from signals.vix_term import SIGNAL
from storage.observations import Observation, inputs_from_long
from storage.timeutil import day_epoch


def _data() -> dict:  # type: ignore[type-arg]
    import pandas as pd

    rows = []
    for i, d in enumerate(pd.bdate_range("2024-06-03", periods=60)):
        ts = day_epoch(d.date())
        v = 14 + (25 if 40 <= i < 45 else 0)
        rows += [
            Observation("cboe.vix.close", ts, v, "cboe"),
            Observation("cboe.vix3m.close", ts, 18 + (8 if 40 <= i < 45 else 0), "cboe"),
        ]
    long = pd.DataFrame(
        [(o.series, o.ts, o.value, o.source) for o in rows], columns=["series", "ts", "value", "source"]
    )
    mark = (datetime(2024, 7, 30, 20, 15, tzinfo=UTC), "alert", "vix3m")
    return SIGNAL.chart(
        inputs_from_long(long), default_params(SIGNAL), datetime(2024, 9, 1, tzinfo=UTC), 120, [mark]
    )


def test_renders_png_without_pyplot() -> None:
    png = render_png(_data())
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    assert "matplotlib.pyplot" not in sys.modules


async def test_renderer_runs_off_the_event_loop() -> None:
    import threading

    r = Renderer(processes=False)
    seen = []
    import bot.charts as charts

    orig = charts.render_png

    def spy(data):  # type: ignore[no-untyped-def]
        seen.append(threading.current_thread().name)
        return orig(data)

    charts.render_png = spy  # type: ignore[assignment]
    try:
        png = await r.render(_data())
    finally:
        charts.render_png = orig  # type: ignore[assignment]
        r.close()
    assert png[:4] == b"\x89PNG" and seen and seen[0].startswith("render")


def test_ratecut_reference_labels_never_overlap() -> None:
    """1W, 1D and now at the same 100 % within days of each other are one label; close ones that
    differ alternate above and below; far ones keep their own label above."""
    from datetime import datetime as dt

    import numpy as np

    from bot.charts.ratecut import ref_labels

    def d(day: int) -> np.datetime64:
        return np.datetime64(dt(2019, 7, day), "ns")

    span = np.timedelta64(90, "D").astype("timedelta64[ns]")
    same = ref_labels(
        [(d(1), 100.0, "1M"), (d(12), 99.8, "1W"), (d(18), 100.0, "1D"), (d(19), 100.0, "now")], span
    )
    assert [t for _x, _y, t, _b in same] == ["1M 100%", "1W · 1D · now 100%"]
    assert [b for *_r, b in same] == [False, False]
    differ = ref_labels([(d(17), 60.0, "1W"), (d(18), 40.0, "1D"), (d(19), 45.0, "now")], span)
    assert [t for _x, _y, t, _b in differ] == ["1W 60%", "1D 40%", "now 45%"]
    assert [b for *_r, b in differ] == [False, True, False]


async def test_renders_go_to_a_process_of_their_own_once_it_has_started() -> None:
    """Drawing holds the GIL: on a thread of the bot's, a chart and the event loop (a fan-out to
    1,000 channels) slowed each other down. The same PNG comes from the render process."""
    import os

    import bot.charts as charts

    data = _data()
    r = Renderer()
    try:
        assert await r.started()
        pid = charts._PROCESS.pid()
        assert pid is not None and pid != os.getpid()
        png = await r.render(data)
        assert (r.in_process, r.on_thread) == (1, 0)
        assert png == render_png(data)
    finally:
        r.close()


async def test_a_render_process_that_dies_is_replaced_and_the_chart_still_comes() -> None:
    import os
    import signal

    import bot.charts as charts

    r = Renderer()
    try:
        assert await r.started()
        pid = charts._PROCESS.pid()
        assert pid is not None
        failures = charts._PROCESS.failures
        os.kill(pid, signal.SIGKILL)
        png = await r.render(_data())  # the dead process noticed: this one renders on the thread
        assert png[:4] == b"\x89PNG" and r.on_thread == 1
        assert charts._PROCESS.failures == failures + 1
        assert await r.started()  # a new process started at the next chart
        assert charts._PROCESS.pid() not in (None, pid)
        assert (await r.render(_data()))[:4] == b"\x89PNG" and r.in_process == 1
    finally:
        r.close()


async def test_a_chart_the_process_cannot_import_renders_on_the_thread() -> None:
    """A chart class defined where a fresh interpreter cannot import it (a module loaded from a
    file) still renders."""
    import dataclasses
    import types

    base = _data()
    mod = types.ModuleType("flowwatch_test_unimportable")
    sub = dataclasses.make_dataclass("Local", [], bases=(type(base),), frozen=True, kw_only=True)
    sub.__module__ = mod.__name__
    mod.Local = sub  # type: ignore[attr-defined]
    sys.modules[mod.__name__] = mod
    try:
        local = sub(**{f.name: getattr(base, f.name) for f in dataclasses.fields(base) if f.init})
        r = Renderer()
        try:
            assert await r.started()
            png = await r.render(local)
            assert png == render_png(local) and (r.in_process, r.on_thread) == (0, 1)
        finally:
            r.close()
    finally:
        del sys.modules[mod.__name__]


async def test_where_no_process_can_start_charts_render_on_the_thread(monkeypatch: Any) -> None:
    import multiprocessing

    import bot.charts as charts

    def refused(*args: object, **kwargs: object) -> None:
        raise OSError("no semaphores here")

    monkeypatch.setattr(charts, "_PROCESS", charts._RenderProcess())
    monkeypatch.setattr(multiprocessing, "get_context", refused)
    r = Renderer()
    try:
        assert not await r.started()
        png = await r.render(_data())
        assert png[:4] == b"\x89PNG" and (r.in_process, r.on_thread) == (0, 1)
    finally:
        r.close()
