"""A simulated stretch of ``flowwatch run`` at an accelerated clock: streams, polls, upkeep.

The real :class:`bot.runner.App` (database thread, engine, outbox, dispatcher, the default
console sink saving a chart per alert) and the real btc_liq live service
(:class:`bot.streams.StreamService`) with the real venue clients, fed by local websocket
servers on 127.0.0.1 that speak each venue's protocol and send frames in its recorded format.
Every HTTP poll is answered by an ``httpx.MockTransport`` from the recorded fixtures (moved to
the simulated day where a poll asks for recent data: Yahoo's 5-minute bars, Coinbase's
1-minute candles, the Nasdaq calendar's day).

Time is a :class:`SimTime`: the clock the App, the service and the clients read, and the sleep
the service's periodic helpers (tick, flush, baseline refresh and raw-frame prune) wait on. The
driver moves it in steps (5 s): the frames of a step are sent and received, then the helpers due
run, then the scheduler's jobs due (the triggers :func:`bot.scheduler.build_scheduler` declares:
polls, re-evaluation, heartbeat, the daily prune at 04:17 UTC, the summary). Nothing waits on the
wall clock to pass time; the driver only waits for work to finish.

The database starts as a bot's that has run for a while: ``--seed-days`` of 1-minute liquidation
buckets and BTC closes (the baselines read up to 400 days), 40 days of 5-minute VIX quotes, the
real Cboe daily history, raw frames and alert events on both sides of their retention. Every
simulated hour the harness samples RSS, gc-tracked objects, open files, the database (file, WAL,
bytes and rows per table) and the sizes of the in-memory structures; the report is one JSON
document (``--out``). ``tests/bot/test_soak.py`` runs it and checks the report.

    python -m tests.bot.soak_harness --hours 24 --seed-days 400 --out soak.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import gc
import heapq
import json
import logging
import math
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import httpx
import numpy as np

from tests.conftest import DATA, FIXTURES
from tests.signals.sources.wsfake import FakeVenue, recorded

MIB = 2**20
NEW_YORK = ZoneInfo("America/New_York")
PAGE = os.sysconf("SC_PAGE_SIZE")
VENUES = ("bybit", "bybit_inverse", "binance", "okx")


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / MIB


def trimmed_rss_mib() -> float:
    """RSS after handing the allocator's free memory back (what is really in use)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    return rss_mib()


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fixture(rel: str) -> str:
    return (FIXTURES / rel).read_text(encoding="utf-8")


@dataclass
class Config:
    start: datetime
    hours: float
    seed_days: int
    db: Path
    step: float = 5.0
    retention_days: float = 0.25  # FLOWWATCH_LIQ_RETENTION_DAYS for the run
    minute_retention_days: float = 0.0  # FLOWWATCH_LIQ_MINUTE_RETENTION_DAYS (0: keep every minute)
    cascades: tuple[float, ...] = (2.0, 8.0, 14.0, 20.0)  # hours after the start
    drops: tuple[float, ...] = (5.0, 17.0)  # every venue's connection dropped by the server
    sample_every: float = 3600.0
    seed: int = 7

    @property
    def t0(self) -> float:
        return self.start.timestamp()

    @property
    def t_end(self) -> float:
        return self.t0 + self.hours * 3600


# -- the accelerated clock ----------------------------------------------------------------------


async def until(cond: Callable[[], bool], what: str, limit: float = 120.0) -> None:
    """Let the other tasks run until ``cond()`` holds (``limit`` only guards against a hang)."""
    for _ in range(50):
        if cond():
            return
        await asyncio.sleep(0)
    deadline = time.monotonic() + limit
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(f"soak: still waiting for {what} after {limit:.0f} s")
        await asyncio.sleep(0.0005)


