"""The earnings calendar: the daily refresh (Nasdaq, Alpha Vantage as fallback) and files.

- Poll ``earnings_calendar`` (every weekday morning, before the open): the Nasdaq scan of the
  next ``FLOWWATCH_EARNINGS_SCAN_DAYS`` days (:mod:`signals.sources.nasdaq`: one request per
  trading day, spaced, cached for the day); when most days fail, one Alpha Vantage call
  (``ALPHAVANTAGE_API_KEY``) for the next three months. Rows go to the ``earnings`` table;
  moved and dropped reports are superseded there (:mod:`storage.earnings`).
- ``flowwatch backfill earnings --file F``: a CSV with header ``ticker,earnings_date`` and
  optional ``time`` (before/after market: ``bmo``/``amc``, ``pre-market``/``post-market``,
  ...), ``market_cap`` (USD, ``$1,234`` allowed), ``fiscal_quarter_end`` (``YYYY-MM-DD`` or
  ``Sep/2026``) and ``estimated`` (1/0). Its dates count as dated reports (known a horizon
  before the report in replay). Without ``--file`` it runs the refresh once.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from signals.sources import alphavantage, nasdaq
from signals.sources.base import (
    Backfill,
    BackfillContext,
    Drill,
    Poll,
    Rejects,
    SettingValues,
    SourceContext,
    SourceError,
    StoreReader,
    check_file_complete,
    read_csv,
    refuse_damaged,
)
from storage import meta
from storage.batches import Batch, EarningsRows, TableWrite, Written
from storage.earnings import Report, normalise_ticker, parse_time_of_day
from storage.timeutil import NEW_YORK, to_epoch

log = logging.getLogger("flowwatch.sources.earnings")

REQUIRED = ("ticker", "earnings_date")
OPTIONAL = ("time", "market_cap", "fiscal_quarter_end", "estimated")
#: dates further ahead than this are refused (no calendar lists them)
MAX_AHEAD = timedelta(days=400)
_TRUE = {"1", "true", "yes", "y", "estimated"}
_FALSE = {"", "0", "false", "no", "n"}

DbCall = Callable[..., Awaitable[Any]]


def _date(text: str) -> date:
    t = text.strip()
    try:
        return date.fromisoformat(t)
    except ValueError:
        pass
    try:
        m, d, y = t.split("/")
        return date(int(y), int(m), int(d))
    except ValueError:
        raise ValueError(f"date {t[:20]!r} is not YYYY-MM-DD (or M/D/YYYY)") from None


def _cap(text: str) -> float | None:
    """``3.1e12``, ``3100000000000`` or Nasdaq's ``$3,100,000,000,000``; empty -> None."""
    try:
        v = float(text) if text.strip() else None
    except ValueError:
        v = nasdaq.parse_money(text)
    if v is not None and not math.isfinite(v):
        raise ValueError(f"market cap {text[:20]!r} is not a number")
    return v


