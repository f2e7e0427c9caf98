"""The real venue clients against local websocket servers replaying the recorded streams."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import socket
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from signals.sources import binance, bybit, okx
from signals.sources._wsclient import Event, StreamClient
from tests.conftest import fixture_text
from tests.signals.sources.wsfake import FakeVenue, recorded

NOW = 1795185070.0


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.frames = 0

    def __call__(self, events: Sequence[Event], arrival: float, frame: str | bytes) -> None:
        self.events += events
        self.frames += 1


class Sleeps:
    """Injected backoff sleep: records the delay and returns at once; stops the client after ``limit``."""

    def __init__(self, limit: int | None = None) -> None:
        self.delays: list[float] = []
        self.limit = limit
        self.client: StreamClient | None = None

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        if self.limit is not None and len(self.delays) >= self.limit and self.client is not None:
            self.client.stop()
        await asyncio.sleep(0)


def make(
    cls: type[StreamClient],
    url: str,
    rec: Recorder,
    sleeps: Sleeps | None = None,
    clock: Callable[[], float] | None = None,
    **kw: Any,
) -> StreamClient:
    sleeps = sleeps or Sleeps()
    c = cls(
        url,
        rec,
        clock=clock or (lambda: NOW),
        sleep=sleeps,
        rng=random.Random(1),
        proxy=None,
        poll=0.01,
        **kw,
    )
    sleeps.client = c
    return c


async def until(cond: Callable[[], bool], limit: float = 5.0) -> None:
    """Yield to the other tasks until ``cond()`` holds (a safety limit, never a timed wait)."""
    async with asyncio.timeout(limit):
        while not cond():  # noqa: ASYNC110 - a condition other tasks make true
            await asyncio.sleep(0.002)


async def run_until(client: StreamClient, cond: Callable[[], bool]) -> None:
    task = asyncio.create_task(client.run())
    try:
        await until(cond)
    finally:
        client.stop()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_bybit_replays_recorded_frames_fast() -> None:
    frames = recorded(fixture_text("bybit/allLiquidation_stream.jsonl"))
    async with FakeVenue(frames, style="bybit", repeat=500) as venue:
        rec = Recorder()
        c = make(bybit.BybitStream, venue.url, rec)
        await run_until(c, lambda: len(rec.events) >= 2000)
    assert len(rec.events) == 2000 and rec.frames == 1500
    # one subscribe request per topic; both acked
    subs = [json.loads(m) for m in venue.received if '"subscribe"' in m]
    assert [s["args"] for s in subs] == [["allLiquidation.BTCUSDT"], ["allLiquidation.BTCPERP"]]
    assert c.health.acks == 2 and c.health.pongs == 500 and c.health.connected is False  # stopped
    assert c.health.up and c.stats.frames == 2002  # acks and pongs are frames too, never events


async def test_bybit_symbol_not_listed_is_logged_and_the_rest_flows(caplog: pytest.LogCaptureFixture) -> None:
    frames = recorded(fixture_text("bybit/allLiquidation_stream.jsonl"))
    async with FakeVenue(frames, style="bybit", refuse_topics=["allLiquidation.BTCPERP"]) as venue:
        rec = Recorder()
        c = make(bybit.BybitStream, venue.url, rec)
        with caplog.at_level(logging.WARNING):
            await run_until(c, lambda: len(rec.events) >= 4)
    assert c.health.errors == 1 and any("BTCPERP" in r.getMessage() for r in caplog.records)
    assert c.health.up  # the stream counted as up with the topics it has


async def test_reconnects_after_the_server_drops_the_connection() -> None:
    frames = [line for line in fixture_text("binance/forceOrder_stream.jsonl").splitlines() if line]
    async with FakeVenue(frames, style="binance", drop_after={1: 2}) as venue:
        rec = Recorder()
        sleeps = Sleeps()
        c = make(binance.BinanceStream, venue.url, rec, sleeps)
        await run_until(c, lambda: venue.done.is_set() and len(rec.events) >= 5)
    # 2 frames (1 BTC event) on the first connection, all 6 (4 BTC events) on the second
    assert venue.connections == 2 and len(rec.events) == 5
    assert c.health.reconnects == 1 and len(sleeps.delays) == 1 and 0 < sleeps.delays[0] <= 1.0
    assert "code 1011" in (c.health.last_error or "")
    assert len(c.health.up) == 2  # two up intervals: a gap between them


async def test_malformed_frames_and_unknown_symbols_are_skipped() -> None:
    good = recorded(fixture_text("okx/liquidation_orders_stream.jsonl"))
    frames = [
        "{not json",
        good[0],
        "[1,2]",
        '{"arg":{"channel":"liquidation-orders","instFamily":"BTC-USDT"},"data":"oops"}',
        good[1],
        good[2],
    ]
    async with FakeVenue(frames, style="okx") as venue:
        rec = Recorder()
        c = make(okx.OkxStream, venue.url, rec)
        await run_until(c, lambda: venue.done.is_set() and c.stats.frames >= 7)
    assert len(rec.events) == 2 and c.stats.malformed == 3 and c.stats.other_symbols == 1
    assert c.health.connected is False and c.health.reconnects == 0


async def test_ack_only_stream_is_healthy_and_quiet() -> None:
    async with FakeVenue([], style="okx") as venue:
        rec = Recorder()
        c = make(okx.OkxStream, venue.url, rec)
        await run_until(c, lambda: c.health.connected)
        assert rec.events == [] and c.health.acks == 1 and c.health.last_frame == NOW


async def test_okx_pings_when_idle_and_skips_the_pong() -> None:
    t = {"now": NOW}
    async with FakeVenue([], style="okx") as venue:
        rec = Recorder()
        c = make(okx.OkxStream, venue.url, rec, clock=lambda: t["now"])

        def idle_then_ponged() -> bool:
            if c.health.connected and t["now"] == NOW:
                t["now"] = NOW + 30  # 30 s without a frame: the client pings at once
            return c.health.pongs >= 1

        await run_until(c, idle_then_ponged)
    assert "ping" in venue.received and c.health.pongs == 1 and rec.events == []


async def test_no_pong_means_a_dead_stream() -> None:
    t = {"now": NOW}
    async with FakeVenue([], style="okx", answer_pings=False) as venue:
        rec = Recorder()
        sleeps = Sleeps(limit=1)
        c = make(okx.OkxStream, venue.url, rec, sleeps, clock=lambda: t["now"])
        task = asyncio.create_task(c.run())
        await until(lambda: c.health.connected)
        t["now"] += 30  # idle: ping
        await until(lambda: "ping" in venue.received)
        t["now"] += 30  # still no pong
        await asyncio.wait_for(task, 5)
    assert c.health.last_error == "no pong to our ping" and sleeps.delays


async def test_binance_reconnects_before_the_24h_limit() -> None:
    frames = [line for line in fixture_text("binance/forceOrder_stream.jsonl").splitlines() if line]
    t = {"now": NOW}
    async with FakeVenue(frames, style="binance") as venue:
        rec = Recorder()
        sleeps = Sleeps()
        c = make(binance.BinanceStream, venue.url, rec, sleeps, clock=lambda: t["now"])

        def aged() -> bool:
            if venue.connections == 1 and len(rec.events) >= 4:
                t["now"] = NOW + 24 * 3600  # the connection is now a day old
            return venue.connections >= 2 and len(rec.events) >= 8

        await run_until(c, aged)
    assert sleeps.delays == []  # a planned reconnect, no backoff
    assert c.health.reconnects == 1


async def test_geo_blocked_venue_is_reported_once_and_not_retried(caplog: pytest.LogCaptureFixture) -> None:
    async with FakeVenue([], style="binance", status=451) as venue:
        rec = Recorder()
        sleeps = Sleeps()
        c = make(binance.BinanceStream, venue.url, rec, sleeps)
        with caplog.at_level(logging.WARNING):
            await asyncio.wait_for(c.run(), 5)  # returns by itself
    assert c.health.unavailable is not None and "451" in c.health.unavailable
    assert sleeps.delays == [] and venue.connections == 0
    assert sum("unavailable" in r.getMessage() for r in caplog.records) == 1


async def test_refused_connection_retries_with_growing_jittered_backoff() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    rec = Recorder()
    sleeps = Sleeps(limit=6)
    c = make(bybit.BybitStream, f"ws://127.0.0.1:{port}/", rec, sleeps, backoff_base=1.0, backoff_max=8.0)
    await asyncio.wait_for(c.run(), 5)
    assert len(sleeps.delays) == 6 and all(0 < d <= 8.0 for d in sleeps.delays)
    caps = [min(8.0, 2 ** (i)) for i in range(6)]
    assert all(d <= cap for d, cap in zip(sleeps.delays, caps, strict=True))
    assert c.health.unavailable is None and c.health.last_error == "connection refused"


async def test_a_downtime_fill_that_fails_with_the_outage_adds_no_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With no network the OKX stream's "stream down" is the outage's one WARNING; the REST fill of
    the minutes before the start fails with it and says so at INFO (it was a second WARNING)."""
    from datetime import UTC, datetime

    import httpx

    from signals.sources.base import SourceContext
    from signals.sources.http import single_try
    from signals.sources.liquidations import fill_downtime

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)

    async def no_sleep(_s: float) -> None:
        return None

    now = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    caplog.set_level(logging.DEBUG)
    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client:
        ctx = SourceContext(client=client, now=lambda: now, settings=None, reader=None, sleep=no_sleep)  # type: ignore[arg-type]
        with single_try():  # no back-off waits in a test
            batch = await fill_downtime(ctx, now, ["okx"])
    assert not batch.rows
    said = [r for r in caplog.records if "could not fill the downtime" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.INFO, [(r.levelno, r.getMessage()) for r in said]
