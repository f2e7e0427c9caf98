"""bench.signals: every registered signal has a replay and a chart metric, from its own module or
derived from its demo; none is measured twice; the default chart's bare figure renders."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

from bench import chart as bench_chart
from bench import signals as bench_signals
from bench.__main__ import modules
from signals import registry
from signals.base import Level, Reading
from signals.charts import TimeSeriesChart, default_chart


def test_no_metric_is_measured_twice() -> None:
    seen: dict[str, str] = {}
    for name in modules():
        for m in getattr(importlib.import_module(f"bench.{name}"), "COVERS", ()):
            assert m not in seen, f"{m} is measured by bench.{seen[m]} and bench.{name}"
            seen[m] = name


def test_every_signal_is_benchmarked() -> None:
    """Covered on real history by a module, or derived from its demo (a signal with a chart of
    its own needs a module that knows its artists)."""
    from signals.contract import has

    done = bench_signals.covered()
    for sid, sig in registry().items():
        if has(sig, "chart"):
            assert f"chart.{sid}" in done, f"{sid} draws its own chart: a bench module must cover chart.{sid}"


def test_the_bare_default_chart_renders() -> None:
    t0 = datetime(2026, 1, 5, 21, tzinfo=UTC)
    rs = [
        Reading(
            "x", "k", t0 + timedelta(days=i), float(i), Level.ALERT if i > 25 else Level.OK, Level.OK, "", "t"
        )
        for i in range(30)
    ]
    data = default_chart(
        "x",
        "X",
        {"k": "K"},
        rs,
        t0 + timedelta(days=31),
        60,
        [(rs[-1].ts, "k", "alert")],
        {"k": {"alert": 25.0}},
    )
    assert isinstance(data, TimeSeriesChart) and not data.empty
    assert bench_chart.bare_timeseries(data).startswith(b"\x89PNG")
