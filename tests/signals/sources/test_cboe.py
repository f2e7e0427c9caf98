from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from signals.sources import cboe
from signals.sources.base import SourceError
from storage.timeutil import iso
from tests.conftest import fixture_text, source_context

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def test_parses_recorded_vix_history() -> None:
    rows = cboe.parse_csv(fixture_text("cboe/VIX_History.csv"), "vix", now=NOW)
    assert len(rows) == 13
    assert rows[0].series == "cboe.vix.close" and rows[0].source == "cboe"
    assert iso(rows[0].ts) == "2026-04-13T00:00:00Z" and rows[0].value == 19.12
    # the holiday row (05/25/2026) that VIX3M lacks is kept; the signal joins on dates
    assert "2026-05-25T00:00:00Z" in {iso(r.ts) for r in rows}


@pytest.mark.parametrize("name", ["VIX9D_History.csv", "VIX3M_History.csv", "VIX6M_History.csv"])
def test_parses_every_index_file(name: str) -> None:
    index = cboe.index_from_filename(Path(name))
    rows = cboe.parse_csv(fixture_text(f"cboe/{name}"), index, now=NOW)
    assert rows and all(r.series == f"cboe.{index}.close" and r.value > 0 for r in rows)


def test_index_from_filename() -> None:
    assert cboe.index_from_filename(Path("cboe_vix3m_daily.csv")) == "vix3m"
    assert cboe.index_from_filename(Path("VIX_History.csv")) == "vix"
    with pytest.raises(ValueError, match="cannot tell which index"):
        cboe.index_from_filename(Path("prices.csv"))


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("<!DOCTYPE html><html><body>Access denied</body></html>", "got an HTML page"),
        ('{"error": "rate limited"}', "got JSON"),
        ("", "got an empty body"),
        ("\ufeff", "got an empty body"),  # a byte-order mark and nothing else
        ("Symbol,Price\nVIX,19.1\n", "unexpected header"),
    ],
)
def test_unusable_bodies_raise_one_clear_error(body: str, needle: str) -> None:
    with pytest.raises(SourceError) as exc:
        cboe.parse_csv(body, "vix", now=NOW)
    assert needle in str(exc.value)
    assert str(exc.value).startswith("cboe VIX: ")


def test_bad_rows_are_skipped_with_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    body = (
        "DATE,OPEN,HIGH,LOW,CLOSE\n"
        "04/13/2026,21.17,21.58,18.96,19.12\n"
        "04/14/2026,18.73,18.76,17.89,NaN\n"
        "04/15/2026,18.18,18.50,17.40,-1.0\n"
        "04/16/2026,18.04,19.09,17.76,nope\n"
        "13/45/2026,1,1,1,1\n"
        "07/01/2026,18.04,19.09,17.76,17.94\n"  # after NOW: in the future
        "04/17/2026,18.18,18.24,16.87,17.4"  # truncated: no final newline
    )
    with caplog.at_level(logging.WARNING):
        rows = cboe.parse_csv(body, "vix", now=NOW)
    assert [r.value for r in rows] == [19.12]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    msg = warnings[0].getMessage()
    assert "skipped 6 row(s)" in msg and "not a number" in msg and "non-positive" in msg
    assert "(and 1 more)" in msg


async def test_poll_falls_back_to_fred_when_cboe_fails() -> None:
    fred_vix = fixture_text("fred/VIXCLS.csv")
    fred_vxv = fixture_text("fred/VXVCLS.csv")

    def handler(request: httpx.Request) -> httpx.Response:
        if "cboe.com" in request.url.host:
            return httpx.Response(200, text="<html>maintenance</html>")
        fid = request.url.params["id"]
        return httpx.Response(200, text=fred_vix if fid == "VIXCLS" else fred_vxv)

    async def no_sleep(_: float) -> None:
        return None

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        ctx = source_context(client, datetime(2026, 4, 27, tzinfo=UTC), sleep=no_sleep)
        rows = (await cboe.poll_daily(ctx)).observations  # type: ignore[arg-type]
    series = {r.series for r in rows}
    assert series == {"cboe.vix.close", "cboe.vix3m.close"}
    assert {r.source for r in rows} == {"fred"}


async def test_poll_on_a_leap_day_asks_for_a_year_back() -> None:
    """29 February has no twin a year earlier: the poll starts on the 28th instead of failing."""
    asked: list[str] = []
    vix = fixture_text("cboe/VIX_History.csv")

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return httpx.Response(200, text=vix)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        ctx = source_context(client, datetime(2028, 2, 29, 22, tzinfo=UTC))
        batch = await cboe.poll_daily(ctx)  # type: ignore[arg-type]
    assert len(asked) == len(cboe.INDICES)  # every index asked, none fell back to FRED
    assert all(r.source == "cboe" for r in batch.observations)


async def test_poll_with_cboe_unresolvable_asks_it_once_and_still_falls_back_to_fred() -> None:
    """No name for cdn.cboe.com (no network): the run asks it once, not four indices times four
    tries with backoff, and FRED (another host) is still asked for the fallbacks."""
    fred_vix = fixture_text("fred/VIXCLS.csv")
    fred_vxv = fixture_text("fred/VXVCLS.csv")
    asked: list[str] = []
    sleeps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.host)
        if "cboe.com" in request.url.host:
            raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)
        fid = request.url.params["id"]
        return httpx.Response(200, text=fred_vix if fid == "VIXCLS" else fred_vxv)

    async def sleep(s: float) -> None:
        sleeps.append(s)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        ctx = source_context(client, datetime(2026, 4, 27, tzinfo=UTC), sleep=sleep)
        batch = await ctx.run(cboe.poll_daily)  # type: ignore[attr-defined]
    assert asked.count("cdn.cboe.com") == 1 and asked.count("fred.stlouisfed.org") == 2
    assert sleeps == []
    assert {r.series for r in batch.observations} == {"cboe.vix.close", "cboe.vix3m.close"}


async def test_poll_with_no_name_resolving_fails_at_once_with_one_clear_error() -> None:
    asked: list[str] = []
    sleeps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.host)
        raise httpx.ConnectError("[Errno -3] Temporary failure in name resolution", request=request)

    async def sleep(s: float) -> None:
        sleeps.append(s)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        ctx = source_context(client, datetime(2026, 4, 27, tzinfo=UTC), sleep=sleep)
        with pytest.raises(SourceError) as exc:
            await ctx.run(cboe.poll_daily)  # type: ignore[attr-defined]
    assert asked == ["cdn.cboe.com", "fred.stlouisfed.org"] and sleeps == []
    msg = str(exc.value)
    assert msg.startswith(
        "cboe: no usable data: cboe VIX, cboe VIX9D, cboe VIX3M, cboe VIX6M: name cdn.cboe.com"
    )
    assert "fred VIXCLS, fred VXVCLS: name fred.stlouisfed.org did not resolve" in msg
    assert "Temporary failure in name resolution" in msg and "attempts" not in msg
