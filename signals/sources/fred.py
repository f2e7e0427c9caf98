"""FRED graph CSVs: VIXCLS (VIX) and VXVCLS (VIX3M), the daily fallback for Cboe; EFFR (or DFF)
and the target range (DFEDTARU, DFEDTARL), inputs of the FedWatch method; the flow series:
WALCL, WTREGEN and RRPONTSYD (net_liquidity), BAMLH0A0HYM2, DGS10 and DGS2 (credit), each in
FRED's own unit (RRPONTSYD in **billions**, the two H.4.1 series in millions).

``GET https://fred.stlouisfed.org/graph/fredgraph.csv?id=VIXCLS&cosd=YYYY-MM-DD``. Layouts in
use: the current one (``observation_date,<ID>``, empty for missing), the older one still found in
caches (``DATE,<ID>``, ``.`` for missing) and copies that write ``date``; a file may carry
several series of one frequency (``observation_date,DFEDTARL,DFEDTARU``). All are accepted. The
VIX values are Cboe's closes, so they land in the same ``cboe.*.close`` series with source
``fred``. ``DFF`` (the daily effective rate, weekends carrying Friday's value) is accepted as
the EFFR history: its weekday values go to ``fred.effr``.

Missing values (``.`` in the older layout, empty in the current one) are skipped and counted:
a backfill says how many. A value outside its series' plausible range (``storage.series``) is
refused with the range. The flow series are polled after each release (:data:`POLLS`): the H.4.1
(WALCL, WTREGEN) on Thursday at 16:30 ET with Wednesday's levels, reverse repo the same
afternoon, the high-yield spread the next morning, the Treasury yields the next business day.
"""

from __future__ import annotations

import logging
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
    refuse_conflicts,
)
from storage import filerules
from storage.batches import Batch, counted
from storage.observations import Observation
from storage.series import (
    FRED_DGS2,
    FRED_DGS10,
    FRED_EFFR,
    FRED_HY_OAS,
    FRED_RRPONTSYD,
    FRED_TARGET_LOWER,
    FRED_TARGET_UPPER,
    FRED_WALCL,
    FRED_WTREGEN,
    cboe_close,
)
from storage.series import problem as range_problem
from storage.timeutil import day_epoch

log = logging.getLogger("flowwatch.sources.fred")

URL = "https://fred.stlouisfed.org/graph/fredgraph.csv"
#: FRED id -> our series
SERIES = {
    "VIXCLS": cboe_close("vix"),
    "VXVCLS": cboe_close("vix3m"),
    # the FedWatch method's inputs (ratecut): effective fed funds rate and the target range, percent
    "EFFR": FRED_EFFR,
    "DFEDTARU": FRED_TARGET_UPPER,
    "DFEDTARL": FRED_TARGET_LOWER,
    # net_liquidity: the H.4.1 Wednesday levels (millions) and reverse repo (billions)
    "WALCL": FRED_WALCL,
    "WTREGEN": FRED_WTREGEN,
    "RRPONTSYD": FRED_RRPONTSYD,
    # credit: the high-yield spread and the 2s10s yields, percent
    "BAMLH0A0HYM2": FRED_HY_OAS,
    "DGS10": FRED_DGS10,
    "DGS2": FRED_DGS2,
}
#: ids read from files into another id's series (not downloaded): DFF is the EFFR, daily
ALIASES = {"DFF": "EFFR"}
#: ids whose weekend rows repeat Friday's value: only weekdays are kept
WEEKDAYS_ONLY = {"DFF"}
#: rates that are legitimately 0 (the lower bound of the range in 2020-2022)
ZERO_OK = {"EFFR", "DFF", "DFEDTARU", "DFEDTARL", "WTREGEN", "RRPONTSYD"}
#: yields that are legitimately 0 or below (the 2-year was negative in 2020 in some markets; the
#: range of the series says how far)
SIGNED = {"DGS10", "DGS2"}
#: the ids each flow poll reads
LIQUIDITY_IDS = ("WALCL", "WTREGEN", "RRPONTSYD")
CREDIT_IDS = ("BAMLH0A0HYM2", "DGS10", "DGS2")
#: how far back a poll asks (FRED revises recent weeks; the upsert keeps the last figure)
POLL_DAYS = 120
#: the first column's name in the FRED layouts in use
DATE_COLUMNS = ("observation_date", "DATE", "date")
#: Cboe index -> FRED id used when Cboe fails
FALLBACK = {"vix": "VIXCLS", "vix3m": "VXVCLS"}
MISSING = {"", "."}


