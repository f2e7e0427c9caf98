"""``replay.<signal>`` and ``chart.<signal>`` of every registered signal that no other module
measures on real history (their ``COVERS``), on the signal's own demo scenario, so a new
signal is benchmarked with no edit here.

- ``replay.<id>``: the demo written to a SQLite file, replayed through the signal and the
  engine; ``limit`` = a raw SQLite read of the same observation rows (the I/O floor).
- ``chart.<id>``: a signal drawn by the default chart (:mod:`bot.charts.timeseries`) against a
  bare matplotlib figure with the same panels, lines, threshold lines and marks (no flowwatch
  code); a signal with a chart of its own must be covered by a module that knows its artists.
"""

from __future__ import annotations

import importlib
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.chart import bare_timeseries
from bench.common import Metric, metric, paired_medians
from signals.contract import Signal, default_params

COVERS: tuple[str, ...] = ()
#: the metric prefixes this module measures for every signal no other module covers
DERIVES = ("replay", "chart")


def covered() -> set[str]:
    """The metrics the other bench modules declare."""
    from bench.__main__ import modules

    out: set[str] = set()
    for name in modules():
        if name != "signals":
            out |= set(getattr(importlib.import_module(f"bench.{name}"), "COVERS", ()))
    return out


def _replay(sig: Signal, db: Any) -> Metric:
    from bot.replay import run_replay
    from storage import observations as obs_repo

    params = {sig.id: default_params(sig)}
    events: list[int] = []

    def replay() -> None:
        events.append(len(run_replay(db, [sig], params, resume=False).events))

    where, args = obs_repo._series_clause(sig.inputs)

    def floor() -> None:
        db.execute(
            f"SELECT series, ts, value, source FROM observations WHERE {where} ORDER BY ts", args
        ).fetchall()

    t, t_floor = paired_medians(replay, floor, repeat=5)
    rows = db.execute(f"SELECT COUNT(*) FROM observations WHERE {where}", args).fetchone()[0]
    return metric(
        f"replay.{sig.id}",
        t,
        "s",
        t_floor,
        "<= 1",
        f"its demo: {rows} observations, {events[-1]} events; limit = raw SQLite read of the same rows",
    )


def _chart(sig: Signal, db: Any) -> Metric | None:
    from bot.charts import render_png
    from bot.pipeline import read_inputs, with_tables
    from bot.replay import compute_readings
    from signals.charts import TimeSeriesChart
    from signals.contract import chart_of
    from storage.timeutil import to_epoch

    params = default_params(sig)
    readings = list(compute_readings(db, sig, params, None))
    if not readings:
        return None
    end = max(r.ts for r in readings) + timedelta(days=1)
    inputs = with_tables(db, sig, read_inputs(db, sig, None, to_epoch(end)), to_epoch(end))
    marks = [(r.ts, r.key, r.level.label) for r in readings if r.level.label in ("alert", "severe")]
    data = chart_of(sig, inputs, params, end, 365, marks)
    if not isinstance(data, TimeSeriesChart):
        raise RuntimeError(f"chart.{sig.id}: a chart of its own; a bench module must cover it (COVERS)")
    t, t_floor = paired_medians(lambda: render_png(data), lambda: bare_timeseries(data), repeat=5)
    n = sum(len(line.x) for p in data.panels for line in p.lines)
    return metric(
        f"chart.{sig.id}",
        t,
        "s",
        t_floor,
        "<= 1.3x",
        f"its demo, 365 days: {len(data.panels)} panels, {n} points; limit = bare matplotlib figure, same artists",
    )


def run() -> Iterator[Metric]:
    from signals import registry
    from storage import batches
    from storage.db import open_db

    done = covered()
    for sid, sig in sorted(registry().items()):
        todo = [k for k in ("replay", "chart") if f"{k}.{sid}" not in done]
        if not todo:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            from bot.demo import START

            db = open_db(Path(tmp) / "bench.db")
            batches.write(db, sig.demo(START).batch(), live=False)
            if "replay" in todo:
                yield _replay(sig, db)
            if "chart" in todo:
                m = _chart(sig, db)
                if m is not None:
                    yield m
            db.close()
