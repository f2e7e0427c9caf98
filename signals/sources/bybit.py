"""Bybit v5 public ``allLiquidation.<symbol>``: every liquidation, pushed in batches every 500 ms.

Linear contracts (``BTCUSDT``, the USDC perpetual ``BTCPERP``) on
``wss://stream.bybit.com/v5/public/linear`` and the inverse ``BTCUSD`` on ``.../inverse``.
Subscribe with ``{"op": "subscribe", "req_id": ..., "args": ["allLiquidation.BTCUSDT"]}`` (one
request per topic, so a symbol that is not listed fails alone) and ping with ``{"op": "ping"}``
about every 20 s. Data: ``{"topic", "type", "ts", "data": [{"T": ms, "s": symbol, "S": side,
"v": size, "p": bankruptcy price}]}`` with numbers as strings. Per Bybit's docs ``S = "Buy"``
means a **long** position was liquidated and ``"Sell"`` a short (the opposite letters to
Binance). Linear sizes are in BTC; inverse sizes are USD contracts (1 USD each).
Bybit refuses US locations at the handshake.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from math import inf as INF
from typing import Any

from signals.sources._wsclient import (
    ACK,
    DATA,
    ERROR,
    FUTURE_SKEW_MS,
    IGNORED,
    MIN_EVENT_MS,
    PONG,
    Event,
    Parsed,
    ParseStats,
    StreamClient,
    loads,
)

LINEAR_URL = "wss://stream.bybit.com/v5/public/linear"
INVERSE_URL = "wss://stream.bybit.com/v5/public/inverse"
LINEAR_SYMBOLS = ("BTCUSDT", "BTCPERP")
INVERSE_SYMBOLS = ("BTCUSD",)
#: symbol -> True when sizes are USD contracts (inverse)
SYMBOLS = {"BTCUSDT": False, "BTCPERP": False, "BTCUSD": True}
_SIDE = {"Buy": 0, "Sell": 1}


def parse_frame(text: str | bytes, stats: ParseStats, now_ms: int | None = None) -> Parsed:
    """One Bybit frame -> events (BTC symbols only), an ack, a pong, or an error."""
    try:
        d = loads(text)
    except ValueError:
        return stats.bad_frame(text)
    if type(d) is not dict:
        return stats.bad_frame(text)
    topic = d.get("topic")
    if topic is None:
        op = d.get("op")
        if op == "pong" or (op == "ping" and d.get("ret_msg") == "pong"):
            return Parsed(PONG)
        if op == "subscribe":
            if d.get("success"):
                return Parsed(ACK)
            return Parsed(ERROR, detail=str(d.get("ret_msg") or "subscription failed")[:200])
        if d.get("success") is False:
            return Parsed(ERROR, detail=str(d.get("ret_msg") or d)[:200])
        return Parsed(IGNORED)
    if type(topic) is not str or not topic.startswith("allLiquidation."):
        return Parsed(IGNORED)
    data = d.get("data")
    if type(data) is not list:
        return stats.bad_frame(text)
    limit = (now_ms if now_ms is not None else int(time.time() * 1000)) + FUTURE_SKEW_MS
    out: list[Event] = []
    push = out.append
    for item in data:
        try:
            sym = item["s"]
            inverse = SYMBOLS.get(sym)
            if inverse is None:
                stats.other_symbols += 1
                continue
            side = _SIDE[item["S"]]
            v = float(item["v"])
            p = float(item["p"])
            ts = int(item["T"])
        except (KeyError, TypeError, ValueError, OverflowError):
            stats.reject(f"unreadable liquidation {str(item)[:60]!r}")
            continue
        qty, usd = (v / p, v) if inverse else (v, v * p)
        # NaN fails every comparison; a product can overflow to inf or underflow to 0
        if not (0.0 < qty < INF and 0.0 < p < INF and 0.0 < usd < INF):
            stats.reject(f"{sym} size {v} / price {p} not positive and finite")
            continue
        if ts > limit:
            stats.reject(f"{sym} timestamp {ts} is in the future")
            continue
        if ts < MIN_EVENT_MS:
            stats.reject(f"{sym} timestamp {ts} is not a time in milliseconds")
            continue
        push((ts, "bybit", sym, side, qty, p, usd))
    return Parsed(DATA, out)


class BybitStream(StreamClient):
    venue = "bybit"
    ping_message = json.dumps({"op": "ping", "req_id": "ping"})
    ping_interval = 20.0

    def __init__(
        self, url: str = LINEAR_URL, *args: Any, symbols: Iterable[str] = LINEAR_SYMBOLS, **kw: Any
    ) -> None:
        super().__init__(url, *args, **kw)
        self.symbols = tuple(symbols)

    def subscribe_messages(self) -> list[str]:
        return [
            json.dumps({"op": "subscribe", "req_id": f"sub-{s}", "args": [f"allLiquidation.{s}"]})
            for s in self.symbols
        ]

    def parse(self, text: str | bytes) -> Parsed:
        return parse_frame(text, self.stats, int(self.clock() * 1000))