def parse_csv(
    text: str,
    fred_id: str | None = None,
    *,
    now: datetime | None = None,
    since: date | None = None,
    series: str | None = None,
    rejects: Rejects | None = None,
    missing: dict[str, int] | None = None,
    strict: bool = False,
) -> list[Observation]:
    """A FRED graph CSV (any layout) -> observations of every mapped series in it.

    ``missing`` (when given) counts, per series, the rows FRED marks missing (``.`` or empty):
    they are skipped, never read as zero. With ``strict`` (a file), a file cut off or giving one
    date two values is refused (:mod:`storage.filerules`)."""
    label = f"fred {fred_id or ''}".strip()
    if looks_like_html(text) or not text.strip() or text.lstrip()[:1] in "{[":
        raise SourceError(label, f"expected a FRED graph CSV, got {describe_body(text)}")
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    header = [h.strip() for h in lines[0].split(",")]
    if len(header) < 2 or header[0] not in DATE_COLUMNS or len(set(header)) != len(header):
        raise SourceError(
            label,
            f"unexpected header {lines[0][:80]!r} (expected {' or '.join(DATE_COLUMNS)} then one "
            "column per FRED series id, e.g. observation_date,EFFR)",
        )
    ids = [fred_id] if fred_id and len(header) == 2 else header[1:]
    label = f"fred {','.join(ids)}"
    targets = []
    for fid in ids:
        target = series or SERIES.get(ALIASES.get(fid, fid))
        if target is None:
            raise SourceError(
                label,
                f"no series is mapped for FRED id {fid}; flowwatch reads: {', '.join([*SERIES, *ALIASES])}",
            )
        targets.append(target)
    if strict:
        check_file_complete(text, label)
    seen = filerules.Conflicts()
    own = rejects is None
    rejects = Rejects(label) if rejects is None else rejects
    body = lines[1:]
    if not text.endswith(("\n", "\r")) and body:
        rejects.add(f"last line {body[-1][:40]!r}", "truncated file (no final newline)")
        body = body[:-1]
    out = []
    width = len(header)
    for n, line in enumerate(body, start=2):
        if not line.strip():
            continue
        parts = line.split(",")
        if len(parts) != width:
            rejects.add(f"line {n}", f"{len(parts)} fields, expected {width}")
            continue
        raw_d = parts[0].strip()
        try:
            d = date.fromisoformat(raw_d)
        except (ValueError, OverflowError):
            rejects.add(f"line {n}", f"bad date {raw_d[:20]!r}")
            continue
        if since and d < since:
            continue
        ts = day_epoch(d)
        for fid, target, cell in zip(ids, targets, parts[1:], strict=True):
            raw_v = cell.strip()
            if fid in WEEKDAYS_ONLY and d.weekday() >= 5:
                continue  # a weekend copy of Friday
            if raw_v in MISSING:
                if missing is not None:  # a holiday, or no figure that day (FRED marks it)
                    missing[target] = missing.get(target, 0) + 1
                continue
            try:
                value = float(raw_v)
            except ValueError:
                rejects.add(f"{d.isoformat()} {fid}", f"value {raw_v[:20]!r} is not a number")
                continue
            reason = bad_value_reason(
                value, now=now, ts=ts, positive=fid not in SIGNED, allow_zero=fid in ZERO_OK
            ) or range_problem(target, ts, value)
            if reason:
                rejects.add(f"{d.isoformat()} {fid}", reason)
                continue
            if seen.add((target, ts), value, n):
                out.append(Observation(target, ts, value, "fred"))
    if strict:
        refuse_conflicts(seen, label, filerules.series_time)
    if own:
        rejects.log(log)
    return out


async def fetch_series(
    ctx: SourceContext,
    fred_id: str,
    since: date | None = None,
    report: PollReport | None = None,
    missing: dict[str, int] | None = None,
) -> list[Observation]:
    params = {"id": fred_id}
    if since:
        params["cosd"] = since.isoformat()
    label = f"fred {fred_id}"
    resp = await http.get(ctx.client, URL, source=label, params=params, sleep=ctx.sleep)
    check_complete(resp.text, label)
    if report is None:
        return parse_csv(resp.text, fred_id, now=ctx.now(), since=since, missing=missing)
    return report.rows(
        label, lambda rj: parse_csv(resp.text, fred_id, now=ctx.now(), since=since, rejects=rj)
    )


async def poll_ids(ctx: SourceContext, name: str, ids: tuple[str, ...]) -> Batch:
    """The last :data:`POLL_DAYS` of each id, one request per series; one line for the run (a
    series that fails does not stop the others)."""
    since = (ctx.now() - timedelta(days=POLL_DAYS)).date()
    report = PollReport(name, log)
    out: list[Observation] = []
    for fid in ids:
        try:
            out += await fetch_series(ctx, fid, since=since, report=report)
        except SourceError as exc:
            report.failed(f"fred {fid}", exc)
    return Batch(tuple(report.finish(out)))


