from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlite_utils import Database

from storage import earnings as repo
from storage.earnings import Member, Report
from storage.timeutil import to_epoch

NOW = to_epoch(datetime(2026, 10, 1, 10, 0, tzinfo=UTC))
LATER = NOW + 86400


def cur(db: Database) -> list[tuple[str, str, str]]:
    return [(r["ticker"], r["date"].isoformat(), r["source"]) for r in repo.current_reports(db)]


def test_normalise_ticker_and_time_spellings() -> None:
    assert repo.normalise_ticker(" brk-b ") == "BRK.B"
    assert repo.normalise_ticker("BRK/B") == "BRK.B"
    assert repo.normalise_ticker("AAPL") == "AAPL"
    assert repo.normalise_ticker("ABC^D") is None
    assert repo.normalise_ticker("") is None
    assert repo.parse_time_of_day("time-pre-market") == "bmo"
    assert repo.parse_time_of_day("post-market") == "amc"
    assert repo.parse_time_of_day("After") == "amc"
    assert repo.parse_time_of_day("time-not-supplied") == "unknown"
    assert repo.parse_time_of_day(None) == "unknown"


def test_write_is_idempotent_and_updates_fields(db: Database) -> None:
    rows = [Report("JPM", date(2026, 10, 13), "bmo", date(2026, 9, 30), 8.8e11)]
    res = repo.write_reports(db, rows, source="nasdaq", now=NOW)
    assert (res.new, res.updated, res.unchanged) == (1, 0, 0)
    res = repo.write_reports(db, rows, source="nasdaq", now=LATER)
    assert (res.new, res.updated, res.unchanged) == (0, 0, 1)
    # a later listing without a cap keeps the known cap; a new time of day is taken
    res = repo.write_reports(db, [Report("JPM", date(2026, 10, 13), "amc")], source="nasdaq", now=LATER)
    assert res.updated == 1
    (row,) = repo.current_reports(db)
    assert (
        row["time"] == "amc"
        and row["market_cap"] == 8.8e11
        and row["fiscal_quarter_end"] == date(2026, 9, 30)
    )
    frame = repo.load_reports_frame(db)
    assert frame["updated_at"].max() == LATER and frame["seen_at"].iloc[0] == NOW


def test_a_report_moved_to_a_new_date_supersedes_the_old_one(db: Database) -> None:
    repo.write_reports(
        db, [Report("JPM", date(2026, 10, 13), "bmo", date(2026, 9, 30))], source="nasdaq", now=NOW
    )
    res = repo.write_reports(
        db, [Report("JPM", date(2026, 10, 20), "bmo", date(2026, 9, 30))], source="nasdaq", now=LATER
    )
    assert res.moved == ["JPM 2026-10-13 -> 2026-10-20"] and res.new == 1
    assert cur(db) == [("JPM", "2026-10-20", "nasdaq")]
    # nothing is deleted: the old date is kept with when it stopped being true
    frame = repo.load_reports_frame(db)
    old = frame[frame["date"] == (date(2026, 10, 13) - date(1970, 1, 1)).days].iloc[0]
    assert old["superseded_at"] == LATER
    # as known before the move, the old date is the current one
    before = repo.load_reports_frame(db, end=NOW + 10)
    assert len(before) == 1 and before["superseded_at"].isna().all()


def test_a_different_quarter_is_not_a_move(db: Database) -> None:
    repo.write_reports(
        db, [Report("JPM", date(2026, 10, 13), "bmo", date(2026, 9, 30))], source="nasdaq", now=NOW
    )
    res = repo.write_reports(
        db, [Report("JPM", date(2027, 1, 14), "bmo", date(2026, 12, 31))], source="nasdaq", now=LATER
    )
    assert res.moved == [] and len(cur(db)) == 2


