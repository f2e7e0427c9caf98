"""Nasdaq earnings calendar: one day per request (no key, undocumented).

``GET https://api.nasdaq.com/api/calendar/earnings?date=YYYY-MM-DD`` with browser-like
headers. The envelope is ``{"data": {"asOf", "headers", "rows": [...]}, "status": {...}}``;
every row value is a string (``time-pre-market`` / ``time-after-hours`` /
``time-not-supplied``, market cap ``$885,654,490,000``, fiscal quarter ``Sep/2026``, missing
as ``N/A`` or ``""``). Weekends and holidays answer ``rows: null`` or ``data: null``.
Requests from cloud addresses are often refused (403) or hang, so the scan uses short
timeouts and few retries, and one failing day never stops it.

The scan (:func:`scan`) asks for each trading day of the next ``days`` calendar days, one
request per day, ``spacing`` seconds apart, and skips days already fetched today.
Rows become :class:`storage.earnings.Report`; :mod:`signals.sources.earnings` stores them.
"""

from __future__ import annotations

import asyncio
import calendar
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from signals.sources import http
from signals.sources.base import (
    Backfill,
    BackfillContext,
    Rejects,
    Setting,
    SourceError,
    describe_body,
    looks_like_html,
    parse_float_range,
    parse_int_range,
)
from storage import meta
from storage.batches import Batch, EarningsRows, MetaValue
from storage.earnings import Report, normalise_ticker, parse_time_of_day
from storage.timeutil import NEW_YORK, to_epoch

log = logging.getLogger("flowwatch.sources.nasdaq")

SCAN_DAYS = Setting[int](
    "FLOWWATCH_EARNINGS_SCAN_DAYS",
    "90",
    "Calendar days ahead the daily Nasdaq earnings scan covers (one request per trading day), 7 to 180.",
    parse_int_range(7, 180),
)
SPACING = Setting[float](
    "FLOWWATCH_EARNINGS_SPACING",
    "2",
    "Seconds between two requests of the Nasdaq earnings scan, 0.5 to 60.",
    parse_float_range(0.5, 60),
)
SETTINGS = (SCAN_DAYS, SPACING)
#: ``meta``: the days the scan fetched, and when (a day fetched today is not fetched again today)
CACHE_KEY = "earnings.nasdaq.fetched"

URL = "https://api.nasdaq.com/api/calendar/earnings"
HEADERS = {
    "User-Agent": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36"
    ),
    "Accept": "application/json, text/plain, */*",
    "Accept-Language": "en-US,en;q=0.9",
    "Origin": "https://www.nasdaq.com",
    "Referer": "https://www.nasdaq.com/",
}
#: per-request timeout (seconds): the API hangs rather than refuses from some networks
TIMEOUT = 10.0
ATTEMPTS = 2
#: stop the scan after this many failing days in a row (the provider is refusing us)
MAX_CONSECUTIVE_FAILURES = 5
MISSING = {"", "N/A", "NA", "--", "-"}
_MONEY_RE = re.compile(r"^\(?-?\$?-?[0-9][0-9,]*(\.[0-9]+)?\)?$")
_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}


