"""Binance USDⓈ-M futures: the all-market liquidation stream and BTCUSDT klines.

Stream ``wss://fstream.binance.com/market/ws/!forceOrder@arr`` (since Binance's 2026 routing
change; the old ``/ws/...`` path still accepts the connection but delivers nothing, so it is
refused here with a clear message). The combined form ``/market/stream?streams=!forceOrder@arr``
wraps frames as ``{"stream": ..., "data": {...}}``; both are read. Each frame is one object
``{"e": "forceOrder", "E": ms, "o": {"s": symbol, "S": side, "q": qty, "p": price, "ap": average
price, "X": status, "l": last filled, "z": filled, "T": ms}}``; ``S = "SELL"`` means a long was
liquidated. Binance pushes at most one liquidation per symbol per second (a snapshot of the
latest), so every total from it is a **lower bound**. Connections live 24 h (we reconnect
before that); the server pings and ``websockets`` answers. Binance answers HTTP 451 to US
locations.

Klines (``GET https://api.binance.com/api/v3/klines?symbol=BTCUSDT&interval=1m``) are the
fallback BTC price when Coinbase fails; ``flowwatch backfill binance --file`` loads a klines
JSON body or a CSV ``timestamp,open,high,low,close,...`` export into ``btc.usd.close.<bucket>``.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from math import inf as INF
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from signals.sources import http
from signals.sources._wsclient import (
    ACK,
    DATA,
    FUTURE_SKEW_MS,
    IGNORED,
    MIN_EVENT_MS,
    Event,
    Parsed,
    ParseStats,
    StreamClient,
    loads,
)
from signals.sources.base import (
    Backfill,
    BackfillContext,
    PollReport,
    Rejects,
    SourceContext,
    SourceError,
    bad_value_reason,
    describe_body,
    epoch_seconds,
    looks_like_html,
    read_csv_numbered,
    read_file,
    refuse_conflicts,
    undecodable,
)
from storage import filerules
from storage.batches import Batch, counted
from storage.observations import Observation
from storage.series import LIQ_BUCKETS as BUCKETS
from storage.series import price_series
from storage.timeutil import iso, parse_ts, to_epoch

log = logging.getLogger("flowwatch.sources.binance")

STREAM_URL = "wss://fstream.binance.com/market/ws/!forceOrder@arr"
KLINES_URL = "https://api.binance.com/api/v3/klines"
#: Binance closes connections after 24 h; reconnect a little before
MAX_AGE_S = 23.5 * 3600
_SIDE = {"SELL": 0, "BUY": 1}
_INTERVALS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14400, "1d": 86400}


_BTC = frozenset(("BTCUSDT", "BTCUSDC"))
_BTC_DATED = ("BTCUSDT_", "BTCUSDC_")


def is_btc(symbol: str) -> bool:
    """USDⓈ-M BTC contracts: BTCUSDT, BTCUSDC and their dated deliveries (BTCUSDT_260327)."""
    return symbol in _BTC or symbol.startswith(_BTC_DATED)


def _other_coin(text: str | bytes) -> bool:
    if isinstance(text, bytes):
        return b"BTC" not in text and b'"e":"forceOrder"' in text
    return "BTC" not in text and '"e":"forceOrder"' in text


def parse_frame(text: str | bytes, stats: ParseStats, now_ms: int | None = None) -> Parsed:
    if _other_coin(text):
        # The all-market stream is mostly other coins; a liquidation frame that does not even
        # contain "BTC" cannot hold a BTC contract, so it is counted without being decoded.
        stats.other_symbols += 1
        return Parsed(DATA)
    try:
        d = loads(text)
    except ValueError:
        return stats.bad_frame(text)
    if type(d) is not dict:
        return stats.bad_frame(text)
    if "data" in d and "stream" in d:
        d = d["data"]
        if type(d) is not dict:
            return stats.bad_frame(text)
    if d.get("e") != "forceOrder":
        if "result" in d and "id" in d:
            return Parsed(ACK)
        return Parsed(IGNORED)
    try:
        o = d["o"]
        sym = o["s"]
        if sym not in _BTC and not sym.startswith(_BTC_DATED):
            stats.other_symbols += 1
            return Parsed(DATA)
        side = _SIDE[o["S"]]
        qty = float(o.get("z") or o["q"])
        price = float(o.get("ap") or 0) or float(o["p"])
        ts = int(o.get("T") or d["E"])
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
        stats.reject(f"unreadable liquidation {str(text)[:60]!r}")
        return Parsed(DATA)
    usd = qty * price
    # NaN fails every comparison; the product can overflow to inf or underflow to 0
    if not (0.0 < qty < INF and 0.0 < price < INF and 0.0 < usd < INF):
        stats.reject(f"{sym} quantity {qty} / price {price} not positive and finite")
        return Parsed(DATA)
    if ts > (now_ms if now_ms is not None else int(time.time() * 1000)) + FUTURE_SKEW_MS:
        stats.reject(f"{sym} timestamp {ts} is in the future")
        return Parsed(DATA)
    if ts < MIN_EVENT_MS:
        stats.reject(f"{sym} timestamp {ts} is not a time in milliseconds")
        return Parsed(DATA)
    ev: Event = (ts, "binance", str(sym), side, qty, price, usd)
    return Parsed(DATA, [ev])


def check_stream_url(url: str) -> None:
    """Refuse the retired ``/ws/`` path on Binance's host: it connects but stays silent."""
    u = urlparse(url)
    if u.hostname and u.hostname.endswith("binance.com") and not u.path.startswith("/market/"):
        raise ValueError(
            f"{url}: Binance no longer delivers liquidations on this path; use {STREAM_URL} "
            "(or /market/stream?streams=!forceOrder@arr)"
        )


