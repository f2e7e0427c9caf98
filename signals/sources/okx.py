"""OKX v5 liquidation orders: the ``liquidation-orders`` channel (SWAP) and the REST feed.

WebSocket ``wss://ws.okx.com:8443/ws/v5/public``; subscribe with
``{"op": "subscribe", "args": [{"channel": "liquidation-orders", "instType": "SWAP"}]}``
(ack ``{"event": "subscribe", ...}``, refusal ``{"event": "error", "code", "msg"}``); send the
text ``ping`` when idle (the server closes after about 30 s of silence) and skip its ``pong``.
Frames carry every SWAP instrument: ``data[].{instId, instFamily, details[].{bkPx, sz, side,
posSide, ts}}`` with strings everywhere. ``sz`` is in **contracts**: BTC-USDT-SWAP is 0.01 BTC a
contract, BTC-USD-SWAP (inverse) 100 USD. ``side = "sell"`` (``posSide = "long"``) is a long
liquidated. OKX says the feed is not the complete set and not ordered; at most one push per
contract per second.

REST ``GET https://www.okx.com/api/v5/public/liquidation-orders?instType=SWAP&uly=BTC-USDT&state=filled``
keeps roughly the last day (100 rows a page, ``after`` = older than that ms time).
``flowwatch backfill okx`` pages through it and fills the 1-minute buckets the live stream did
not cover (minutes it covered keep their live values, so nothing counts twice).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from math import inf as INF
from typing import Any

import httpx

from signals.sources import http
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
from signals.sources.base import (
    Backfill,
    BackfillContext,
    SourceError,
    describe_body,
    looks_like_html,
    read_file,
    undecodable,
)
from storage.batches import Batch, GapFill, Written
from storage.observations import Observation
from storage.series import liq_series
from storage.timeutil import to_epoch

log = logging.getLogger("flowwatch.sources.okx")

WS_URL = "wss://ws.okx.com:8443/ws/v5/public"
REST_URL = "https://www.okx.com/api/v5/public/liquidation-orders"
#: instId -> (contract value, its currency); other instruments are not BTC and are skipped
CONTRACTS: dict[str, tuple[float, str]] = {
    "BTC-USDT-SWAP": (0.01, "BTC"),
    "BTC-USD-SWAP": (100.0, "USD"),
}
_SIDE = {"sell": 0, "buy": 1}


def _details(
    inst: Mapping[str, Any], contracts: Mapping[str, tuple[float, str]], stats: ParseStats, limit: int
) -> list[Event]:
    raw_id = inst.get("instId")
    inst_id = raw_id if isinstance(raw_id, str) else str(raw_id)[:20]
    spec = contracts.get(raw_id) if isinstance(raw_id, str) else None
    details = inst.get("details") or []
    if not isinstance(details, list):
        stats.reject(f"{inst_id} details {str(details)[:30]!r} is not a list")
        return []
    if spec is None:
        stats.other_symbols += len(details)
        return []
    ct_val, ccy = spec
    out: list[Event] = []
    for det in details:
        try:
            side = _SIDE[det["side"]]
            sz = float(det["sz"])
            px = float(det["bkPx"])
            ts = int(det["ts"])
        except (KeyError, TypeError, ValueError, OverflowError):
            stats.reject(f"unreadable liquidation {str(det)[:60]!r}")
            continue
        if ccy == "USD":
            usd = sz * ct_val
            qty = usd / px if px else 0.0
        else:
            qty = sz * ct_val
            usd = qty * px
        # NaN fails every comparison; a product can overflow to inf or underflow to 0
        if not (0.0 < qty < INF and 0.0 < px < INF and 0.0 < usd < INF):
            stats.reject(f"{inst_id} size {sz} / price {px} not positive and finite")
            continue
        if ts > limit:
            stats.reject(f"{inst_id} timestamp {ts} is in the future")
            continue
        if ts < MIN_EVENT_MS:
            stats.reject(f"{inst_id} timestamp {ts} is not a time in milliseconds")
            continue
        out.append((ts, "okx", inst_id, side, qty, px, usd))
    return out


def _other_coin(text: str | bytes) -> bool:
    if isinstance(text, bytes):
        return b"BTC" not in text and b'"channel":"liquidation-orders"' in text and b'"data"' in text
    return "BTC" not in text and '"channel":"liquidation-orders"' in text and '"data"' in text


def parse_frame(
    text: str | bytes,
    stats: ParseStats,
    now_ms: int | None = None,
    contracts: Mapping[str, tuple[float, str]] = CONTRACTS,
) -> Parsed:
    if text == "pong" or text == b"pong":
        return Parsed(PONG)
    if _other_coin(text):
        # The SWAP channel carries every contract; a push that does not even contain "BTC"
        # cannot hold a BTC contract, so it is counted without being decoded.
        stats.other_symbols += 1
        return Parsed(DATA)
    try:
        d = loads(text)
    except ValueError:
        return stats.bad_frame(text)
    if type(d) is not dict:
        return stats.bad_frame(text)
    event = d.get("event")
    if event is not None:
        if event == "subscribe":
            return Parsed(ACK)
        if event == "error":
            return Parsed(ERROR, detail=f"{d.get('code', '?')}: {str(d.get('msg', ''))[:160]}")
        return Parsed(IGNORED)
    arg = d.get("arg")
    if type(arg) is not dict or arg.get("channel") != "liquidation-orders":
        return Parsed(IGNORED)
    data = d.get("data")
    if type(data) is not list:
        return stats.bad_frame(text)
    limit = (now_ms if now_ms is not None else int(time.time() * 1000)) + FUTURE_SKEW_MS
    out: list[Event] = []
    for inst in data:
        if type(inst) is dict:
            out += _details(inst, contracts, stats, limit)
    return Parsed(DATA, out)


class OkxStream(StreamClient):
    venue = "okx"
    ping_message = "ping"
    ping_interval = 25.0
    ping_when_idle = True

    def __init__(
        self,
        url: str = WS_URL,
        *args: Any,
        contracts: Mapping[str, tuple[float, str]] | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(url, *args, **kw)
        self.contracts = dict(contracts or CONTRACTS)

    def subscribe_messages(self) -> list[str]:
        return [
            json.dumps({"op": "subscribe", "args": [{"channel": "liquidation-orders", "instType": "SWAP"}]})
        ]

    def parse(self, text: str | bytes) -> Parsed:
        return parse_frame(text, self.stats, int(self.clock() * 1000), self.contracts)


# -- REST: the last day ---------------------------------------------------------------------


def parse_rest(text: str, *, now: datetime, label: str = "okx liquidation-orders") -> list[Event]:
    if looks_like_html(text) or not text.strip():
        raise SourceError(label, f"expected JSON, got {describe_body(text)}")
    try:
        body = loads(text)
    except ValueError as exc:
        raise SourceError(label, undecodable("liquidation-orders", text, exc)) from None
    if not isinstance(body, dict) or str(body.get("code")) != "0":
        code = body.get("code", "?") if isinstance(body, dict) else "?"
        msg = body.get("msg", "") if isinstance(body, dict) else describe_body(text)
        raise SourceError(label, f"OKX error {code}: {str(msg)[:160]}")
    stats = ParseStats()
    out: list[Event] = []
    limit = to_epoch(now) * 1000 + FUTURE_SKEW_MS
    data = body.get("data") or []
    if not isinstance(data, list):
        raise SourceError(label, f"expected a data list, got {describe_body(json.dumps(data)[:200])}")
    for inst in data:
        if isinstance(inst, dict):
            out += _details(inst, CONTRACTS, stats, limit)
    stats.log_summary(label)
    return out


REST_SOURCE = "okx-rest"
OKX_1M = (liq_series("okx", "long", "1m"), liq_series("okx", "short", "1m"))


def buckets_for_gaps(events: list[Event], covered: set[int], start: int, end: int) -> list[Observation]:
    """1-minute OKX buckets for minutes in ``[start, end)`` that live rows did not cover (zeros too)."""
    sums: dict[int, list[float]] = {}
    for ts_ms, _v, _s, side, _q, _p, amount in events:
        m = ts_ms // 60000 * 60
        sums.setdefault(m, [0.0, 0.0])[side] += amount
    out = []
    for m in range(start - start % 60, end - end % 60, 60):
        if m in covered:
            continue
        long, short = sums.get(m, (0.0, 0.0))
        out.append(Observation(OKX_1M[0], m, round(long, 2), REST_SOURCE))
        out.append(Observation(OKX_1M[1], m, round(short, 2), REST_SOURCE))
    return out


async def fetch_recent(
    client: httpx.AsyncClient,
    now: datetime,
    since: datetime,
    progress: Callable[[int], None] = lambda n: None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> list[Event]:
    """BTC liquidations since ``since`` from the REST feed (pages of 100, newest first)."""
    events: list[Event] = []
    for uly in ("BTC-USDT", "BTC-USD"):
        after: int | None = None
        for _ in range(300):
            params: dict[str, Any] = {"instType": "SWAP", "uly": uly, "state": "filled", "limit": 100}
            if after is not None:
                params["after"] = after
            resp = await http.get(
                client, REST_URL, source="okx liquidation-orders", params=params, sleep=sleep
            )
            page = parse_rest(resp.text, now=now)
            progress(1)
            if not page:
                break
            events += page
            oldest = min(e[0] for e in page)
            if oldest <= to_epoch(since) * 1000 or (after is not None and oldest >= after):
                break
            after = oldest
    return [e for e in events if e[0] >= to_epoch(since) * 1000]


async def _backfill(ctx: BackfillContext) -> AsyncIterator[Batch]:
    since = ctx.since or (ctx.now - timedelta(days=1))
    if ctx.file is not None:
        events = [
            e
            for e in parse_rest(read_file(ctx.file, f"okx {ctx.file.name}"), now=ctx.now)
            if e[0] >= to_epoch(since) * 1000
        ]
        where = ctx.file.name
    else:
        events = await fetch_recent(ctx.client, ctx.now, since, ctx.progress)
        where = "OKX REST"
    if not events:
        yield Batch(
            describe=lambda w: f"okx: no BTC liquidations from {where} since {since:%Y-%m-%d %H:%M} UTC"
        )
        return
    end = to_epoch(ctx.now) // 60 * 60  # complete minutes only
    fill = gap_fill(events, end)

    def describe(w: Written) -> str:
        obs, kept = w.result(fill)
        return (
            f"okx: {len(events)} BTC liquidations from {where}; filled {len(obs) // 2} minute buckets the live "
            f"stream had not covered; {kept} live minutes kept"
        )

    yield Batch(rows=(fill,), describe=describe)


def gap_fill(events: list[Event], end: int) -> GapFill:
    """The REST events' minutes before ``end``, to be written where no live row covers them
    (checked in the write's transaction: :class:`storage.batches.GapFill`)."""
    start = min(e[0] for e in events) // 1000
    return GapFill(tuple(buckets_for_gaps(events, set(), start, end)), OKX_1M, REST_SOURCE, start - 60, end)


BACKFILL = Backfill(
    name="okx",
    help="OKX BTC liquidations of roughly the last day (live REST, or --file with a saved liquidation-orders body) "
    "into the minutes the live stream did not cover",
    run=_backfill,
    file=True,
    dir=False,
    live=True,
)
