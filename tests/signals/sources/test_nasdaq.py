from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlite_utils import Database

from bot.backfills import described, run_backfill
from bot.config import load_settings
from signals.sources import earnings as earnings_src
from signals.sources import nasdaq
from signals.sources.base import SourceError
from storage import batches
from storage import earnings as repo
from storage.db import SyncReader
from tests.conftest import fixture_text

TODAY = date(2026, 10, 12)  # a Monday
NOW = datetime(2026, 10, 12, 10, 10, tzinfo=UTC)


def Settings() -> Any:
    # a scan of Mon 10-12 .. Mon 10-19: six trading days
    env = {"FLOWWATCH_EARNINGS_SCAN_DAYS": "7", "FLOWWATCH_EARNINGS_SPACING": "2"}
    return load_settings(env=env, dotenv=None, check_db=False)


def day_answer(day: date, rows: list[dict[str, str]] | None) -> str:
    obj = json.loads(fixture_text("nasdaq/earnings_2026-10-13.json"))
    obj["data"]["asOf"] = day.strftime("%a, %b %d, %Y")
    obj["data"]["rows"] = rows
    return json.dumps(obj)


def row(
    symbol: str, time: str = "time-pre-market", fq: str = "Sep/2026", cap: str = "$100,000,000,000"
) -> dict[str, str]:
    return {
        "lastYearRptDt": "10/14/2025",
        "lastYearEPS": "$1.00",
        "time": time,
        "symbol": symbol,
        "name": symbol,
        "marketCap": cap,
        "fiscalQuarterEnding": fq,
        "epsForecast": "$1.10",
        "noOfEsts": "5",
    }


class Recorder:
    """A MockTransport handler serving one answer per requested date."""

    def __init__(self, answers: Callable[[date], httpx.Response]) -> None:
        self.answers = answers
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answers(date.fromisoformat(request.url.params["date"]))

    @property
    def days(self) -> list[str]:
        return [r.url.params["date"] for r in self.requests]


def client(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, s: float) -> None:
        self.calls.append(s)


# -- parsing -------------------------------------------------------------------------------


def test_parse_recorded_rows() -> None:
    day, rows = nasdaq.parse_day(fixture_text("nasdaq/earnings_2026-10-13.json"), date(2026, 10, 13))
    assert day == date(2026, 10, 13)
    assert [(r.ticker, r.time, r.fiscal_quarter_end, r.market_cap) for r in rows] == [
        ("GS", "bmo", date(2026, 9, 30), 261_084_660_000.0),
        ("JPM", "bmo", date(2026, 9, 30), 885_654_490_000.0),
        ("UNH", "bmo", date(2026, 9, 30), 327_801_635_000.0),
    ]


def test_parse_na_empty_and_small_caps() -> None:
    _, rows = nasdaq.parse_day(fixture_text("nasdaq/earnings_2026-10-05.json"), date(2026, 10, 5))
    assert [r.ticker for r in rows] == ["AEHR", "NCPL", "MSS"]
    assert rows[0].time == "unknown" and rows[0].fiscal_quarter_end == date(2026, 8, 31)
    assert rows[2].market_cap == 1_377_096.0
    _, rows = nasdaq.parse_day(fixture_text("nasdaq/earnings.json"), date(2026, 11, 19))
    assert {r.ticker: r.time for r in rows} == {
        "WMT": "bmo",
        "TGT": "bmo",
        "INTU": "amc",
        "ROST": "amc",
        "XYZQ": "unknown",
    }
    assert rows[0].fiscal_quarter_end == date(2026, 10, 31)


def test_parse_a_past_day_with_reported_rows() -> None:
    _, rows = nasdaq.parse_day(fixture_text("nasdaq/earnings_2026-07-29_reported.json"), date(2026, 7, 29))
    assert [(r.ticker, r.time) for r in rows] == [
        ("MSFT", "unknown"),
        ("META", "unknown"),
        ("TMQ", "unknown"),
    ]
    assert rows[0].market_cap == 3_807_819_860_000.0


@pytest.mark.parametrize("name", ["earnings_empty_rows.json", "earnings_weekend.json"])
def test_weekend_and_holiday_answers_are_empty_days(name: str) -> None:
    day, rows = nasdaq.parse_day(fixture_text(f"nasdaq/{name}"), date(2026, 11, 21))
    assert rows == [] and day == date(2026, 11, 21)


