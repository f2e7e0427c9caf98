"""Coinglass liquidation history (API v4, key required): an imported aggregate for ``btc_liq``.

``GET https://open-api-v4.coinglass.com/api/futures/liquidation/aggregated-history``
``?symbol=BTC&exchange_list=Binance,OKX,Bybit&interval=4h&start_time=<ms>&end_time=<ms>`` with
header ``CG-API-KEY``. Body ``{"code": "0", "data": [{"time": ms, "aggregated_long_liquidation_usd":
"...", "aggregated_short_liquidation_usd": "..."}]}`` (the per-exchange endpoint
``/liquidation/history`` names them ``long_liquidation_usd`` / ``short_liquidation_usd``; both are
read). Saved responses and CSV exports of them (``time_ms`` or ``date_utc``/``datetime_utc`` plus
the two USD columns) load with ``flowwatch backfill coinglass --file F``.

Rows become ``liq.btc.coinglass.long_usd.<bucket>`` / ``.short_usd.<bucket>`` (bucket ``1h``,
``4h`` or ``1d``, from the file name or the row spacing) stamped at the bucket start. The source
column records the exchanges when known (``coinglass:binance``), because an aggregate of one
exchange is not an aggregate of three, and Binance's figures are a lower bound.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from signals.sources import http
from signals.sources.base import (
    Backfill,
    BackfillContext,
    Rejects,
    Secret,
    Setting,
    SourceError,
    bad_value_reason,
    check_file_complete,
    describe_body,
    epoch_seconds,
    looks_like_html,
    parse_secret,
    read_csv_numbered,
    refuse_conflicts,
    refuse_damaged,
)
from storage import filerules
from storage.batches import Batch
from storage.observations import Observation
from storage.series import liq_series
from storage.timeutil import iso, parse_ts, to_epoch

log = logging.getLogger("flowwatch.sources.coinglass")

API_KEY = Setting[Secret | None](
    "FLOWWATCH_COINGLASS_API_KEY",
    "",
    "Coinglass API key, only for 'flowwatch backfill coinglass' without --file (paid plans).",
    parse_secret,
    secret=True,
)
SETTINGS = (API_KEY,)

URL = "https://open-api-v4.coinglass.com/api/futures/liquidation/aggregated-history"
INTERVALS = {"1h": 3600, "4h": 14400, "1d": 86400}
DEFAULT_EXCHANGES = "Binance,OKX,Bybit"
_KEYS_LONG = ("aggregated_long_liquidation_usd", "long_liquidation_usd")
_KEYS_SHORT = ("aggregated_short_liquidation_usd", "short_liquidation_usd")
_EXCHANGES = ("binance", "okx", "bybit")


def bucket_from_name(path: Path) -> str | None:
    name = path.name.lower()
    if re.search(r"(^|[^0-9])4h", name):
        return "4h"
    if re.search(r"(^|[^0-9])1h|hourly", name):
        return "1h"
    if re.search(r"(^|[^0-9])1d|daily", name):
        return "1d"
    return None


def exchanges_from_name(path: Path) -> str | None:
    found = [e for e in _EXCHANGES if e in path.name.lower()]
    return ",".join(found) if found else None


def _bucket_from_spacing(times: Sequence[int], label: str) -> str:
    if len(times) < 2:
        raise SourceError(
            label, "cannot tell the bucket size from one row; name the file with 1h, 4h or daily"
        )
    diffs = sorted(b - a for a, b in itertools.pairwise(times) if b > a)
    if not diffs:
        raise SourceError(label, "all rows have the same time")
    step = diffs[len(diffs) // 2]
    for name, secs in INTERVALS.items():
        if step == secs:
            return name
    raise SourceError(
        label, f"rows are {step} s apart; flowwatch stores 1h, 4h or 1d buckets (use one of those)"
    )


def _rows_from_json(text: str, label: str) -> list[tuple[Any, Any, Any, int | None]]:
    try:
        body = json.loads(text)
    except json.JSONDecodeError:
        raise SourceError(label, f"expected Coinglass JSON, got {describe_body(text)}") from None
    if not isinstance(body, dict):
        raise SourceError(label, f"expected a JSON object, got {describe_body(text)}")
    code = str(body.get("code", ""))
    if code not in ("0", "200"):
        raise SourceError(
            label, f"Coinglass error {code or '?'}: {str(body.get('msg', ''))[:160] or 'no message'}"
        )
    data = body.get("data")
    if not isinstance(data, list):
        raise SourceError(label, "the response has no data list")
    out: list[tuple[Any, Any, Any, int | None]] = []
    for row in data:
        if not isinstance(row, dict):
            continue
        long = next((row[k] for k in _KEYS_LONG if k in row), None)
        short = next((row[k] for k in _KEYS_SHORT if k in row), None)
        out.append((row.get("time"), long, short, None))
    return out


def _rows_from_csv(text: str, label: str) -> list[tuple[Any, Any, Any, int | None]]:
    fields, reader = read_csv_numbered(text.lstrip("\ufeff"), label)
    cols = [c.strip().lower() for c in fields]
    time_col = next((c for c in ("time_ms", "time", "date_utc", "datetime_utc", "date") if c in cols), None)
    long_col = next((c for c in (*_KEYS_LONG, "long_usd") if c in cols), None)
    short_col = next((c for c in (*_KEYS_SHORT, "short_usd") if c in cols), None)
    if time_col is None or long_col is None or short_col is None:
        raise SourceError(
            label,
            f"unexpected CSV header {','.join(cols)[:100]!r}: need time_ms (or date_utc), "
            "long_liquidation_usd and short_liquidation_usd",
        )
    out: list[tuple[Any, Any, Any, int | None]] = []
    for line, raw in reader:
        row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        t = row.get(time_col, "")
        ts: Any = t
        if time_col not in ("time_ms", "time"):
            try:
                ts = parse_ts(t) * 1000
            except ValueError:
                ts = t
        out.append((ts, row.get(long_col, ""), row.get(short_col, ""), line))
    return out


def parse(
    text: str,
    *,
    now: datetime,
    bucket: str | None = None,
    exchanges: str | None = None,
    since: datetime | None = None,
    label: str = "coinglass",
    strict: bool = False,
) -> tuple[str, list[Observation]]:
    """Coinglass JSON or a CSV export -> (bucket, observations). Bad rows: one log line, or
    with ``strict`` (a file) the whole file refused, as a cut-off CSV is."""
    if looks_like_html(text) or not text.strip():
        raise SourceError(label, f"expected Coinglass JSON or CSV, got {describe_body(text)}")
    if strict:
        check_file_complete(text, label)
    rows = _rows_from_json(text, label) if text.lstrip()[:1] in "{[" else _rows_from_csv(text, label)
    rejects = Rejects(label)
    seen = filerules.Conflicts()
    parsed: list[tuple[int, float, float]] = []
    for t, lo, sh, line in rows:
        try:
            ts_s: int | None = int(float(t)) // 1000
        except (TypeError, ValueError, OverflowError):
            ts_s = None
        ts = epoch_seconds(ts_s)
        if ts is None:
            rejects.add(f"time {str(t)[:20]!r}", "not a millisecond timestamp")
            continue
        try:
            long, short = float(lo), float(sh)
        except (TypeError, ValueError, OverflowError):
            rejects.add(iso(ts), f"USD values {str(lo)[:15]!r}/{str(sh)[:15]!r} are not numbers")
            continue
        reason = bad_value_reason(long, now=now, ts=ts, allow_zero=True) or bad_value_reason(
            short, allow_zero=True
        )
        if reason:
            rejects.add(iso(ts), reason)
            continue
        if seen.add(ts, (long, short), line):
            parsed.append((ts, long, short))
    if strict:
        refuse_damaged(rejects)
        refuse_conflicts(seen, label, lambda ts: f"{iso(ts)} (long/short USD)")
    parsed.sort()
    bucket = bucket or _bucket_from_spacing([p[0] for p in parsed], label)
    length = INTERVALS[bucket]
    # The API answers zeros before its data starts; drop that leading run.
    lead = 0
    while lead < len(parsed) and parsed[lead][1] == 0 and parsed[lead][2] == 0:
        lead += 1
    if lead:
        log.info("%s: skipped %d leading all-zero row(s) (before the data starts)", label, lead)
    source = f"coinglass:{exchanges.lower()}" if exchanges else "coinglass"
    out: list[Observation] = []
    cut = to_epoch(now)
    for ts, long, short in parsed[lead:]:
        if ts + length > cut:
            rejects.add(iso(ts), "the bucket is not complete yet")
            continue
        if since is not None and ts < to_epoch(since):
            continue
        out.append(Observation(liq_series("coinglass", "long", bucket), ts, round(long, 5), source))
        out.append(Observation(liq_series("coinglass", "short", bucket), ts, round(short, 5), source))
    rejects.log(log)
    return bucket, out


async def fetch(
    ctx: BackfillContext, interval: str = "4h", exchanges: str = DEFAULT_EXCHANGES
) -> tuple[str, list[Observation]]:
    key = ctx.settings.get(API_KEY)
    if not key:
        raise SourceError(
            "coinglass",
            "the live API needs your key: set FLOWWATCH_COINGLASS_API_KEY, or load a saved response "
            "with --file",
        )
    start = ctx.since or (ctx.now - timedelta(days=180))
    rows: list[Observation] = []
    cursor = to_epoch(start) * 1000
    end_ms = to_epoch(ctx.now) * 1000
    for _ in range(100):
        resp = await http.get(
            ctx.client,
            URL,
            source="coinglass",
            params={
                "symbol": "BTC",
                "exchange_list": exchanges,
                "interval": interval,
                "start_time": cursor,
                "end_time": end_ms,
            },
            headers={"CG-API-KEY": key.get()},
        )
        _, got = parse(resp.text, now=ctx.now, bucket=interval, exchanges=exchanges, since=start)
        new = [o for o in got if o.ts * 1000 >= cursor]
        if not new:
            break
        rows += new
        cursor = (max(o.ts for o in new) + INTERVALS[interval]) * 1000
        ctx.progress(1)
        if cursor >= end_ms:
            break
    return interval, rows


async def _backfill(ctx: BackfillContext) -> AsyncIterator[Batch]:
    if ctx.file is not None:
        text = ctx.file.read_text(encoding="utf-8", errors="replace")
        bucket, rows = parse(
            text,
            now=ctx.now,
            bucket=bucket_from_name(ctx.file),
            exchanges=exchanges_from_name(ctx.file),
            since=ctx.since,
            label=f"coinglass {ctx.file.name}",
            strict=True,
        )
        where = ctx.file.name
    else:
        bucket, rows = await fetch(ctx)
        where = "the Coinglass API"
    n = len(rows) // 2
    span = f" ({iso(rows[0].ts)[:10]} .. {iso(rows[-1].ts)[:10]})" if rows else ""
    head = f"liq.btc.coinglass.{{long,short}}_usd.{bucket}: {n} buckets from {where}{span}"
    yield Batch(
        tuple(rows),
        describe=lambda w: f"{head}; {w.observations.new} new, {w.observations.updated} updated rows",
        file=ctx.file.name if ctx.file is not None else None,
    )
    ctx.progress(1)


BACKFILL = Backfill(
    name="coinglass",
    help="Coinglass BTC liquidation history: --file F (saved aggregated-history JSON or a CSV export "
    "with time_ms,long_liquidation_usd,short_liquidation_usd), or live with FLOWWATCH_COINGLASS_API_KEY",
    run=_backfill,
    file=True,
    dir=False,
    live=True,
    recognises=lambda name, cols: "long_liquidation_usd" in cols and "time_ms" in cols,
)
