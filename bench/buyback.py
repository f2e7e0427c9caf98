"""buyback: replay over the real S&P 500 earnings dates, and the chart's render time.

- ``replay.buyback``: the whole 2015-2025 file through the model and the engine (every
  session evaluated as known that day, with its projection). ``limit`` = reading the same
  earnings rows from the same SQLite file with a raw cursor; ``goal`` is on the value.
- ``chart.buyback``: ``render_png`` against a bare matplotlib figure with the same size,
  dpi, panels, artists and data (goal <= 1.3x).
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import DATA, Metric, metric, need_data, paired_medians
from signals.contract import default_params

#: the per-signal metrics this module measures on real history (bench.signals derives the rest)
COVERS = ("replay.buyback", "chart.buyback")


def bare(data: Any) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 6), dpi=100)
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.1], "hspace": 0.08})
    fig.subplots_adjust(left=0.07, right=0.91, top=0.93, bottom=0.1)
    fig.suptitle("t", x=0.07, ha="left")
    x, share, px = data.x, data.share, data.px
    top.plot(x, share, label="a")
    top.plot(x, data.share_cap, label="b")
    top.plot(px, data.pshare, linestyle="--", label="c")
    top.plot(px, data.pshare_cap, linestyle="--")
    top.fill_between(x, 50, share, where=share >= 50, alpha=0.18)
    for v in data.thresholds.values():
        top.axhline(v, linestyle=":")
        top.text(1.0, v, "t", transform=top.get_yaxis_transform())
    for ax in (top, bottom):
        ax.axvline(data.today)
    top.text(data.today, 101, "t")
    cx = np.array([c[0] for c in data.crossings], dtype="datetime64[ns]")
    for part in np.array_split(np.arange(len(cx)), 4):
        if len(part):
            top.scatter(cx[part], np.full(len(part), 50.0), marker="^")
    if data.marks:
        idx = np.clip(
            np.searchsorted(x, np.array([m[0] for m in data.marks], dtype="datetime64[ns]")), 0, len(x) - 1
        )
        top.scatter(x[idx], share[idx])
    top.set_ylim(0, 100)
    top.legend(loc="upper left", frameon=True, framealpha=0.85, edgecolor="none", ncol=3)
    top.grid(alpha=0.25)
    w = np.timedelta64(6, "D")
    bottom.bar(data.weeks, data.reports, width=w, align="edge")
    bottom.bar(data.weeks, data.reports_est, width=w, align="edge", bottom=data.reports)
    bottom.legend(["a", "b"], loc="upper left", frameon=True, framealpha=0.85, edgecolor="none", ncol=2)
    bottom.grid(alpha=0.25)
    fig.text(0.01, 0.01, "footer")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def run() -> Iterator[Metric]:
    if not need_data():
        return
    from bot.charts import render_png
    from bot.config import load_settings
    from bot.queries import chart_data
    from bot.replay import run_replay
    from signals.buyback import SIGNAL
    from signals.sources import earnings as earnings_src
    from storage import earnings as repo
    from storage.db import open_db

    path = DATA / "sp500_earnings_dates_2015_2025.csv"
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "bench.db")
        now = datetime(2026, 1, 1, tzinfo=UTC)
        rows = earnings_src.parse_csv(path.read_text(), now=now)
        repo.write_reports(db, rows, source="file", dated=True, now=int(now.timestamp()))
        params = {SIGNAL.id: default_params(SIGNAL)}
        events: list[int] = []
        readings: list[int] = []

        def replay() -> None:
            res = run_replay(db, [SIGNAL], params, resume=False)
            events.append(len(res.events))
            readings.append(res.readings)

        def floor() -> None:
            db.execute("SELECT * FROM earnings ORDER BY date_ts").fetchall()

        t_replay, t_floor = paired_medians(replay, floor, repeat=3)
        yield metric(
            "replay.buyback",
            t_replay,
            "s",
            t_floor,
            "<= 2",
            note=(
                f"{len(rows)} report dates, {readings[-1]} daily readings, {events[-1]} events; "
                "limit = raw SQLite read of the same rows"
            ),
        )
        settings = load_settings(env={}, dotenv=None, check_db=False)
        data = chart_data(
            db, settings, "buyback", datetime(2024, 4, 10, tzinfo=UTC), 365, marks_scope="replay"
        )
        db.close()
    ours, base = paired_medians(lambda: render_png(data), lambda: bare(data), repeat=7)
    yield metric(
        "chart.buyback",
        ours,
        "s",
        base,
        "<= 1.3x",
        note=f"{len(data.x)} + {len(data.px)} points, {len(data.weeks)} weekly bars; "
        "limit = bare matplotlib figure, same panels/artists/size/dpi/data",
    )