def _text(value: Any, what: str) -> str:
    """A row value that must be a string (or absent)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{what} {str(value)[:20]!r} is not text")
    return value.strip()


def parse_money(text: Any) -> float | None:
    """``$1,234,567,890`` -> 1234567890.0; ``($0.05)`` -> -0.05; ``N/A``/empty -> None."""
    t = _text(text, "amount")
    if t.upper() in MISSING:
        return None
    if not _MONEY_RE.match(t):
        raise ValueError(f"{t[:30]!r} is not an amount")
    neg = t.startswith("(") or "-" in t
    v = float(t.strip("()").replace("$", "").replace(",", "").replace("-", ""))
    return -v if neg else v


def parse_quarter(text: Any) -> date | None:
    """``Sep/2026`` -> 2026-09-30 (the month's last day); ``N/A`` -> None."""
    t = _text(text, "fiscal quarter")
    if t.upper() in MISSING:
        return None
    try:
        mon, year = t.split("/")
        m, y = _MONTHS[mon.strip().lower()[:3]], int(year)
    except (ValueError, KeyError):
        raise ValueError(f"fiscal quarter {t[:20]!r} is not like Sep/2026") from None
    return date(y, m, calendar.monthrange(y, m)[1])


def parse_as_of(text: Any) -> date | None:
    """``Thu, Nov 19, 2026`` (day padded or not) -> a date."""
    t = text.strip() if isinstance(text, str) else ""
    if not t:
        return None
    try:
        return datetime.strptime(t + " +0000", "%a, %b %d, %Y %z").date()
    except ValueError:
        return None


def parse_day(
    text: str, day: date | None = None, *, name: str | None = None
) -> tuple[date | None, list[Report]]:
    """One day's answer -> (the day it is for, its reports). Bad rows: one summary log line.

    ``day`` is the requested date; an answer for another day is refused. Raises
    :class:`SourceError` for a body that is not the calendar (HTML, an error envelope).
    """
    label = name or f"nasdaq {day.isoformat() if day else ''}".strip()
    if looks_like_html(text) or not text.strip() or text.lstrip()[:1] != "{":
        raise SourceError(label, f"expected the earnings calendar JSON, got {describe_body(text)}")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(label, f"malformed JSON ({exc})") from None
    if not isinstance(obj, dict) or "data" not in obj:
        raise SourceError(label, f"unexpected answer {describe_body(text)}")
    status = obj.get("status") or {}
    code = status.get("rCode") if isinstance(status, dict) else None
    if code not in (None, 200):
        msg = status.get("bCodeMessage") or status.get("developerMessage") or "no message"
        raise SourceError(label, f"the API answered rCode {code}: {str(msg)[:120]}")
    data = obj.get("data")
    if data is None:
        return day, []  # weekends and holidays
    if not isinstance(data, dict):
        raise SourceError(label, f"unexpected data {describe_body(json.dumps(data))}")
    as_of = parse_as_of(data.get("asOf"))
    if day is not None and as_of is not None and as_of != day:
        raise SourceError(label, f"answered for {as_of.isoformat()} instead of {day.isoformat()}")
    for_day = day or as_of
    rows = data.get("rows")
    if rows is None:
        return for_day, []
    if not isinstance(rows, list):
        raise SourceError(label, "rows is not a list")
    if for_day is None:
        raise SourceError(label, "the answer carries no date (asOf) and none was requested")
    rejects = Rejects(label)
    out: list[Report] = []
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            rejects.add(f"row {n}", "not an object")
            continue
        raw = str(row.get("symbol") or "")
        ticker = normalise_ticker(raw)
        if ticker is None:
            rejects.add(f"row {n}", f"symbol {raw[:12]!r} is not a ticker")
            continue
        try:
            cap = parse_money(row.get("marketCap"))
            fqe = parse_quarter(row.get("fiscalQuarterEnding"))
        except ValueError as exc:
            rejects.add(ticker, str(exc))
            continue
        if cap is not None and cap <= 0:
            cap = None  # "$0" market caps carry no weight
        out.append(Report(ticker, for_day, parse_time_of_day(row.get("time")), fqe, cap))
    rejects.log(log)
    return for_day, out


@dataclass
class ScanResult:
    reports: list[Report] = field(default_factory=list)
    ok_days: list[date] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    cached: int = 0
    requested: int = 0
    stopped: str | None = None

    @property
    def failed_badly(self) -> bool:
        """Most of what was asked failed: time for the fallback."""
        return self.requested > 0 and len(self.ok_days) * 2 < self.requested

    def describe(self) -> str:
        parts = [f"{len(self.ok_days)} of {self.requested} days fetched"]
        if self.cached:
            parts.append(f"{self.cached} already fetched today")
        if self.failed:
            shown = "; ".join(self.failed[:3]) + (
                f" (and {len(self.failed) - 3} more)" if len(self.failed) > 3 else ""
            )
            parts.append(f"{len(self.failed)} failed: {shown}")
        if self.stopped:
            parts.append(self.stopped)
        return ", ".join(parts)


def scan_days(today: date, days: int) -> list[date]:
    """The trading days the scan asks for: today and the next ``days`` calendar days."""
    from signals import tradingcal

    return tradingcal.sessions_between(today, today + timedelta(days=days))


async def fetch_day(
    client: httpx.AsyncClient, day: date, *, sleep: Callable[[float], Awaitable[None]] | None = None
) -> list[Report]:
    resp = await http.get(
        client,
        URL,
        source=f"nasdaq {day.isoformat()}",
        params={"date": day.isoformat()},
        headers=HEADERS,
        attempts=ATTEMPTS,
        sleep=sleep,
        request_timeout=TIMEOUT,
    )
    return parse_day(resp.text, day)[1]


async def scan(
    client: httpx.AsyncClient,
    today: date,
    *,
    days: int = 90,
    spacing: float = 2.0,
    fetched: dict[str, str] | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    progress: Callable[[int], None] | None = None,
) -> ScanResult:
    """Ask for each trading day ahead, politely. ``fetched`` maps day -> the date it was last
    fetched (the cache); days fetched ``today`` are skipped. Never raises for one bad day."""
    sleep = sleep or asyncio.sleep
    res = ScanResult()
    todo = []
    for d in scan_days(today, days):
        if (fetched or {}).get(d.isoformat()) == today.isoformat():
            res.cached += 1
        else:
            todo.append(d)
    res.requested = len(todo)
    if todo:
        log.info(
            "nasdaq: scanning %d trading days to %s, %.0f s apart", len(todo), todo[-1].isoformat(), spacing
        )
    streak = 0
    # ``flowwatch check`` tries each source once: a first failing day ends the scan there
    give_up = 1 if http.is_single_try() else MAX_CONSECUTIVE_FAILURES
    for i, d in enumerate(todo):
        if i:
            await sleep(spacing)
        try:
            rows = await fetch_day(client, d, sleep=sleep)
        except SourceError as exc:
            res.failed.append(f"{d.isoformat()}: {exc.message}")
            streak += 1
            if exc.unresolved_host and i + 1 < len(todo):
                # the name did not resolve: every other day would fail at once too (http.get)
                res.stopped = f"stopped: {len(todo) - i - 1} days not asked"
                break
            if streak >= give_up and i + 1 < len(todo):
                res.stopped = (
                    f"stopped after {streak} failing days in a row; {len(todo) - i - 1} days not asked"
                )
                break
            continue
        streak = 0
        res.ok_days.append(d)
        res.reports += rows
        if progress:
            progress(1)
    return res


def parse_file(path: Path) -> tuple[date, list[Report]]:
    """A saved day answer (``earnings_2026-10-13.json``): the day comes from asOf or the name."""
    text = path.read_text(encoding="utf-8", errors="replace")
    m = re.search(r"(\d{4}-\d{2}-\d{2})", path.name)
    named = date.fromisoformat(m.group(1)) if m else None
    day, rows = parse_day(text, None, name=f"nasdaq {path.name}")
    day = day or named
    if day is None:
        raise SourceError(f"nasdaq {path.name}", "no date: name the file like earnings_2026-10-13.json")
    return day, rows


def scan_rows(scan: ScanResult, now: int, today: date) -> tuple[EarningsRows, MetaValue]:
    """What a scan stores, in one transaction: its listings (a day it answered for no longer
    listing a report drops it) and the day cache (days fetched today are not fetched again)."""
    listed = EarningsRows(tuple(scan.reports), "nasdaq", now, covered=tuple(scan.ok_days))
    fresh = {d.isoformat(): today.isoformat() for d in scan.ok_days}
    keep_from = today.isoformat()

    def merge(old: Any, new: Any) -> dict[str, str]:
        return {**{k: v for k, v in (old or {}).items() if k >= keep_from}, **new}

    return listed, MetaValue(CACHE_KEY, fresh, now, merge)


async def _backfill(ctx: BackfillContext) -> AsyncIterator[Batch]:
    now = to_epoch(ctx.now)
    if ctx.file is None and ctx.dir is None:
        today = ctx.now.astimezone(NEW_YORK).date()
        settings = ctx.settings
        res_scan = await scan(
            ctx.client,
            today,
            days=settings.get(SCAN_DAYS),
            spacing=settings.get(SPACING),
            fetched=await ctx.reader.read(meta.get, CACHE_KEY, {}) or {},
            progress=ctx.progress,
        )
        if not res_scan.ok_days and res_scan.requested:
            raise SourceError("nasdaq", res_scan.describe())
        listed, cached = scan_rows(res_scan, now, today)
        yield Batch(
            rows=(listed, cached),
            describe=lambda w: f"nasdaq: {res_scan.describe()}; {w.result(listed).describe()}",
        )
        return
    files = (
        [ctx.file] if ctx.file else sorted(p for p in (ctx.dir or Path(".")).iterdir() if p.suffix == ".json")
    )
    if not files:
        raise ValueError(f"no saved Nasdaq answers (*.json) in {ctx.dir}")
    reports: list[Report] = []
    days: list[date] = []
    errors: list[str] = []
    for f in files:
        try:
            day, rows = parse_file(f)
        except SourceError as exc:
            errors.append(str(exc))
            continue
        days.append(day)
        reports += rows
        ctx.progress(1)
    if errors:
        log.warning("%d file(s) skipped: %s", len(errors), "; ".join(errors[:3]))
    if not days:
        raise ValueError("no usable Nasdaq answers: " + "; ".join(errors[:3]))
    listed = EarningsRows(tuple(reports), "nasdaq", now, covered=tuple(days))
    head = f"nasdaq: {len(days)} day file(s), {len(errors)} skipped"
    yield Batch(rows=(listed,), describe=lambda w: f"{head}; {w.result(listed).describe()}")


_DAY_FILE = re.compile(r"earnings_\d{4}-\d{2}-\d{2}\.json$", re.IGNORECASE)


BACKFILL = Backfill(
    name="nasdaq",
    help=(
        "Nasdaq earnings calendar: the scan of the days ahead (live), or saved day answers "
        "(--file F / --dir D of earnings_YYYY-MM-DD.json)"
    ),
    run=_backfill,
    file=True,
    dir=True,
    recognises=lambda name, cols: bool(_DAY_FILE.search(name)),
)
