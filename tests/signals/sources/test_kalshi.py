from __future__ import annotations

import copy
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.backfills import run_backfill
from signals.sources import kalshi
from signals.sources.base import Rejects, SourceContext, SourceError
from storage.observations import Observation
from tests.conftest import fixture_text, source_context

NOW = datetime(2026, 11, 20, 15, 0, 30, tzinfo=UTC)


def events() -> dict[str, Any]:
    return json.loads(fixture_text("kalshi/events_KXFEDDECISION_nested.json"))


def probs(rows: list[Observation], meeting: str) -> dict[str, float]:
    return {r.series.rsplit(".", 1)[1]: r.value for r in rows if f".{meeting}." in r.series}


def test_bucket_from_ticker_suffix() -> None:
    assert kalshi.bucket_of("KXFEDDECISION-26DEC-C26") == "cut"
    assert kalshi.bucket_of("KXFEDDECISION-26DEC-C25") == "cut"
    assert kalshi.bucket_of("KXFEDDECISION-26DEC-H0") == "hold"
    assert kalshi.bucket_of("KXFEDDECISION-26DEC-H25") == "hike"
    assert kalshi.bucket_of("KXFED-26DEC-T4.00") is None


def test_parses_nested_events_into_normalised_odds_per_meeting() -> None:
    rejects = Rejects("t")
    rows = kalshi.parse_events(events(), NOW, rejects)
    assert rejects.items == []
    assert {r.ts for r in rows} == {int(NOW.timestamp()) // 60 * 60}  # stamped at the minute
    dec = probs(rows, "2026-12-09")
    # mids: C26 0.005, C25 0.02, H0 0.265, H25 0.705, H26 0.015 (sum 1.01)
    assert dec["cut"] == pytest.approx(0.025 / 1.01, abs=1e-6)
    assert dec["hold"] == pytest.approx(0.265 / 1.01, abs=1e-6)
    assert dec["hike"] == pytest.approx(0.72 / 1.01, abs=1e-6)
    assert dec["cut"] + dec["hold"] + dec["hike"] == pytest.approx(1.0, abs=1e-5)
    # the buckets: C26 is "more than 25 bp", a cut of 50 bp or more
    assert dec["cut50plus"] == pytest.approx(0.005 / 1.01, abs=1e-6)
    assert dec["cut25"] == pytest.approx(0.02 / 1.01, abs=1e-6)
    assert dec["hike25"] == pytest.approx(0.705 / 1.01, abs=1e-6)
    assert dec["hike50plus"] == pytest.approx(0.015 / 1.01, abs=1e-6)
    # the expected move counts an open bucket at its least size (50 bp)
    move = (-50 * 0.005 - 25 * 0.02 + 25 * 0.705 + 50 * 0.015) / 1.01
    assert dec["move_bp"] == pytest.approx(move, abs=1e-3)
    assert dec["path_bp"] == pytest.approx(move, abs=1e-3)  # the next meeting: its own move
    jan = probs(rows, "2027-01-27")
    assert {"cut", "hold", "hike", "move_bp", "path_bp"} <= set(jan)
    assert jan["path_bp"] == pytest.approx(dec["move_bp"] + jan["move_bp"], abs=1e-3)
    assert all(r.source == "kalshi" for r in rows)


def test_meeting_comes_from_the_strike_date_not_the_title() -> None:
    payload = events()
    payload["events"][0]["title"] = "Fed decision in Jan 2027?"
    for m in payload["events"][0]["markets"]:
        m["title"] = m["title"].replace("December 2026", "January 2027")
    rows = kalshi.parse_events(payload, NOW, Rejects("t"))
    assert probs(rows, "2026-12-09")  # still December, from strike_date 2026-12-09T19:00Z
    payload["events"][0]["strike_date"] = "2026-12-02T19:00:00Z"  # not an FOMC date
    rejects = Rejects("t")
    rows = kalshi.parse_events(payload, NOW, rejects)
    assert not probs(rows, "2026-12-09") and "is not an FOMC decision date" in rejects.items[0]


def _market(payload: dict[str, Any], suffix: str) -> dict[str, Any]:
    return next(m for m in payload["events"][0]["markets"] if m["ticker"].endswith(f"-{suffix}"))


def test_crossed_and_empty_books_fall_back_to_the_last_price() -> None:
    payload = events()
    crossed = _market(payload, "H0")
    crossed["yes_bid_dollars"], crossed["yes_ask_dollars"], crossed["last_price_dollars"] = (
        "0.3000",
        "0.2000",
        "0.2700",
    )
    empty = _market(payload, "C25")
    empty["yes_bid_dollars"], empty["yes_ask_dollars"], empty["last_price_dollars"] = (
        "0.0000",
        "1.0000",
        "0.0200",
    )
    rows = kalshi.parse_events(payload, NOW, Rejects("t"))
    dec = probs(rows, "2026-12-09")
    total = 0.005 + 0.02 + 0.27 + 0.705 + 0.015
    assert dec["hold"] == pytest.approx(0.27 / total, abs=1e-6)
    assert dec["cut"] == pytest.approx(0.025 / total, abs=1e-6)


def test_broken_book_without_last_price_drops_the_meeting_with_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    payload = events()
    h25 = _market(payload, "H25")
    h25["yes_bid_dollars"], h25["yes_ask_dollars"], h25["last_price_dollars"] = "0.8000", "0.6000", ""
    rejects = Rejects("kalshi")
    rows = kalshi.parse_events(payload, NOW, rejects)
    assert not probs(rows, "2026-12-09") and probs(rows, "2027-01-27")
    with caplog.at_level(logging.WARNING):
        rejects.log()
    (line,) = [r.getMessage() for r in caplog.records]
    assert "crossed book" in line and "sum to 0.31" in line


def test_a_missing_market_drops_the_meeting_only_when_it_matters() -> None:
    payload = events()
    markets = payload["events"][0]["markets"]
    payload["events"][0]["markets"] = [m for m in markets if not m["ticker"].endswith("-C26")]
    dec = probs(kalshi.parse_events(payload, NOW, Rejects("t")), "2026-12-09")
    assert dec["cut"] == pytest.approx(0.02 / 1.005, abs=1e-6)  # a 0.5 % tail bucket missing: fine
    payload["events"][0]["markets"] = [m for m in markets if not m["ticker"].endswith("-H0")]
    rejects = Rejects("t")
    assert not probs(kalshi.parse_events(payload, NOW, rejects), "2026-12-09")
    assert "no 'hold' bucket" in rejects.items[0]


def test_a_meeting_that_has_just_closed_is_skipped() -> None:
    after = datetime(2026, 12, 9, 19, 3, tzinfo=UTC)  # the statement was at 19:00 UTC
    payload = copy.deepcopy(events())
    for m in payload["events"][0]["markets"]:
        m["status"] = "closed"
    rows = kalshi.parse_events(payload, after, Rejects("t"))
    assert not probs(rows, "2026-12-09") and probs(rows, "2027-01-27")
    # even if the exchange still lists the markets as active, the statement has passed
    rows = kalshi.parse_events(events(), after, Rejects("t"))
    assert not probs(rows, "2026-12-09")


def _ctx(handler: Any, sleeps: list[float] | None = None) -> SourceContext:
    async def sleep(s: float) -> None:
        if sleeps is not None:
            sleeps.append(s)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return source_context(client, NOW, sleep=sleep)  # type: ignore[return-value]


async def test_poll_follows_the_cursor() -> None:
    full = events()
    seen: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        q = dict(request.url.params)
        seen.append(q)
        assert request.url.path == "/trade-api/v2/events"
        assert q["series_ticker"] == "KXFEDDECISION" and q["with_nested_markets"] == "true"
        if "cursor" not in q:
            return httpx.Response(200, json={"cursor": "page2", "events": full["events"][:1]})
        assert q["cursor"] == "page2"
        return httpx.Response(200, json={"cursor": "", "events": full["events"][1:]})

    ctx = _ctx(handler)
    rows = list((await kalshi.poll(ctx)).observations)
    await ctx.client.aclose()
    assert len(seen) == 2
    assert probs(rows, "2026-12-09") and probs(rows, "2027-01-27")


async def test_a_repeating_cursor_stops_with_a_clear_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"cursor": "same", "events": []})

    ctx = _ctx(handler)
    with pytest.raises(SourceError, match="cursor repeats"):
        await kalshi.poll(ctx)
    await ctx.client.aclose()


