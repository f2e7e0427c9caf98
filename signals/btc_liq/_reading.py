"""The reading of a tracker step: the cascade's total, its lead window and rank, and the texts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np

from signals.base import Level, Params, Reading
from signals.btc_liq._baselines import WindowHistory
from signals.btc_liq._text import (
    coverage_text,
    day,
    hhmm,
    median_words,
    ordinal,
    span,
    undercounts,
    usd,
    venue_list,
)
from signals.btc_liq._timeline import Book
from signals.btc_liq._tracker import Run, Step, Tracker, WindowEval, strength
from signals.btc_liq._vocab import (
    BINANCE_NOTE,
    LONG_COLS,
    NAMES,
    RANK_DAYS,
    RANK_TEXT_MAX,
    SHORT_COLS,
    VENUE_INDEX,
    WARMUP_S,
)


def reading_of(
    tr: Tracker,
    t: int,
    book: Book,
    hists: Mapping[str, WindowHistory],
    st: Step,
) -> Reading:
    """The reading of one step: the cascade's figures and texts, or the calm windows."""
    evals, top, level, run, resolved, res = st.evals, st.top, st.level, st.run, st.resolved, st.res
    current = run or resolved
    sources = getattr(book, "sources", None)
    data: dict[str, Any] = {
        "resolution_s": res,
        "windows": {
            e.name: {
                "usd": e.total,
                "long_usd": e.long,
                "short_usd": e.short,
                "raw_usd": e.raw,
                "norm_usd": e.norm,
                "median_usd": e.median,
                "multiple": e.multiple,
                "level": e.level.label,
                "rank": e.rank,
                "multiple_rank": e.mult_rank,
                # the rest of what the level was judged on (window_level regrades from them)
                "length": e.length,
                "rough_usd": e.rough,
                "checked": e.checked,
                "largest_for_s": None if e.since is None else t - e.length - e.since,
                "history_days": e.history_days,
                "full_year": e.full_year,
            }
            for e in evals
        },
        "calm": st.calm,
        "window": top.name,
        "in_cascade": run is not None,
    }
    fields: dict[str, str] = {}
    if current is not None:
        tot = tr._run_total(current, t, book)
        long, short = float(tot[LONG_COLS].sum()), float(tot[SHORT_COLS].sum())
        total = long + short
        value = total / 1e6
        a = current.start
        cols = book.venues(a, t)
        data.update(
            total_usd=total,
            long_usd=long,
            short_usd=short,
            start=a,
            started_at=current.since,
            by_venue={c: float(tot[2 * VENUE_INDEX[c]] + tot[2 * VENUE_INDEX[c] + 1]) for c in cols},
        )
        summary, fields, lead = describe_run(
            tr, t, book, hists, current, evals, top, total, long, short, cols, resolved, data
        )
        hold = Level.OK if resolved else current.peak
        if resolved:
            level = Level.OK
        nxt = tr._next(lead, max(current.peak, level), t, hists, total)
    else:
        value = top.total / 1e6
        cols = book.venues(t - max(e.length for e in evals), t)
        summary = calm_summary(evals, cols, sources)
        hold = Level.OK
        fields = {"Windows": windows_text(evals)}
        nxt = tr._next(top, top.level, t, hists, top.total)
        cov = top.coverage
        data["coverage"] = cov
    data["venues"] = cols
    data["lower_bound"] = undercounts(cols, sources)
    src = venue_list(cols, sources)
    return Reading(
        signal=tr.signal,
        key=tr.key,
        ts=datetime.fromtimestamp(t, tz=UTC),
        value=value,
        level=level,
        hold=hold,
        summary=summary,
        source=src,
        confirm=1,
        fields=fields,
        data=data,
        next_threshold=nxt,
        unit="M USD",
    )


