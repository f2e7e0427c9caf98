from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlite_utils import Database

from bot.buyback_view import buyback_text, buyback_view
from bot.charts import render_png
from bot.config import load_settings
from storage import earnings as repo
from storage.earnings import Member, Report

NOW = datetime(2024, 4, 15, 14, tzinfo=UTC)  # a Monday in earnings season


def test_view_of_a_live_calendar(db: Database) -> None:
    settings = load_settings(env={}, dotenv=None, check_db=False)
    rows = [
        Report(f"T{i:02d}", date(2024, 4, 16) + timedelta(days=(i * 21) // 40), "amc", None, 1e10 * (i + 1))
        for i in range(40)
    ]
    repo.write_reports(db, rows, source="nasdaq", now=int((NOW - timedelta(hours=4)).timestamp()))
    repo.replace_members(db, "sp500", [Member(r.ticker) for r in rows[:30]])
    view = buyback_view(db, settings, NOW)
    assert view.status.reading is not None and view.level in ("alert", "severe")
    assert view.title.startswith("Buyback blackout: 100.0% of companies") and "(estimate)" in view.title
    assert view.fields["Universe"].startswith("S&P 500 list, 30 members")
    assert view.fields["Calendar"].startswith("40 dates for 40 tickers")
    first = view.next_reports[0]
    assert first[0] == date(2024, 4, 16) and first[1] == 2 and first[2] == ["T01", "T00"]
    assert "Next reports" in view.fields
    assert len(view.chart.x) == 1  # a first scan: no history yet, today and the projection
    text = buyback_text(view)
    assert "Buyback" in text and "Universe: S&P 500 list" in text and "As of 2024-04-15" in text
    assert len(view.chart.px) > 5
    assert render_png(view.chart)[:4] == b"\x89PNG"


def test_view_without_a_calendar(db: Database) -> None:
    settings = load_settings(env={}, dotenv=None, check_db=False)
    view = buyback_view(db, settings, NOW)
    assert view.status.reading is None and view.title == "Buyback blackout: no reading"
    assert "flowwatch backfill earnings" in view.summary and view.fields["Calendar"] == "empty"
    assert "every company in the loaded calendar" in view.fields["Universe"]
