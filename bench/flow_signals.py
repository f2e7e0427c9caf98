"""replay.vol_control, replay.cta_trend, chart.vol_control, chart.cta_trend: the S&P 500 flow
signals over the whole shared history (2001-2026, 6,319 closes), loaded as a user loads it
(``backfill spx --file``) into a real SQLite file.

- ``replay.*``: the signal and the alert engine over every close (``flowwatch replay``); ``limit``
  is the floor of the same work's I/O, reading the same observation rows from the same SQLite
  file with a raw cursor; ``goal`` is on the value (seconds: a 25-year backtest in a few).
- ``chart.*``: the chart of the last three years with the replay's alert marks; ``limit`` is a
  bare matplotlib figure with the same size, dpi, panels, lines, threshold lines and labels,
  marks, legends and grid on the same data (``goal`` on the ratio, as ``bench/chart.py``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from bench.chart import NOTE, _backfill, _dates, _figure, _png
from bench.common import DATA, Metric, metric, need_data, paired_medians
from signals.contract import default_params

SIGNALS = ("vol_control", "cta_trend")

#: the per-signal metrics this module measures on real history (bench.signals derives the rest)
COVERS = ("replay.vol_control", "replay.cta_trend", "chart.vol_control", "chart.cta_trend")


def bare_panels(data: Any) -> bytes:
    """The default renderer's stacked panels, drawn with matplotlib alone."""
    fig = _figure(data)
    panels = list(data.panels)
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    fig.subplots_adjust(left=0.08, right=0.9, top=0.92, bottom=0.1, hspace=0.12)
    fig.suptitle(data.title, x=0.08, ha="left", fontsize=12)
    for ax, panel in zip(axes, panels, strict=True):
        for line in panel.lines:
            ax.plot(line.x, line.y, linewidth=1.2, label=line.label)
        for name, value in panel.thresholds.items():
            ax.axhline(value, linewidth=0.9, linestyle="--")
            ax.text(
                1.0,
                value,
                f" {name} {value:g}",
                transform=ax.get_yaxis_transform(),
                va="center",
                ha="left",
                fontsize=7,
                clip_on=False,
            )
        if panel.marks:
            ax.scatter(
                np.array([m.at for m in panel.marks], dtype="datetime64[ns]"),
                np.array([m.y for m in panel.marks], dtype=float),
                s=36,
                c=["k"] * len(panel.marks),
                zorder=5,
                edgecolors="white",
                linewidths=0.8,
            )
        ax.set_ylabel(panel.ylabel, fontsize=8)
        ax.grid(alpha=0.25)
        if panel.lines:
            ax.legend(loc="upper left", frameon=True, framealpha=0.85, edgecolor="none", fontsize=8)
    _dates(axes[-1])
    return _png(fig, data)


def run() -> Iterator[Metric]:
    if not need_data():
        return
    from bot.charts import render_png
    from bot.config import load_settings
    from bot.queries import chart_data
    from bot.replay import run_replay
    from signals import registry
    from storage import observations as obs_repo
    from storage.db import open_db
    from storage.timeutil import from_epoch

    settings = load_settings(env={}, dotenv=None, check_db=False)
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "bench.db")
        _backfill(db, [("spx", DATA / "sp500_index_daily.csv")])
        for sid in SIGNALS:
            sig = registry()[sid]
            params = {sid: default_params(sig)}
            events: list[int] = []

            def replay(sig: Any = sig, params: Any = params, events: list[int] = events) -> None:
                res = run_replay(db, [sig], params, resume=False)
                events.append(len(res.events))

            where, args = obs_repo._series_clause(sig.inputs)

            def floor(where: str = where, args: Any = args) -> None:
                db.execute(
                    f"SELECT series, ts, value, source FROM observations WHERE {where} ORDER BY ts", args
                ).fetchall()

            t_replay, t_floor = paired_medians(replay, floor, repeat=3)
            rows = db.execute(f"SELECT COUNT(*) FROM observations WHERE {where}", args).fetchone()[0]
            yield metric(
                f"replay.{sid}",
                t_replay,
                "s",
                t_floor,
                "<= 5",
                note=f"{rows} closes, {events[-1]} events; limit = raw SQLite read of the same rows",
            )
            end = from_epoch(db.execute("SELECT MAX(ts) FROM observations").fetchone()[0])
            data = chart_data(db, settings, sid, end.replace(hour=23), 365 * 3, "replay")
            marks = sum(len(p.marks) for p in data.panels)
            points = sum(len(line.x) for p in data.panels for line in p.lines)
            ours, bare = paired_medians(lambda d=data: render_png(d), lambda d=data: bare_panels(d), repeat=5)
            yield metric(
                f"chart.{sid}",
                ours,
                "s",
                bare,
                "<= 1.3x",
                f"3 years, {len(data.panels)} panels, {points} points, {marks} alert marks; {NOTE}",
            )
        db.close()
