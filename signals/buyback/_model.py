"""The blackout model: companies, report dates (known or estimated), who is in blackout on a day."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from signals.base import Params
from signals.buyback._vocab import (
    COVERAGE_BACK_DAYS,
    DAY_S,
    EARNINGS,
    ESTIMATE_CLEAR_DAYS,
    ESTIMATE_DAYS,
    INDEX_ID,
    MEMBERS,
    MIN_CAP_COVERAGE,
    MIN_COVERAGE,
    SOURCE_NAMES,
    UNIVERSE_DAYS,
    from_day,
    to_day,
)
from storage.observations import Inputs


def _session_days(lo: int, hi: int) -> np.ndarray:
    """NYSE sessions between day numbers ``lo`` and ``hi``; weekdays past the calendar's end."""
    from signals import tradingcal

    days = np.array(
        [to_day(d) for d in tradingcal.sessions_between(from_day(lo), from_day(hi))], dtype=np.int64
    )
    last = int(days[-1]) if len(days) else lo - 1
    if last < hi - 5:
        extra = np.arange(last + 1, hi + 1, dtype=np.int64)
        extra = extra[((extra + 3) % 7) < 5]  # 1970-01-01 was a Thursday: (n + 3) % 7 = weekday
        days = np.concatenate([days, extra])
    return days


def _window_end(sessions: np.ndarray, day: np.ndarray, amc: np.ndarray, n: int) -> np.ndarray:
    """Last blackout day: the ``n``-th session after the report's session (after-market: the next one)."""
    base = np.where(amc, np.searchsorted(sessions, day, "right"), np.searchsorted(sessions, day, "left"))
    idx = base + n
    over = idx >= len(sessions)
    out = sessions[np.minimum(idx, len(sessions) - 1)]
    # beyond the session table: approximate with calendar days
    return np.where(over, day + n + 2 + amc.astype(np.int64), out)


@dataclass(frozen=True)
class Model:
    """The earnings table prepared under one set of parameters (rows in date order)."""

    tickers: np.ndarray
    comp: np.ndarray
    date: np.ndarray
    start: np.ndarray
    end: np.ndarray
    e_date: np.ndarray
    e_start: np.ndarray
    e_end: np.ndarray
    known_from: np.ndarray
    known_until: np.ndarray
    estimated: np.ndarray
    cap: np.ndarray
    member: np.ndarray
    sessions: np.ndarray
    frontier: float
    has_list: bool
    list_size: int
    sources: tuple[str, ...]
    #: the first day readings can start: a provider's first scan, or a dated file's first report
    first_day: int

    @property
    def n_companies(self) -> int:
        return len(self.tickers)


