from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from signals import fomc
from tests.conftest import fixture_text


def test_calendar_covers_2015_to_2027_with_utc_statement_times() -> None:
    ms = fomc.meetings()
    assert ms[0].id == "2014-12-17" and ms[-1].id == "2027-12-08"
    assert len(ms) == 1 + 13 * 8  # the last meeting of 2014, then eight a year
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
    text = "# c\ndecision_date,meeting_start,sep,status\n2026-01-28,2026-01-27,false,scheduled\n2026-01-28,2026-01-27,false,scheduled\n"
    with pytest.raises(ValueError, match="twice"):
        fomc.parse_calendar(text)


@pytest.mark.parametrize(
    ("rows", "needle"),
    [
        ("2026-01-28,2026-01-27,false,x,,", "status 'x' is not one of"),
        (
            "2026-01-28,2026-01-27,false,scheduled,,\n2026-01-08,2026-01-08,false,scheduled,,",
            "two scheduled meetings in 2026-01",
        ),
        (
            "2026-01-28,2026-01-27,false,scheduled,,\n2026-01-08,2026-01-08,false,unscheduled,,2026-03-18",
            "replaces 2026-03-18",
        ),
        ("2026-01-28,2026-01-27,false,scheduled,25:00,", "row 2"),
    ],
)
def test_parse_calendar_refuses_bad_rows(rows: str, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        fomc.parse_calendar("decision_date,meeting_start,sep,status,statement_et,replaces\n" + rows + "\n")


def test_unscheduled_decisions_and_the_meeting_they_replaced() -> None:
    assert [(m.id, m.status) for m in fomc.unscheduled()] == [
        ("2020-03-03", "unscheduled"),
        ("2020-03-15", "unscheduled"),
    ]
    cut = fomc.unscheduled()[0]
    assert cut.statement_utc == datetime(2020, 3, 3, 15, 0, tzinfo=UTC)  # 10:00 am New York
    march = fomc.get("2020-03-18")
    assert march is not None and march.replaced_by == date(2020, 3, 15)
    # its pricing ends at the Sunday 5 pm statement that took its place
    assert march.closes_utc == datetime(2020, 3, 15, 21, 0, tzinfo=UTC)
    assert march.priced_on(date(2020, 3, 13)) and not march.priced_on(date(2020, 3, 16))
    assert [m.id for m in fomc.priced_on(date(2020, 3, 13))][:2] == ["2020-03-18", "2020-04-29"]
    assert [m.id for m in fomc.priced_on(date(2020, 3, 16))][:2] == ["2020-04-29", "2020-06-10"]
    assert fomc.meeting_after(datetime(2020, 3, 15, 22, 0, tzinfo=UTC)).id == "2020-04-29"  # type: ignore[union-attr]
    assert [m.id for m in fomc.upcoming(datetime(2020, 3, 14, tzinfo=UTC))] == ["2020-03-18", "2020-04-29"]
    # a call that decided nothing (2019-10-04) is not a meeting
    assert fomc.get("2019-10-04") is None and fomc.match(date(2019, 10, 4)) is None


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
    scheduled = {r["decision_date"] for r in hist if r["scheduled"] == "1"}
    # fomc_meetings.csv lists decisions: the March 2020 meeting was replaced (by 2020-03-15) and
    # decided nothing of its own; it starts in 2015
    assert scheduled | {"2020-03-18", "2014-12-17"} == set(ours)
    unscheduled = {
        r["decision_date"] for r in hist if r["scheduled"] == "0" and r["implied_change_bp"] != "0"
    }
    assert unscheduled == {m.id for m in fomc.unscheduled()}
