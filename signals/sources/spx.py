"""S&P 500 daily closes: the Yahoo chart API (``^GSPC``), FRED ``SP500`` as the fallback.

- Yahoo: ``GET https://query1.finance.yahoo.com/v8/finance/chart/%5EGSPC?interval=1d&range=1mo``
  (live) or ``?interval=1d&period1=<unix>&period2=<unix>`` (history, one request back to 1927).
  The chart v8 envelope (:func:`signals.sources.yahoo.parse_chart`): daily bars point into the
  session in ``America/New_York``; the bar of a session that has not closed yet moves with the
  index and is left out until the close (16:00 ET, 13:00 on early-close days) is 10 minutes past.
- FRED: ``GET https://fred.stlouisfed.org/graph/fredgraph.csv?id=SP500&cosd=YYYY-MM-DD``, header
  ``observation_date,SP500``, empty (or ``.``) on market holidays. FRED serves only the last ten
  years (S&P's licence): enough for a live fallback, not for the models' history.
- A file (``flowwatch backfill spx --file F``): daily bars ``date,open,high,low,close[,volume]``
  (further columns such as ``adj_close`` are ignored), dates ``YYYY-MM-DD``, such as
  ``sp500_index_daily.csv``. A file is refused whole, with the line and date, when a close is
  zero, negative or not a number, when a date repeats or goes backwards, and when an NYSE
  session is missing between its first and last date (the models read consecutive sessions:
  a gap would be read as one long day). The bar of a session that has not closed yet (a file
  saved during the session) is not a close and is left out.

Each close is one observation in ``spx.close`` at 00:00 UTC of its trading date (as every daily
close); the signals read it as the 16:00 ET close.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

from signals import tradingcal
from signals.sources import fred, http, yahoo
from signals.sources.base import (
    Backfill,
    BackfillContext,
    Drill,
    Poll,
    PollReport,
    Rejects,
    SourceContext,
    SourceError,
    check_complete,
    check_file_complete,
    describe_body,
    looks_like_html,
    read_csv,
    years_back,
)
from storage.batches import Batch, counted
from storage.observations import Observation
from storage.series import SPX_CLOSE
from storage.timeutil import day_epoch

log = logging.getLogger("flowwatch.sources.spx")

SYMBOL = "^GSPC"
FRED_ID = "SP500"
#: a live bar counts once the session's close is this far behind (Yahoo settles the last print)
SETTLE = timedelta(minutes=10)
#: history a live backfill asks for: the longest ranking window (20 years) and the models' warm-up
HISTORY_YEARS = 25
#: days a live poll asks for (a few sessions missed while the bot was down are filled in)
POLL_DAYS = 31
#: FRED's licence limit on SP500
FRED_YEARS = 10
FILE_COLUMNS = ("date", "open", "high", "low", "close")


def closed(ts: int, now: datetime | None) -> bool:
    """Whether the session of the daily bar stamped ``ts`` (00:00 UTC of its date) has closed."""
    if now is None:
        return True
    d = datetime.fromtimestamp(ts, tz=UTC).date()
    close = tradingcal.session_close(d)
    if close is None:
        # not a session the calendar knows: a bar dated before today has closed
        return d < now.astimezone(UTC).date()
    return now >= close + SETTLE


def parse_yahoo(
    text: str, *, now: datetime | None = None, rejects: Rejects | None = None
) -> list[Observation]:
    """A chart v8 body of ``^GSPC`` daily bars -> closes of the sessions that have closed."""
    rows = yahoo.parse_chart(text, SPX_CLOSE, interval="1d", now=now, rejects=rejects)
    return [r for r in rows if closed(r.ts, now)]


def parse_fred(
    text: str, *, now: datetime | None = None, since: date | None = None, rejects: Rejects | None = None
) -> list[Observation]:
    """FRED's SP500 graph CSV -> closes (holidays, empty on FRED, are skipped)."""
    return fred.parse_csv(text, FRED_ID, now=now, since=since, series=SPX_CLOSE, rejects=rejects)


async def fetch_yahoo(
    ctx: SourceContext, *, since: date | None = None, report: PollReport | None = None
) -> list[Observation]:
    label = f"yahoo {SYMBOL}"
    now = ctx.now()
    params: dict[str, str] = {"interval": "1d"}
    if since is None:
        params["range"] = "1mo"
    else:
        start = datetime(since.year, since.month, since.day, tzinfo=UTC)
        params |= {"period1": str(int(start.timestamp())), "period2": str(int(now.timestamp()))}
    resp = await http.get(
        ctx.client,
        yahoo.URL.format(symbol=SYMBOL),
        source=label,
        params=params,
        headers=yahoo.BROWSER_HEADERS,
        sleep=ctx.sleep,
    )
    if report is None:
        return parse_yahoo(resp.text, now=now)
    return report.rows(label, lambda rj: parse_yahoo(resp.text, now=now, rejects=rj))


