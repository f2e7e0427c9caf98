"""The live BTC liquidation streams (Bybit, Binance, OKX) as one ``flowwatch run`` service.

The venue modules (:mod:`bybit`, :mod:`binance`, :mod:`okx`) know their protocols; this module
builds their clients from the settings and starts :class:`bot.liqlive.LiveLiquidations`, which
owns them, keeps the 1-minute buckets and windows in memory and evaluates ``btc_liq`` as frames
arrive. Streams run on the wall clock: under a simulated clock (replay harnesses, tests) the
service does not start. ``FLOWWATCH_LIQ_VENUES=none`` turns it off.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from signals.sources import binance, bybit, okx
from signals.sources._wsclient import OnEvents, StreamClient
from signals.sources.base import Setting
from storage.series import LIQ_VENUES

if TYPE_CHECKING:
    from bot.runner import App

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
    venues: Iterable[str], on_events: OnEvents, urls: Mapping[str, str] | None = None, **kw: Any
) -> list[StreamClient]:
    """One client per connection. ``urls`` overrides: bybit, bybit_inverse, binance, okx."""
    urls = urls or {}
    venues = set(venues)
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


class LiquidationStreams:
    """The ``SERVICES`` entry: ``await start(app)`` runs until cancelled."""

    def __repr__(self) -> str:
        return "btc_liq-streams"

    async def start(self, app: App) -> None:
        from bot.clock import SystemClock

        if not isinstance(app.clock, SystemClock):
            log.info("liquidation streams not started: they need the wall clock (simulated clock in use)")
            return
        if not app.settings.get(VENUES):
            log.info("liquidation streams off (FLOWWATCH_LIQ_VENUES=none)")
            return
        from bot.liqlive import LiveLiquidations

        await LiveLiquidations(app, fill_from_rest=True).run()


SERVICES = [LiquidationStreams()]
