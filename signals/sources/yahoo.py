"""Yahoo Finance chart API v8 (unofficial): intraday ^VIX, ^VIX3M, ^VIX9D in market hours.

``GET https://query1.finance.yahoo.com/v8/finance/chart/%5EVIX?interval=5m&range=1d``.
Envelope ``chart.result[0].{meta, timestamp[], indicators.quote[0].close[]}`` or
``chart.error``. Numbers carry float32 noise (rounded to 2 dp); arrays may hold ``null``.
Daily bars point into the trading day in the exchange's zone (``meta.exchangeTimezoneName``),
so their date is taken in that zone. Intraday bars land in ``yahoo.<index>.5m`` at the bar's
start; the bar still forming is left out.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from signals.sources import http
from signals.sources.base import (
    Drill,
    Poll,
    PollReport,
    Rejects,
    SourceContext,
    SourceError,
    bad_value_reason,
    describe_body,
    looks_like_html,
)
from storage.batches import Batch
from storage.maintenance import Retention
from storage.observations import Observation
from storage.series import yahoo_5m
from storage.timeutil import day_epoch

log = logging.getLogger("flowwatch.sources.yahoo")

MAX_EPOCH = 4_102_444_800  # 2100-01-01: anything later is garbage
URL = "https://query1.finance.yahoo.com/v8/finance/chart/{symbol}"
SYMBOLS = {"vix": "^VIX", "vix3m": "^VIX3M", "vix9d": "^VIX9D"}
BROWSER_HEADERS = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "Accept": "application/json,text/plain,*/*",
}


def parse_chart(
    text: str,
    series: str,
    *,
    interval: str = "5m",
    now: datetime | None = None,
    drop_forming: bool = True,
    rejects: Rejects | None = None,
) -> list[Observation]:
    """Parse a chart v8 body into observations of ``series``.

    ``interval="1d"``: one observation per bar at 00:00 UTC of the bar's exchange-local date.
    Otherwise: one per bar at its start; the bar still forming at ``now`` is dropped.
    """
    label = f"yahoo {series}"
    if looks_like_html(text) or not text.strip():
        raise SourceError(label, f"expected chart JSON, got {describe_body(text)}")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(label, f"malformed JSON ({exc})") from None
    chart = doc.get("chart") if isinstance(doc, dict) else None
    if not isinstance(chart, dict):
        raise SourceError(label, f"no 'chart' object in {describe_body(text)}")
    err = chart.get("error")
    if err:
        desc = err.get("description") if isinstance(err, dict) else str(err)
        code = err.get("code") if isinstance(err, dict) else ""
        raise SourceError(label, f"Yahoo error {code}: {desc}")
    results = chart.get("result") or []
    if not isinstance(results, list) or not results or not isinstance(results[0], dict):
        raise SourceError(label, "chart.result is empty")
    res = results[0]
    meta = res.get("meta") or {}
    stamps = res.get("timestamp") or []
    if not isinstance(stamps, list):
        raise SourceError(label, "chart.result[0].timestamp is not an array")
    try:
        closes = res["indicators"]["quote"][0]["close"]
    except (KeyError, IndexError, TypeError):
        raise SourceError(label, "no indicators.quote[0].close array") from None
    if not isinstance(closes, list):
        raise SourceError(label, "indicators.quote[0].close is not an array")
    if len(closes) != len(stamps):
        raise SourceError(label, f"{len(stamps)} timestamps but {len(closes)} closes")
    tz_name = meta.get("exchangeTimezoneName") if isinstance(meta, dict) else None
    try:
        tz = ZoneInfo(str(tz_name or "America/Chicago"))
    except Exception:  # ZoneInfo raises several kinds for a garbled key
        raise SourceError(label, f"unknown exchange timezone {str(tz_name)[:40]!r} in chart meta") from None
    step = _interval_seconds(interval)
    own = rejects is None
    rejects = Rejects(label) if rejects is None else rejects
    out = []
    for t, c in zip(stamps, closes, strict=True):
        if c is None:
            continue  # Yahoo's marker for a missing bar
        if (
            not isinstance(t, int | float)
            or not isinstance(c, int | float)
            or isinstance(t, bool)
            or isinstance(c, bool)
        ):
            rejects.add(str(t)[:20], "non-numeric bar")
            continue
        if not 0 < t < MAX_EPOCH:
            rejects.add(str(t)[:20], "timestamp out of range")
            continue
        value = round(float(c), 2)
        # judged before the forming bar is dropped: a bar from the future is an error, not a bar in progress
        reason = bad_value_reason(value, now=now, ts=int(t))
        if reason:
            rejects.add(datetime.fromtimestamp(t, tz=tz).isoformat(), reason)
            continue
        if interval == "1d":
            ts = day_epoch(datetime.fromtimestamp(t, tz=tz).date())
        else:
            ts = int(t)
            if drop_forming and now is not None and ts + step > now.timestamp():
                continue
        out.append(Observation(series, ts, value, "yahoo"))
    if own:
        rejects.log(log)
    return out


def _interval_seconds(interval: str) -> int:
    unit = {"m": 60, "h": 3600, "d": 86400}
    try:
        return int(interval[:-1]) * unit[interval[-1]]
    except (KeyError, ValueError):
        return 300


async def fetch_intraday(
    ctx: SourceContext, index: str, report: PollReport | None = None
) -> list[Observation]:
    symbol = SYMBOLS[index]
    resp = await http.get(
        ctx.client,
        URL.format(symbol=symbol),
        source=f"yahoo {symbol}",
        params={"interval": "5m", "range": "1d"},
        headers=BROWSER_HEADERS,
        sleep=ctx.sleep,
    )
    series = yahoo_5m(index)
    if report is None:
        return parse_chart(resp.text, series, interval="5m", now=ctx.now())
    return report.rows(
        f"yahoo {symbol}", lambda rj: parse_chart(resp.text, series, interval="5m", now=ctx.now(), rejects=rj)
    )


async def poll_intraday(ctx: SourceContext) -> Batch:
    """The three indices; what failed or was skipped in the run is one line."""
    out: list[Observation] = []
    report = PollReport("yahoo", log)
    for index, symbol in SYMBOLS.items():
        try:
            out += await fetch_intraday(ctx, index, report)
        except SourceError as exc:
            report.failed(f"yahoo {symbol}", exc)
    return Batch(tuple(report.finish(out)))


def _market_open(now: datetime) -> bool:
    from signals import tradingcal

    # run until the 16:15 ET index close
    return tradingcal.is_market_open(now) or tradingcal.is_market_open(now - timedelta(minutes=15))


RETENTION = [Retention("yahoo.%.5m", 30, "intraday quotes: only the session without a close is used")]

POLLS = [
    Poll(
        name="yahoo_intraday",
        trigger={"trigger": "interval", "minutes": 5},
        run=poll_intraday,
        signals=("vix_term",),
        active=_market_open,
        description="Yahoo 5-minute ^VIX, ^VIX3M, ^VIX9D during US market hours",
        # 11:00 ET, the market open
        drill=Drill(
            datetime(2026, 5, 28, 15, 0, tzinfo=UTC),
            timedelta(minutes=5),
            ("yahoo",),
            series="yahoo.%",
            stale_after=timedelta(minutes=30),
        ),
    ),
]