def describe_run(
    tr: Tracker,
    t: int,
    book: Book,
    hists: Mapping[str, WindowHistory],
    run: Run,
    evals: list[WindowEval],
    top: WindowEval,
    total: float,
    long: float,
    short: float,
    cols: list[str],
    resolved: Run | None,
    data: dict[str, Any],
) -> tuple[str, dict[str, str], WindowEval]:
    sources = getattr(book, "sources", None)
    share = long / total if total > 0 else 0.5
    if share >= 0.65:
        direction = f"longs {share:.0%}: longs flushed as price falls"
    elif share <= 0.35:
        direction = f"shorts {1 - share:.0%}: a short squeeze as price rises"
    else:
        direction = f"longs {share:.0%}, shorts {1 - share:.0%}"
    p0 = run.price0 if run.price0 is not None else book.price_at(run.start)
    p1 = book.price_at(t)
    price_txt = ""
    if p0 and p1:
        chg = p1 / p0 - 1
        price_txt = f"BTC {chg:+.1%} ({p0:,.0f} → {p1:,.0f})"
        data.update(price_start=p0, price_end=p1, price_change=chg)
    lead = run.best or max((e for e in evals if e.norm > 0), key=strength, default=top)
    mult = (
        f" = {lead.multiple:.1f}× {median_words(int(tr.p['baseline_days']), lead.history_days)}"
        if lead.multiple
        else ""
    )
    rank = rank_text(lead, float(tr.p["k_alert"]))
    cov = lead.coverage
    data.update(
        peak_window=lead.name,
        peak_window_usd=lead.total,
        multiple=lead.multiple,
        median_usd=lead.median * cov if lead.median else lead.median,
        largest_since=lead.since,
        rank=lead.rank,
        multiple_rank=lead.mult_rank,
        history_days=lead.history_days if lead.checked else None,
        record=lead.record,
        coverage=cov,
        floor_usd=lead.floor * cov,
        baseline_days=int(tr.p["baseline_days"]),
        median_days=min(float(tr.p["baseline_days"]), lead.history_days) if lead.history_days else None,
    )
    gaps = {v: s for v, s in tr._run_gaps(run, t, book).items() if s >= 60}
    gap_txt = ", ".join(f"{NAMES.get(v, v)} down {span(s)}" for v, s in sorted(gaps.items()))
    data["gaps_s"] = gaps
    where = venue_list(cols, sources)
    cov_txt = coverage_text(cov, cols, sources)
    dur = t - run.start
    if resolved is not None:
        head = f"Cascade over: {usd(total)} liquidated from {hhmm(run.start)} to {hhmm(t)} UTC ({span(dur)}; {direction})"
    else:
        head = f"BTC liquidation cascade: {usd(total)} liquidated since {hhmm(run.start)} UTC ({span(dur)}; {direction})"
    parts = [head]
    if price_txt:
        parts.append(price_txt)
    parts.append(f"{lead.name} {usd(lead.total)}{mult}" + (f", {rank}" if rank else ""))
    parts.append(f"venues: {where}")
    parts.append(f"coverage: {cov:.0%}" + ("" if cov >= 0.999 else " (import, all-venue terms)"))
    if gap_txt:
        parts.append(f"gaps: {gap_txt}")
    median_txt = usd((lead.median or 0) * cov)
    fields = {
        "Cascade total": f"{usd(total)} since {hhmm(run.start)} UTC ({span(dur)})",
        "Longs / shorts": f"{usd(long)} / {usd(short)} ({direction})",
        f"{lead.name} window": f"{usd(lead.total)}{mult} ({median_txt})"
        if lead.multiple
        else usd(lead.total),
    }
    if rank:
        fields["Rank"] = rank
    fields["Windows"] = windows_text(evals)
    if price_txt:
        fields["BTC price"] = price_txt
    fields["Venues"] = where + (f". {BINANCE_NOTE}" if undercounts(cols, sources) else "")
    fields["Coverage"] = cov_txt
    if gap_txt:
        fields["Gaps"] = gap_txt
    return "; ".join(parts), fields, lead


def calm_summary(evals: list[WindowEval], cols: list[str], sources: Mapping[str, str] | None) -> str:
    parts = []
    for e in evals:
        m = f" ({e.multiple:.1f}× median)" if e.multiple is not None else ""
        parts.append(f"{e.name} {usd(e.total)}{m}")
    state = "elevated" if max(e.level for e in evals) > Level.OK else "no cascade"
    cov = max(evals, key=lambda e: e.length).coverage
    tail = "" if cov >= 0.999 else f"; coverage {cov:.0%} (import, all-venue terms)"
    return f"BTC liquidations, {state}: " + ", ".join(parts) + f"; venues: {venue_list(cols, sources)}" + tail


def step(tr: Tracker, t: int, book: Book, hists: Mapping[str, WindowHistory]) -> Reading:
    """Move ``tr`` to ``t`` and read it: one Reading per step, called in time order."""
    return reading_of(tr, t, book, hists, tr.advance(t, book, hists))


def warm_tracker(
    params: Params, tl: Book, hists: Mapping[str, WindowHistory], ends: np.ndarray, until: int
) -> tuple[Tracker, Reading | None]:
    """A tracker stepped over the bucket ends of the last two days up to ``until``.

    Returns it with the reading at ``until`` when ``until`` is one of those ends.
    """
    tr = Tracker(params)
    sel = ends[(ends > until - WARMUP_S) & (ends <= until)].tolist()
    for t in sel[:-1]:
        tr.advance(int(t), tl, hists)
    last = step(tr, int(sel[-1]), tl, hists) if sel else None
    return tr, last


def rank_text(e: WindowEval, k_alert: float = 5.0) -> str:
    """Where the window stands in its own history, in words that agree with its level."""
    if e.cold and not e.checked:
        return f"no {e.name} baseline yet: judged against {usd(e.stand_in * e.coverage)} as normal"
    if not e.checked or e.rank is None:
        return ""
    if e.full_year:
        where = f"of the last {RANK_DAYS} days"
    else:
        where = f"in the stored history (since {day(e.history_from)})" if e.history_from is not None else ""
    since = f"largest since {day(e.since - e.length)}" if e.since is not None else ""
    if e.rank == 1:
        txt = f"largest {e.name} {where}".rstrip()
    elif e.rank <= RANK_TEXT_MAX:
        txt = f"{ordinal(e.rank)}-largest {e.name} {where}".rstrip() + (f" ({since})" if since else "")
    else:
        txt = f"{e.name} {since}" if since else ""
    if (
        e.mult_rank is not None
        and e.mult_rank <= RANK_TEXT_MAX
        and e.level >= Level.ALERT
        and not (e.record or e.cold)
    ):
        first = "sharpest" if e.mult_rank == 1 else f"{ordinal(e.mult_rank)}-sharpest"
        txt += f"; the {first} {e.name} burst against its median {where}".rstrip()
    if e.cold and e.checked:
        txt += f" (only {e.history_days:.0f} days of history: too few to rank, multiples decide)"
    if e.burst_short and e.multiple is not None:
        txt += f" (but only {e.multiple:.1f}× its median: an alert needs {k_alert:g}×)"
    return txt


def windows_text(evals: list[WindowEval]) -> str:
    out = []
    for e in evals:
        m = f" ({e.multiple:.1f}×)" if e.multiple is not None else ""
        out.append(f"{e.name} {usd(e.total)}{m}")
    return " · ".join(out)