def test_past_reports_never_move(db: Database) -> None:
    # two real dates eight days apart in a dated file: both facts stay (the model counts the company once)
    repo.write_reports(db, [Report("MRVL", date(2016, 7, 19))], source="file", dated=True, now=NOW)
    res = repo.write_reports(db, [Report("MRVL", date(2016, 7, 27))], source="file", dated=True, now=NOW)
    assert res.moved == [] and len(cur(db)) == 2
    assert repo.load_reports_frame(db)["seen_at"].isna().all()  # dated rows carry no seen_at


def test_two_dates_in_one_quarter_in_one_batch_keep_the_later(db: Database) -> None:
    rows = [
        Report("JPM", date(2026, 10, 13), "bmo", date(2026, 9, 30), 8.8e11),
        Report("JPM", date(2026, 10, 15), "unknown", date(2026, 9, 30), None),
        Report("GS", date(2026, 10, 13), "bmo", date(2026, 9, 30)),
    ]
    res = repo.write_reports(db, rows, source="nasdaq", now=NOW)
    assert res.duplicates == ["JPM 2026-10-13 and 2026-10-15 (kept the later)"]
    assert cur(db) == [("GS", "2026-10-13", "nasdaq"), ("JPM", "2026-10-15", "nasdaq")]
    jpm = repo.current_reports(db, "JPM")[0]
    assert jpm["market_cap"] == 8.8e11  # a missing field is filled from the dropped listing
    assert "listed twice in one quarter" in res.describe()


def test_a_day_that_no_longer_lists_a_report_drops_it(db: Database) -> None:
    d = date(2026, 10, 13)
    repo.write_reports(db, [Report("JPM", d), Report("GS", d)], source="nasdaq", now=NOW)
    res = repo.write_reports(db, [Report("GS", d)], source="nasdaq", now=LATER, covered=[d])
    assert res.dropped == ["JPM 2026-10-13"]
    assert cur(db) == [("GS", "2026-10-13", "nasdaq")]
    # another source's rows and days that were not answered are left alone
    repo.write_reports(db, [Report("UNH", d)], source="file", dated=True, now=LATER)
    repo.write_reports(db, [], source="nasdaq", now=LATER, covered=[date(2026, 10, 14)])
    assert [t for t, _, _ in cur(db)] == ["GS", "UNH"]


def test_replace_members(db: Database) -> None:
    added, removed, kept = repo.replace_members(db, "sp500", [Member("AAPL"), Member("MSFT")], now=NOW)
    assert (added, removed, kept) == (2, 0, 0)
    added, removed, kept = repo.replace_members(
        db, "sp500", [Member("AAPL", "Apple"), Member("NVDA")], now=LATER
    )
    assert (added, removed, kept) == (1, 1, 1)
    frame = repo.load_members_frame(db)
    assert sorted(frame["ticker"]) == ["AAPL", "NVDA"]
    assert repo.members_updated(db, "sp500") == datetime.fromtimestamp(LATER, tz=UTC)


def test_calendar_stats(db: Database) -> None:
    assert repo.calendar_stats(db)["rows"] == 0
    repo.write_reports(
        db, [Report("A", date(2025, 1, 2)), Report("B", date(2025, 3, 2))], source="file", dated=True, now=NOW
    )
    st = repo.calendar_stats(db)
    assert st["rows"] == 2 and st["tickers"] == 2 and st["first"] == date(2025, 1, 2)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ((date(2026, 10, 13), date(2026, 9, 30)), (date(2026, 10, 20), date(2026, 10, 1)), True),
        ((date(2026, 10, 13), date(2026, 9, 30)), (date(2026, 10, 20), date(2026, 6, 30)), False),
        ((date(2026, 10, 13), None), (date(2026, 11, 5), None), True),
        ((date(2016, 7, 27), None), (date(2016, 9, 6), None), False),
    ],
)
def test_same_report(a: tuple[date, date | None], b: tuple[date, date | None], same: bool) -> None:
    assert repo.same_report(a[0], a[1], b[0], b[1]) is same
