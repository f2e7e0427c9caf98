"""The live BTC liquidation streams (Bybit, Binance, OKX), declared for the app's stream service.

The venue modules (:mod:`bybit`, :mod:`binance`, :mod:`okx`) know their protocols; this module
declares the stream (:data:`STREAMS`): it makes their clients from the settings, and on start
fills the minutes OKX's stream missed from its REST feed. ``flowwatch run`` runs them as one
service (``bot.streams``) that evaluates ``btc_liq`` in memory as frames arrive. Streams run on
the wall clock: under a simulated clock (replay harnesses, tests) the service does not start.
``FLOWWATCH_LIQ_VENUES=none`` turns it off.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from signals.sources import binance, bybit, okx
from signals.sources._wsclient import OnEvents, StreamClient
from signals.sources.base import Setting, SettingValues, SourceContext, SourceError, Stream
from storage.batches import Batch, Written
from storage.series import LIQ_VENUES
from storage.timeutil import to_epoch

log = logging.getLogger("flowwatch.sources.liquidations")


def _venues(text: str) -> tuple[str, ...]:
    if text.strip().lower() == "none":
        return ()
    names = tuple(dict.fromkeys(v.strip().lower() for v in text.split(",") if v.strip()))
    bad = [v for v in names if v not in LIQ_VENUES]
    if bad:
        raise ValueError(
            f"unknown venue {bad[0]!r}: use a comma-separated list of {', '.join(LIQ_VENUES)} (or none)"
        )
    return names


def _days(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number of days") from None
    if not 0 <= v <= 3650:
        raise ValueError(f"{text!r} is out of range (0 to 3650 days; 0 = do not keep them)")
    return v


def _minute_days(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number of days") from None
    if v != 0 and not 3 <= v <= 36500:
        raise ValueError(
            f"{text!r} is out of range (3 to 36500 days, or 0 = keep every minute; the cascade tracker "
            "warms up over the last two days of minutes)"
        )
    return v


VENUES = Setting[tuple[str, ...]](
    "FLOWWATCH_LIQ_VENUES",
    "bybit,binance,okx",
    "Liquidation streams flowwatch run opens (comma-separated: bybit, binance, okx); 'none' = no streams.",
    _venues,
)
RAW_RETENTION_DAYS = Setting[float](
    "FLOWWATCH_LIQ_RETENTION_DAYS",
    "7",
    "Days to keep raw liquidation events (the 1-minute buckets have their own retention); 0 = do not store raw events.",
    _days,
)
MINUTE_RETENTION_DAYS = Setting[float](
    "FLOWWATCH_LIQ_MINUTE_RETENTION_DAYS",
    "90",
    "Days to keep the 1-minute liquidation buckets, stream gaps and BTC minute closes; their 5-minute, "
    "hourly and daily roll-ups are kept. 0 = keep every minute; else 3 to 36500.",
    _minute_days,
)
SETTINGS = (VENUES, RAW_RETENTION_DAYS, MINUTE_RETENTION_DAYS)


def make_streams(
    settings: SettingValues,
    on_events: OnEvents,
    *,
    venues: Iterable[str] | None = None,
    urls: Mapping[str, str] | None = None,
    **kw: Any,
) -> list[StreamClient]:
    """One client per connection of the venues of ``FLOWWATCH_LIQ_VENUES`` (or ``venues``).
    ``urls`` overrides: bybit, bybit_inverse, binance, okx; ``kw`` goes to every client."""
    urls = urls or {}
    configured: tuple[str, ...] = settings.get(VENUES)
    venues = set(configured if venues is None else venues)
    out: list[StreamClient] = []
    if "bybit" in venues:
        out.append(
            bybit.BybitStream(
                urls.get("bybit", bybit.LINEAR_URL),
                on_events,
                name="bybit",
                symbols=bybit.LINEAR_SYMBOLS,
                **kw,
            )
        )
        out.append(
            bybit.BybitStream(
                urls.get("bybit_inverse", bybit.INVERSE_URL),
                on_events,
                name="bybit-inverse",
                symbols=bybit.INVERSE_SYMBOLS,
                **kw,
            )
        )
    if "binance" in venues:
        out.append(
            binance.BinanceStream(urls.get("binance", binance.STREAM_URL), on_events, name="binance", **kw)
        )
    if "okx" in venues:
        out.append(okx.OkxStream(urls.get("okx", okx.WS_URL), on_events, name="okx", **kw))
    return out


async def fill_downtime(ctx: SourceContext, started: datetime, venues: Sequence[str]) -> Batch:
    """The minutes OKX's stream missed before this start (downtime), from its REST feed (about a
    day back); written only where no live row covers them (:class:`storage.batches.GapFill`)."""
    if "okx" not in venues:
        return Batch()
    start = to_epoch(started) // 60 * 60
    try:
        events = await okx.fetch_recent(ctx.client, ctx.now(), ctx.now() - timedelta(days=1))
    except SourceError as exc:
        # the outage is already the stream's one warning: the REST fill that failed with it is a detail
        log.info("okx: could not fill the downtime from REST: %s", exc)
        return Batch()
    if not events:
        return Batch()
    fill = okx.gap_fill(events, start)

    def describe(w: Written) -> str:
        n = len(w.result(fill)[0]) // 2
        return f"okx: filled {n} minutes before this start from REST" if n else ""

    return Batch(rows=(fill,), describe=describe)


STREAMS = [
    Stream(
        name="liquidations",
        signal="btc_liq",
        make=make_streams,
        enabled=lambda settings: bool(settings.get(VENUES)),
        raw_retention_days=lambda settings: settings.get(RAW_RETENTION_DAYS),
        on_start=fill_downtime,
        description="BTC liquidations from Bybit, Binance and OKX, evaluated as frames arrive",
    )
]
