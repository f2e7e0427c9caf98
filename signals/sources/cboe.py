"""Cboe daily index history CSVs (VIX, VIX9D, VIX3M, VIX6M).

``GET https://cdn.cboe.com/api/global/us_indices/daily_prices/{SYMBOL}_History.csv`` with
header ``DATE,OPEN,HIGH,LOW,CLOSE``, dates ``MM/DD/YYYY``. One file per index holds the full
history; it is refreshed once a day after the close. Each close becomes one observation at
00:00 UTC of its trading date in ``cboe.<index>.close``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from signals.sources import http
from signals.sources.base import (
    Backfill,
    BackfillContext,
    Drill,
    Poll,
    PollReport,
    Rejects,
    SourceContext,
    SourceError,
    bad_value_reason,
    check_complete,
    check_file_complete,
    describe_body,
    looks_like_html,
    read_csv,
    refuse_conflicts,
    years_back,
)
from storage import filerules
from storage.batches import Batch, counted
from storage.observations import Observation
from storage.series import cboe_close
from storage.timeutil import day_epoch, iso

log = logging.getLogger("flowwatch.sources.cboe")

URL = "https://cdn.cboe.com/api/global/us_indices/daily_prices/{symbol}_History.csv"
INDICES = {"vix": "VIX", "vix9d": "VIX9D", "vix3m": "VIX3M", "vix6m": "VIX6M"}
HEADER = ["DATE", "OPEN", "HIGH", "LOW", "CLOSE"]


def series_for(index: str) -> str:
    return cboe_close(index)


def parse_csv(
    text: str,
    index: str,
    *,
    now: datetime | None = None,
    since: date | None = None,
    name: str | None = None,
    rejects: Rejects | None = None,
    strict: bool = False,
) -> list[Observation]:
    """Parse one ``*_History.csv``. Bad rows are skipped with one summary log line.

    Raises :class:`SourceError` when the whole body is unusable (HTML, JSON error, wrong
    header, empty), or with ``strict`` (a file) when it was cut off or gives one date two closes
    (:mod:`storage.filerules`).
    """
    label = name or f"cboe {INDICES.get(index, index)}"
    text = text.lstrip("\ufeff")  # a byte-order mark, alone or before the header
    if looks_like_html(text) or not text.strip() or text.lstrip()[:1] in "{[":
        raise SourceError(label, f"expected the index history CSV, got {describe_body(text)}")
    lines = text.splitlines()
    header = [h.strip().upper() for h in lines[0].split(",")]
    if header[:1] != ["DATE"] or "CLOSE" not in header:
        raise SourceError(label, f"unexpected header {lines[0][:80]!r} (expected {','.join(HEADER)})")
    close_col = header.index("CLOSE")
    if strict:
        check_file_complete(text, label)
    seen = filerules.Conflicts()
    own = rejects is None
    rejects = Rejects(label) if rejects is None else rejects
    truncated = not text.endswith(("\n", "\r"))
    body = lines[1:]
    if truncated and body:
        # The file always ends with a newline; a last line without one was cut off mid-way.
        rejects.add(f"last line {body[-1][:40]!r}", "truncated file (no final newline)")
        body = body[:-1]
    out: list[Observation] = []
    series = series_for(index)
    for n, row in enumerate(read_csv("\n".join(body), label), start=2):
        if not row or not "".join(row).strip():
            continue
        if len(row) <= close_col:
            rejects.add(f"line {n}", f"{len(row)} fields, expected {len(header)}")
            continue
        if since is not None and row[0][-4:].isdigit() and int(row[0][-4:]) < since.year:
            continue  # cheap skip of older years (files are long; the date is MM/DD/YYYY)
        try:
            d = _mdy(row[0])
        except (ValueError, OverflowError):
            rejects.add(f"line {n}", f"bad date {row[0][:20]!r}")
            continue
        if since and d < since:
            continue
        try:
            value = float(row[close_col])
        except ValueError:
            rejects.add(d.isoformat(), f"close {row[close_col][:20]!r} is not a number")
            continue
        ts = day_epoch(d)
        reason = bad_value_reason(value, now=now, ts=ts)
        if reason:
            rejects.add(d.isoformat(), reason)
            continue
        if seen.add(ts, round(value, 6), n):
            out.append(Observation(series, ts, round(value, 6), "cboe"))
    if strict:
        refuse_conflicts(seen, label, lambda ts: iso(ts)[:10])
    if own:
        rejects.log(log)
    return out


def _mdy(text: str) -> date:
    """``MM/DD/YYYY`` (zero padding optional) to a date."""
    m, d, y = text.strip().split("/")
    return date(int(y), int(m), int(d))


_NAME_RE = re.compile(r"(vix9d|vix3m|vix6m|vix)(?![a-z0-9])", re.IGNORECASE)


def index_from_filename(path: Path) -> str:
    """``VIX3M_History.csv`` or ``cboe_vix3m_daily.csv`` -> ``vix3m``."""
    m = _NAME_RE.search(path.name)
    if not m:
        raise ValueError(
            f"cannot tell which index {path.name} holds: name it like VIX_History.csv, VIX9D_History.csv, "
            "VIX3M_History.csv or VIX6M_History.csv"
        )
    return m.group(1).lower()


async def fetch_index(
    ctx: SourceContext, index: str, since: date | None = None, report: PollReport | None = None
) -> list[Observation]:
    url = URL.format(symbol=INDICES[index])
    label = f"cboe {INDICES[index]}"
    resp = await http.get(ctx.client, url, source=label, sleep=ctx.sleep)
    check_complete(resp.text, label)
    if report is None:
        return parse_csv(resp.text, index, now=ctx.now(), since=since)
    return report.rows(label, lambda rj: parse_csv(resp.text, index, now=ctx.now(), since=since, rejects=rj))


async def poll_daily(ctx: SourceContext) -> Batch:
    """All four indices; VIX and VIX3M fall back to FRED when Cboe fails. One line for the run."""
    from signals.sources import fred

    since = years_back(ctx.now().date(), 1)
    out: list[Observation] = []
    report = PollReport("cboe", log)
    for index, symbol in INDICES.items():
        try:
            out += await fetch_index(ctx, index, since=since, report=report)
            continue
        except SourceError as exc:
            report.failed(f"cboe {symbol}", exc)
        fid = fred.FALLBACK.get(index)
        if fid is None:
            continue
        try:
            rows = await fred.fetch_series(ctx, fid, since=since, report=report)
        except SourceError as exc:
            report.failed(f"fred {fid}", exc)
        else:
            out += rows
            report.note(f"{symbol} from the FRED fallback ({fid})")
    return Batch(tuple(report.finish(out)))


POLLS = [
    Poll(
        name="cboe_daily",
        # after the 16:15 ET close; again in the evening and next morning in case of delays
        trigger={
            "trigger": "cron",
            "day_of_week": "mon-sat",
            "hour": "17,20,23",
            "minute": 5,
            "timezone": "America/New_York",
        },
        run=poll_daily,
        signals=("vix_term",),
        description="Cboe daily closes for VIX, VIX9D, VIX3M, VIX6M (FRED fallback)",
        # Thursday morning: Wednesday's close is out
        drill=Drill(
            datetime(2026, 5, 28, 12, 0, tzinfo=UTC),
            timedelta(days=1),
            ("cboe",),
            series="cboe.%",
            stale_after=timedelta(days=2),
            stale_step=timedelta(days=1),
        ),
        max_silence=timedelta(hours=50),  # covers Sunday, when the poll does not run
    ),
    Poll(
        name="cboe_morning",
        trigger={
            "trigger": "cron",
            "day_of_week": "tue-sat",
            "hour": 7,
            "minute": 30,
            "timezone": "America/New_York",
        },
        run=poll_daily,
        signals=("vix_term",),
        description="morning retry for a late Cboe file",
        same_as="cboe_daily",
    ),
]


async def _backfill(ctx: BackfillContext) -> AsyncIterator[Batch]:
    since = ctx.since.date() if ctx.since else None
    files: list[tuple[Path, str]] = []
    if ctx.file:
        files = [(ctx.file, index_from_filename(ctx.file))]
    elif ctx.dir:
        for p in sorted(ctx.dir.iterdir()):
            if p.suffix.lower() == ".csv" and _NAME_RE.search(p.name):
                files.append((p, index_from_filename(p)))
        if not files:
            raise ValueError(f"no Cboe history CSVs (VIX*_History.csv) found in {ctx.dir}")
    if files:
        for path, index in files:
            text = path.read_text(encoding="utf-8", errors="replace")
            rows = parse_csv(text, index, now=ctx.now, since=since, name=f"cboe {path.name}", strict=True)
            yield Batch(
                tuple(rows),
                describe=counted(f"{series_for(index)}: {len(rows)} rows from {path.name}"),
                file=path.name,
            )
            ctx.progress(1)
    else:
        sctx = ctx.source_context()
        for index in INDICES:
            rows = await fetch_index(sctx, index, since=since)
            yield Batch(tuple(rows), describe=counted(f"{series_for(index)}: {len(rows)} rows downloaded"))
            ctx.progress(1)


_CBOE_FILE = re.compile(r"(vix9d|vix3m|vix6m|vix)(?![a-z0-9])", re.IGNORECASE)


BACKFILL = Backfill(
    name="cboe",
    help="Cboe VIX/VIX9D/VIX3M/VIX6M daily history (live download, --file F or --dir D of *_History.csv)",
    run=_backfill,
    file=True,
    dir=True,
    live=True,
    recognises=lambda name, cols: (
        cols[:5] == ("date", "open", "high", "low", "close") and bool(_CBOE_FILE.search(name))
    ),
)
