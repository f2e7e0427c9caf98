"""btc_liq: stream ingest throughput and frame-to-alert latency.

``ingest.btc_liq.frames`` and ``ingest.btc_liq.events`` (one metric id each, frames/s and
events/s): recorded-format frames (Bybit batches, Binance single liquidations, OKX pushes, with
other coins mixed in as on the real streams) parsed by the venue clients, normalised, bucketed
into the live book and persisted (1-minute buckets and raw events) to an on-disk SQLite
database through the store thread, in the service's own batches. ``limit`` is the floor: the same
JSON parser (``json.loads``) on the same frames alone. Goal: at least 0.5x the floor and at least
100,000 frames/s.

``latency.btc_liq.p99``: local websocket servers on 127.0.0.1 push Bybit-format frames at 5,000
liquidations/s through the real client into the running service; repeated cascades (fire,
escalate, grow, resolve) put alert events in the outbox. The value is the 99th percentile, in
ms, from a frame's arrival to its event committed in the outbox; ``limit`` is the same
percentile of a bare one-row insert and commit through the same store thread. Goal: under 250 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import FIXTURES, Metric, metric, paired_medians

T0 = 1795185000  # the recorded frames' minute (2026-11-20 08:30 UTC)
N_FRAMES = 200_000
FLUSH_EVERY = 20_000  # frames per persisted batch (about 5 s of a busy market)


def _lines(rel: str) -> list[str]:
    return [x for x in (FIXTURES / rel).read_text().splitlines() if x.strip()]


#: (share of frames, BTC share of that venue's frames, Bybit events per frame)
MIXES = {
    # A market-wide cascade as the venues send it: Binance's all-market stream pushes at most one
    # liquidation per symbol per second, for every coin (BTCUSDT and BTCUSDC are a few of
    # hundreds); OKX's channel carries every SWAP contract; Bybit's BTC topics batch every BTC
    # liquidation of 500 ms into one frame.
    "cascade": {"bybit": (0.10, 1.0, (5, 40)), "binance": (0.60, 0.05, None), "okx": (0.30, 0.10, None)},
    # The worst case per frame: every frame a BTC liquidation, Bybit frames of 1 to 3.
    "btc-only": {"bybit": (0.50, 1.0, (1, 3)), "binance": (0.30, 1.0, None), "okx": (0.20, 1.0, None)},
}


def make_frames(n: int, mix: str = "cascade", seed: int = 7) -> list[tuple[str, str]]:
    """(venue, frame) in each venue's recorded format, with varied values, over an hour."""
    rng = random.Random(seed)
    shares = MIXES[mix]
    by = json.loads(next(x for x in _lines("bybit/allLiquidation_stream.jsonl") if '"topic"' in x))
    bn = json.loads(_lines("binance/forceOrder_stream.jsonl")[0])
    ok = json.loads(_lines("okx/liquidation_orders_stream.jsonl")[1])
    others = ["ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT", "BNBUSDT", "ADAUSDT", "1000PEPEUSDT", "SUIUSDT"]
    cut_bybit = shares["bybit"][0]
    cut_binance = cut_bybit + shares["binance"][0]
    out: list[tuple[str, str]] = []
    for i in range(n):
        t = T0 * 1000 + int(3_600_000 * i / n)
        r = rng.random()
        if r < cut_bybit:
            lo, hi = shares["bybit"][2] or (1, 1)
            by["ts"] = t + 300
            by["data"] = [
                {
                    "T": t + j,
                    "s": "BTCUSDT",
                    "S": rng.choice(("Buy", "Sell")),
                    "v": f"{rng.uniform(0.001, 2):.3f}",
                    "p": f"{rng.uniform(84000, 86000):.2f}",
                }
                for j in range(rng.randint(lo, hi))
            ]
            out.append(("bybit", json.dumps(by, separators=(",", ":"))))
        elif r < cut_binance:
            o = dict(bn["o"])
            btc = rng.random() < shares["binance"][1]
            o.update(
                s="BTCUSDT" if btc else rng.choice(others),
                S=rng.choice(("SELL", "BUY")),
                q=f"{rng.uniform(0.001, 3):.3f}",
                ap=f"{rng.uniform(84000, 86000):.2f}",
                T=t,
            )
            o["z"] = o["l"] = o["q"]
            out.append(
                ("binance", json.dumps({"e": "forceOrder", "E": t + 4, "o": o}, separators=(",", ":")))
            )
        else:
            d = dict(ok["data"][0])
            btc = rng.random() < shares["okx"][1]
            coin = "BTC" if btc else rng.choice(others).removesuffix("USDT")
            d.update(instId=f"{coin}-USDT-SWAP", instFamily=f"{coin}-USDT", uly=f"{coin}-USDT")
            d["details"] = [
                {
                    "bkLoss": "0",
                    "bkPx": f"{rng.uniform(84000, 86000):.1f}",
                    "ccy": "",
                    "posSide": "long",
                    "side": "sell",
                    "sz": str(rng.randint(1, 400)),
                    "ts": str(t),
                }
            ]
            out.append(("okx", json.dumps({"arg": ok["arg"], "data": [d]}, separators=(",", ":"))))
    return out