async def fetch_fred(
    ctx: SourceContext, *, since: date, report: PollReport | None = None
) -> list[Observation]:
    label = f"fred {FRED_ID}"
    resp = await http.get(
        ctx.client,
        fred.URL,
        source=label,
        params={"id": FRED_ID, "cosd": since.isoformat()},
        sleep=ctx.sleep,
    )
    check_complete(resp.text, label)
    now = ctx.now()
    if report is None:
        return parse_fred(resp.text, now=now, since=since)
    return report.rows(label, lambda rj: parse_fred(resp.text, now=now, since=since, rejects=rj))


async def poll_daily(ctx: SourceContext) -> Batch:
    """The last month of closes from Yahoo, or from FRED when Yahoo fails. One line for the run."""
    report = PollReport("spx", log)
    try:
        rows = await fetch_yahoo(ctx, report=report)
    except SourceError as exc:
        report.failed(f"yahoo {SYMBOL}", exc)
        since = ctx.now().date() - timedelta(days=POLL_DAYS)
        try:
            rows = await fetch_fred(ctx, since=since, report=report)
        except SourceError as exc2:
            report.failed(f"fred {FRED_ID}", exc2)
            rows = []
        else:
            report.note(f"S&P 500 closes from the FRED fallback ({FRED_ID})")
    return Batch(tuple(report.finish(rows)))


# -- files ---------------------------------------------------------------------------------------


def _file_date(cell: str) -> date:
    """``YYYY-MM-DD``, optionally followed by a time (``2024-08-05 00:00:00-04:00``)."""
    text = cell.strip()
    if len(text) > 10 and text[10] not in " T":
        raise ValueError(text)
    return date.fromisoformat(text[:10])


def parse_file(
    text: str, name: str, *, now: datetime | None = None, since: date | None = None
) -> list[Observation]:
    """A daily-bar file ``date,open,high,low,close[,volume]`` -> closes, or :class:`SourceError`
    saying what is wrong (line, date) and what is allowed; a refused file yields nothing."""
    label = f"spx {name}"
    body = text.lstrip("\ufeff")
    if not body.strip() or looks_like_html(body) or body.lstrip()[:1] in "{[":
        raise SourceError(
            label, f"expected S&P 500 daily bars (date,open,high,low,close), got {describe_body(text)}"
        )
    check_file_complete(body, label)
    rows = read_csv(body, label)
    header = [h.strip().lower().replace(" ", "_") for h in rows[0]]
    if tuple(header[:5]) != FILE_COLUMNS:
        raise SourceError(
            label,
            f"unexpected header {','.join(rows[0])[:80]!r}: expected date,open,high,low,close "
            "(then optionally volume); nothing imported",
        )
    out: list[Observation] = []
    dates: list[date] = []
    lines: dict[date, int] = {}
    prev: tuple[int, date] | None = None
    for n, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        if len(row) < 5:
            raise SourceError(
                label, f"line {n}: {len(row)} fields, expected at least 5 (date,open,high,low,close)"
            )
        try:
            d = _file_date(row[0])
        except (ValueError, OverflowError):
            raise SourceError(label, f"line {n}: bad date {row[0][:20]!r} (allowed: YYYY-MM-DD)") from None
        if prev is not None and d <= prev[1]:
            what = "repeats" if d == prev[1] else f"comes before {prev[1].isoformat()} on line {prev[0]}"
            raise SourceError(
                label, f"line {n}: the date {d.isoformat()} {what}; dates must rise, one row per session"
            )
        prev = (n, d)
        for col, cell in zip(FILE_COLUMNS[1:4], row[1:4], strict=True):
            if cell.strip() and not _finite(cell):
                raise SourceError(label, f"line {n} ({d.isoformat()}): {col} {cell[:20]!r} is not a number")
        raw = row[4].strip()
        if not _finite(raw):
            raise SourceError(
                label,
                f"line {n} ({d.isoformat()}): close {raw[:20]!r} is not a number; every row needs a close",
            )
        value = float(raw)
        if value <= 0:
            raise SourceError(
                label,
                f"line {n} ({d.isoformat()}): close {raw[:20]} is zero or negative; closes must be above zero "
                "(nothing imported)",
            )
        ts = day_epoch(d)
        if now is not None and d > now.date():
            raise SourceError(label, f"line {n}: the date {d.isoformat()} is in the future")
        if since is not None and d < since:
            continue
        if not closed(ts, now):
            continue  # a file saved during a session ends with that session's moving bar: not a close
        if tradingcal.first_known_session() <= d and not tradingcal.is_session(d):
            raise SourceError(
                label,
                f"line {n}: {d.isoformat()} is not an NYSE session (a weekend or market holiday); "
                "a file holds one row per session",
            )
        dates.append(d)
        lines[d] = n
        out.append(Observation(SPX_CLOSE, ts, round(value, 4), "file"))
    if not out:
        raise SourceError(
            label, "no rows" + (f" on or after {since.isoformat()}" if since else "") + "; nothing imported"
        )
    gaps = tradingcal.missing_sessions(dates)
    if gaps:
        first = gaps[0]
        after = max(d for d in dates if d < first)
        before = min(d for d in dates if d > first)
        more = f" and {len(gaps) - 1} more" if len(gaps) > 1 else ""
        raise SourceError(
            label,
            f"the NYSE session {first.isoformat()}{more} is missing (between line {lines[after]}, "
            f"{after.isoformat()}, and line {lines[before]}, {before.isoformat()}); a file must hold every "
            "session from its first date to its last, nothing imported. Fill the gap, or load from after "
            "it with --since",
        )
    return out


