from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from signals import fomc
from tests.conftest import fixture_text


def test_calendar_covers_2022_to_2027_with_utc_statement_times() -> None:
    ms = fomc.meetings()
    assert ms[0].id == "2022-01-26" and ms[-1].id == "2027-12-08"
    assert len(ms) == 6 * 8
    dec = fomc.get("2025-12-10")
    assert dec is not None and dec.meeting_start == date(2025, 12, 9) and dec.sep
    # 2 pm New York: 19:00 UTC in winter, 18:00 UTC in summer
    assert dec.statement_utc == datetime(2025, 12, 10, 19, 0, tzinfo=UTC)
    assert fomc.get("2026-06-17").statement_utc == datetime(2026, 6, 17, 18, 0, tzinfo=UTC)  # type: ignore[union-attr]
    assert fomc.get("2027-01-27").status == "tentative"  # type: ignore[union-attr]


def test_next_meeting_moves_on_at_the_statement() -> None:
    before = datetime(2025, 12, 10, 18, 59, tzinfo=UTC)
    after = datetime(2025, 12, 10, 19, 0, tzinfo=UTC)
    assert [m.id for m in fomc.upcoming(before)] == ["2025-12-10", "2026-01-28"]
    assert [m.id for m in fomc.upcoming(after)] == ["2026-01-28", "2026-03-18"]
    assert fomc.meeting_after(before).id == "2025-12-10"  # type: ignore[union-attr]


def test_match_by_date_with_tolerance() -> None:
    assert fomc.match(date(2026, 12, 9)).id == "2026-12-09"  # type: ignore[union-attr]
    assert fomc.match(date(2026, 12, 8)) is None
    assert fomc.match(date(2026, 12, 8), tolerance_days=3).id == "2026-12-09"  # type: ignore[union-attr]
    assert fomc.match(date(2026, 11, 20), tolerance_days=3) is None


def test_parse_calendar_refuses_duplicates() -> None:
    text = "# c\ndecision_date,meeting_start,sep,status\n2026-01-28,2026-01-27,false,x\n2026-01-28,2026-01-27,false,x\n"
    with pytest.raises(ValueError, match="twice"):
        fomc.parse_calendar(text)


def test_calendar_agrees_with_the_published_dates(data_dir: Path) -> None:
    """The shipped file matches the Fed dates recorded in the shared fixture and data files."""
    rows = list(csv.DictReader(fixture_text("fomc/fomc_calendar_2025_2027.csv").splitlines()))
    ours = {m.id: m for m in fomc.meetings()}
    for row in rows:
        m = ours[row["decision_date"]]
        assert m.meeting_start.isoformat() == row["meeting_start"]
        assert m.sep == (row["has_sep"] == "true")
        assert m.statement_utc.strftime("%Y-%m-%dT%H:%M:%SZ") == row["statement_utc"]
    hist = list(csv.DictReader((data_dir / "fomc_meetings.csv").read_text().splitlines()))
    scheduled = {
        r["decision_date"] for r in hist if r["scheduled"] == "1" and "2022" <= r["decision_date"] < "2028"
    }
    assert scheduled == set(ours)