def parse_csv(
    text: str,
    *,
    now: datetime | None = None,
    since: date | None = None,
    name: str = "earnings file",
    strict: bool = False,
) -> list[Report]:
    """The generic earnings CSV -> reports. Bad rows are skipped with one summary log line;
    a file without the required columns raises ValueError saying what is allowed. ``strict``
    (``backfill earnings --file``): a cut-off file or any damaged row refuses the whole file."""
    if strict:
        check_file_complete(text, name)
    reader = iter(read_csv(text.lstrip("\ufeff"), name))
    raw_header = next(reader, None)
    header = [h.strip().lower() for h in (raw_header or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ValueError(
            f"{name}: the header must hold {','.join(REQUIRED)} (optional: {', '.join(OPTIONAL)}); "
            f"got {','.join(raw_header or [])!r}"
        )
    col = {h: i for i, h in enumerate(header)}
    unknown = [h for h in header if h not in REQUIRED + OPTIONAL]
    if unknown:
        log.info("%s: ignoring column(s) %s", name, ", ".join(unknown))
    rejects = Rejects(name)
    out: list[Report] = []
    limit = (now.date() + MAX_AHEAD) if now else None
    for n, row in enumerate(reader, start=2):
        if not row or not "".join(row).strip():
            continue

        def cell(c: str, row: list[str] = row) -> str:
            i = col.get(c)
            return row[i].strip() if i is not None and i < len(row) else ""

        ticker = normalise_ticker(cell("ticker"))
        if ticker is None:
            rejects.add(f"line {n}", f"ticker {cell('ticker')[:12]!r} is not a ticker")
            continue
        try:
            d = _date(cell("earnings_date"))
            fqe_raw = cell("fiscal_quarter_end")
            fqe = (
                None if not fqe_raw else (_date(fqe_raw) if "-" in fqe_raw else nasdaq.parse_quarter(fqe_raw))
            )
            cap = _cap(cell("market_cap"))
        except ValueError as exc:
            rejects.add(f"line {n} ({ticker})", str(exc))
            continue
        if cap is not None and cap <= 0:
            rejects.add(f"line {n} ({ticker})", f"market cap {cap:g} is not positive")
            continue
        t_raw = cell("time")
        tod = parse_time_of_day(t_raw)
        if tod == "unknown" and t_raw.lower() not in ("", "unknown", "n/a", "time-not-supplied", "tns", "--"):
            rejects.add(
                f"line {n} ({ticker})", f"time {t_raw[:20]!r}: use bmo/before or amc/after (or leave empty)"
            )
            continue
        e_raw = cell("estimated").lower()
        if e_raw not in _TRUE | _FALSE:
            rejects.add(f"line {n} ({ticker})", f"estimated {e_raw[:10]!r}: use 1 or 0")
            continue
        if since and d < since:
            continue
        if limit and d > limit:
            rejects.add(
                f"line {n} ({ticker})", f"date {d.isoformat()} is more than {MAX_AHEAD.days} days ahead"
            )
            continue
        out.append(Report(ticker, d, tod, fqe, cap, e_raw in _TRUE))
    if strict:
        refuse_damaged(rejects)
    rejects.log(log)
    return out


# -- the refresh ------------------------------------------------------------------------


async def refresh(
    client: httpx.AsyncClient,
    reader: StoreReader,
    settings: SettingValues,
    now: datetime,
    *,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Batch:
    """Nasdaq scan, Alpha Vantage when most of it failed: the rows to store, described one line
    per provider. Raises :class:`SourceError` only when no provider gave anything."""
    today = now.astimezone(NEW_YORK).date()
    ts = to_epoch(now)
    cache = await reader.read(meta.get, nasdaq.CACHE_KEY, {}) or {}
    scan = await nasdaq.scan(
        client,
        today,
        days=settings.get(nasdaq.SCAN_DAYS),
        spacing=settings.get(nasdaq.SPACING),
        fetched=cache,
        sleep=sleep,
        progress=progress,
    )
    rows: list[TableWrite] = []
    listed = None
    if scan.ok_days:
        listed, cached = nasdaq.scan_rows(scan, ts, today)
        rows += [listed, cached]
    notes: list[str] = []
    fallback = None
    if scan.failed_badly:
        key = settings.get(alphavantage.API_KEY)
        if not key:
            notes.append("alphavantage: no fallback (ALPHAVANTAGE_API_KEY is not set)")
        else:
            try:
                reports = await alphavantage.fetch(client, key.get(), sleep=sleep)
            except SourceError as exc:
                notes.append(str(exc))
            else:
                covered = tuple(alphavantage.covered_days(today))
                fallback = EarningsRows(tuple(reports), "alphavantage", ts, covered=covered)
                rows.append(fallback)
        if fallback is None and not scan.ok_days:
            raise SourceError("earnings calendar", " / ".join([f"nasdaq: {scan.describe()}", *notes]))

    def describe(w: Written) -> str:
        lines = [
            f"nasdaq: {scan.describe()}; {w.result(listed).describe()}"
            if listed
            else f"nasdaq: {scan.describe()}"
        ]
        lines += notes
        if fallback is not None:
            lines.append(f"alphavantage (fallback): {w.result(fallback).describe()}")
        return "\n".join(lines)

    # a scan that partly failed: one WARNING for the refresh, what failed and what came instead
    return Batch(rows=tuple(rows), describe=describe, warn=bool(scan.failed))


async def poll_calendar(ctx: SourceContext) -> Batch:
    return await refresh(ctx.client, ctx.reader, ctx.settings, ctx.now(), sleep=ctx.sleep)


POLLS = [
    Poll(
        name="earnings_calendar",
        # before the open, so the day's reading uses the fresh calendar
        trigger={
            "trigger": "cron",
            "day_of_week": "mon-fri",
            "hour": 6,
            "minute": 10,
            "timezone": "America/New_York",
        },
        run=poll_calendar,
        signals=("buyback",),
        description="earnings calendar for the buyback blackout (Nasdaq scan, Alpha Vantage fallback)",
        # 06:10 ET on the recorded calendar's day; a calendar carries no prices
        drill=Drill(
            datetime(2026, 11, 19, 11, 10, tzinfo=UTC),
            timedelta(days=1),
            ("earnings", "nasdaq"),
            ("transport", "body"),
            stale_after=timedelta(days=5),
            poll_while_stale=False,
            stale_step=timedelta(hours=12),
            env={"FLOWWATCH_EARNINGS_SCAN_DAYS": "7", "ALPHAVANTAGE_API_KEY": "DEMOKEY123"},
            after=("sp500_list",),
        ),
    )
]


async def _backfill(ctx: BackfillContext) -> AsyncIterator[Batch]:
    if ctx.file is None:
        yield await refresh(ctx.client, ctx.reader, ctx.settings, ctx.now, progress=ctx.progress)
        return
    text = ctx.file.read_text(encoding="utf-8", errors="replace")
    since = ctx.since.date() if ctx.since else None
    rows = parse_csv(text, now=ctx.now, since=since, name=f"earnings {ctx.file.name}", strict=True)
    if not rows:
        raise ValueError(
            f"{ctx.file.name}: no usable rows (header ticker,earnings_date[,time,market_cap,...])"
        )
    listed = EarningsRows(tuple(rows), "file", to_epoch(ctx.now), dated=True)
    first, last = min(r.date for r in rows), max(r.date for r in rows)
    head = f"earnings: {len(rows)} rows for {len({r.ticker for r in rows})} tickers from {ctx.file.name}, {first} to {last}"
    yield Batch(rows=(listed,), describe=lambda w: f"{head}; {w.result(listed).describe()}")
    ctx.progress(1)


BACKFILL = Backfill(
    name="earnings",
    help=(
        "earnings dates for the buyback blackout: --file F (CSV ticker,earnings_date[,time,market_cap,"
        "fiscal_quarter_end,estimated]) or, without a file, one calendar refresh (Nasdaq, Alpha Vantage fallback)"
    ),
    run=_backfill,
    recognises=lambda name, cols: cols[:2] == ("ticker", "earnings_date"),
)