async def poll_liquidity(ctx: SourceContext) -> Batch:
    """WALCL and WTREGEN (the H.4.1's Wednesday levels) and RRPONTSYD (daily reverse repo)."""
    return await poll_ids(ctx, "fred liquidity", LIQUIDITY_IDS)


async def poll_credit(ctx: SourceContext) -> Batch:
    """BAMLH0A0HYM2 (the high-yield spread) and DGS10, DGS2 (the 2s10s curve)."""
    return await poll_ids(ctx, "fred credit", CREDIT_IDS)


POLLS = [
    Poll(
        name="fred_liquidity",
        # reverse repo is out by ~13:15 ET every business day; the H.4.1 on Thursday at 16:30 ET
        # (Friday when Thursday is a federal holiday): after both, and again in the evening
        trigger={
            "trigger": "cron",
            "day_of_week": "mon-fri",
            "hour": "16,20",
            "minute": 45,
            "timezone": "America/New_York",
        },
        run=poll_liquidity,
        signals=("net_liquidity",),
        description="FRED WALCL, WTREGEN (H.4.1, Thursday 16:30 ET) and RRPONTSYD (daily reverse repo)",
        max_silence=timedelta(hours=80),  # covers the weekend, when the poll does not run
        # Monday 17:00 ET: Wednesday 2024-01-03's H.4.1 is out, and Monday's reverse repo; the
        # H.4.1 of Thursday 2024-01-11 never comes in the stale row
        drill=Drill(
            datetime(2024, 1, 8, 22, 0, tzinfo=UTC),
            timedelta(days=1),
            ("fred",),
            series="fred.%",
            stale_after=timedelta(days=6),
            stale_step=timedelta(hours=12),
        ),
    ),
    Poll(
        name="fred_credit",
        # FRED posts the high-yield spread the next morning and the Treasury yields the next
        # business day in the afternoon
        trigger={
            "trigger": "cron",
            "day_of_week": "mon-fri",
            "hour": "10,17",
            "minute": 30,
            "timezone": "America/New_York",
        },
        run=poll_credit,
        signals=("credit",),
        description="FRED BAMLH0A0HYM2 (high-yield OAS, next morning) and DGS10, DGS2 (next business day)",
        max_silence=timedelta(hours=80),
        # Monday 11:00 ET: Friday's high-yield spread is out, and Thursday's yields
        drill=Drill(
            datetime(2026, 11, 23, 16, 0, tzinfo=UTC),
            timedelta(days=1),
            ("fred",),
            series="fred.%",
            stale_after=timedelta(days=3),
            stale_step=timedelta(hours=12),
        ),
    ),
]


def _counted(series: str, rows: int, missing: int, where: str) -> str:
    gaps = f" ({missing} missing values, '.' or empty, skipped)" if missing else ""
    return f"{series} {rows} rows{gaps} {where}"


async def _backfill(ctx: BackfillContext) -> AsyncIterator[Batch]:
    since = ctx.since.date() if ctx.since else None
    if ctx.file:
        missing: dict[str, int] = {}
        rows = parse_csv(_read(ctx.file), now=ctx.now, since=since, missing=missing, strict=True)
        per: dict[str, int] = {}
        for r in rows:
            per[r.series] = per.get(r.series, 0) + 1
        for k in missing:
            per.setdefault(k, 0)
        what = ", ".join(_counted(k, v, missing.get(k, 0), "").strip() for k, v in per.items())
        yield Batch(
            tuple(rows),
            describe=counted(f"{what or 'nothing: 0 rows'} from {ctx.file.name}"),
            file=ctx.file.name,
        )
        ctx.progress(1)
        return
    sctx = ctx.source_context()
    for fid in SERIES:
        gaps: dict[str, int] = {}
        rows = await fetch_series(sctx, fid, since=since, missing=gaps)
        note = " (FRED serves about the last 3 years of it: ICE's licence)" if fid == "BAMLH0A0HYM2" else ""
        yield Batch(
            tuple(rows),
            describe=counted(
                _counted(SERIES[fid], len(rows), gaps.get(SERIES[fid], 0), f"from FRED {fid}{note}")
            ),
        )
        ctx.progress(1)


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


BACKFILL = Backfill(
    name="fred",
    help=(
        "FRED series: VIXCLS/VXVCLS closes, EFFR and the target range DFEDTARU/DFEDTARL, WALCL, "
        "WTREGEN, RRPONTSYD (net liquidity), BAMLH0A0HYM2, DGS10, DGS2 (credit); live download of "
        "each series' whole history, or --file F of a FRED CSV: header observation_date, DATE or "
        "date, then series ids; DFF is read as the EFFR; '.' or empty = missing, skipped and counted"
    ),
    run=_backfill,
    recognises=lambda name, cols: (
        len(cols) >= 2
        and cols[0] in ("observation_date", "date")
        and all(c.upper() in (*SERIES, *ALIASES) for c in cols[1:])
    ),
)