async def test_429_is_retried_after_the_servers_delay() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return httpx.Response(429, headers={"Retry-After": "3"}, json={"error": "too many requests"})
        return httpx.Response(200, text=fixture_text("kalshi/events_KXFEDDECISION_nested.json"))

    sleeps: list[float] = []
    ctx = _ctx(handler, sleeps)
    rows = list((await kalshi.poll(ctx)).observations)
    await ctx.client.aclose()
    assert sleeps == [3.0] and probs(rows, "2026-12-09")


async def test_persistent_429_is_one_source_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "1"})

    sleeps: list[float] = []
    ctx = _ctx(handler, sleeps)
    with pytest.raises(SourceError) as exc:
        await kalshi.poll(ctx)
    await ctx.client.aclose()
    assert str(exc.value).startswith("kalshi: HTTP 429") and "after 4 attempts" in str(exc.value)
    assert sleeps == [1.0, 1.0, 1.0]


async def test_html_instead_of_json_is_one_clear_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<!DOCTYPE html><html>maintenance</html>")

    ctx = _ctx(handler)
    with pytest.raises(SourceError, match="expected JSON, got an HTML page"):
        await kalshi.poll(ctx)
    await ctx.client.aclose()


def test_candles_use_the_book_then_the_trade_then_the_previous_price() -> None:
    got = kalshi.parse_candles(
        json.loads(fixture_text("kalshi/candlesticks_KXFEDDECISION-26DEC-H25_60m.json")), "t"
    )
    assert got == {
        1795176000: pytest.approx(0.725),
        1795179600: pytest.approx(0.715),
        1795183200: pytest.approx(0.705),  # no trade in the hour: the book's mid
        1795186800: pytest.approx(0.705),
    }
    only_previous = {"candlesticks": [{"end_period_ts": 1, "price": {"previous_dollars": "0.4000"}}]}
    assert kalshi.parse_candles(only_previous, "t") == {1: 0.4}