def test_html_and_error_envelopes_are_errors() -> None:
    with pytest.raises(SourceError, match="got an HTML page"):
        nasdaq.parse_day("<!DOCTYPE html><html><body>Access Denied</body></html>", date(2026, 10, 13))
    bad = json.loads(fixture_text("nasdaq/earnings_2026-10-13.json"))
    bad["status"] = {"rCode": 400, "bCodeMessage": [{"code": 1001, "errorMessage": "Invalid date"}]}
    with pytest.raises(SourceError, match="rCode 400"):
        nasdaq.parse_day(json.dumps(bad), date(2026, 10, 13))
    with pytest.raises(SourceError, match="instead of 2026-10-14"):
        nasdaq.parse_day(fixture_text("nasdaq/earnings_2026-10-13.json"), date(2026, 10, 14))


def test_bad_rows_are_skipped_with_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    text = day_answer(
        date(2026, 10, 13), [row("GS"), row("BAD^P"), row("XX", cap="lots"), row("YY", fq="Q3")]
    )
    _, rows = nasdaq.parse_day(text, date(2026, 10, 13))
    assert [r.ticker for r in rows] == ["GS"]
    lines = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(lines) == 1 and "skipped 3 row(s)" in lines[0]


@pytest.mark.parametrize(
    ("text", "value"),
    [("$1,234,567,890", 1234567890.0), ("($0.05)", -0.05), ("$2", 2.0), ("N/A", None), ("", None)],
)
def test_parse_money(text: str, value: float | None) -> None:
    assert nasdaq.parse_money(text) == value


# -- the scan ------------------------------------------------------------------------------


async def test_scan_is_polite_one_spaced_request_per_trading_day() -> None:
    rec = Recorder(lambda d: httpx.Response(200, text=day_answer(d, [row("GS")])))
    sleeps = Sleeps()
    async with client(rec) as c:
        res = await nasdaq.scan(c, TODAY, days=7, spacing=2.0, sleep=sleeps)
    assert rec.days == ["2026-10-12", "2026-10-13", "2026-10-14", "2026-10-15", "2026-10-16", "2026-10-19"]
    assert sleeps.calls == [2.0] * 5  # spaced, and no sleeping before the first request
    req = rec.requests[0]
    assert "Mozilla/5.0" in req.headers["user-agent"] and req.headers["origin"] == "https://www.nasdaq.com"
    assert req.headers["accept"].startswith("application/json")
    assert req.extensions["timeout"]["read"] == nasdaq.TIMEOUT  # a short per-request timeout
    assert len(res.ok_days) == 6 and len(res.reports) == 6 and not res.failed


async def test_days_fetched_today_are_not_fetched_again() -> None:
    rec = Recorder(lambda d: httpx.Response(200, text=day_answer(d, [])))
    cache = {"2026-10-12": "2026-10-12", "2026-10-13": "2026-10-12", "2026-10-14": "2026-10-11"}
    async with client(rec) as c:
        res = await nasdaq.scan(c, TODAY, days=7, fetched=cache, sleep=Sleeps())
    assert rec.days == ["2026-10-14", "2026-10-15", "2026-10-16", "2026-10-19"]
    assert res.cached == 2 and "2 already fetched today" in res.describe()


async def test_a_day_answering_with_an_html_page_does_not_abort_the_scan() -> None:
    def answer(d: date) -> httpx.Response:
        if d == date(2026, 10, 14):
            return httpx.Response(200, text="<html><body>Please enable JS</body></html>")
        if d == date(2026, 10, 15):
            return httpx.Response(403, text="Forbidden")
        return httpx.Response(200, text=day_answer(d, [row("GS")]))

    async with client(Recorder(answer)) as c:
        res = await nasdaq.scan(c, TODAY, days=7, sleep=Sleeps())
    assert [d.isoformat() for d in res.ok_days] == ["2026-10-12", "2026-10-13", "2026-10-16", "2026-10-19"]
    assert res.failed[0] == "2026-10-14: expected the earnings calendar JSON, got an HTML page"
    assert res.failed[1].startswith("2026-10-15: HTTP 403")
    assert not res.failed_badly


async def test_a_refusing_provider_stops_the_scan_after_five_days() -> None:
    rec = Recorder(lambda d: httpx.Response(403))
    async with client(rec) as c:
        res = await nasdaq.scan(c, TODAY, days=7, sleep=Sleeps())
    assert len(rec.requests) == nasdaq.MAX_CONSECUTIVE_FAILURES
    assert res.failed_badly and "stopped after 5 failing days in a row; 1 days not asked" in res.describe()


