"""Stream faults: the real Bybit, Binance and OKX clients against a local venue that drops them.

:class:`FlappingVenue` (``websockets.serve`` on 127.0.0.1) answers subscriptions the way each
venue does and sends liquidation frames one simulated second apart, closing the connection every
few frames; on the next connection it goes on where it stopped (a venue never replays). Time is
simulated: the venue sets the clock to each frame's time, and the clients' backoff sleep (injected)
moves it by the delay. The service (:class:`bot.streams.StreamService`) is driven by the test
(evaluations and batches at chosen moments), not by its wall-clock timers.

Over minutes of frames: the client reconnects each time with a short backoff, health counts the
reconnects, every liquidation is counted exactly once (the book and the raw frames match what
was sent), nothing fires, and a flapping stream is a couple of log lines, not one per drop. A
venue that then refuses connections for longer than the stale limit raises one stale notice and
one recovery notice, never an alert.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path

import pytest
from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from bot.clock import SimClock
from bot.config import load_settings
from bot.runner import App
from bot.sinks.console import ConsoleSink
from bot.streams import StreamService, service_of
from signals.sources import binance, bybit, okx
from signals.sources._wsclient import StreamClient
from storage import alerts as alert_repo
from storage import liq_raw
from tests.conftest import fixture_text
from tests.signals.sources.wsfake import FakeVenue, recorded

T0 = 1795185000.0  # 2026-11-20 08:30 UTC, the minute of the recorded frames
PRICE = 85000.0


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def at_least(self, t: float) -> None:
        self.t = max(self.t, t)


def bybit_frame(ts_ms: int, size: float) -> str:
    d = json.loads(recorded(fixture_text("bybit/allLiquidation_stream.jsonl"))[0])
    d["ts"] = ts_ms + 300
    d["data"] = [{"T": ts_ms, "s": "BTCUSDT", "S": "Buy", "v": f"{size:.3f}", "p": f"{PRICE:.2f}"}]
    return json.dumps(d, separators=(",", ":"))


def binance_frame(ts_ms: int, size: float) -> str:
    d = json.loads(fixture_text("binance/forceOrder_stream.jsonl").splitlines()[0])
    d["E"] = ts_ms + 4
    d["o"].update(
        q=f"{size:.3f}", z=f"{size:.3f}", l=f"{size:.3f}", p=f"{PRICE:.2f}", ap=f"{PRICE:.2f}", T=ts_ms
    )
    return json.dumps(d, separators=(",", ":"))


def okx_frame(ts_ms: int, size: float) -> str:
    d = json.loads(recorded(fixture_text("okx/liquidation_orders_stream.jsonl"))[0])
    det = d["data"][0]["details"][0]
    det.update(sz=str(round(size / 0.01)), bkPx=f"{PRICE:.1f}", ts=str(ts_ms))  # contracts of 0.01 BTC
    return json.dumps(d, separators=(",", ":"))


@dataclass(frozen=True)
class Venue:
    style: str
    client: type[StreamClient]
    frame: Callable[[int, float], str]


VENUES = {
    "bybit": Venue("bybit", bybit.BybitStream, bybit_frame),
    "binance": Venue("binance", binance.BinanceStream, binance_frame),
    "okx": Venue("okx", okx.OkxStream, okx_frame),
}


class FlappingVenue(FakeVenue):
    """Sends ``frames`` (time, text) in order across connections, closing each connection after
    ``every(n)`` frames (n: the connection's number; None: never); after the first close, the next
    ``outage`` handshakes are refused with HTTP 503."""

    def __init__(
        self,
        frames: list[tuple[float, str]],
        style: str,
        clock: Clock,
        every: Callable[[int], int | None],
        outage: int = 0,
    ) -> None:
        super().__init__([f for _t, f in frames], style=style)
        self.timed = frames
        self.clock = clock
        self.every = every
        self.cursor = 0
        self.outage = outage
        self.refusing = 0
        self.refused_at: list[float] = []
        self.finished = asyncio.Event()

    def _process(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.refusing > 0:
            self.refusing -= 1
            self.refused_at.append(self.clock())
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "maintenance\n")
        return None

    async def _handler(self, ws: ServerConnection) -> None:
        self.connections += 1
        n = self.connections
        subscribed = asyncio.Event()
        expected = [0 if self.style == "binance" else (2 if self.style == "bybit" else 1)]
        if self.style == "binance":
            subscribed.set()
        answer = asyncio.create_task(self._answer(ws, subscribed, expected))
        try:
            await asyncio.wait_for(subscribed.wait(), 5)
            limit, sent = self.every(n), 0
            while self.cursor < len(self.timed):
                t, frame = self.timed[self.cursor]
                self.clock.at_least(t)
                await ws.send(frame)
                self.cursor += 1
                self.sent += 1
                sent += 1
                if limit is not None and sent >= limit:
                    if n == 1:
                        self.refusing = self.outage
                    await ws.close(1011, "going away")  # frames sent before the close arrive first
                    return
            self.finished.set()
            await ws.wait_closed()
        finally:
            answer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await answer


async def until(cond: Callable[[], bool], limit: float = 20.0) -> None:
    """Yield to the other tasks until ``cond()`` holds (a safety limit, never a timed wait)."""
    async with asyncio.timeout(limit):
        while not cond():  # noqa: ASYNC110 - a condition other tasks make true
            await asyncio.sleep(0.001)


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    settings = load_settings(env={"FLOWWATCH_DB": str(tmp_path / "streams.db")}, dotenv=None)
    a = App(
        settings,
        clock=SimClock(datetime.fromtimestamp(T0, tz=UTC)),
        sinks=[ConsoleSink(stream=io.StringIO(), fmt="jsonl")],
    )
    await a.start(schedule=False, initial_poll=False)
    yield a
    await a.stop()


@pytest.mark.parametrize("venue_name", sorted(VENUES))
async def test_a_stream_that_drops_every_few_seconds_for_minutes(
    venue_name: str, app: App, caplog: pytest.LogCaptureFixture
) -> None:
    venue = VENUES[venue_name]
    minutes, every = 12, 5  # a drop every 5 s for 12 min: 144 drops
    frames = [(T0 + i + 0.5, venue.frame(int((T0 + i) * 1000), 0.01)) for i in range(minutes * 60)]
    clock = Clock(T0)
    sleeps: list[float] = []

    async def backoff(delay: float) -> None:  # simulated time passes; the loop gets a turn
        sleeps.append(delay)
        clock.t += delay
        await asyncio.sleep(0)

    caplog.set_level(logging.INFO)
    async with FlappingVenue(frames, venue.style, clock, lambda n: every) as server:
        url = server.url if venue_name == "binance" else server.url.replace("/market/ws/!forceOrder@arr", "/")
        client = venue.client(
            url, lambda *a: None, clock=clock, sleep=backoff, rng=random.Random(7), proxy=None, poll=0.01
        )
        svc = service_of(app, "btc_liq", streams=[client], clock=clock, stale_after=300)
        svc.start_clock()
        await svc.warm()
        client.on_events = svc.on_events
        task = asyncio.create_task(client.run())
        try:
            last_flush = clock.t
            while not server.finished.is_set():
                await until(lambda last=last_flush: server.finished.is_set() or clock.t - last >= 30)
                await svc.evaluate()
                await svc.flush()
                last_flush = clock.t
            await until(lambda: client.stats.events >= len(frames))
            await svc.evaluate()
            await svc.flush(final=True)
        finally:
            client.stop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    drops = len(frames) // every
    assert server.connections == drops + 1  # the last one finds nothing more to send
    assert client.health.reconnects == server.connections - 1
    assert len(sleeps) == server.connections - 1 and max(sleeps) <= 1.0, sleeps[
        :10
    ]  # a short backoff each time
    # every liquidation counted once: the book and the kept frames hold exactly what was sent
    sent_usd = 0.01 * PRICE * len(frames)
    long_usd, short_usd = svc.model.book.sides(int(T0) - 60, int(T0) + minutes * 60 + 120)
    assert long_usd + short_usd == pytest.approx(sent_usd)
    raw = await app.store.call(liq_raw.read, 0, 2**62)
    assert len(raw) == len(frames) and len({f for _v, f in raw}) == len(frames)
    assert (
        await app.store.call(alert_repo.list_alerts, "live", None, None, None, None) == []
    )  # no alert, no notice
    loud = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert 1 <= len(loud) <= 3, loud  # a flapping stream is a couple of lines, not one per drop
    assert all(client.name in line for line in loud), loud


@pytest.mark.parametrize("venue_name", sorted(VENUES))
async def test_a_venue_down_past_the_stale_limit_notices_once_and_recovers(
    venue_name: str, app: App, caplog: pytest.LogCaptureFixture
) -> None:
    venue = VENUES[venue_name]
    frames = [(T0 + i + 0.5, venue.frame(int((T0 + i) * 1000), 0.01)) for i in range(20)]
    clock = Clock(T0)
    svc: StreamService | None = None

    async def backoff(delay: float) -> None:  # time passes, and the service's tick evaluates
        clock.t += delay
        if svc is not None:
            await svc.evaluate()

    caplog.set_level(logging.INFO)
    # the first connection drops after 10 frames, then the venue refuses 17 connections
    async with FlappingVenue(
        frames, venue.style, clock, lambda n: 10 if n == 1 else None, outage=17
    ) as server:
        url = server.url if venue_name == "binance" else server.url.replace("/market/ws/!forceOrder@arr", "/")
        client = venue.client(
            url, lambda *a: None, clock=clock, sleep=backoff, rng=random.Random(7), proxy=None, poll=0.01
        )
        svc = service_of(app, "btc_liq", streams=[client], clock=clock, stale_after=120)
        svc.start_clock()
        await svc.warm()
        client.on_events = svc.on_events
        task = asyncio.create_task(client.run())
        try:
            await until(lambda: client.stats.events >= len(frames) and client.health.connected)
            await svc.evaluate()
        finally:
            client.stop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert (
        len(server.refused_at) == 17 and server.refused_at[-1] - server.refused_at[0] > 120
    )  # past the stale limit
    notices = await app.store.call(alert_repo.list_alerts, "live", None, None, None, "notice")
    assert [(n.key, n.event) for n in notices] == [
        (f"stale:{venue_name}", "fired"),
        (f"stale:{venue_name}", "resolved"),
    ]
    assert "HTTP 503" in notices[0].summary, notices[0].summary
    assert await app.store.call(alert_repo.list_alerts, "live") == []
    loud = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(loud) == 2 and "1011" in loud[0] and "HTTP 503" in loud[1], loud  # the drop, the outage
    assert client.stats.events == len(frames)


def hostile(venue_name: str, i: int, ts_ms: int) -> str:
    """Bad frames of each kind the venues could send: not JSON, NaN size, negative price, a
    time an hour ahead, a size whose USD value overflows."""
    good = VENUES[venue_name].frame(ts_ms, 0.01)
    kind = i % 5
    if kind == 0:
        return good[:-2]  # not JSON (a frame is atomic on the wire, but a venue can send garbage)
    field = {
        "bybit": ('"v":"0.010"', '"p":"85000.00"', '"T":'),
        "binance": ('"z":"0.010"', '"p":"85000.00"', '"T":'),
        "okx": ('"sz":"1"', '"bkPx":"85000.0"', '"ts":"'),
    }[venue_name]
    if kind == 1:
        return good.replace(field[0], field[0].split(":")[0] + ':"NaN"').replace('"q":"0.010"', '"q":"NaN"')
    if kind == 2:
        return good.replace(field[1], field[1].split(":")[0] + ':"-85000"').replace(
            '"ap":"85000.00"', '"ap":"-85000"'
        )
    if kind == 3:
        return good.replace(str(ts_ms), str(ts_ms + 3_600_000))
    return good.replace(field[0], field[0].split(":")[0] + ':"1e308"').replace('"q":"0.010"', '"q":"1e308"')


@pytest.mark.parametrize("venue_name", sorted(VENUES))
async def test_hostile_frames_on_the_wire_count_for_nothing(
    venue_name: str, app: App, caplog: pytest.LogCaptureFixture
) -> None:
    venue = VENUES[venue_name]
    frames = []
    for i in range(100):  # good and bad frames interleaved, one simulated second apart
        ts_ms = int((T0 + i) * 1000)
        frames.append(
            (T0 + i + 0.5, venue.frame(ts_ms, 0.01) if i % 2 else hostile(venue_name, i // 2, ts_ms))
        )
    clock = Clock(T0)
    caplog.set_level(logging.INFO)
    async with FlappingVenue(frames, venue.style, clock, lambda n: None) as server:
        url = server.url if venue_name == "binance" else server.url.replace("/market/ws/!forceOrder@arr", "/")
        client = venue.client(url, lambda *a: None, clock=clock, rng=random.Random(7), proxy=None, poll=0.01)
        svc = service_of(app, "btc_liq", streams=[client], clock=clock)
        svc.start_clock()
        await svc.warm()
        client.on_events = svc.on_events
        task = asyncio.create_task(client.run())
        try:
            await until(lambda: server.finished.is_set() and client.stats.events >= 50)
            await svc.evaluate()
            clock.t += 60
            await svc.flush()
        finally:
            client.stop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert client.stats.events == 50 and client.stats.malformed + client.stats.rejected == 50, client.stats
    long_usd, short_usd = svc.model.book.sides(int(T0) - 60, int(T0) + 300)
    assert long_usd + short_usd == pytest.approx(50 * 0.01 * PRICE)
    assert await app.store.call(alert_repo.list_alerts, "live", None, None, None, None) == []
    loud = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(loud) == 1 and "skipped 10 malformed frame(s) and 40 bad liquidation(s)" in loud[0], loud
