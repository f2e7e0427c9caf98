"""The FedWatch method: meeting odds from 30-day Fed funds (ZQ) futures settlements.

There is no free live source of ZQ prices (CME's FedWatch API is a paid product and its web
pages refuse scripts), so this venue is fed by the user: ``flowwatch backfill fedwatch --file``
with either

- ZQ settlements in the import schema ``trade_date,symbol,contract_month,settle`` (one row per
  contract and trading day), turned into odds here with CME's published method; or
- a FedWatch "meeting export" CSV (``Date`` then one column per target range in bp, e.g.
  ``(375-400)``; the meeting date is in the file name, ``..._20261209.csv``).

CME's method is :mod:`signals.sources._fedwatch_method` (anchors, the day count, the probability
tree). This module reads the inputs and writes the series.

Stored, per meeting and trading day (00:00 UTC of the trade date): ``fedwatch.fomc.<date>.cut|hold|hike``
(the meeting's own move, comparable to the Kalshi and Polymarket markets on that meeting), one
series per bucket of the own move (``cut25``, ``cut50`` … ``hike25``), the expected move
(``move_bp``), the expected path through the meeting (``path_bp``, CME's cumulative tree) and the
expected target rate after it (``rate``). EFFR and the target range come from FRED
(``fred.effr``, ``fred.target_lower``, ``fred.target_upper``): read from the database,
downloaded when missing. A trading day the method cannot price (a contract it needs is missing,
or the EFFR where only the EFFR can anchor) is skipped with its reason in the log; a day whose
later meetings need a missing or refused contract is priced up to them, and the log says where
it stopped and why.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import math
import re
from collections import defaultdict
from collections.abc import AsyncIterator, Collection, Mapping
from datetime import UTC, date, datetime, timedelta

from signals import fomc
from signals.fomc_dist import Bucket, dist_observations, series
from signals.sources import fred
from signals.sources._fedwatch_method import (
    MeetingOdds,
    Month,
    RateChange,
    fedwatch,
    shift_month,
)
from signals.sources._fomc_odds import SUM_RANGE, describe_rows, observations
from signals.sources.base import (
    Backfill,
    BackfillContext,
    Rejects,
    SourceError,
    bad_value_reason,
    describe_body,
    looks_like_html,
    read_csv,
    read_file,
    refuse_conflicts,
)
from storage import filerules
from storage import observations as obs_repo
from storage.batches import Batch, counted
from storage.observations import Observation
from storage.timeutil import day_epoch

log = logging.getLogger("flowwatch.sources.fedwatch")

VENUE = "fedwatch"
MONTH_CODES = "FGHJKMNQUVXZ"
ZQ_HEADER = ["trade_date", "symbol", "contract_month", "settle"]
#: ZQ contracts are listed about three years out; a settlement further ahead is a typo
MAX_MONTHS_AHEAD = 60
FRED_IDS = {"EFFR": "fred.effr", "DFEDTARL": "fred.target_lower", "DFEDTARU": "fred.target_upper"}


# -- ZQ settlements CSV ----------------------------------------------------------------------


def _check_symbol(symbol: str, month: Month) -> str | None:
    s = symbol.strip().upper()
    m = re.fullmatch(r"ZQ([FGHJKMNQUVXZ])(\d{1,2})", s)
    if not m:
        return f"symbol {symbol!r} is not a ZQ contract (e.g. ZQZ5)"
    if MONTH_CODES.index(m.group(1)) + 1 != month[1]:
        return f"symbol {symbol} does not match contract_month {month[0]}-{month[1]:02d}"
    digits = m.group(2)
    if not str(month[0]).endswith(digits):
        return f"symbol {symbol} does not match the year of contract_month {month[0]}-{month[1]:02d}"
    return None


def parse_zq_csv(
    text: str,
    *,
    now: datetime | None = None,
    since: date | None = None,
    name: str = "zq",
    refused: dict[date, set[Month]] | None = None,
) -> dict[date, dict[Month, float]]:
    """``trade_date,symbol,contract_month,settle`` -> settlements per trade date. ``refused``
    receives, per trade date, the contracts whose row was well formed but whose settlement was
    refused (above 100, not a number): listed that day, so a gap for the method, never a reason
    to anchor elsewhere."""
    label = f"fedwatch {name}"
    text = text.lstrip("\ufeff")
    if looks_like_html(text) or not text.strip():
        raise SourceError(label, f"expected a ZQ settlements CSV, got {describe_body(text)}")
    reader = iter(read_csv(text, label))
    header = [h.strip().lower() for h in next(reader, [])]
    if header[:4] != ZQ_HEADER:
        raise SourceError(
            label, f"unexpected header {','.join(header)[:80]!r} (expected {','.join(ZQ_HEADER)})"
        )
    rejects = Rejects(label)
    seen = filerules.Conflicts()
    out: dict[date, dict[Month, float]] = defaultdict(dict)
    for n, row in enumerate(reader, start=2):
        if not row or not "".join(row).strip():
            continue
        if len(row) < 4 or len(row) > len(header):
            # more fields than the header: an unquoted decimal comma ("97,5") would read as 97
            rejects.add(f"line {n}", f"{len(row)} fields, expected {len(header)}")
            continue
        try:
            td = date.fromisoformat(row[0].strip())
            y, mo = (int(x) for x in row[2].strip().split("-"))
            month: Month = (y, mo)
            if not 1 <= mo <= 12:
                raise ValueError
        except ValueError:
            rejects.add(f"line {n}", f"bad trade_date or contract_month ({row[0][:12]!r}, {row[2][:10]!r})")
            continue
        if since and td < since:
            continue
        ahead = (y - td.year) * 12 + (mo - td.month)
        if not -1 <= ahead <= MAX_MONTHS_AHEAD:
            rejects.add(
                f"line {n}",
                f"contract_month {row[2].strip()[:10]!r} is not a contract traded on {td.isoformat()} "
                f"(the month before to {MAX_MONTHS_AHEAD} months ahead)",
            )
            continue
        bad = _check_symbol(row[1], month)
        if bad:
            rejects.add(f"line {n}", bad)
            continue
        try:
            settle = float(row[3])
        except ValueError:
            rejects.add(f"line {n}", f"settle {row[3][:12]!r} is not a number")
            if refused is not None:
                refused.setdefault(td, set()).add(month)
            continue
        reason = bad_value_reason(settle, now=now, ts=day_epoch(td))
        if reason is None and settle > 100.0:
            reason = (
                f"settle {settle:g} is above 100: a negative average rate, which the FedWatch method "
                "cannot price (its lowest range is 0-0.25 %)"
            )
        elif reason is None and settle < 80.0:
            reason = f"settle {settle:g} is not a ZQ price (100 minus a rate in percent, 80 to 100)"
        if reason:
            rejects.add(f"line {n}", reason)
            if refused is not None:
                refused.setdefault(td, set()).add(month)
            continue
        if seen.add((td, month), settle, n):
            out[td][month] = settle
    refuse_conflicts(seen, label, lambda k: f"{k[0].isoformat()} contract {k[1][0]}-{k[1][1]:02d}")
    rejects.log(log)
    if not out:
        raise SourceError(label, "no usable settlement rows")
    return dict(sorted(out.items()))


# -- CME FedWatch meeting export ---------------------------------------------------------------

_RANGE_COL = re.compile(r"^\((\d+)\s*-\s*(\d+)\)$")


def is_cme_export(text: str) -> bool:
    head = text.lstrip("\ufeff").split("\n", 1)[0].strip()
    cols = [c.strip() for c in head.split(",")]
    return bool(cols) and cols[0].lower() == "date" and any(_RANGE_COL.match(c) for c in cols[1:])


def parse_cme_export(
    text: str, meeting: fomc.Meeting, upper_at: Mapping[date, float], *, name: str = "export"
) -> list[Observation]:
    """Rows ``MM/DD/YYYY`` x target ranges (bp) -> P(cut/hold/hike) against that day's range.

    ``upper_at``: the upper bound of the target range (percent) per row date. CME's numbers
    are cumulative (today's range to the range after the meeting), which equals the meeting's
    own move only when the meeting is the next one: rows for a later meeting are skipped.
    """
    label = f"fedwatch {name}"
    text = text.lstrip("\ufeff")
    rows = read_csv(text, label) or [[]]
    header = [c.strip() for c in rows[0]]
    ranges: list[tuple[int, int] | None] = []
    for c in header[1:]:
        m = _RANGE_COL.match(c)
        ranges.append((int(m.group(1)), int(m.group(2))) if m else None)
    rejects = Rejects(label)
    out: list[Observation] = []
    for n, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        try:
            mm, dd, yy = row[0].strip().split("/")
            d = date(int(yy), int(mm), int(dd))
        except (ValueError, OverflowError):
            rejects.add(f"line {n}", f"bad date {row[0][:12]!r} (expected MM/DD/YYYY)")
            continue
        nxt = fomc.meeting_after(datetime.combine(d, datetime.min.time(), tzinfo=UTC))
        if nxt != meeting:
            rejects.add(
                d.isoformat(), f"{meeting.id} is not the next meeting then (CME's odds are cumulative)"
            )
            continue
        upper = upper_at.get(d)
        if upper is None:
            rejects.add(d.isoformat(), "no target range for that day (load FRED DFEDTARU)")
            continue
        cur = round(upper * 100)
        probs = {"cut": 0.0, "hold": 0.0, "hike": 0.0}
        ok = True
        for rng, cell in zip(ranges, row[1:], strict=False):
            if rng is None or not cell.strip():
                continue  # blank = unreachable
            try:
                p = float(cell)
            except ValueError:
                rejects.add(d.isoformat(), f"probability {cell[:12]!r} is not a number")
                ok = False
                break
            if not 0.0 <= p <= 1.0:
                rejects.add(d.isoformat(), f"probability {p} outside [0, 1]")
                ok = False
                break
            key = "cut" if rng[1] < cur else "hold" if rng[1] == cur else "hike"
            probs[key] += p
        total = sum(probs.values())
        if not ok:
            continue
        if not SUM_RANGE[0] <= total <= SUM_RANGE[1]:
            rejects.add(d.isoformat(), f"probabilities sum to {total:.2f}")
            continue
        probs = {k: v / total for k, v in probs.items()}
        out += observations(VENUE, meeting.id, day_epoch(d), probs, "fedwatch-cme")
    rejects.log(log)
    return out


# -- FRED inputs and the backfill ----------------------------------------------------------------


def _asof(points: list[tuple[int, float]], ts: int, strict: bool = False) -> float | None:
    """The last value at or before ``ts`` (strictly before with ``strict``)."""
    i = bisect.bisect_left(points, (ts, -math.inf)) if strict else bisect.bisect_right(points, (ts, math.inf))
    return points[i - 1][1] if i > 0 else None


async def _ensure_fred(ctx: BackfillContext, first: date, notes: list[str]) -> AsyncIterator[Batch]:
    """EFFR and the target range from FRED when the database lacks the dates needed (a batch per
    series, written before the odds are computed from them)."""
    need_ts = day_epoch(first)
    missing = []
    for fid, name in FRED_IDS.items():
        first_ts = await ctx.reader.read(obs_repo.first_ts, name)
        if first_ts is None or first_ts > need_ts:
            missing.append(fid)
    if not missing:
        return
    sctx = ctx.source_context()
    for fid in missing:
        try:
            rows = await fred.fetch_series(sctx, fid, since=first - timedelta(days=45))
        except SourceError as exc:
            notes.append(f"FRED {fid} unavailable ({exc.message}); load it with flowwatch backfill fred")
            continue
        yield Batch(tuple(rows))
        notes.append(f"downloaded FRED {fid} ({len(rows)} days)")


def rate_changes(lower: list[tuple[int, float]]) -> list[RateChange]:
    """Target-range changes from the daily lower bound: (first day at the new range, change)."""
    out = []
    for (_t0, a), (t1, b) in itertools.pairwise(lower):
        if abs(b - a) > 1e-9:
            out.append(RateChange(datetime.fromtimestamp(t1, UTC).date(), round(b - a, 4)))
    return out


def month_average(points: list[tuple[int, float]], month: Month) -> float | None:
    """The average daily rate of a calendar month (weekends and holidays at the rate before),
    as a ZQ contract settles; None unless every day has a value from at most 4 days before."""
    y, m = month
    first = date(y, m, 1)
    nxt = shift_month(month, 1)
    total, n = 0.0, 0
    d = first
    while d < date(nxt[0], nxt[1], 1):
        ts = day_epoch(d)
        i = bisect.bisect_right(points, (ts, math.inf))
        if i == 0 or ts - points[i - 1][0] > 4 * 86400:
            return None
        total += points[i - 1][1]
        n += 1
        d += timedelta(days=1)
    return total / n


def known_decisions(td: date) -> list[date]:
    """Decision dates known on ``td``: scheduled meetings not replaced by then, and the
    unscheduled decisions already made (they mark their month as one with a meeting)."""
    out = [m.decision_date for m in fomc.meetings() if m.replaced_by is None or m.replaced_by > td]
    out += [m.decision_date for m in fomc.unscheduled() if m.decision_date <= td]
    return sorted(out)


def odds_on(
    td: date,
    prices: Mapping[Month, float],
    effr_pts: list[tuple[int, float]],
    lo_pts: list[tuple[int, float]],
    hi_pts: list[tuple[int, float]],
    changes: list[RateChange],
    problems: list[str] | None = None,
    refused: Collection[Month] = (),
) -> list[MeetingOdds]:
    """The method on one trade date, with what is known at its settlement (``refused``: the
    contracts listed that day whose settlement was refused)."""
    ts = day_epoch(td)
    nxt_day = day_epoch(td + timedelta(days=1))
    i = bisect.bisect_left(effr_pts, (ts, -math.inf))  # EFFR for a day is published the next morning
    effr, effr_date = (
        (effr_pts[i - 1][1], datetime.fromtimestamp(effr_pts[i - 1][0], UTC).date()) if i else (None, None)
    )
    # the range after the trade date's decisions (a decision at 2 pm ET is out before the settlement)
    lo, hi = _asof(lo_pts, nxt_day), _asof(hi_pts, nxt_day)
    prior = shift_month((td.year, td.month), -1)
    before_avg = month_average(effr_pts, prior)
    if before_avg is None and prior in prices:
        before_avg = 100.0 - prices[prior]  # the expired contract's final settlement
    return fedwatch(
        prices,
        known_decisions(td),
        td,
        effr=effr,
        effr_date=effr_date,
        target=(lo, hi) if lo is not None and hi is not None else None,
        known=[c for c in changes if c.effective <= td + timedelta(days=1)],
        month_before_avg=before_avg,
        problems=problems,
        refused=refused,
    )


def odds_observations(ts: int, odds: list[MeetingOdds]) -> list[Observation]:
    """The series of one trade date: outcomes, buckets and expected move, path, rate."""
    rows: list[Observation] = []
    for mo in odds:
        mid = mo.decision_date.isoformat()
        dist = {Bucket(c): p for c, p in mo.meeting.items()}
        rows += dist_observations(VENUE, mid, ts, dist, "fedwatch-zq")
        rows.append(
            Observation(series(VENUE, mid, "path_bp"), ts, round(mo.expected_path_bp, 4), "fedwatch-zq")
        )
        if mo.expected_rate is not None:
            rows.append(
                Observation(series(VENUE, mid, "rate"), ts, round(mo.expected_rate, 5), "fedwatch-zq")
            )
    return rows


async def _backfill(ctx: BackfillContext) -> AsyncIterator[Batch]:
    if ctx.file is None:
        raise ValueError(
            "fedwatch needs --file: there is no free live source of 30-day Fed funds futures prices "
            "(a ZQ settlements CSV trade_date,symbol,contract_month,settle or a CME FedWatch export)"
        )
    text = read_file(ctx.file, f"fedwatch {ctx.file.name}")
    notes: list[str] = []
    since = ctx.since.date() if ctx.since else None
    if is_cme_export(text):
        async for batch in _import_export(ctx, text, notes):
            yield batch
        return
    refused: dict[date, set[Month]] = {}
    by_day = parse_zq_csv(text, now=ctx.now, since=since, name=ctx.file.name, refused=refused)
    async for batch in _ensure_fred(ctx, min(by_day), notes):
        yield batch
    effr_pts = await ctx.reader.read(obs_repo.points, FRED_IDS["EFFR"])
    lo_pts = await ctx.reader.read(obs_repo.points, FRED_IDS["DFEDTARL"])
    hi_pts = await ctx.reader.read(obs_repo.points, FRED_IDS["DFEDTARU"])
    changes = rate_changes(lo_pts)
    lo_cal, hi_cal = fomc.coverage()
    rows: list[Observation] = []
    skipped = Rejects(f"fedwatch {ctx.file.name}")
    # days priced in part: a contract missing among the day's others ends the meetings priced
    partial = Rejects(f"fedwatch {ctx.file.name} (later meetings of a day)")
    for td, prices in by_day.items():
        if not lo_cal <= td <= hi_cal:
            skipped.add(td.isoformat(), f"outside the FOMC calendar ({lo_cal}..{hi_cal})")
            continue
        problems: list[str] = []
        odds = odds_on(td, prices, effr_pts, lo_pts, hi_pts, changes, problems, refused.get(td, ()))
        if not odds:
            skipped.add(td.isoformat(), problems[0] if problems else "no meeting could be priced")
        elif problems:
            partial.add(
                td.isoformat(), f"priced to the {odds[-1].decision_date.isoformat()} meeting: {problems[0]}"
            )
        rows += odds_observations(day_epoch(td), odds)
        ctx.progress(1)
    skipped.log(log)
    partial.log(log)
    extra = f"; {'; '.join(notes)}" if notes else ""
    days = len(by_day) - len(skipped.items)
    skip = f", {len(skipped.items)} skipped (see the log)" if skipped.items else ""
    if partial.items:
        skip += f", {len(partial.items)} of them only in part (a contract missing; see the log)"
    head = (
        f"fedwatch: {len(by_day)} trading day(s) of ZQ settlements from {ctx.file.name} -> "
        f"{days} priced{skip}, {len(rows)} observations, {describe_rows(rows)}"
    )
    yield Batch(tuple(rows), describe=counted(head, extra), file=ctx.file.name)


async def _import_export(ctx: BackfillContext, text: str, notes: list[str]) -> AsyncIterator[Batch]:
    assert ctx.file is not None
    m = re.search(r"(\d{8})", ctx.file.stem)
    meeting = None
    if m:
        try:
            meeting = fomc.get(datetime.strptime(m.group(1), "%Y%m%d").date().isoformat())  # noqa: DTZ007
        except ValueError:
            meeting = None
    if meeting is None:
        raise ValueError(
            f"{ctx.file.name}: name the export after its meeting date as CME does "
            "(fedwatch_meeting_export_YYYYMMDD.csv, a decision date in the FOMC calendar)"
        )
    dates = []
    for line in text.lstrip("\ufeff").splitlines()[1:]:
        try:
            mm, dd, yy = line.split(",", 1)[0].strip().split("/")
            dates.append(date(int(yy), int(mm), int(dd)))
        except (ValueError, OverflowError):
            continue
    if not dates:
        raise SourceError(f"fedwatch {ctx.file.name}", "no dated rows")
    async for batch in _ensure_fred(ctx, min(dates), notes):
        yield batch
    hi_pts = await ctx.reader.read(obs_repo.points, FRED_IDS["DFEDTARU"])
    upper = {d: v for d in dates if (v := _asof(hi_pts, day_epoch(d))) is not None}
    rows = parse_cme_export(text, meeting, upper, name=ctx.file.name)
    extra = f"; {'; '.join(notes)}" if notes else ""
    head = f"fedwatch: CME meeting export for {meeting.id} from {ctx.file.name} -> {len(rows)} observations"
    yield Batch(tuple(rows), describe=counted(head, extra), file=ctx.file.name)
    ctx.progress(1)


BACKFILL = Backfill(
    name="fedwatch",
    help=(
        "FedWatch-method odds from 30-day Fed funds futures: --file F of ZQ settlements "
        "(trade_date,symbol,contract_month,settle) or a CME FedWatch meeting export; no live source"
    ),
    run=_backfill,
    file=True,
    dir=False,
    live=False,
    recognises=lambda name, cols: cols[:4] == ("trade_date", "symbol", "contract_month", "settle"),
)