def _finite(cell: str) -> bool:
    try:
        return math.isfinite(float(cell))
    except ValueError:
        return False


_NAME_RE = re.compile(r"(spx|gspc|sp500|sp_500|s&p)", re.IGNORECASE)


def recognises(filename: str) -> bool:
    """A daily-bar file's name says it holds the S&P 500 index (``sp500_index_daily.csv``)."""
    return bool(_NAME_RE.search(filename))


async def _backfill(ctx: BackfillContext) -> AsyncIterator[Batch]:
    since = ctx.since.date() if ctx.since else None
    if ctx.file:
        text = ctx.file.read_text(encoding="utf-8", errors="replace")
        rows = parse_file(text, ctx.file.name, now=ctx.now, since=since)
        first, last = _span(rows)
        yield Batch(
            tuple(rows),
            describe=counted(f"{SPX_CLOSE}: {len(rows)} closes {first} to {last} from {ctx.file.name}"),
        )
        ctx.progress(1)
        return
    sctx = ctx.source_context()
    start = since or years_back(ctx.now.date(), HISTORY_YEARS)
    try:
        rows = await fetch_yahoo(sctx, since=start)
    except SourceError as exc:
        fred_start = max(start, years_back(ctx.now.date(), FRED_YEARS))
        try:
            rows = await fetch_fred(sctx, since=fred_start)
        except SourceError as exc2:
            raise SourceError("spx", f"no history: {exc}; fallback {exc2}") from None
        first, last = _span(rows)
        yield Batch(
            tuple(rows),
            describe=counted(
                f"{SPX_CLOSE}: {len(rows)} closes {first} to {last} from FRED {FRED_ID} (Yahoo failed: {exc.message}). "
                f"FRED serves only the last {FRED_YEARS} years",
                "; load older history with --file for 13 years of ranks",
            ),
            warn=True,
        )
        ctx.progress(1)
        return
    first, last = _span(rows)
    yield Batch(
        tuple(rows),
        describe=counted(f"{SPX_CLOSE}: {len(rows)} closes {first} to {last} from Yahoo {SYMBOL}"),
    )
    ctx.progress(1)


def _span(rows: list[Observation]) -> tuple[str, str]:
    if not rows:
        return "-", "-"
    return (
        datetime.fromtimestamp(rows[0].ts, tz=UTC).date().isoformat(),
        datetime.fromtimestamp(rows[-1].ts, tz=UTC).date().isoformat(),
    )


POLLS = [
    Poll(
        name="spx_daily",
        # after the 16:00 ET close; again in the evening and the next morning in case of delays
        trigger={
            "trigger": "cron",
            "day_of_week": "mon-sat",
            "hour": "16,19,23",
            "minute": 20,
            "timezone": "America/New_York",
        },
        run=poll_daily,
        signals=("vol_control", "cta_trend"),
        description="S&P 500 daily close from Yahoo ^GSPC (FRED SP500 fallback)",
        max_silence=timedelta(hours=50),  # covers Sunday, when the poll does not run
        # Thursday morning: Wednesday's close is out
        drill=Drill(
            datetime(2026, 5, 28, 12, 0, tzinfo=UTC),
            timedelta(days=1),
            ("spx", "yahoo", "fred"),
            series="spx.%",
            stale_after=timedelta(days=2),
            stale_step=timedelta(days=1),
        ),
    ),
]


BACKFILL = Backfill(
    name="spx",
    help=(
        f"S&P 500 daily closes into {SPX_CLOSE}: live from Yahoo ^GSPC ({HISTORY_YEARS} years; FRED SP500, "
        "10 years, if Yahoo fails) or --file F of daily bars date,open,high,low,close[,volume]"
    ),
    run=_backfill,
    file=True,
    dir=False,
    live=True,
    recognises=lambda name, cols: cols[:5] == ("date", "open", "high", "low", "close") and recognises(name),
)