class BinanceStream(StreamClient):
    venue = "binance"
    max_age = MAX_AGE_S

    def __init__(self, url: str = STREAM_URL, *args: Any, **kw: Any) -> None:
        check_stream_url(url)
        super().__init__(url, *args, **kw)

    def parse(self, text: str | bytes) -> Parsed:
        return parse_frame(text, self.stats, int(self.clock() * 1000))


# -- klines: the fallback price, and history files ----------------------------------------


def candle_rows(text: str, label: str, what: str, error: Callable[[dict[str, Any]], str]) -> list[Any]:
    """The JSON list of an exchange's candles (Binance klines, Coinbase candles), or a
    :class:`SourceError` saying what came instead (an HTML page, junk, the venue's error object
    rendered by ``error``)."""
    if looks_like_html(text) or not text.strip():
        raise SourceError(label, f"expected {what} JSON, got {describe_body(text)}")
    try:
        rows = loads(text)
    except ValueError as exc:
        raise SourceError(label, undecodable(what, text, exc)) from None
    if isinstance(rows, dict):
        raise SourceError(label, error(rows))
    if not isinstance(rows, list):
        raise SourceError(label, f"expected a list of {what}, got {describe_body(text)}")
    return rows


def closed_candles(
    rows: list[Any],
    *,
    now: datetime,
    rejects: Rejects,
    length: int,
    series: str,
    source: str,
    millis: bool,
    shape: str,
) -> list[Observation]:
    """The close of every finished candle in ``rows`` (each a list with the start time first and
    the close fifth, as Binance klines and Coinbase candles both are); bad rows go to
    ``rejects``, a candle still open at ``now`` is left out."""
    out = []
    cut = to_epoch(now)
    for row in rows:
        ts: int | None = None
        try:
            if isinstance(row, list):
                close = float(row[4])
                ts = epoch_seconds(int(row[0]) // 1000 if millis else row[0])
        except (TypeError, ValueError, IndexError, OverflowError):
            ts = None
        if ts is None:
            rejects.add(str(row)[:40], f"not a {shape}")
            continue
        reason = bad_value_reason(close, now=now, ts=ts)
        if reason:
            rejects.add(iso(ts), reason)
            continue
        if ts + length > cut:
            continue  # the candle is still open
        out.append(Observation(series, ts, close, source))
    return out


def parse_klines(
    text: str,
    interval: str,
    *,
    now: datetime,
    label: str = "binance klines",
    rejects: Rejects | None = None,
) -> list[Observation]:
    """A klines JSON body (``[[openTime, "open", "high", "low", "close", ...], ...]``)."""
    rows = candle_rows(
        text,
        label,
        "klines",
        lambda err: f"Binance error {err.get('code', '?')}: {str(err.get('msg', ''))[:120]}",
    )
    length = _INTERVALS[interval]
    own = rejects is None
    rejects = Rejects(label) if rejects is None else rejects
    out = closed_candles(
        rows,
        now=now,
        rejects=rejects,
        length=length,
        series=price_series(interval),
        source="binance",
        millis=True,
        shape="kline row [openTime ms, open, high, low, close, ...]",
    )
    if own:
        rejects.log(log)
    return out


def parse_kline_csv(text: str, *, now: datetime, label: str = "binance csv") -> tuple[str, list[Observation]]:
    """A CSV export with header ``timestamp,open,high,low,close,...`` (bar open time, UTC). A file
    that gives one bar two closes is refused (:mod:`storage.filerules`)."""
    fields, reader = read_csv_numbered(text.lstrip("\ufeff"), label)
    cols = [c.strip().lower() for c in fields]
    if "close" not in cols or not ({"timestamp", "open_time", "date"} & set(cols)):
        raise SourceError(label, f"unexpected CSV header {','.join(cols)[:80]!r} (need timestamp and close)")
    tcol = next(c for c in ("timestamp", "open_time", "date") if c in cols)
    rows: list[tuple[int, float]] = []
    rejects = Rejects(label)
    seen = filerules.Conflicts()
    for line, raw in reader:
        row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        try:
            ts = parse_ts(row[tcol])
            close = float(row["close"])
        except (ValueError, KeyError):
            rejects.add(str(row.get(tcol))[:30], "unreadable row")
            continue
        reason = bad_value_reason(close, now=now, ts=ts)
        if reason:
            rejects.add(iso(ts), reason)
            continue
        if seen.add(ts, close, line):
            rows.append((ts, close))
    refuse_conflicts(seen, label, iso)
    rejects.log(log)
    rows.sort()
    if len(rows) < 2:
        raise SourceError(label, "need at least two rows to tell the bar size")
    diffs = sorted(b[0] - a[0] for a, b in itertools.pairwise(rows) if b[0] > a[0])
    if not diffs:
        raise SourceError(label, "every row has the same timestamp; cannot tell the bar size")
    step = diffs[len(diffs) // 2]
    bucket = next((k for k, v in BUCKETS.items() if v == step), None)
    if bucket is None or bucket not in _INTERVALS:
        raise SourceError(
            label, f"bars are {step} s apart; flowwatch stores 1m, 5m, 15m, 1h, 4h or 1d closes"
        )
    cut = to_epoch(now)
    out = [Observation(price_series(bucket), ts, c, "binance") for ts, c in rows if ts + step <= cut]
    return bucket, out


async def fetch_closes(
    ctx: SourceContext, interval: str = "1m", limit: int = 120, report: PollReport | None = None
) -> list[Observation]:
    label = "binance klines"
    resp = await http.get(
        ctx.client,
        KLINES_URL,
        source=label,
        params={"symbol": "BTCUSDT", "interval": interval, "limit": limit},
        sleep=ctx.sleep,
    )
    if report is None:
        return parse_klines(resp.text, interval, now=ctx.now())
    return report.rows(label, lambda rj: parse_klines(resp.text, interval, now=ctx.now(), rejects=rj))


async def _backfill(ctx: BackfillContext) -> AsyncIterator[Batch]:
    if ctx.file is None:
        raise ValueError("backfill binance reads files only: --file klines.json or a CSV export")
    text = read_file(ctx.file, f"binance {ctx.file.name}")
    if text.lstrip()[:1] == "[" or text.lstrip()[:1] == "{":
        interval = _interval_from_name(ctx.file)
        rows = parse_klines(text, interval, now=ctx.now, label=f"binance {ctx.file.name}")
        bucket = interval
    else:
        bucket, rows = parse_kline_csv(text, now=ctx.now, label=f"binance {ctx.file.name}")
    if ctx.since is not None:
        rows = [r for r in rows if r.ts >= to_epoch(ctx.since)]
    yield Batch(
        tuple(rows),
        describe=counted(f"{price_series(bucket)}: {len(rows)} closes from {ctx.file.name}"),
        file=ctx.file.name,
    )
    ctx.progress(1)


def _interval_from_name(path: Path) -> str:
    name = path.name.lower()
    for k in ("15m", "5m", "1m", "1h", "4h", "1d"):
        if f"_{k}" in name or f"-{k}" in name:
            return k
    if "daily" in name:
        return "1d"
    raise ValueError(
        f"cannot tell the kline interval of {path.name}: put it in the name, e.g. klines_BTCUSDT_1d.json"
    )


BACKFILL = Backfill(
    name="binance",
    help="BTC price history from Binance klines: --file (a klines JSON body or a CSV timestamp,open,high,low,close,...)",
    run=_backfill,
    file=True,
    dir=False,
    live=False,
    recognises=lambda name, cols: (
        cols[:5] == ("timestamp", "open", "high", "low", "close") and "btc" in name.lower()
    ),
)