async def test_candlestick_backfill_combines_the_buckets(db: Any) -> None:
    h25 = json.loads(fixture_text("kalshi/candlesticks_KXFEDDECISION-26DEC-H25_60m.json"))
    full = events()
    full["events"] = full["events"][:1]

    def flat(p: float) -> dict[str, Any]:
        return {
            "candlesticks": [
                {"end_period_ts": c["end_period_ts"], "price": {"previous_dollars": f"{p:.4f}"}}
                for c in h25["candlesticks"]
            ]
        }

    other = {"C26": 0.005, "C25": 0.02, "H0": 0.26, "H26": 0.015}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/events"):
            return httpx.Response(200, json=full)
        ticker = request.url.path.split("/markets/")[1].split("/")[0]
        suffix = ticker.rsplit("-", 1)[1]
        return httpx.Response(200, json=h25 if suffix == "H25" else flat(other[suffix]))

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    message = await run_backfill(
        kalshi.BACKFILL, db, client=client, now=NOW, since=datetime(2026, 11, 19, tzinfo=UTC)
    )
    await client.aclose()
    assert "36 observations from hourly candlesticks, 1 meeting (2026-12-09)" in message
    row = db.execute(
        "SELECT value FROM observations WHERE series = 'kalshi.fomc.2026-12-09.hike' AND ts = 1795176000"
    ).fetchone()
    assert row[0] == pytest.approx((0.725 + 0.015) / (0.725 + 0.015 + 0.26 + 0.025), abs=1e-6)
    total = 0.725 + 0.015 + 0.26 + 0.025
    path = db.execute(
        "SELECT value FROM observations WHERE series = 'kalshi.fomc.2026-12-09.path_bp' AND ts = 1795176000"
    ).fetchone()
    assert path[0] == pytest.approx((-50 * 0.005 - 25 * 0.02 + 25 * 0.725 + 50 * 0.015) / total, abs=1e-3)


def test_file_backfill_of_the_recorded_csv(data_dir: Path) -> None:
    rows, note = kalshi.parse_file(
        data_dir / "fed_dec2025_nochange_polymarket_kalshi_30min.csv", datetime.now(UTC), None
    )
    assert "meeting 2025-12-10" in note and "P(cut) = 1 - P(hold)" in note
    assert {r.series for r in rows} == {"kalshi.fomc.2025-12-10.cut", "kalshi.fomc.2025-12-10.hold"}


def test_file_backfill_of_a_saved_events_body(tmp_path: Path) -> None:
    f = tmp_path / "events.json"
    f.write_text(fixture_text("kalshi/events_KXFEDDECISION_nested.json"))
    rows, note = kalshi.parse_file(f, datetime.now(UTC), None)
    assert note == "snapshot of 2026-11-20 14:05 UTC"
    assert {r.ts for r in rows} == {int(datetime(2026, 11, 20, 14, 5, tzinfo=UTC).timestamp())}
