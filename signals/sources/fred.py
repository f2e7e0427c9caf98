"""FRED graph CSVs: VIXCLS (VIX) and VXVCLS (VIX3M), the daily fallback for Cboe; EFFR (or DFF)
and the target range (DFEDTARU, DFEDTARL), inputs of the FedWatch method.

``GET https://fred.stlouisfed.org/graph/fredgraph.csv?id=VIXCLS&cosd=YYYY-MM-DD``. Layouts in
use: the current one (``observation_date,<ID>``, empty for missing), the older one still found in
caches (``DATE,<ID>``, ``.`` for missing) and copies that write ``date``; a file may carry
several series of one frequency (``observation_date,DFEDTARL,DFEDTARU``). All are accepted. The
VIX values are Cboe's closes, so they land in the same ``cboe.*.close`` series with source
``fred``. ``DFF`` (the daily effective rate, weekends carrying Friday's value) is accepted as
the EFFR history: its weekday values go to ``fred.effr``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path

from signals.sources import http
from signals.sources.base import (
    Backfill,
    BackfillContext,
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
from storage.series import FRED_EFFR, FRED_TARGET_LOWER, FRED_TARGET_UPPER, cboe_close
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
}
#: ids read from files into another id's series (not downloaded): DFF is the EFFR, daily
ALIASES = {"DFF": "EFFR"}
#: ids whose weekend rows repeat Friday's value: only weekdays are kept
WEEKDAYS_ONLY = {"DFF"}
#: rates that are legitimately 0 (the lower bound of the range in 2020-2022)
ZERO_OK = {"EFFR", "DFF", "DFEDTARU", "DFEDTARL"}
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
    strict: bool = False,
) -> list[Observation]:
    """A FRED graph CSV (any layout) -> observations of every mapped series in it. With ``strict``
    (a file), a file cut off or giving one date two values is refused (:mod:`storage.filerules`)."""
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
                f"no series is mapped for FRED id {fid}; known: {', '.join([*SERIES, *ALIASES])}",
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
            if raw_v in MISSING or (fid in WEEKDAYS_ONLY and d.weekday() >= 5):
                continue  # a holiday (FRED marks it), or a weekend copy of Friday
            try:
                value = float(raw_v)
            except ValueError:
                rejects.add(f"{d.isoformat()} {fid}", f"value {raw_v[:20]!r} is not a number")
                continue
            reason = bad_value_reason(value, now=now, ts=ts, allow_zero=fid in ZERO_OK)
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
    ctx: SourceContext, fred_id: str, since: date | None = None, report: PollReport | None = None
) -> list[Observation]:
    params = {"id": fred_id}
    if since:
        params["cosd"] = since.isoformat()
    label = f"fred {fred_id}"
    resp = await http.get(ctx.client, URL, source=label, params=params, sleep=ctx.sleep)
    check_complete(resp.text, label)
    if report is None:
        return parse_csv(resp.text, fred_id, now=ctx.now(), since=since)
    return report.rows(
        label, lambda rj: parse_csv(resp.text, fred_id, now=ctx.now(), since=since, rejects=rj)
    )


async def _backfill(ctx: BackfillContext) -> AsyncIterator[Batch]:
    since = ctx.since.date() if ctx.since else None
    if ctx.file:
        rows = parse_csv(_read(ctx.file), now=ctx.now, since=since, strict=True)
        per: dict[str, int] = {}
        for r in rows:
            per[r.series] = per.get(r.series, 0) + 1
        what = ", ".join(f"{k} {v} rows" for k, v in per.items()) or "nothing: 0 rows"
        yield Batch(tuple(rows), describe=counted(f"{what} from {ctx.file.name}"), file=ctx.file.name)
        ctx.progress(1)
        return
    sctx = ctx.source_context()
    for fid in SERIES:
        rows = await fetch_series(sctx, fid, since=since)
        yield Batch(tuple(rows), describe=counted(f"{SERIES[fid]} from FRED {fid}: {len(rows)} rows"))
        ctx.progress(1)


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


BACKFILL = Backfill(
    name="fred",
    help=(
        "FRED daily series: VIXCLS/VXVCLS closes, EFFR and the target range DFEDTARU/DFEDTARL "
        "(live download, or --file F of a FRED CSV: header observation_date, DATE or date, then "
        "series ids; DFF is read as the EFFR)"
    ),
    run=_backfill,
)
