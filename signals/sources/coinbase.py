"""BTC price from Coinbase Exchange public candles (Binance klines as the fallback).

``GET https://api.exchange.coinbase.com/products/BTC-USD/candles?granularity=60&start=<ISO>&end=<ISO>``
(granularity 60, 300, 900, 3600, 21600 or 86400 s; at most 300 candles a call; no key). Rows are
``[time (unix s), low, high, open, close, volume]`` as bare numbers, **newest first** (the column
order differs from Binance). Closes of complete candles go to ``btc.usd.close.<bucket>``, stamped
at the candle start; ``btc_liq`` shows the price beside the liquidations and the move during a
cascade.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from signals.sources import binance, http
from signals.sources.base import (
    Backfill,
    BackfillContext,
    Drill,
    Poll,
    PollReport,
    Rejects,
    SourceContext,
    SourceError,
    read_file,
)
from storage.batches import Batch, counted
from storage.observations import Observation
from storage.series import LIQ_BUCKET_NAMES as BUCKET_NAMES
from storage.series import price_series
from storage.timeutil import iso, to_epoch

log = logging.getLogger("flowwatch.sources.coinbase")

URL = "https://api.exchange.coinbase.com/products/BTC-USD/candles"
GRANULARITIES = {60: "1m", 300: "5m", 900: "15m", 3600: "1h", 86400: "1d"}


def parse_candles(
    text: str,
    granularity: int,
    *,
    now: datetime,
    label: str = "coinbase candles",
    rejects: Rejects | None = None,
) -> list[Observation]:
    rows = binance.candle_rows(
        text, label, "candles", lambda err: f"Coinbase error: {str(err.get('message', err))[:160]}"
    )
    bucket = GRANULARITIES.get(granularity)
    if bucket is None:
        raise SourceError(
            label, f"granularity {granularity} s is not stored; use 60, 300, 900, 3600 or 86400"
        )
    own = rejects is None
    rejects = Rejects(label) if rejects is None else rejects
    out = binance.closed_candles(
        rows,
        now=now,
        rejects=rejects,
        length=granularity,
        series=price_series(bucket),
        source="coinbase",
        millis=False,
        shape="candle row [time, low, high, open, close, volume]",
    )
    if own:
        rejects.log(log)
    out.sort(key=lambda o: o.ts)
    return out


async def fetch_candles(
    client: httpx.AsyncClient,
    start: datetime,
    end: datetime,
    granularity: int,
    now: datetime,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    report: PollReport | None = None,
) -> list[Observation]:
    label = "coinbase candles"
    resp = await http.get(
        client,
        URL,
        source=label,
        params={"granularity": granularity, "start": iso(start), "end": iso(end)},
        sleep=sleep,
    )
    if report is None:
        return parse_candles(resp.text, granularity, now=now)
    return report.rows(label, lambda rj: parse_candles(resp.text, granularity, now=now, rejects=rj))


async def poll_price(ctx: SourceContext) -> Batch:
    """The last two hours of 1-minute closes; Binance klines when Coinbase fails. One line for the run."""
    now = ctx.now()
    report = PollReport("coinbase", log)
    try:
        rows = await fetch_candles(ctx.client, now - timedelta(hours=2), now, 60, now, ctx.sleep, report)
    except SourceError as exc:
        report.failed("coinbase candles", exc)
        try:
            rows = await binance.fetch_closes(ctx, "1m", 120, report)
        except SourceError as exc2:
            report.failed("binance klines (the fallback)", exc2)
            rows = []
        else:
            report.note("used the Binance klines fallback")
    return Batch(tuple(report.finish(rows)))


POLLS = [
    Poll(
        name="btc_price",
        trigger={"trigger": "interval", "minutes": 5},
        run=poll_price,
        signals=(),
        description="BTC-USD 1-minute closes (Coinbase; Binance klines as fallback)",
        # feeds no signal: no stale row
        drill=Drill(
            datetime(2026, 11, 20, 15, 0, tzinfo=UTC), timedelta(minutes=5), ("coinbase",), series="btc.usd.%"
        ),
    )
]


def _granularity_from(path: Path) -> int:
    for g in sorted(GRANULARITIES, reverse=True):
        if f"_{g}" in path.stem:
            return g
    raise ValueError(
        f"cannot tell the candle size of {path.name}: put it in the name, e.g. candles_BTC-USD_86400.json"
    )


async def _backfill(ctx: BackfillContext) -> AsyncIterator[Batch]:
    if ctx.file is not None:
        g = _granularity_from(ctx.file)
        rows = parse_candles(
            read_file(ctx.file, f"coinbase {ctx.file.name}"),
            g,
            now=ctx.now,
            label=f"coinbase {ctx.file.name}",
        )
        if ctx.since is not None:
            rows = [r for r in rows if r.ts >= to_epoch(ctx.since)]
        where = ctx.file.name
    else:
        g = 3600
        start = ctx.since or ctx.now - timedelta(days=30)
        rows = []
        t = start
        while t < ctx.now:
            t2 = min(t + timedelta(seconds=g * 300), ctx.now)
            rows += await fetch_candles(ctx.client, t, t2, g, ctx.now)
            ctx.progress(1)
            t = t2
        where = "Coinbase"
    name = price_series(BUCKET_NAMES.get(g, GRANULARITIES[g]))
    yield Batch(tuple(rows), describe=counted(f"{name}: {len(rows)} closes from {where}"))


BACKFILL = Backfill(
    name="coinbase",
    help="BTC-USD hourly closes from Coinbase (live, --since DATE; default 30 days) or --file with a saved candles body",
    run=_backfill,
    file=True,
    dir=False,
    live=True,
)
