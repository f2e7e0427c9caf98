"""The live btc_liq service: frames → in-memory windows → engine → outbox; batching; health."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.clock import SimClock
from bot.config import load_settings
from bot.runner import App
from bot.sinks.console import ConsoleSink
from bot.streams import StreamService, service_of
from signals.sources import bybit, okx
from signals.sources._wsclient import ParseStats, StreamClient
from storage import alerts as alert_repo
from storage import liq_raw, meta
from tests.conftest import fixture_text
from tests.signals.sources.wsfake import FakeVenue, recorded

T0 = 1795185000.0  # 2026-11-20 08:30 UTC, the minute of the recorded frames
#: a new install's floors for a thin test market: no baseline yet, so the floor stands in for
#: normal (a watch at k_watch x, an alert at k_severe x the floor: $0.3M and $1M in 5 minutes)
LOW = {
    "FLOWWATCH_BTC_LIQ_FLOOR_5M": "0.1",
    "FLOWWATCH_BTC_LIQ_FLOOR_1H": "0.2",
    "FLOWWATCH_BTC_LIQ_FLOOR_4H": "0.4",
    "FLOWWATCH_BTC_LIQ_FLOOR_24H": "0.8",
}


def bybit_frame(ts_ms: int, *items: tuple[str, float]) -> str:
    """A frame shaped exactly like the recorded Bybit stream, with our sides and sizes."""
    template = json.loads(recorded(fixture_text("bybit/allLiquidation_stream.jsonl"))[0])
    template["ts"] = ts_ms + 300
    template["data"] = [
        {"T": ts_ms + i, "s": "BTCUSDT", "S": side, "v": f"{size:.3f}", "p": "85000.00"}
        for i, (side, size) in enumerate(items)
    ]
    return json.dumps(template, separators=(",", ":"))


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    settings = load_settings(
        env={"FLOWWATCH_DB": str(tmp_path / "live.db"), "FLOWWATCH_LIQ_RETENTION_DAYS": "1", **LOW},
        dotenv=None,
    )
    out = io.StringIO()
    a = App(
        settings,
        clock=SimClock(datetime.fromtimestamp(T0, tz=UTC)),
        sinks=[ConsoleSink(stream=out, fmt="jsonl")],
    )
    await a.start(schedule=False, initial_poll=False)  # a simulated clock: the stream service stays off
    a.console_out = out  # type: ignore[attr-defined]
    yield a
    await a.stop()


def feed(svc: StreamService, client: StreamClient, frame: str) -> None:
    p = client.parse(frame)
    svc.on_events(p.events, 0.0, frame)


async def alerts(app: App, kind: str | None = "alert") -> list[alert_repo.StoredAlert]:
    return await app.store.call(alert_repo.list_alerts, "live", "btc_liq", None, None, kind)


async def service(app: App, clock: Clock, **kw: Any) -> tuple[StreamService, StreamClient]:
    client = bybit.BybitStream("ws://unused", lambda *a: None, clock=clock)
    svc = service_of(app, "btc_liq", streams=[client], clock=clock, **kw)
    svc.start_clock()
    await svc.warm()
    client.health.mark_up(clock())
    return svc, client


async def test_a_cascade_fires_grows_in_place_and_resolves(app: App) -> None:
    clock = Clock(T0 + 5)
    svc, c = await service(app, clock)
    feed(svc, c, bybit_frame(int(T0 * 1000) + 1000, ("Buy", 0.5)))
    await svc.evaluate()
    assert await alerts(app) == []
    clock.t = T0 + 65
    feed(svc, c, bybit_frame(int(T0 * 1000) + 61000, ("Buy", 8.0), ("Sell", 1.0)))  # $0.8M: watch
    await svc.evaluate()
    clock.t = T0 + 70
    feed(svc, c, bybit_frame(int(T0 * 1000) + 66000, ("Buy", 20.0)))  # $2.5M in 5 min: alert
    await svc.evaluate()
    clock.t = T0 + 72
    feed(svc, c, bybit_frame(int(T0 * 1000) + 71000, ("Buy", 0.1)))  # a little more: no event
    await svc.evaluate()
    clock.t = T0 + 80
    feed(svc, c, bybit_frame(int(T0 * 1000) + 79000, ("Buy", 25.0)))  # the total grows past 1.5x
    await svc.evaluate()
    clock.t = T0 + 80 + 20 * 60  # twenty quiet minutes (the tick evaluates without frames)
    await svc.evaluate()
    evs = await alerts(app)
    assert [e.event for e in evs] == ["fired", "escalated", "updated", "resolved"]
    assert [e.level for e in evs] == ["watch", "alert", "alert", "ok"]
    assert len({e.episode for e in evs}) == 1
    # 9.5 BTC, then 29.5, then 54.6 at $85,000
    assert [round(e.value or 0, 4) for e in evs] == [0.8075, 2.5075, 4.641, 4.641]
    assert evs[2].fields["Cascade total"].startswith("$4.6M") and evs[2].data["total_usd"] == pytest.approx(
        4.641e6
    )
    assert "Cascade over: $4.6M" in evs[3].summary and evs[3].duration_s == 20 * 60 + 15
    assert "venues: Bybit" in evs[0].summary
    assert svc.sends < svc.evaluations  # readings that change nothing stay in memory


async def test_batches_write_buckets_zeros_raw_events_and_health(app: App) -> None:
    clock = Clock(T0 + 5)
    svc, c = await service(app, clock)
    feed(svc, c, bybit_frame(int(T0 * 1000) + 1000, ("Buy", 1.0), ("Sell", 2.0)))
    clock.t = T0 + 185  # three minutes later, quiet since
    await svc.evaluate()
    rows = await svc.flush()
    got = await app.store.call(
        lambda db: db.execute(
            "SELECT series, ts, value FROM observations WHERE series LIKE 'liq.btc.%' ORDER BY ts, series"
        ).fetchall()
    )
    assert ("liq.btc.bybit.long_usd.1m", int(T0), 85000.0) in got
    assert ("liq.btc.bybit.short_usd.1m", int(T0), 170000.0) in got
    assert ("liq.btc.bybit.long_usd.1m", int(T0) + 60, 0.0) in got  # a quiet minute is data
    assert rows == len(got) == 8
    raw = await app.store.call(liq_raw.read, 0, 2**62)
    assert raw == [("bybit", bybit_frame(int(T0 * 1000) + 1000, ("Buy", 1.0), ("Sell", 2.0)))]
    again = c.parse(raw[0][1]).events  # the kept frames rebuild the liquidations
    assert [(e[3], e[4], e[6]) for e in again] == [(0, 1.0, 85000.0), (1, 2.0, 170000.0)]
    health = await app.store.call(meta.get, "source:bybit")
    assert health["connected"] is True and health["venue"] == "bybit"
    # a late event for a written minute rewrites that minute
    feed(svc, c, bybit_frame(int(T0 * 1000) + 2000, ("Buy", 1.0)))
    await svc.flush()
    v = await app.store.call(
        lambda db: db.execute(
            "SELECT value FROM observations WHERE series = 'liq.btc.bybit.long_usd.1m' AND ts = ?", [int(T0)]
        ).fetchone()[0]
    )
    assert v == 170000.0
    # retention: a day
    clock.t = T0 + 2 * 86400
    assert await svc.prune() == 2  # frames


async def test_a_batch_commits_its_buckets_and_raw_frames_together(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that dies before the raw frames are in leaves no buckets either (and the next
    flush writes them): never committed buckets whose frames are missing from the audit."""
    clock = Clock(T0 + 5)
    svc, c = await service(app, clock)
    feed(svc, c, bybit_frame(int(T0 * 1000) + 1000, ("Buy", 1.0)))
    clock.t = T0 + 65

    def dies(db: Any, batch: liq_raw.RawBatch) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(liq_raw, "insert_batch", dies)
    with pytest.raises(sqlite3.OperationalError):
        await svc.flush()

    def stored(db: Any) -> tuple[int, int]:
        buckets = db.execute("SELECT COUNT(*) FROM observations WHERE series LIKE 'liq.btc.%'").fetchone()[0]
        frames = db.execute("SELECT COUNT(*) FROM liq_raw").fetchone()[0]
        return buckets, frames

    assert await app.store.call(stored) == (0, 0)
    monkeypatch.undo()
    feed(svc, c, bybit_frame(int(T0 * 1000) + 61000, ("Sell", 1.0)))
    clock.t = T0 + 125
    await svc.flush()
    buckets, frames = await app.store.call(stored)
    assert buckets == 6 and frames == 1  # minutes T0 .. T0+120, long and short; this batch's frame


