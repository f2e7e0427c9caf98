"""buyback live: the morning calendar refresh drives the same day's evaluation, once."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx

from bot.clock import SimClock
from bot.config import load_settings
from bot.runner import App
from bot.sinks.console import ConsoleSink
from signals.sources import earnings as earnings_src
from signals.sources.base import SourceContext
from storage import alerts as alert_repo
from tests.conftest import fixture_text

#: 40 companies reporting after the close over 25 days from 2024-04-15
SEASON = [(date(2024, 4, 15) + timedelta(days=(i * 25) // 40), f"T{i:02d}") for i in range(40)]


def answer(request: httpx.Request) -> httpx.Response:
    day = date.fromisoformat(request.url.params["date"])
    obj = json.loads(fixture_text("nasdaq/earnings_2026-10-13.json"))
    obj["data"]["asOf"] = day.strftime("%a, %b %d, %Y")
    template = obj["data"]["rows"][0]
    obj["data"]["rows"] = [
        {**template, "symbol": ticker, "time": "time-after-hours", "fiscalQuarterEnding": "N/A"}
        for d, ticker in SEASON
        if d == day
    ]
    return httpx.Response(200, text=json.dumps(obj))


async def no_sleep(_: float) -> None:
    return None


async def test_morning_refresh_counts_the_same_day_and_nothing_repeats(tmp_path: Path) -> None:
    settings = load_settings(
        env={"FLOWWATCH_DB": str(tmp_path / "run.db"), "FLOWWATCH_EARNINGS_SCAN_DAYS": "60"}, dotenv=None
    )
    clock = SimClock(datetime(2024, 3, 25, 10, 10, tzinfo=UTC))  # Monday 06:10 ET
    out = io.StringIO()
    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    app = App(settings, clock=clock, client=client, sinks=[ConsoleSink(stream=out, fmt="jsonl")])
    await app.start(schedule=False, initial_poll=False)

    async def morning() -> None:
        ctx = SourceContext(client=client, now=clock.now, settings=settings, reader=app.store, sleep=no_sleep)
        await app.store_batch("earnings_calendar", await earnings_src.poll_calendar(ctx))
        await app.evaluate(["buyback"])
        await app.dispatcher.drain_once()

    try:
        await morning()
        first = [json.loads(x) for x in out.getvalue().splitlines()]
        # the calendar first seen this morning already counts for today's session
        assert first and first[0]["ts"] == "2024-03-25T00:00:00Z" and first[0]["signal"] == "buyback"
        clock.advance(timedelta(minutes=15))
        await app.evaluate(["buyback"])  # the 15-minute re-evaluation: nothing new
        await app.dispatcher.drain_once()
        assert len(out.getvalue().splitlines()) == len(first)
        # a week of mornings: one lifecycle, each event once
        for _ in range(12):
            clock.advance(timedelta(days=1))
            await morning()
        events = [json.loads(x) for x in out.getvalue().splitlines()]
        assert len({(e["event"], e["ts"]) for e in events}) == len(events)
        assert any(e["level"] in ("alert", "severe") for e in events)
        alerts = await app.store.call(alert_repo.list_alerts, scope="live", signal="buyback")
        assert all("estimate" in a.summary for a in alerts if a.kind == "alert")
    finally:
        await app.stop()


async def test_a_calendar_not_refreshed_goes_stale_and_never_alerts(tmp_path: Path) -> None:
    settings = load_settings(
        env={"FLOWWATCH_DB": str(tmp_path / "run.db"), "FLOWWATCH_EARNINGS_SCAN_DAYS": "60"}, dotenv=None
    )
    clock = SimClock(datetime(2024, 3, 11, 10, 10, tzinfo=UTC))
    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    out = io.StringIO()
    app = App(settings, clock=clock, client=client, sinks=[ConsoleSink(stream=out, fmt="jsonl")])
    await app.start(schedule=False, initial_poll=False)
    try:
        ctx = SourceContext(client=client, now=clock.now, settings=settings, reader=app.store, sleep=no_sleep)
        await app.store_batch("earnings_calendar", await earnings_src.poll_calendar(ctx))
        clock.advance(timedelta(days=20))  # no refresh since: the window closes meanwhile
        await app.evaluate(["buyback"])
        await app.dispatcher.drain_once()
        alerts = await app.store.call(alert_repo.list_alerts, "live", "buyback", None, None, None)
        kinds = [(a.kind, a.key, a.event) for a in alerts]
        assert ("notice", "stale:data", "fired") in kinds
        assert not [
            a
            for a in alerts
            if a.kind == "alert" and a.ts >= int(datetime(2024, 3, 15, tzinfo=UTC).timestamp())
        ]
    finally:
        await app.stop()