class _Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


async def _app(path: Path) -> Any:
    from bot.clock import SimClock
    from bot.config import load_settings
    from bot.runner import App
    from bot.sinks.console import ConsoleSink

    settings = load_settings(env={"FLOWWATCH_DB": str(path)}, dotenv=None)
    app = App(
        settings,
        clock=SimClock(datetime.fromtimestamp(T0, tz=UTC)),
        sinks=[ConsoleSink(stream=io.StringIO())],
    )
    await app.start(schedule=False, initial_poll=False)
    return app


def _ingest(mix: str) -> tuple[float, float, int]:
    """(our seconds, floor seconds, BTC liquidations) for N_FRAMES frames of ``mix``."""
    from bot.streams import service_of
    from signals.sources.binance import BinanceStream
    from signals.sources.bybit import BybitStream
    from signals.sources.okx import OkxStream

    frames = make_frames(N_FRAMES, mix)
    texts = [f for _v, f in frames]
    loop = asyncio.new_event_loop()
    counts = {"events": 0}
    with tempfile.TemporaryDirectory() as tmp:
        app = loop.run_until_complete(_app(Path(tmp) / "ingest.db"))

        def ours() -> None:
            clock = _Clock(T0)  # the service's: moves with the batches

            def wall() -> float:  # the clients': every frame is in the past
                return T0 + 3600.0

            clients = {
                "bybit": BybitStream("ws://unused", lambda *a: None, clock=wall),
                "binance": BinanceStream("ws://unused", lambda *a: None, clock=wall),
                "okx": OkxStream("ws://unused", lambda *a: None, clock=wall),
            }
            svc = service_of(app, "btc_liq", streams=list(clients.values()), clock=clock)
            svc.start_clock()
            for c in clients.values():
                c.health.mark_up(T0)
            on_events = svc.on_events
            parsers = {v: c.parse for v, c in clients.items()}

            async def feed() -> int:
                # As live: frames are handled on the event loop while the previous batch is being
                # written on the database thread.
                n = 0
                writing: asyncio.Future[int] | None = None
                for i, (venue, text) in enumerate(frames):
                    p = parsers[venue](text)
                    if p.events:
                        n += len(p.events)
                        on_events(p.events, 0.0, text)
                    if (i + 1) % FLUSH_EVERY == 0:
                        if writing is not None:
                            await writing
                        clock.t = T0 + 3600 * (i + 1) / N_FRAMES
                        writing = asyncio.ensure_future(svc.flush())
                    if i % 256 == 0:
                        await asyncio.sleep(0)
                if writing is not None:
                    await writing
                await svc.flush(final=True)
                return n

            counts["events"] = loop.run_until_complete(feed())

        def floor() -> None:
            loads = json.loads
            for text in texts:
                loads(text)

        t_ours, t_floor = paired_medians(ours, floor, repeat=5)
        loop.run_until_complete(app.stop())
    loop.close()
    return t_ours, t_floor, counts["events"]


def ingest_metrics() -> Iterator[Metric]:
    t_ours, t_floor, ev = _ingest("cascade")
    w_ours, w_floor, w_ev = _ingest("btc-only")
    worst = (
        f"every frame a BTC liquidation: {N_FRAMES / w_ours:,.0f} frames/s, {w_ev / w_ours:,.0f} liquidations/s, "
        f"{w_floor / w_ours:.2f}x the floor"
    )
    note = (
        f"{N_FRAMES} frames as a market-wide cascade sends them ({ev} BTC liquidations, the rest other coins), "
        f"parsed, bucketed and written (buckets + raw) every {FLUSH_EVERY} frames; limit = json.loads alone; {worst}"
    )
    yield metric(
        "ingest.btc_liq.frames", N_FRAMES / t_ours, "frames/s", N_FRAMES / t_floor, ">= 0.5x, >= 100000", note
    )
    yield metric("ingest.btc_liq.events", ev / t_ours, "events/s", ev / t_floor, ">= 0.5x", note)


# -- latency ------------------------------------------------------------------------------------

EVENTS_PER_S = 5000
PER_FRAME = 10
CASCADES = 40


