from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
from sqlite_utils import Database

from bot.charts import render_png
from bot.pipeline import load_signal_inputs
from signals.buyback import SIGNAL
from signals.contract import default_params
from storage import earnings as repo
from storage.earnings import Report

P = default_params(SIGNAL)


def calendar(db: Database) -> None:
    rows = []
    for year in (2023, 2024):
        for q in range(4):
            for i in range(40):
                d = date(year, 3 * q + 1, 15) + timedelta(days=(i * 28) // 40)
                rows.append(Report(f"T{i:02d}", d, "bmo", None, 1e11 * (1 + i % 5)))
    repo.write_reports(
        db, rows, source="file", dated=True, now=int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
    )


def test_chart_data_has_history_projection_crossings_and_weekly_reports(db: Database) -> None:
    calendar(db)
    end = datetime(2024, 3, 20, tzinfo=UTC)
    marks = [(datetime(2024, 1, 4, tzinfo=UTC), "alert", "share")]
    data = SIGNAL.chart(load_signal_inputs(db, SIGNAL, end), P, end, 180, marks)
    assert data.signal == "buyback" and len(data.x) > 100
    assert data.today == np.datetime64("2024-03-19")
    assert data.px[0] == data.today and len(data.px) > 40  # projected over the known calendar
    assert np.nanmax(data.pshare) > 50 and np.isfinite(data.share_cap).any()
    kinds = [(str(c[0])[:10], c[1], c[2]) for c in data.crossings]
    assert any(k[1] == "close" and not k[2] for k in kinds) and any(k[1] == "close" and k[2] for k in kinds)
    assert len(data.weeks) == len(data.reports) == len(data.reports_est)
    assert int(data.reports.sum()) > 0 and data.marks[0][1] == "alert"
    assert "estimate" in data.source
    png = render_png(data)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_chart_as_of_the_end_of_the_calendar(db: Database) -> None:
    calendar(db)
    end = datetime(2026, 6, 1, tzinfo=UTC)  # long after the calendar ends
    data = SIGNAL.chart(load_signal_inputs(db, SIGNAL, end), P, end, 800, [])
    assert len(data.x) and data.as_of < datetime(2025, 1, 1, tzinfo=UTC)
    render_png(data)


def test_empty_calendar(db: Database) -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    data = SIGNAL.chart(load_signal_inputs(db, SIGNAL, now), P, now, 100, [])
    assert len(data.x) == 0
    # an alert's chart drawn as of a time before the calendar was first seen (a fresh install's
    # first morning) is an empty chart that says so, not a failed render
    assert render_png(data)[:8] == b"\x89PNG\r\n\x1a\n"
