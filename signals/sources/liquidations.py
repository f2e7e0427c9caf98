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
from storage import liq_raw

if TYPE_CHECKING:
    from sqlite_utils import Database

    from bot.runner import App

log = logging.getLogger("flowwatch.sources.liquidations")


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
        if not app.settings.liq_venues:
            log.info("liquidation streams off (FLOWWATCH_LIQ_VENUES=none)")
            return
        from bot.liqlive import LiveLiquidations

        await LiveLiquidations(app, fill_from_rest=True).run()


SERVICES = [LiquidationStreams()]


def prune_raw(db: Database, now: int, settings: Any, dry_run: bool = False) -> dict[str, int]:
    """Raw frames past ``FLOWWATCH_LIQ_RETENTION_DAYS``, in the daily prune and ``flowwatch db prune``
    too: the running service prunes hourly, but only while its streams run."""
    days = float(settings.liq_retention_days)
    n = liq_raw.prune(db, int((now - days * 86400) * 1000), dry_run)
    return {f"raw liquidation frames older than {days:g} days": n}


PRUNERS = [prune_raw]