def prepare(earnings: pd.DataFrame, members: pd.DataFrame | None, p: Params) -> Model | None:
    """Arrays for :func:`evaluate`; None when the calendar is empty."""
    if earnings is None or earnings.empty:
        return None
    df = earnings.sort_values(["date", "ticker"], kind="stable")
    tickers, comp = np.unique(df["ticker"].to_numpy(dtype=str), return_inverse=True)
    day = df["date"].to_numpy(dtype=np.int64)
    fqe = df["fqe"].to_numpy(dtype=np.int64)
    amc = df["time"].to_numpy(dtype=str) == "amc"
    seen = df["seen_at"].to_numpy(dtype=float)
    first_day = int(min(day.min(), np.nanmin(seen) // DAY_S)) if np.isfinite(seen).any() else int(day.min())
    sessions = _session_days(first_day - 10, int(day.max()) + ESTIMATE_DAYS + 20)
    n = int(p["reopen_sessions"])
    start = day - int(p["pre_days"])
    start = np.where(fqe >= 0, np.minimum(start, fqe - int(p["fqe_days"])), start)
    sup = df["superseded_at"].to_numpy(dtype=float)
    known_from = np.where(np.isnan(seen), (day - int(p["horizon_days"])) * float(DAY_S), seen)
    known_until = np.where(np.isnan(sup), np.inf, sup)
    cap = df["market_cap"].to_numpy(dtype=float)
    cap = np.where(cap > 0, cap, np.nan)
    member = np.ones(len(tickers), dtype=bool)
    has_list, list_size = False, 0
    if members is not None and not members.empty:
        listed = set(members.loc[members["index_id"] == INDEX_ID, "ticker"].astype(str))
        if listed:
            has_list, list_size = True, len(listed)
            member = np.isin(tickers, sorted(listed))
    upd = df["updated_at"].to_numpy(dtype=float)
    return Model(
        tickers=tickers,
        comp=comp.astype(np.int64),
        date=day,
        start=start,
        end=_window_end(sessions, day, amc, n),
        e_date=day + ESTIMATE_DAYS,
        e_start=start + ESTIMATE_DAYS,
        e_end=_window_end(sessions, day + ESTIMATE_DAYS, amc, n),
        known_from=known_from,
        known_until=known_until,
        estimated=df["estimated"].to_numpy(dtype=bool),
        cap=cap,
        member=member,
        sessions=sessions,
        frontier=float(np.nanmax(upd)) if len(upd) else 0.0,
        has_list=has_list,
        list_size=list_size,
        sources=tuple(sorted(set(df["source"].astype(str)))),
        first_day=first_day,
    )


@dataclass(frozen=True)
class DayStats:
    """The share on ``days`` as known at one moment (days[0] is "today")."""

    days: np.ndarray
    universe: int
    coverage: float
    in_blackout: np.ndarray  # companies, per day
    estimated: np.ndarray  # of which only through an estimated date, per day
    share: np.ndarray  # percent, count-weighted
    share_cap: np.ndarray  # percent, market-cap-weighted (NaN when caps are too sparse)
    cap_coverage: float

    @property
    def usable(self) -> bool:
        return self.universe > 0 and self.coverage >= MIN_COVERAGE


def evaluate(m: Model, know: float, days: np.ndarray) -> DayStats:
    """Share of the universe in blackout on each of ``days`` with the calendar known at ``know``."""
    days = np.asarray(days, dtype=np.int64)
    td, last = int(days[0]), int(days[-1])
    lo = int(np.searchsorted(m.date, td - UNIVERSE_DAYS - 15, "left"))
    hi = int(np.searchsorted(m.date, last + 200, "right"))
    k = np.nonzero((m.known_from[lo:hi] <= know) & (know < m.known_until[lo:hi]))[0] + lo
    n_days = len(days)
    empty = np.zeros(n_days, dtype=np.int64)
    nan = np.full(n_days, np.nan)
    if len(k) == 0:
        return DayStats(days, 0, 0.0, empty, empty, nan, nan, 0.0)
    comp, day, est = m.comp[k], m.date[k], m.estimated[k]
    n_c = m.n_companies
    universe = np.zeros(n_c, dtype=bool)
    universe[comp[day >= td - UNIVERSE_DAYS]] = True
    universe &= m.member
    n_u = int(universe.sum())
    covered = np.zeros(n_c, dtype=bool)
    covered[comp[(day >= td - COVERAGE_BACK_DAYS) & ~est]] = True
    coverage = float((covered & universe).sum() / n_u) if n_u else 0.0
    if m.has_list and m.list_size:
        # with an index list the whole list is the universe the estimate speaks for: a calendar
        # that knows only a few of its members must not produce a share (or an alert)
        coverage = float((covered & universe).sum() / m.list_size)

    actual = np.zeros((n_c, n_days), dtype=bool)
    guessed = np.zeros((n_c, n_days), dtype=bool)
    sel = k[(m.start[k] <= last) & (m.end[k] >= td)]
    if len(sel):
        cover = (m.start[sel][:, None] <= days[None, :]) & (m.end[sel][:, None] >= days[None, :])
        r, j = np.nonzero(cover)
        flag = m.estimated[sel][r]
        actual[m.comp[sel][r[~flag]], j[~flag]] = True
        guessed[m.comp[sel][r[flag]], j[flag]] = True
    cand = k[(m.e_date[k] > td) & (m.e_start[k] <= last) & (m.e_end[k] >= td)]
    if len(cand):
        big = np.int64(1 << 32)
        keys = np.sort(comp * big + day)
        ek = m.comp[cand] * big + m.e_date[cand]
        near = np.searchsorted(keys, ek + ESTIMATE_CLEAR_DAYS, "left") - np.searchsorted(
            keys, ek - ESTIMATE_CLEAR_DAYS, "right"
        )
        cand = cand[near == 0]
        if len(cand):
            cover = (m.e_start[cand][:, None] <= days[None, :]) & (m.e_end[cand][:, None] >= days[None, :])
            r, j = np.nonzero(cover)
            guessed[m.comp[cand][r], j] = True
    blackout = (actual | guessed) & universe[:, None]
    only_guess = guessed & ~actual & universe[:, None]
    n_black = blackout.sum(axis=0)
    share = 100.0 * n_black / n_u if n_u else nan

    caps = np.full(n_c, np.nan)
    has = ~np.isnan(m.cap[k])
    if has.any():
        rev_c, rev_v = comp[has][::-1], m.cap[k][has][::-1]
        uniq, first = np.unique(rev_c, return_index=True)
        caps[uniq] = rev_v[first]  # the latest known cap per company (rows are in date order)
    with_cap = universe & ~np.isnan(caps)
    cap_cov = float(with_cap.sum() / n_u) if n_u else 0.0
    if n_u and cap_cov >= MIN_CAP_COVERAGE:
        w = np.where(with_cap, caps, 0.0)
        share_cap = 100.0 * (w @ blackout) / w.sum()
    else:
        share_cap = nan
    return DayStats(days, n_u, coverage, n_black, only_guess.sum(axis=0), share, share_cap, cap_cov)


def weekly_reports(m: Model, know: float, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reports per week (weeks starting Monday) between day numbers ``lo`` and ``hi``, as known at ``know``:
    (week start days, known dates, estimated dates), universe companies only."""
    first = lo - ((lo + 3) % 7)
    weeks = np.arange(first, hi + 1, 7, dtype=np.int64)
    a = int(np.searchsorted(m.date, lo - ESTIMATE_DAYS - 10, "left"))
    b = int(np.searchsorted(m.date, hi, "right"))
    k = np.nonzero((m.known_from[a:b] <= know) & (know < m.known_until[a:b]))[0] + a
    k = k[m.member[m.comp[k]]]
    real = k[(m.date[k] >= lo) & ~m.estimated[k]]
    flagged = k[(m.date[k] >= lo) & m.estimated[k]]
    known_days = m.date[real]
    est_days = [m.date[flagged]]
    cand = k[(m.e_date[k] > know / DAY_S) & (m.e_date[k] <= hi)]
    if len(cand):
        big = np.int64(1 << 32)
        keys = np.sort(m.comp[k] * big + m.date[k])
        ek = m.comp[cand] * big + m.e_date[cand]
        near = np.searchsorted(keys, ek + ESTIMATE_CLEAR_DAYS, "left") - np.searchsorted(
            keys, ek - ESTIMATE_CLEAR_DAYS, "right"
        )
        est_days.append(m.e_date[cand[near == 0]])
    est_all = np.concatenate(est_days)
    bins = np.append(weeks, weeks[-1] + 7)
    return weeks, np.histogram(known_days, bins)[0], np.histogram(est_all, bins)[0]


def source_label(m: Model) -> str:
    names = [SOURCE_NAMES.get(s, s) for s in m.sources]
    return ", ".join(names) if names else "earnings calendar"


def model_of(inputs: Inputs, params: Params) -> Model | None:
    return prepare(inputs.table(EARNINGS), inputs.table(MEMBERS), params)