def cascade_frames(start_s: int) -> list[str]:
    """Bybit-format frames: a cascade every two and a half hours of market time, from ``start_s``."""
    by = json.loads(next(x for x in _lines("bybit/allLiquidation_stream.jsonl") if '"topic"' in x))
    rng = random.Random(3)
    out = []
    t = start_s * 1000
    for _c in range(CASCADES):
        # 300 frames over five minutes of market time, sizes growing: fire, escalate, grow
        for k in range(300):
            ts = t + k * 1000
            size = 0.02 + 0.0004 * k
            by["ts"] = ts
            by["data"] = [
                {
                    "T": ts + j,
                    "s": "BTCUSDT",
                    "S": "Buy" if rng.random() < 0.85 else "Sell",
                    "v": f"{size:.3f}",
                    "p": "85000.00",
                }
                for j in range(PER_FRAME)
            ]
            out.append(json.dumps(by, separators=(",", ":")))
        # twenty quiet minutes later a small liquidation: the cascade has ended
        t += 25 * 60 * 1000
        by["ts"] = t
        by["data"] = [{"T": t, "s": "BTCUSDT", "S": "Sell", "v": "0.001", "p": "85000.00"}]
        out.append(json.dumps(by, separators=(",", ":")))
        t += 2 * 3600 * 1000  # past the cooldown
    return out


async def _latency() -> tuple[list[float], list[float], int]:
    from websockets.asyncio.server import serve
    from websockets.exceptions import ConnectionClosed

    from bot.streams import StreamService, service_of
    from storage import alerts as alert_repo

    # market time runs ahead of the wall clock here, so it starts days in the past
    start_s = int(time.time()) - 5 * 86400
    frames = cascade_frames(start_s)
    with tempfile.TemporaryDirectory() as tmp:
        app = await _app(Path(tmp) / "latency.db")
        svc: StreamService | None = None

        async def venue(ws: Any) -> None:
            with contextlib.suppress(ConnectionClosed):
                await _serve(ws)

        async def _serve(ws: Any) -> None:
            async for msg in ws:  # answer the two subscriptions, then push
                d = json.loads(msg)
                ack = {
                    "success": True,
                    "ret_msg": "",
                    "conn_id": "b",
                    "req_id": d.get("req_id"),
                    "op": "subscribe",
                }
                await ws.send(json.dumps(ack))
                if d["args"][0].endswith("BTCPERP"):
                    break
            step = PER_FRAME / EVENTS_PER_S
            start = time.perf_counter()
            for i, f in enumerate(frames):
                delay = start + i * step - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                await ws.send(f)
            await ws.wait_closed()

        async def quiet(ws: Any) -> None:  # the inverse stream: acks, then nothing
            with contextlib.suppress(ConnectionClosed):
                async for msg in ws:
                    d = json.loads(msg)
                    ack = {
                        "success": True,
                        "ret_msg": "",
                        "conn_id": "b",
                        "req_id": d.get("req_id"),
                        "op": "subscribe",
                    }
                    await ws.send(json.dumps(ack))

        async with serve(venue, "127.0.0.1", 0) as s1, serve(quiet, "127.0.0.1", 0) as s2:
            u1 = f"ws://127.0.0.1:{s1.sockets[0].getsockname()[1]}/"
            u2 = f"ws://127.0.0.1:{s2.sockets[0].getsockname()[1]}/"
            holder: dict[str, StreamService] = {}

            def market_time() -> float:  # the streams' own time: the newest liquidation seen
                s = holder.get("svc")
                return max(start_s + 1.0, s.model.latest_event_ms / 1000 + 0.5) if s else start_s + 1.0

            svc = service_of(
                app,
                "btc_liq",
                venues=["bybit"],
                urls={"bybit": u1, "bybit_inverse": u2},
                clock=market_time,
                stream_kwargs={"proxy": None, "clock": time.time},
            )
            holder["svc"] = svc
            task = asyncio.create_task(svc.run())
            total = sum(PER_FRAME if i % 301 != 300 else 1 for i in range(len(frames)))
            async with asyncio.timeout(120):
                while svc.streams[0].stats.events < total:  # noqa: ASYNC110 - waiting for the stream to be read
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.3)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        n_events = len(await app.store.call(alert_repo.list_alerts, "live", "btc_liq"))

        def bare(db: Any) -> None:
            with db.atomic():
                db.execute(
                    "INSERT INTO meta (key, value, updated_at) VALUES ('bench', '1', 0) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                )

        floor = []
        for _ in range(300):
            t0 = time.perf_counter()
            await app.store.call(bare)
            floor.append(time.perf_counter() - t0)
        await app.stop()
    assert svc is not None
    return svc.latencies, floor, n_events


def latency_metrics() -> Iterator[Metric]:
    lat, floor, n_events = asyncio.run(_latency())
    if len(lat) < 20:
        raise RuntimeError(f"only {len(lat)} latency samples")
    p99 = statistics.quantiles(lat, n=100)[98] * 1000
    f99 = statistics.quantiles(floor, n=100)[98] * 1000
    yield metric(
        "latency.btc_liq.p99",
        p99,
        "ms",
        f99,
        "<= 250",
        f"{len(lat)} alert writes ({n_events} events, {CASCADES} cascades) at {EVENTS_PER_S} liquidations/s; "
        f"median {statistics.median(lat) * 1000:.1f} ms; limit = bare one-row commit through the store thread",
    )


def run() -> Iterator[Metric]:
    if not FIXTURES.exists():
        return
    yield from ingest_metrics()
    yield from latency_metrics()