async def test_a_name_that_does_not_resolve_stops_the_scan_at_once() -> None:
    """No network: the first day's name lookup fails, so every other day would too; the scan stops
    there (no five spaced days, no retries) and says why."""
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.params["date"])
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)

    sleeps = Sleeps()
    async with client(handler) as c:
        res = await nasdaq.scan(c, TODAY, days=7, sleep=sleeps)
    assert asked == ["2026-10-12"] and sleeps.calls == []
    assert res.failed == [
        "2026-10-12: name api.nasdaq.com did not resolve, not retried until the next poll "
        "(ConnectError: [Errno -2] Name or service not known) from https://api.nasdaq.com/api/calendar/earnings"
    ]
    assert res.failed_badly and "stopped: 5 days not asked" in res.describe()


async def test_timeouts_are_retried_once_then_the_day_is_skipped() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.params["date"])
        if request.url.params["date"] == "2026-10-13":
            raise httpx.ReadTimeout("hung", request=request)
        return httpx.Response(200, text=day_answer(date.fromisoformat(request.url.params["date"]), []))

    async with client(handler) as c:
        res = await nasdaq.scan(c, TODAY, days=2, sleep=Sleeps())
    assert calls.count("2026-10-13") == nasdaq.ATTEMPTS and len(res.ok_days) == 2
    assert "timed out" in res.failed[0]


# -- refresh: stored, moved, duplicated ----------------------------------------------------


async def refresh(db: Database, answers: Callable[[date], httpx.Response], now: datetime = NOW) -> str:
    """One refresh, written as the runner writes a poll's batch; its description."""
    async with client(Recorder(answers)) as c:
        batch = await earnings_src.refresh(c, SyncReader(db), Settings(), now, sleep=Sleeps())
    return described(batch, batches.write(db, batch, live=True))


def day_ts(day: int) -> int:
    return int(datetime(2026, 10, day, tzinfo=UTC).timestamp())


def current(db: Database) -> list[tuple[str, str]]:
    return [(r["ticker"], r["date"].isoformat()) for r in repo.current_reports(db)]  # type: ignore[union-attr]


async def test_refresh_stores_the_scan_and_caches_the_days(db: Database) -> None:
    text = await refresh(
        db, lambda d: httpx.Response(200, text=day_answer(d, [row("JPM")] if d.day == 13 else []))
    )
    assert "6 of 6 days fetched" in text and "1 new" in text
    assert current(db) == [("JPM", "2026-10-13")]
    again = await refresh(db, lambda d: httpx.Response(500))
    assert "0 of 0 days fetched, 6 already fetched today" in again


async def test_a_report_moved_to_a_new_date(db: Database) -> None:
    await refresh(db, lambda d: httpx.Response(200, text=day_answer(d, [row("JPM")] if d.day == 13 else [])))
    nxt = datetime(2026, 10, 13, 10, 10, tzinfo=UTC)
    text = await refresh(
        db, lambda d: httpx.Response(200, text=day_answer(d, [row("JPM")] if d.day == 20 else [])), nxt
    )
    assert "1 moved (JPM 2026-10-13 -> 2026-10-20)" in text
    assert current(db) == [("JPM", "2026-10-20")]
    old = db.execute(
        "SELECT superseded_at FROM earnings WHERE ticker = 'JPM' AND date_ts = ?", [day_ts(13)]
    ).fetchone()
    assert old[0] == int(nxt.timestamp())


async def test_a_ticker_listed_on_two_days_of_one_quarter(db: Database) -> None:
    text = await refresh(
        db, lambda d: httpx.Response(200, text=day_answer(d, [row("JPM")] if d.day in (13, 15) else []))
    )
    assert "1 listed twice in one quarter (JPM 2026-10-13 and 2026-10-15 (kept the later))" in text
    assert current(db) == [("JPM", "2026-10-15")]


async def test_backfill_from_saved_answers(db: Database, fixtures_dir: Path) -> None:
    folder = fixtures_dir / "nasdaq"
    msg = await run_backfill(nasdaq.BACKFILL, db, client=httpx.AsyncClient(), now=NOW, dir=folder)
    assert "5 day file(s), 1 skipped" in msg  # the weekend answer carries no date
    tickers = {t for t, _ in current(db)}
    assert {"GS", "JPM", "UNH", "WMT", "MSFT"} <= tickers