async def test_a_stream_down_too_long_raises_a_stale_notice_and_a_recovery(app: App) -> None:
    clock = Clock(T0 + 5)
    svc, c = await service(app, clock, stale_after=300)
    c.health.mark_down(T0 + 10, "closed by the venue (code 1011)")
    clock.t = T0 + 200
    await svc.evaluate()
    assert await alerts(app, "notice") == []
    clock.t = T0 + 320
    await svc.evaluate()
    (down,) = await alerts(app, "notice")
    assert (
        down.key == "stale:bybit"
        and down.event == "fired"
        and "Bybit liquidation stream down for 5 min" in down.summary
    )
    c.health.mark_up(T0 + 400)
    clock.t = T0 + 401
    await svc.evaluate()
    notes = await alerts(app, "notice")
    assert [n.event for n in notes] == ["fired", "resolved"]
    # the gap is data: seconds down in each minute while flowwatch ran
    clock.t = T0 + 500
    await svc.flush()
    gaps = await app.store.call(
        lambda db: db.execute(
            "SELECT ts, value FROM observations WHERE series = 'liq.btc.bybit.gap_s.1m' ORDER BY ts"
        ).fetchall()
    )
    assert gaps[0] == (int(T0), 50.0) and (int(T0) + 300, 60.0) in gaps and gaps[-1] == (int(T0) + 360, 40.0)