class SimTime:
    """Simulated time: ``time()``/``now()`` for every clock, ``sleep()`` for the periodic helpers.

    A sleeper wakes when the driver moves time past its deadline; the driver then waits until it
    sleeps again (its periodic work is done) before moving on.
    """

    def __init__(self, t: float) -> None:
        self.t = t
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._n = 0

    def time(self) -> float:
        return self.t

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.t, tz=UTC)

    async def sleep(self, delay: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._n += 1
        heapq.heappush(self._heap, (self.t + max(0.0, delay), self._n, fut))
        await fut

    def sleepers(self) -> int:
        return sum(1 for _d, _n, f in self._heap if not f.done())

    async def advance(self, to: float) -> None:
        while self._heap and self._heap[0][0] <= to:
            due, _n, fut = heapq.heappop(self._heap)
            if fut.done():
                continue  # its task was cancelled
            self.t = max(self.t, due)
            before = self.sleepers()
            fut.set_result(None)
            await until(lambda b=before: self.sleepers() > b, "a periodic helper to finish")  # type: ignore[misc]
        self.t = max(self.t, to)


async def no_wait(delay: float) -> None:
    """The sources' and clients' waits (Retry-After, spacing, reconnect backoff): no simulated time."""
    await asyncio.sleep(0)


# -- the venues ---------------------------------------------------------------------------------


class Venue(FakeVenue):
    """A local venue that sends the frames the driver pushes, on the connection of the moment."""

    def __init__(self, style: str) -> None:
        super().__init__([], style=style)
        self.ws: Any = None
        self.data_sent = 0

    async def _handler(self, ws: Any) -> None:
        self.connections += 1
        subscribed = asyncio.Event()
        expected = [0 if self.style == "binance" else 1]
        if self.style == "binance":
            subscribed.set()
        answer = asyncio.create_task(self._answer(ws, subscribed, expected))
        try:
            await asyncio.wait_for(subscribed.wait(), 10)
            self.ws = ws  # the driver pushes once the client, too, has every ack
            await ws.wait_closed()
        finally:
            if self.ws is ws:
                self.ws = None
            answer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await answer

    async def push(self, frames: list[str]) -> None:
        ws = self.ws
        assert ws is not None
        for f in frames:
            await ws.send(f)
        self.data_sent += len(frames)

    async def drop(self) -> None:
        ws = self.ws
        if ws is not None:
            self.ws = None
            await ws.close(1011, "going away")


def data_frames_received(client: Any) -> int:
    h = client.health
    return int(client.stats.frames - h.acks - h.pongs - h.errors)


# -- the market: frames in each venue's recorded format --------------------------------------------

OTHERS = ["ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT", "BNBUSDT", "ADAUSDT", "1000PEPEUSDT", "SUIUSDT"]


def btc_price(t: float) -> float:
    return round(85000 + 1500 * math.sin(t / 7200) + 400 * math.sin(t / 613), 1)


class Market:
    """Frames per step: a quiet market, and cascades at the configured hours (long-heavy, growing)."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.rng = random.Random(cfg.seed)
        self.bybit = json.loads(recorded(fixture("bybit/allLiquidation_stream.jsonl"))[0])
        self.binance = json.loads(fixture("binance/forceOrder_stream.jsonl").splitlines()[0])
        self.okx = json.loads(recorded(fixture("okx/liquidation_orders_stream.jsonl"))[0])
        self.btc_frames: list[tuple[int, int]] = []  # (ms, count) of frames carrying BTC, per step
        self.cascade_usd = 0.0

    @staticmethod
    def dump(obj: Any) -> str:
        return json.dumps(obj, separators=(",", ":"))

    def cascade_rate(self, t: float) -> float:
        """USD liquidated per minute by the cascade running at ``t`` (0 outside cascades)."""
        for h in self.cfg.cascades:
            m = (t - (self.cfg.t0 + h * 3600)) / 60
            if 0 <= m < 12:
                return (2e6, 8e6, 20e6, 32e6)[int(m // 3)]
        return 0.0

    def bybit_frame(self, t_ms: int, items: list[tuple[str, float]], symbol: str = "BTCUSDT") -> str:
        f = dict(self.bybit)
        f["topic"] = f"allLiquidation.{symbol}"
        f["ts"] = t_ms + 300
        px = btc_price(t_ms / 1000)
        f["data"] = [
            {
                "T": t_ms + i,
                "s": symbol,
                "S": side,
                "v": (f"{v:.0f}" if symbol == "BTCUSD" else f"{v:.3f}"),
                "p": f"{px:.2f}",
            }
            for i, (side, v) in enumerate(items)
        ]
        return self.dump(f)

    def binance_frame(self, t_ms: int, symbol: str, side: str, qty: float) -> str:
        o = dict(self.binance["o"])
        px = btc_price(t_ms / 1000) if symbol.startswith("BTC") else self.rng.uniform(0.5, 3000)
        o.update(s=symbol, S=side, q=f"{qty:.3f}", p=f"{px:.2f}", ap=f"{px:.2f}", T=t_ms)
        o["z"] = o["l"] = o["q"]
        return self.dump({"e": "forceOrder", "E": t_ms + 4, "o": o})

    def okx_frame(self, t_ms: int, coin: str, long: bool, contracts: int) -> str:
        d = dict(self.okx["data"][0])
        px = btc_price(t_ms / 1000) if coin == "BTC" else self.rng.uniform(0.5, 3000)
        d.update(instId=f"{coin}-USDT-SWAP", instFamily=f"{coin}-USDT", uly=f"{coin}-USDT")
        d["details"] = [
            {
                "bkLoss": "0",
                "bkPx": f"{px:.1f}",
                "ccy": "",
                "posSide": "long" if long else "short",
                "side": "sell" if long else "buy",
                "sz": str(contracts),
                "ts": str(t_ms),
            }
        ]
        return self.dump({"arg": self.okx["arg"], "data": [d]})

    def step(self, t: float) -> dict[str, list[str]]:
        """Frames for the step ending at ``t`` (event times inside it)."""
        rng, step = self.rng, self.cfg.step
        out: dict[str, list[str]] = {v: [] for v in VENUES}
        btc = 0

        def at() -> int:
            return int((t - step + rng.random() * step) * 1000)

        # the quiet market
        if rng.random() < 0.3:
            out["bybit"].append(
                self.bybit_frame(
                    at(),
                    [
                        (rng.choice(("Buy", "Sell")), rng.uniform(0.001, 0.2))
                        for _ in range(rng.randint(1, 2))
                    ],
                )
            )
            btc += 1
        if rng.random() < 0.02:
            out["bybit_inverse"].append(self.bybit_frame(at(), [("Buy", rng.randint(100, 5000))], "BTCUSD"))
            btc += 1
        for _ in range(rng.randint(7, 13)):
            is_btc = rng.random() < 0.05
            sym = "BTCUSDT" if is_btc else rng.choice(OTHERS)
            out["binance"].append(
                self.binance_frame(at(), sym, rng.choice(("SELL", "BUY")), rng.uniform(0.001, 0.3))
            )
            btc += is_btc
        for _ in range(rng.randint(2, 6)):
            is_btc = rng.random() < 0.1
            coin = "BTC" if is_btc else rng.choice(OTHERS).removesuffix("USDT")
            out["okx"].append(self.okx_frame(at(), coin, rng.random() < 0.5, rng.randint(1, 40)))
            btc += is_btc
        # a cascade: long-heavy, split 50/30/20 over Bybit, Binance and OKX
        usd = self.cascade_rate(t - step / 2) * step / 60
        if usd:
            self.cascade_usd += usd
            px = btc_price(t)
            per = usd * 0.5 / 4 / 5 / px
            for _ in range(4):
                out["bybit"].append(
                    self.bybit_frame(
                        at(), [("Buy" if rng.random() < 0.85 else "Sell", per) for _ in range(5)]
                    )
                )
            for _ in range(5):
                out["binance"].append(self.binance_frame(at(), "BTCUSDT", "SELL", usd * 0.3 / 5 / px))
            for _ in range(5):
                out["okx"].append(self.okx_frame(at(), "BTC", True, max(1, round(usd * 0.2 / 5 / px / 0.01))))
            btc += 14
        for v in out.values():
            v.sort(key=lambda f: f)  # deterministic order within the step
        self.btc_frames.append((int(t * 1000), btc))
        return out


# -- the HTTP providers: recorded fixtures ------------------------------------------------------


class World:
    """The ``httpx.MockTransport`` handler for every polled provider."""

    def __init__(self, clock: SimTime) -> None:
        self.clock = clock
        self.requests: Counter[str] = Counter()
        self.unknown: list[str] = []
        self.cboe = {s: fixture(f"cboe/{s}_History.csv") for s in ("VIX", "VIX3M", "VIX9D", "VIX6M")}
        self.chart = json.loads(fixture("yahoo/chart_VIX_1d.json"))
        self.gspc_chart = json.loads(fixture("yahoo/chart_GSPC_1d.json"))
        self.nasdaq_day = json.loads(fixture("nasdaq/earnings_2026-10-13.json"))
        self.nasdaq_recorded = json.loads(fixture("nasdaq/earnings.json"))
        self.kalshi = fixture("kalshi/events_KXFEDDECISION_nested.json")
        self.gamma = fixture("polymarket/gamma_events.json")
        self.sp500 = fixture("sp500/constituents.csv")
        self.okx_rest = fixture("okx/liquidation_orders.json")
        self.weekend = fixture("nasdaq/earnings_weekend.json")
        # the FRED flow series as recorded (DGS2 has no recording: DGS10's rows, renamed)
        self.fred = {
            f: fixture(f"fred/{f}.csv") for f in ("WALCL", "WTREGEN", "RRPONTSYD", "BAMLH0A0HYM2", "DGS10")
        }
        self.fred["DGS2"] = self.fred["DGS10"].replace("DGS10", "DGS2")

    def __call__(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        self.requests[host] += 1
        if host == "cdn.cboe.com":
            sym = request.url.path.rsplit("/", 1)[-1].removesuffix("_History.csv")
            return httpx.Response(200, text=self.cboe[sym])
        if host == "query1.finance.yahoo.com":
            return httpx.Response(200, text=self.yahoo(unquote(request.url.path.rsplit("/", 1)[-1])))
        if host == "external-api.kalshi.com":
            return httpx.Response(200, text=self.kalshi)
        if host == "gamma-api.polymarket.com":
            return httpx.Response(200, text=self.gamma)
        if host == "api.exchange.coinbase.com":
            return httpx.Response(200, text=self.candles(request))
        if host == "api.nasdaq.com":
            return httpx.Response(200, text=self.earnings(date.fromisoformat(request.url.params["date"])))
        if host == "raw.githubusercontent.com":
            return httpx.Response(200, text=self.sp500)
        if host == "fred.stlouisfed.org" and request.url.params.get("id") in self.fred:
            return httpx.Response(200, text=self.fred[request.url.params["id"]])
        if host == "www.okx.com":
            if request.url.params.get("uly") == "BTC-USDT" and "after" not in request.url.params:
                return httpx.Response(200, text=self.okx_rest)
            return httpx.Response(200, text='{"code":"0","msg":"","data":[]}')
        self.unknown.append(str(request.url)[:120])
        return httpx.Response(404, text="not found")

    def gspc(self) -> str:
        """The last month of S&P 500 daily bars (the session in progress included, as Yahoo sends
        it), in the recorded ^GSPC envelope."""
        from signals import tradingcal

        now = self.clock.now()
        local = now.astimezone(NEW_YORK)
        stamps, closes = [], []
        for d in tradingcal.sessions_between(local.date() - timedelta(days=31), local.date()):
            open_ = datetime.combine(d, datetime.min.time(), tzinfo=NEW_YORK) + timedelta(hours=9, minutes=30)
            if open_ <= now:
                stamps.append(int(open_.timestamp()))
                closes.append(round(6000.0 + 40.0 * math.sin(d.toordinal() / 5.0), 2))
        doc = copy.deepcopy(self.gspc_chart)
        res = doc["chart"]["result"][0]
        res["timestamp"] = stamps
        res["indicators"] = {
            "quote": [
                {"open": closes, "high": closes, "low": closes, "close": closes, "volume": [0] * len(closes)}
            ]
        }
        return json.dumps(doc)

    def yahoo(self, symbol: str) -> str:
        """Today's 5-minute bars so far, in the recorded chart envelope (``^GSPC``: daily bars)."""
        if symbol == "^GSPC":
            return self.gspc()
        now = self.clock.now().astimezone(NEW_YORK)
        open_ = datetime.combine(now.date(), datetime.min.time(), tzinfo=NEW_YORK) + timedelta(
            hours=9, minutes=30
        )
        stamps = [
            int(open_.timestamp()) + 300 * k
            for k in range(82)
            if open_.timestamp() + 300 * k <= now.timestamp()
        ]
        base = {"^VIX": 18.7, "^VIX3M": 20.3, "^VIX9D": 17.9}.get(symbol, 19.0)
        closes = [round(base + 0.8 * math.sin(s / 5400), 2) + 0.0000001 for s in stamps]
        doc = copy.deepcopy(self.chart)
        res = doc["chart"]["result"][0]
        res["meta"].update(symbol=symbol, dataGranularity="5m", range="1d")
        res["timestamp"] = stamps
        res["indicators"] = {
            "quote": [
                {"open": closes, "high": closes, "low": closes, "close": closes, "volume": [0] * len(closes)}
            ]
        }
        return json.dumps(doc)

    def candles(self, request: httpx.Request) -> str:
        """1-minute candles ``[time, low, high, open, close, volume]``, newest first."""
        start = datetime.fromisoformat(request.url.params["start"].replace("Z", "+00:00")).timestamp()
        end = datetime.fromisoformat(request.url.params["end"].replace("Z", "+00:00")).timestamp()
        g = int(request.url.params["granularity"])
        rows = []
        for ts in range(int(start) // g * g, int(end), g):
            c = btc_price(ts + g)
            rows.append([ts, c - 20, c + 20, btc_price(ts), c, 12.5])
        return json.dumps(rows[::-1])

    def earnings(self, day: date) -> str:
        if day.weekday() >= 5:
            return self.weekend
        if day == date(2026, 11, 19):
            return json.dumps(self.nasdaq_recorded)
        obj = copy.deepcopy(self.nasdaq_day)
        obj["data"]["asOf"] = day.strftime("%a, %b %d, %Y")
        if day != date(2027, 1, 14):  # the recorded bank rows land on a day in January
            obj["data"]["rows"] = []
        return json.dumps(obj)


# -- seeding: a database that has run for a while ----------------------------------------------


def seed(cfg: Config) -> dict[str, Any]:
    """Write the history a running bot would have (in chunks of a day: little memory)."""
    from signals.sources import cboe
    from storage import liq_raw
    from storage import observations as obs_repo
    from storage.db import open_db

    t0 = time.perf_counter()
    db = open_db(cfg.db)
    rng = np.random.default_rng(cfg.seed)
    start = int(cfg.t0) // 60 * 60
    first = start - cfg.seed_days * 86400
    names = [f"liq.btc.{v}.{s}_usd.1m" for v in ("bybit", "binance", "okx") for s in ("long", "short")]
    rows = 0
    for day in range(first, start, 86400):
        minutes = np.arange(day, min(day + 86400, start), 60)
        with db.atomic():
            for n in names:
                src = n.split(".")[2]
                vals = np.round(rng.exponential(2e4, len(minutes)), 2)
                db.conn.executemany(
                    "INSERT OR REPLACE INTO observations VALUES (?, ?, ?, ?)",
                    zip(
                        [n] * len(minutes), minutes.tolist(), vals.tolist(), [src] * len(minutes), strict=True
                    ),
                )
            px = [btc_price(m + 60) for m in minutes.tolist()]
            db.conn.executemany(
                "INSERT OR REPLACE INTO observations VALUES (?, ?, ?, ?)",
                zip(
                    ["btc.usd.close.1m"] * len(minutes),
                    minutes.tolist(),
                    px,
                    ["coinbase"] * len(minutes),
                    strict=True,
                ),
            )
        rows += 7 * len(minutes)
    # the roll-ups a running bot keeps with its buckets (written here straight from the minutes)
    from storage import liq_rollups

    liq_rollups.rebuild(db)
    # 40 days of 5-minute VIX quotes (the prune keeps 30)
    quotes = []
    for d in range(1, 41):
        day = (cfg.start - timedelta(days=d)).astimezone(NEW_YORK).date()
        if day.weekday() >= 5:
            continue
        open_ = datetime.combine(day, datetime.min.time(), tzinfo=NEW_YORK) + timedelta(hours=9, minutes=30)
        for k in range(78):
            ts = int(open_.timestamp()) + 300 * k
            for idx, base in (("vix", 18.7), ("vix3m", 20.3), ("vix9d", 17.9)):
                quotes.append((f"yahoo.{idx}.5m", ts, base, "yahoo"))
    obs_repo.write_many(db, quotes)
    # the real Cboe daily history
    if DATA.exists():
        for name in (
            "cboe_vix_daily.csv",
            "cboe_vix3m_daily.csv",
            "cboe_vix9d_daily.csv",
            "cboe_vix6m_daily.csv",
        ):
            obs_repo.upsert(
                db, cboe.parse_csv((DATA / name).read_text(), cboe.index_from_filename(Path(name)))
            )
    # raw frames of the last two days: some past the run's retention, some within it
    frame = recorded(fixture("bybit/allLiquidation_stream.jsonl"))[0]
    for k in range(48):
        batch = liq_raw.RawBatch()
        ms = (start - 2 * 86400 + k * 3600) * 1000
        batch.add("bybit", frame, ms, ms + 500)
        liq_raw.insert_batch(db, batch)
    # resolved alert lifecycles: one past the 400-day alert retention, one recent
    from bot.engine import persist
    from storage.alerts import AlertEvent

    for days_ago, ep in ((420, "old"), (10, "recent")):
        ts = start - days_ago * 86400
        events = [
            AlertEvent(
                signal="btc_liq",
                key="cascade",
                event=e,
                level=lvl,
                ts=ts + i * 600,
                summary="seeded",
                episode=f"btc_liq:cascade:{ep}",
            )
            for i, (e, lvl) in enumerate((("fired", "alert"), ("resolved", "ok")))
        ]
        persist(db, "live", [], events)
    db.execute("UPDATE deliveries SET status = 'sent'")
    db.conn.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return {
        "rows": rows,
        "seconds": round(time.perf_counter() - t0, 1),
        "bytes": cfg.db.stat().st_size,
        "yahoo_stamps": sorted({q[1] for q in quotes}),
    }


# -- sampling ---------------------------------------------------------------------------------


def db_stats(path: Path) -> dict[str, Any]:
    """File sizes, bytes per table (with its indexes) and row counts, read-only."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        pages = dict(con.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall())
        idx = dict(con.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'").fetchall())
        tables: Counter[str] = Counter()
        for name, size in pages.items():
            tables[idx.get(name, name)] += int(size)
        counts = {
            t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("observations", "liq_raw", "alerts", "deliveries", "meta", "signal_state", "earnings")
        }
        free = (
            con.execute("PRAGMA freelist_count").fetchone()[0] * con.execute("PRAGMA page_size").fetchone()[0]
        )
    finally:
        con.close()
    wal = path.with_name(path.name + "-wal")
    return {
        "file": path.stat().st_size,
        "wal": wal.stat().st_size if wal.exists() else 0,
        "free": free,
        "tables": {
            t: tables.get(t, 0) for t in ("observations", "liq_raw", "alerts", "deliveries", "earnings")
        },
        "rows": counts,
    }


@dataclass
class Sample:
    hour: float
    rss: float
    trimmed: float
    peak: float
    objects: int
    fds: int
    threads: int
    tasks: int
    db: dict[str, Any]
    memory: dict[str, int]
    wall: float


def structure_sizes(app: Any, svc: Any) -> dict[str, int]:
    """Sizes of the in-memory structures that must stay bounded."""
    book = svc.model.book
    engine = app.pipeline.engine
    return {
        "book_pending": len(book.pending),
        "book_touched": len(book.touched),
        "book_prices": len(book.price_ts),
        "book_ring_minutes": int(book.vals.shape[0]),
        "latencies": len(svc.latencies),
        "raw_batch_frames": svc.model.raw.n,
        "stats_reasons": max(len(s.stats.reasons) for s in svc.streams),
        "health_up_intervals": max(len(s.health.up) for s in svc.streams),
        "baseline_periods": sum(len(h.ends) for h in svc.model.hists.values()),
        "engine_states": len(engine.states) if engine is not None else 0,
        "app_tasks": len(app._tasks),
        "notices": len(svc._notices),
    }


def end_facts(cfg: Config) -> dict[str, Any]:
    """What the retention rules are checked against, read after the bot stopped."""
    con = sqlite3.connect(f"file:{cfg.db}?mode=ro", uri=True)
    try:
        one = lambda q, *a: con.execute(q, a).fetchone()  # noqa: E731
        t0 = int(cfg.t0)
        liq = {
            f"{v}.{side}": one(
                "SELECT COUNT(*), SUM(ts >= ?), MIN(ts) FROM observations WHERE series = ?",
                t0,
                f"liq.btc.{v}.{side}_usd.1m",
            )
            for v in ("bybit", "binance", "okx")
            for side in ("long", "short")
        }
        raw = one(
            "SELECT COUNT(*), COALESCE(SUM(n), 0), MIN(first_ms), MIN(last_ms), MAX(last_ms) FROM liq_raw"
        )
        rolled = {
            v: one(
                "SELECT COALESCE(SUM(rows), 0) / 2, COUNT(*) FROM liq_rollup WHERE res = 86400 AND venue = ?",
                v,
            )
            for v in ("bybit", "binance", "okx")
        }
        return {
            "liq_1m": {k: {"rows": r[0], "in_run": r[1] or 0, "first": r[2]} for k, r in liq.items()},
            "rollup_minutes": {v: {"minutes": r[0], "days": r[1]} for v, r in rolled.items()},
            "liq_raw": dict(
                zip(("rows", "frames", "min_first_ms", "min_last_ms", "max_last_ms"), raw, strict=True)
            ),
            "yahoo": [
                r[0]
                for r in con.execute(
                    "SELECT DISTINCT ts FROM observations WHERE series LIKE 'yahoo.%.5m' ORDER BY ts"
                )
            ],
            "alerts_by_episode": dict(
                con.execute("SELECT COALESCE(episode, ''), COUNT(*) FROM alerts GROUP BY episode").fetchall()
            ),
            "deliveries": dict(
                con.execute("SELECT status, COUNT(*) FROM deliveries GROUP BY status").fetchall()
            ),
            "integrity": one("PRAGMA integrity_check")[0],
        }
    finally:
        con.close()


# -- the run ------------------------------------------------------------------------------------


@dataclass
class Report:
    config: dict[str, Any]
    seed: dict[str, Any] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)
    after_prune: dict[str, Any] = field(default_factory=dict)
    jobs: dict[str, int] = field(default_factory=dict)
    frames: dict[str, int] = field(default_factory=dict)
    frames_read: dict[str, int] = field(default_factory=dict)
    end_db: dict[str, Any] = field(default_factory=dict)
    btc_frames: list[tuple[int, int]] = field(default_factory=list)
    streams: dict[str, Any] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)
    console_lines: int = 0
    charts: int = 0
    deliveries: dict[str, int] = field(default_factory=dict)
    polls: dict[str, Any] = field(default_factory=dict)
    http: dict[str, int] = field(default_factory=dict)
    unknown_urls: list[str] = field(default_factory=list)
    logs: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    final: dict[str, Any] = field(default_factory=dict)
    latency_ms: dict[str, float] = field(default_factory=dict)
    peak_rss: float = 0.0
    wall_seconds: float = 0.0
    sim_seconds: float = 0.0


class LineCounter:
    """The console sink's stream: counts lines, keeps none (a StringIO would grow for ever)."""

    def __init__(self) -> None:
        self.lines = 0

    def write(self, text: str) -> int:
        self.lines += text.count("\n")
        return len(text)

    def flush(self) -> None:
        pass


class LogCounter(logging.Handler):
    def __init__(self, keep: int = 40) -> None:
        super().__init__(logging.INFO)
        self.counts: Counter[str] = Counter()
        self.kept: list[str] = []
        self.keep = keep

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[record.levelname] += 1
        if record.levelno >= logging.WARNING and len(self.kept) < self.keep:
            self.kept.append(f"{record.name}: {record.getMessage()}"[:300])


def jobs_of(
    app: Any, start: datetime
) -> list[tuple[str, Any, Callable[..., Awaitable[Any]], tuple[Any, ...]]]:
    """The scheduler's jobs as declared; interval triggers start with the run, as in production."""
    from apscheduler.triggers.interval import IntervalTrigger

    from bot.scheduler import build_scheduler

    sched = build_scheduler(app)
    out = []
    for job in sched.get_jobs():
        trig = job.trigger
        if isinstance(trig, IntervalTrigger):
            trig = IntervalTrigger(
                seconds=trig.interval.total_seconds(), start_date=start + trig.interval, timezone=UTC
            )
        out.append((job.id, trig, job.func, tuple(job.args)))
    return out


async def soak(cfg: Config, report: Report) -> None:
    from bot.config import load_settings
    from bot.runner import App
    from bot.streams import service_of
    from storage import alerts as alert_repo

    sim = SimTime(cfg.t0)
    world = World(sim)
    chart_dir = cfg.db.parent / "charts"
    env = {
        "FLOWWATCH_DB": str(cfg.db),
        "FLOWWATCH_LIQ_RETENTION_DAYS": str(cfg.retention_days),
        "FLOWWATCH_LIQ_MINUTE_RETENTION_DAYS": str(cfg.minute_retention_days),
        "FLOWWATCH_CHART_DIR": str(chart_dir),
        "FLOWWATCH_SUMMARY_TIME": "13:00",
        "FLOWWATCH_TIMEZONE": "UTC",
    }
    settings = load_settings(env=env, dotenv=None)
    client = httpx.AsyncClient(transport=httpx.MockTransport(world))
    app = App(settings, clock=sim, client=client, sleep=no_wait)
    console = LineCounter()
    app.sinks[0].stream = console  # type: ignore[attr-defined]  # the default console sink, charts on
    summaries: list[int] = []
    app.on_summary.append(lambda text: summaries.append(len(text)))

    venues = {v: Venue("binance" if v == "binance" else "okx" if v == "okx" else "bybit") for v in VENUES}
    async with contextlib.AsyncExitStack() as stack:
        for v in venues.values():
            await stack.enter_async_context(v)
        await app.start(schedule=False, initial_poll=True)
        # alerts before this are the seeded ones (queued before the start-up polls write any)
        first_id = await app.store.call(
            lambda db: db.execute("SELECT COALESCE(MAX(id), 0) FROM alerts").fetchone()[0]
        )
        # as ``flowwatch run`` starts it (signals.sources.liquidations), but on the simulated
        # clock and the local venues; the start-up polls run meanwhile
        svc = service_of(
            app,
            "btc_liq",
            venues=["bybit", "binance", "okx"],
            urls={v: venues[v].url for v in VENUES},
            clock=sim.time,
            stream_kwargs={"proxy": None, "sleep": no_wait, "poll": 0.01, "rng": random.Random(cfg.seed)},
            sleep=sim.sleep,
            fill_at_start=True,
        )
        by_venue = dict(zip(VENUES, svc.streams, strict=True))
        task = asyncio.create_task(app.run_stream(svc), name="btc_liq-live")
        await next(t for t in app._tasks if t.get_name() == "initial-polls")

        def all_up() -> bool:
            return all(venues[v].ws is not None and by_venue[v].health.connected for v in VENUES)

        await until(all_up, "every venue to connect")
        market = Market(cfg)
        jobs = jobs_of(app, cfg.start)
        due = {jid: trig.get_next_fire_time(None, cfg.start) for jid, trig, _f, _a in jobs}
        report.jobs = {jid: 0 for jid, *_ in jobs}
        drops = sorted(cfg.t0 + h * 3600 for h in cfg.drops if h * 3600 < cfg.hours * 3600)
        wall0 = time.perf_counter()

        async def sample(hour: float) -> None:
            # at a quiet moment: deliveries (and the charts they render) done, writes in the file
            await app.dispatcher.drain_once()
            await app.store.call(lambda db: None)
            gc.collect()  # count the live objects, not the cycles the collector has yet to free
            report.samples.append(
                asdict(
                    Sample(
                        hour=round(hour, 3),
                        rss=round(rss_mib(), 1),
                        trimmed=round(trimmed_rss_mib(), 1) if os.environ.get("SOAK_TRIM") else 0.0,
                        peak=round(peak_rss_mib(), 1),
                        objects=len(gc.get_objects()),
                        fds=len(os.listdir("/proc/self/fd")),
                        threads=threading.active_count(),
                        tasks=len(asyncio.all_tasks()),
                        db=db_stats(cfg.db),
                        memory=structure_sizes(app, svc),
                        wall=round(time.perf_counter() - wall0, 1),
                    )
                )
            )

        await sample(0.0)
        next_sample = cfg.t0 + cfg.sample_every
        t = cfg.t0
        while t < cfg.t_end - 1e-6:
            t = round(t + cfg.step, 6)
            sim.t = t
            while drops and drops[0] <= t:
                drops.pop(0)
                for v in venues.values():
                    await v.drop()
            await until(all_up, "every venue to be connected")
            frames = market.step(t)
            for v, fs in frames.items():
                if fs:
                    await venues[v].push(fs)
            await until(
                lambda: all(data_frames_received(by_venue[v]) >= venues[v].data_sent for v in VENUES),
                "the clients to read the frames",
            )
            await sim.advance(t)
            for jid, trig, func, args in jobs:
                when = due[jid]
                while when is not None and when.timestamp() <= t:
                    await func(*args)
                    report.jobs[jid] += 1
                    if jid == "prune":
                        await app.store.call(lambda db: None)
                        report.after_prune = {"hour": round((t - cfg.t0) / 3600, 3), **db_stats(cfg.db)}
                    when = trig.get_next_fire_time(when, when + timedelta(microseconds=1))
                due[jid] = when
            if t >= next_sample - 1e-6:
                await sample((t - cfg.t0) / 3600)
                next_sample += cfg.sample_every
                print(
                    f"soak: hour {(t - cfg.t0) / 3600:.1f}: RSS {report.samples[-1]['rss']:.0f} MiB, "
                    f"{sum(v.data_sent for v in venues.values())} frames, wall {time.perf_counter() - wall0:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
        # stop the streams (their last batch is written), deliver what is due, sample once more
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await app.dispatcher.drain_once()
        await sample((t - cfg.t0) / 3600)
        report.frames = {v: venues[v].data_sent for v in VENUES}
        report.frames_read = {v: data_frames_received(by_venue[v]) for v in VENUES}
        report.btc_frames = market.btc_frames
        report.streams = {
            s.name: {
                "frames": s.stats.frames,
                "events": s.stats.events,
                "other_symbols": s.stats.other_symbols,
                "rejected": s.stats.rejected,
                "malformed": s.stats.malformed,
                "reconnects": s.health.reconnects,
                "sessions": s.sessions,
            }
            for s in svc.streams
        }
        lat = sorted(svc.latencies)
        if lat:
            report.latency_ms = {
                "n": len(lat),
                "p50": round(1000 * lat[len(lat) // 2], 1),
                "p99": round(1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))], 1),
                "max": round(1000 * lat[-1], 1),
            }
        report.final = {
            "memory": structure_sizes(app, svc),
            "evaluations": svc.evaluations,
            "sends": svc.sends,
            "summaries": len(summaries),
        }
        alerts = await app.store.call(alert_repo.list_alerts, "live", None, None, None, None)
        report.events = dict(Counter(f"{a.kind}:{a.signal}:{a.event}" for a in alerts if a.id > first_id))
        report.deliveries = dict(
            await app.store.call(
                lambda db: db.execute("SELECT status, COUNT(*) FROM deliveries GROUP BY status").fetchall()
            )
        )
        report.polls = await app.store.call(
            lambda db: {
                k: json.loads(v)
                for k, v in db.execute("SELECT key, value FROM meta WHERE key LIKE 'source:%'").fetchall()
            }
        )
        await app.stop()
    report.end_db = end_facts(cfg)
    report.console_lines = console.lines
    report.charts = len(list(chart_dir.glob("*.png"))) if chart_dir.exists() else 0
    report.http = dict(world.requests)
    report.unknown_urls = world.unknown[:20]
    report.sim_seconds = t - cfg.t0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.bot.soak_harness", description=__doc__.split("\n\n")[0])
    p.add_argument("--start", default="2026-11-20T09:00:00+00:00", help="simulated start (ISO, UTC)")
    p.add_argument("--hours", type=float, default=24.0)
    p.add_argument("--seed-days", type=int, default=400)
    p.add_argument("--step", type=float, default=5.0)
    p.add_argument("--retention-days", type=float, default=0.25)
    p.add_argument("--minute-retention-days", type=float, default=0.0, help="0: keep every 1-minute bucket")
    p.add_argument("--cascades", default="2,8,14,20", help="hours after the start (comma-separated)")
    p.add_argument("--drops", default="5,17", help="hours at which every venue drops the connection")
    p.add_argument("--sample-every", type=float, default=3600.0, help="simulated seconds between samples")
    p.add_argument("--dir", help="working folder (default: a temporary one)")
    p.add_argument("--out", help="write the JSON report here (default: stdout)")
    p.add_argument("--seed-only", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    work = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="flowwatch-soak-"))
    work.mkdir(parents=True, exist_ok=True)

    def floats(text: str) -> tuple[float, ...]:
        return tuple(float(x) for x in text.split(",") if x.strip())

    cfg = Config(
        start=datetime.fromisoformat(args.start).astimezone(UTC),
        hours=args.hours,
        seed_days=args.seed_days,
        db=work / "soak.db",
        step=args.step,
        retention_days=args.retention_days,
        minute_retention_days=args.minute_retention_days,
        cascades=floats(args.cascades),
        drops=floats(args.drops),
        sample_every=args.sample_every,
    )
    if args.seed_only:
        print(json.dumps(seed(cfg)))
        return 0
    os.environ.setdefault("MPLCONFIGDIR", str(work / "mpl"))
    report = Report(config={**asdict(cfg), "start": cfg.start.isoformat(), "db": str(cfg.db)})
    if not cfg.db.exists():
        # seeded in a child process, so this process's memory is the bot's alone
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.bot.soak_harness",
                "--seed-only",
                *(argv if argv is not None else sys.argv[1:]),
                "--dir",
                str(work),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        report.seed = json.loads(done.stdout.splitlines()[-1])
    counter = LogCounter()
    logging.getLogger().addHandler(counter)
    logging.getLogger("flowwatch").setLevel(logging.INFO)
    wall = time.perf_counter()
    asyncio.run(soak(cfg, report))
    report.wall_seconds = round(time.perf_counter() - wall, 1)
    report.peak_rss = round(peak_rss_mib(), 1)
    report.logs = dict(counter.counts)
    report.warnings = counter.kept
    text = json.dumps(asdict(report), default=str)
    if args.out:
        Path(args.out).write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
