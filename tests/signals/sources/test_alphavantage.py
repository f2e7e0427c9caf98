from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from sqlite_utils import Database

from bot.backfills import described, run_backfill
from bot.config import load_settings
from signals.sources import alphavantage
from signals.sources import earnings as earnings_src
from signals.sources.base import SourceError
from storage import batches
from storage import earnings as repo
from storage.db import SyncReader
from tests.conftest import fixture_text

KEY = "DEMOKEY12345XYZ"
NOW = datetime(2026, 7, 1, 10, 10, tzinfo=UTC)


def Settings(key: str | None = KEY) -> Any:
    env = {"FLOWWATCH_EARNINGS_SCAN_DAYS": "7", "FLOWWATCH_EARNINGS_SPACING": "1"}
    if key:
        env["ALPHAVANTAGE_API_KEY"] = key
    return load_settings(env=env, dotenv=None, check_db=False)


async def no_sleep(_: float) -> None:
    return None


def test_parse_recorded_calendar() -> None:
    rows = alphavantage.parse_csv(fixture_text("alphavantage/earnings_calendar.csv").replace("\n", "\r\n"))
    assert [(r.ticker, r.date, r.fiscal_quarter_end, r.time) for r in rows] == [
        ("BMO", date(2026, 8, 25), date(2026, 7, 31), "bmo"),
        ("BNS", date(2026, 8, 25), date(2026, 7, 31), "bmo"),
        ("NVDA", date(2026, 5, 27), date(2026, 4, 30), "amc"),
        ("IBM", date(2026, 7, 20), date(2026, 6, 30), "amc"),
        ("XYZQ", date(2026, 12, 3), date(2026, 9, 30), "unknown"),
    ]
    assert all(r.market_cap is None for r in rows)


def test_the_over_quota_junk_row_is_an_error_not_an_empty_calendar() -> None:
    with pytest.raises(SourceError, match=r"over the request quota: the answer was the 'I,n,f,o,r,m,a'"):
        alphavantage.parse_csv(fixture_text("alphavantage/earnings_calendar_rate_limited.csv"))


def test_json_notices_are_errors() -> None:
    with pytest.raises(SourceError, match="refused the request \\(Information: Please consider spreading"):
        alphavantage.parse_csv(fixture_text("alphavantage/error_information.json"))
    with pytest.raises(SourceError, match="HTML page"):
        alphavantage.parse_csv("<html><body>502</body></html>")
    with pytest.raises(SourceError, match="unexpected header"):
        alphavantage.parse_csv("date,value\n2026-01-01,1\n")


async def fallback(db: Database, av_body: str, key: str | None = KEY) -> tuple[str, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "api.nasdaq.com":
            return httpx.Response(403, text="Forbidden")  # cloud addresses are often refused
        return httpx.Response(200, text=av_body)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as c:
        batch = await earnings_src.refresh(c, SyncReader(db), Settings(key), NOW, sleep=no_sleep)
    text = described(batch, batches.write(db, batch, live=True))
    return text, seen


async def test_alpha_vantage_is_the_fallback_when_nasdaq_fails(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    text, seen = await fallback(db, fixture_text("alphavantage/earnings_calendar.csv"))
    av = [r for r in seen if r.url.host == "www.alphavantage.co"]
    assert len(av) == 1 and av[0].url.params["function"] == "EARNINGS_CALENDAR"
    assert av[0].url.params["horizon"] == "3month" and av[0].url.params["apikey"] == KEY
    assert "alphavantage (fallback): 5 report dates (5 new" in text
    assert {r["source"] for r in repo.current_reports(db)} == {"alphavantage"}
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("flowwatch"))
    assert KEY not in text and KEY not in ours and "nasdaq: 0 of 5 days fetched" in ours


async def test_an_over_quota_fallback_is_an_error_and_stores_nothing(db: Database) -> None:
    with pytest.raises(SourceError) as exc:
        await fallback(db, fixture_text("alphavantage/earnings_calendar_rate_limited.csv"))
    assert "over the request quota" in str(exc.value) and "nasdaq: 0 of" in str(exc.value)
    assert KEY not in str(exc.value)
    assert repo.current_reports(db) == []


async def test_without_a_key_there_is_no_fallback(db: Database) -> None:
    with pytest.raises(SourceError, match="ALPHAVANTAGE_API_KEY is not set"):
        await fallback(db, "", key=None)


async def test_backfill_from_a_saved_csv(db: Database, fixtures_dir: object) -> None:
    from pathlib import Path

    f = Path(str(fixtures_dir)) / "alphavantage" / "earnings_calendar.csv"
    msg = await run_backfill(alphavantage.BACKFILL, db, client=httpx.AsyncClient(), now=NOW, file=f)
    assert "5 rows from earnings_calendar.csv" in msg


def test_log_lines_never_carry_the_key() -> None:
    from bot.logs import RedactingFilter

    line = f'HTTP Request: GET https://www.alphavantage.co/query?function=EARNINGS_CALENDAR&apikey={KEY} "200 OK"'
    assert KEY not in RedactingFilter().redact(line)
    assert "apikey=***" in RedactingFilter().redact(line)