async def test_an_unavailable_venue_raises_no_notice(app: App) -> None:
    clock = Clock(T0 + 5)
    svc, c = await service(app, clock, stale_after=60)
    c.health.mark_down(T0 + 5, None)
    c.health.unavailable = "HTTP 451 at the handshake"
    clock.t = T0 + 3600
    await svc.evaluate()
    assert await alerts(app, "notice") == []


async def test_a_restart_continues_the_cascade(app: App) -> None:
    clock = Clock(T0 + 65)
    svc, c = await service(app, clock)
    feed(svc, c, bybit_frame(int(T0 * 1000) + 61000, ("Buy", 30.0)))
    await svc.evaluate()
    await svc.flush()
    assert [e.event for e in await alerts(app)] == ["fired"]
    clock.t = T0 + 90
    svc2, c2 = await service(app, clock)
    assert svc2.model.tracker.run is not None
    assert svc2.model.book.sides(int(T0), int(T0) + 120) == pytest.approx((30 * 85000.0, 0.0))
    feed(svc2, c2, bybit_frame(int(T0 * 1000) + 89000, ("Buy", 1.0)))
    await svc2.evaluate()
    clock.t = T0 + 100
    feed(svc2, c2, bybit_frame(int(T0 * 1000) + 99000, ("Buy", 20.0)))
    await svc2.evaluate()
    assert [e.event for e in await alerts(app)] == ["fired", "updated"]


async def test_streamed_signals_are_left_to_their_service(app: App) -> None:
    seen: list[list[str]] = []
    real = app.pipeline.evaluate

    def spy(db: Any, ids: Any, now: datetime) -> Any:
        seen.append(list(ids))
        return real(db, ids, now)

    app.pipeline.evaluate = spy  # type: ignore[method-assign]
    app.streaming.add("btc_liq")
    assert await app.evaluate(["btc_liq", "vix_term"])
    assert seen == [["vix_term"]]


async def test_the_real_clients_end_to_end(app: App) -> None:
    """Local venues: Bybit replays a cascade, OKX acks and stays quiet, Binance is geo-blocked."""
    t_ms = int(T0 * 1000) + 20000
    frames = [bybit_frame(t_ms + k * 100, ("Buy", 0.4), ("Sell", 0.02)) for k in range(200)]  # $70M a minute
    clock = Clock(T0 + 40)
    sleeps: list[float] = []

    async def no_wait(d: float) -> None:
        sleeps.append(d)
        await asyncio.sleep(0)

    async with (
        FakeVenue(frames, style="bybit") as by,
        FakeVenue([], style="bybit") as by_inv,
        FakeVenue([], style="okx") as ok,
        FakeVenue([], style="binance", status=451) as bn,
    ):
        svc = service_of(
            app,
            "btc_liq",
            venues=["bybit", "binance", "okx"],
            urls={"bybit": by.url, "bybit_inverse": by_inv.url, "okx": ok.url, "binance": bn.url},
            clock=clock,
            stream_kwargs={"proxy": None, "sleep": no_wait, "poll": 0.01},
            tick=0.05,
            flush_every=0.05,
        )
        task = asyncio.create_task(app.run_stream(svc))
        await until(lambda: svc.streams[0].stats.events >= 400)
        assert "btc_liq" in app.streaming  # polled evaluation leaves it to the service
        await until_async(lambda: _has_alert(app))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    evs = await alerts(app)
    # a new install (no baseline yet): $70M a minute is an alert by its floor; a record (severe)
    # needs history
    assert evs[0].event == "fired" and "alert" in {e.level for e in evs}
    assert svc.latencies and max(svc.latencies) < 5
    binance = await app.store.call(meta.get, "source:binance")
    assert (binance["unavailable"].startswith("HTTP 451") and sleeps == []) or all(s >= 0 for s in sleeps)
    okx_rows = await app.store.call(
        lambda db: db.execute(
            "SELECT COUNT(*) FROM observations WHERE series = 'liq.btc.okx.long_usd.1m'"
        ).fetchone()[0]
    )
    assert okx_rows >= 1  # the quiet venue still covers its minutes
    assert await alerts(app, "notice") == []  # quiet is not down
    total = await app.store.call(
        lambda db: db.execute(
            "SELECT SUM(value) FROM observations WHERE series LIKE 'liq.btc.bybit.%_usd.1m'"
        ).fetchone()[0]
    )
    assert total == pytest.approx(200 * 0.42 * 85000.0)
    assert "btc_liq" not in app.streaming  # released on shutdown
    app.clock.set(datetime.fromtimestamp(clock.t + 1, tz=UTC))  # type: ignore[attr-defined]
    await app.dispatcher.drain_once()
    assert '"signal": "btc_liq"' in app.console_out.getvalue()  # type: ignore[attr-defined]


async def _has_alert(app: App) -> bool:
    return any(e.level == "alert" for e in await alerts(app))


async def until(cond: Callable[[], bool], limit: float = 10.0) -> None:
    async with asyncio.timeout(limit):
        while not cond():  # noqa: ASYNC110 - a condition other tasks make true
            await asyncio.sleep(0.005)


async def until_async(cond: Callable[[], Any], limit: float = 10.0) -> None:
    async with asyncio.timeout(limit):
        while not await cond():  # noqa: ASYNC110 - polling the outbox the service writes
            await asyncio.sleep(0.005)


def test_parse_stats_are_per_stream() -> None:
    a, b = bybit.BybitStream("ws://x", lambda *a: None), bybit.BybitStream("ws://y", lambda *a: None)
    a.parse("{oops")
    assert a.stats.malformed == 1 and b.stats == ParseStats()


async def test_okx_downtime_is_filled_from_rest_at_start(tmp_path: Path) -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        if "after" in req.url.params or req.url.params["uly"] != "BTC-USDT":
            return httpx.Response(200, json={"code": "0", "data": [], "msg": ""})
        return httpx.Response(200, text=fixture_text("okx/liquidation_orders.json"))

    settings = load_settings(env={"FLOWWATCH_DB": str(tmp_path / "f.db")}, dotenv=None)
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    a = App(settings, clock=SimClock(datetime.fromtimestamp(T0, tz=UTC)), client=client, sinks=[])
    await a.start(schedule=False, initial_poll=False)
    try:
        # the stream was live for one minute before this start: that minute keeps its live value
        await a.store.call(
            lambda db: db.execute(
                "INSERT INTO observations VALUES ('liq.btc.okx.long_usd.1m', 1795185000, 5.0, 'okx'), "
                "('liq.btc.okx.short_usd.1m', 1795185000, 0.0, 'okx')"
            )
        )
        clock = Clock(1795185130.0)
        okx_client = okx.OkxStream("ws://unused", lambda *x: None, clock=clock)
        svc = service_of(a, "btc_liq", streams=[okx_client], clock=clock, fill_at_start=True)
        svc.start_clock()
        await svc.warm()
        assert await svc.fill_at_start() > 10
        rows = await a.store.call(
            lambda db: dict(
                db.execute(
                    "SELECT ts, value FROM observations WHERE series = 'liq.btc.okx.long_usd.1m'"
                ).fetchall()
            )
        )
        assert rows[1795185000] == 5.0  # live kept
        assert rows[1795185060] == pytest.approx(1.52 * 85702.4, abs=0.01)  # filled
        assert 1795185120 not in rows  # from the start on, the stream covers
        assert svc.model.book.sides(int(T0) - 3600, int(T0) + 120)[0] == pytest.approx(
            1.52 * 85702.4 + 5.0, abs=0.01
        )
    finally:
        await a.stop()
        await client.aclose()


async def test_latency_samples_are_bounded(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bot that runs for months keeps the latest samples, not one per alert ever written."""
    import bot.streams

    monkeypatch.setattr(bot.streams, "LATENCY_SAMPLES", 2)
    clock = Clock(T0 + 65)
    svc, c = await service(app, clock)
    for k, size in enumerate((8.0, 20.0, 45.0)):  # fired, escalated, updated: an alert write each
        clock.t = T0 + 65 + 5 * k
        feed(svc, c, bybit_frame(int(clock.t * 1000) - 1000, ("Buy", size)))
        await svc.evaluate()
    assert [e.event for e in await alerts(app)] == ["fired", "escalated", "updated"]
    assert len(svc.latencies) == 2


async def test_the_periodic_helpers_wait_with_the_injected_sleep(app: App) -> None:
    """Ticks, flushes and refreshes pass on the service's own sleep (a simulated clock in tests)."""
    clock = Clock(T0 + 5)
    waits: list[float] = []
    gate = asyncio.Event()

    async def sim_sleep(d: float) -> None:
        waits.append(d)
        if len(waits) > 12:
            await gate.wait()  # enough: park every helper
        await asyncio.sleep(0)

    client = bybit.BybitStream("ws://unused", lambda *a: None, clock=clock)
    svc = service_of(
        app,
        "btc_liq",
        streams=[client],
        clock=clock,
        sleep=sim_sleep,
        tick=7.0,
        flush_every=11.0,
        refresh_every=13.0,
    )
    client.run = _forever  # type: ignore[method-assign]  # no venue: only the helpers run
    task = asyncio.create_task(svc.run())
    await until(lambda: len(waits) > 12)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert {7.0, 11.0, 13.0} <= set(waits)
    assert svc.evaluations >= 1  # the ticks kicked evaluations without frames


async def _forever() -> None:
    await asyncio.Event().wait()


async def test_a_full_disk_is_said_once_a_minute_and_nothing_is_lost(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    """The flusher and the evaluator logged a full traceback every 5 s each while the disk was
    full (about 570 lines in 90 s). Now: one line at once, one a minute; the rows are written
    once there is room again."""
    clock = Clock(T0 + 5)
    svc, c = await service(app, clock)

    async def tick(delay: float) -> None:  # simulated time: each of the service's waits passes it
        clock.t += delay
        app.clock.advance(timedelta(seconds=delay))  # type: ignore[attr-defined]
        if clock.t > T0 + 5 + 180:
            raise asyncio.CancelledError
        feed(svc, c, bybit_frame(int(clock.t * 1000), ("Buy", 0.01)))  # liquidations keep coming
        svc._kick.set()
        await asyncio.sleep(0)

    svc.sleep = tick
    failures = 0
    real_flush = svc.flush

    async def counted(final: bool = False) -> int:
        nonlocal failures
        try:
            return await real_flush(final)
        except Exception:
            failures += 1
            raise

    svc.flush = counted  # type: ignore[method-assign]
    # the database can no longer grow, as on a full disk (SQLITE_FULL)
    await app.store.call(
        lambda db: db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")
    )
    caplog.set_level(logging.DEBUG)
    evaluator = asyncio.create_task(svc._evaluator())
    with pytest.raises(asyncio.CancelledError):
        await svc._flusher()  # three simulated minutes of flushes every 5 s, all failing
    evaluator.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await evaluator
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not any(r.exc_info for r in loud), [r.getMessage() for r in loud]  # no tracebacks
    said = [r.getMessage() for r in loud if "cannot write the database" in r.getMessage()]
    # from the first minute's rows on, every flush (every 5 s) fails: said at once, then once a minute
    assert failures >= 10
    assert 2 <= len(said) <= 3 and len(loud) == len(said), [r.getMessage()[:200] for r in loud]
    svc.flush = real_flush  # type: ignore[method-assign]
    assert "disk is full" in said[0]
    # room again: the next flush writes every minute the full disk held back
    await app.store.call(lambda db: db.execute("PRAGMA max_page_count = 1073741823"))
    written = await svc.flush()
    assert written > 0
    assert "can be written again" in caplog.text
    rows = await app.store.call(
        lambda db: db.execute(
            "SELECT COUNT(DISTINCT ts) FROM observations WHERE series LIKE 'liq.btc.bybit.long_usd.1m'"
        ).fetchone()[0]
    )
    assert rows >= 3  # the minutes of the outage, kept in memory and written late
