"""buyback: the share of large US companies inside their buyback blackout window (an estimate).

Buybacks are the largest net buyer of US equities, and most companies stop buying in the
weeks before they report earnings. Companies do not publish their windows, so this is a
model over the earnings calendar, and every reading says so.

The model (pure; its input is the earnings table, ``Inputs.tables["earnings"]``):

- **Window.** A report on day D blacks its company out from the earlier of D − ``pre_days``
  (35 calendar days) and the fiscal quarter end − ``fqe_days`` (14), through the
  ``reopen_sessions``-th (2nd) trading day after the report; an after-market report counts
  from the next trading day. An unknown time of day counts as before the open. Trading
  days come from the NYSE calendar (:mod:`signals.tradingcal`).
- **Knowledge.** A reading for day t uses only the calendar known at 00:00 UTC of t. A
  provider's listing is known from when it was first seen until a newer listing superseded
  it (the report moved); a file of dated reports (the real history) counts each date as
  known ``horizon_days`` (90) before the report, which is what a calendar scan of that
  length would have listed. Live readings use the calendar as it is now.
- **Estimates.** A report from the past year projects the same quarter's next report to
  its date + 364 days (same weekday), flagged as estimated, unless a known listing of that
  company lies within 45 days of it. So a company with no upcoming date gets last year's
  date + 364 days.
- **Universe.** The S&P 500 list when one is loaded (``flowwatch backfill sp500``), else
  every company with a known report in the past year or ahead. A company counts once,
  however many windows cover a day.
- **Share.** Count-weighted (the alert value) and market-cap-weighted (latest known market
  caps, shown when they cover at least half the universe; ``weight_by_cap=1`` makes it the
  alert value). A day on which fewer than half the universe has a known (not estimated)
  upcoming or just-past report gives no reading: the calendar does not reach that far.

Levels, one lifecycle per earnings season: ``watch`` = the projected share crosses ``alert``
within ``headsup_days`` trading days; ``alert`` = at or above ``alert`` (50%, the window is
closed); ``severe`` = at or above ``severe`` (80%, peak blackout); the window reopens
(resolve) when the share falls below ``alert_exit`` (hysteresis under ``alert``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from signals.base import Demo, Level, Param, Params, Reading, Rules, TableLoader, Threshold
from storage import earnings as earnings_repo
from storage.batches import EarningsRows
from storage.observations import Inputs
from storage.timeutil import from_epoch

EARNINGS, MEMBERS = "earnings", "index_members"
INDEX_ID = "sp500"
KEY = "share"
DAY_S = 86400
EPOCH = date(1970, 1, 1)
ESTIMATE_DAYS = 364
#: a known listing this close to an estimated date replaces the estimate
ESTIMATE_CLEAR_DAYS = 45
#: a company with a known report this far back (or any ahead) is in the calendar's universe
UNIVERSE_DAYS = 364
#: coverage counts companies with a known report from this many days back onwards
COVERAGE_BACK_DAYS = 7
MIN_COVERAGE = 0.5
MIN_CAP_COVERAGE = 0.5
#: the watch holds while the projected crossing is at most this many sessions further out
HOLD_SLACK = 2
#: live: the calendar must have been refreshed within this time
CALENDAR_MAX_AGE = timedelta(days=4)
#: the resolve text recalls a closed run that ended this many sessions ago
RECALL_SESSIONS = 10
MODEL_NOTE = "an estimate from the earnings calendar, not company disclosures"

SOURCE_NAMES = {
    "nasdaq": "Nasdaq earnings calendar",
    "alphavantage": "Alpha Vantage earnings calendar",
    "file": "earnings file",
    "demo": "demo calendar",
}


def to_day(d: date) -> int:
    return (d - EPOCH).days


def from_day(n: int) -> date:
    return EPOCH + timedelta(days=int(n))


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


# -- the daily series -------------------------------------------------------------------


@dataclass
class Day:
    """One session's evaluation and what the readings need about the run it sits in."""

    day: int
    know: float
    stats: DayStats
    value: float
    level: Level
    hold: Level
    crossing: int | None  # sessions until the projected share reaches `alert` (None = not within reach)
    closed_since: int | None  # first session of the current closed run
    closed_sessions: int
    last_run: tuple[int, int, int] | None  # (first, last, sessions) of the latest closed run that ended


def _value(st: DayStats, i: int, p: Params) -> float:
    if p["weight_by_cap"] and not math.isnan(st.share_cap[i]):
        return float(st.share_cap[i])
    return float(st.share[i])


def _classify(st: DayStats, p: Params) -> tuple[float, Level, Level, int | None]:
    values = np.array([_value(st, i, p) for i in range(len(st.days))])
    s = float(values[0])
    ahead = values[1:]
    alert, n = p["alert"], int(p["headsup_days"])
    up = np.nonzero(ahead >= alert)[0]
    crossing = int(up[0]) + 1 if len(up) else None
    if s >= p["severe"]:
        level = Level.SEVERE
    elif s >= alert:
        level = Level.ALERT
    elif crossing is not None and crossing <= n:
        level = Level.WATCH
    else:
        level = Level.OK
    if s >= p["severe_exit"]:
        hold = Level.SEVERE
    elif s >= p["alert_exit"]:
        hold = Level.ALERT
    elif crossing is not None and crossing <= n + HOLD_SLACK:
        hold = Level.WATCH
    else:
        hold = Level.OK
    return s, level, hold, crossing


def daily(m: Model, p: Params, first: int | None = None, last: int | None = None) -> list[Day]:
    """Every session from ``first`` to ``last`` (day numbers) with a usable calendar, each as
    known at 00:00 UTC of that day, with its projection over the next sessions."""
    lo = m.first_day if first is None else max(first, m.first_day)
    frontier_day = int(m.frontier // DAY_S)
    hi = frontier_day if last is None else min(last, frontier_day)
    if hi < lo:
        return []
    sess = m.sessions
    i0, i1 = int(np.searchsorted(sess, lo, "left")), int(np.searchsorted(sess, hi, "right"))
    ahead = int(p["headsup_days"]) + HOLD_SLACK
    out: list[Day] = []
    closed_since: int | None = None
    closed_n = 0
    last_run: tuple[int, int, int] | None = None
    prev_day: int | None = None
    for i in range(i0, i1):
        td = int(sess[i])
        know = float(td) * DAY_S
        st = evaluate(m, know, sess[i : i + 1 + ahead])
        if not st.usable:
            closed_since, closed_n, prev_day = None, 0, None
            continue
        s, level, hold, crossing = _classify(st, p)
        closed_since, closed_n, last_run = _track(s, p, td, closed_since, closed_n, last_run, prev_day)
        out.append(Day(td, know, st, s, level, hold, crossing, closed_since, closed_n, last_run))
        prev_day = td
    return out


def _track(
    s: float,
    p: Params,
    td: int,
    closed_since: int | None,
    closed_n: int,
    last_run: tuple[int, int, int] | None,
    prev_day: int | None,
) -> tuple[int | None, int, tuple[int, int, int] | None]:
    """The closed-window run with the same hysteresis as the levels (close at alert, open below exit)."""
    if s >= p["alert"] or (closed_since is not None and s >= p["alert_exit"]):
        if closed_since is None:
            return td, 1, last_run
        return closed_since, closed_n + 1, last_run
    if closed_since is not None and prev_day is not None:
        last_run = (closed_since, prev_day, closed_n)
    return None, 0, last_run


def share_series(earnings: pd.DataFrame, members: pd.DataFrame | None, params: Params) -> pd.DataFrame:
    """The daily share in blackout as known each day (pure): one row per usable session."""
    m = prepare(earnings, members, params)
    rows = []
    for d in daily(m, params) if m is not None else []:
        rows.append(
            {
                "date": from_day(d.day),
                "share": float(d.stats.share[0]),
                "share_cap": float(d.stats.share_cap[0]),
                "in_blackout": int(d.stats.in_blackout[0]),
                "estimated": int(d.stats.estimated[0]),
                "universe": d.stats.universe,
                "coverage": d.stats.coverage,
                "level": d.level.label,
            }
        )
    return pd.DataFrame(rows)


# -- the signal -------------------------------------------------------------------------


class Buyback:
    id = "buyback"
    title = "Buyback blackout"
    description = "Estimated share of large US companies in their pre-earnings buyback blackout window"
    inputs = ()
    tables: ClassVar[Mapping[str, TableLoader]] = {
        EARNINGS: earnings_repo.load_reports_frame,
        MEMBERS: earnings_repo.load_members_frame,
    }
    keys: ClassVar[dict[str, str]] = {KEY: "Share in blackout"}
    params = (
        Param(
            "alert",
            50,
            1,
            99,
            "share in blackout (%) at which the buyback window counts as closed",
            unit="%",
            guild=True,
        ),
        Param("alert_exit", 48, 1, 99, "share (%) below which the window counts as reopened", unit="%"),
        Param("severe", 80, 1, 100, "share (%) of peak blackout (severe)", unit="%", guild=True),
        Param("severe_exit", 75, 1, 100, "share (%) below which peak blackout steps down", unit="%"),
        Param(
            "headsup_days",
            5,
            1,
            30,
            "trading days before the projected closing that the heads-up (watch) starts",
            integer=True,
            unit="trading days",
        ),
        Param(
            "pre_days",
            35,
            7,
            90,
            "calendar days before the report that the blackout starts",
            integer=True,
            unit="days",
        ),
        Param(
            "fqe_days",
            14,
            0,
            60,
            "days before the fiscal quarter end that the blackout starts, if earlier",
            integer=True,
            unit="days",
        ),
        Param(
            "reopen_sessions",
            2,
            0,
            10,
            "trading day after the report on which the blackout ends",
            integer=True,
            unit="trading days",
        ),
        Param(
            "horizon_days",
            90,
            40,
            366,
            "days ahead a dated file's report counts as known in replay (the calendar scan's reach)",
            integer=True,
            unit="days",
        ),
        Param(
            "weight_by_cap",
            0,
            0,
            1,
            "1: alert on the market-cap-weighted share instead of the count-weighted one",
            integer=True,
        ),
        Param(
            "confirm",
            1,
            1,
            10,
            "consecutive sessions needed to fire or escalate",
            integer=True,
            unit="sessions",
        ),
        Param(
            "cooldown_days",
            10,
            0,
            60,
            "days after a reopening before a new closing can fire",
            unit="days",
        ),
    )

    def validate(self, params: Params) -> list[str]:
        p = params
        problems = []
        for name in ("alert", "severe"):
            if not p[f"{name}_exit"] < p[name]:
                problems.append(f"{name}_exit ({p[name + '_exit']:g}) must be below {name} ({p[name]:g})")
        if not p["alert"] <= p["severe"]:
            problems.append(f"alert ({p['alert']:g}) must not be above severe ({p['severe']:g})")
        return problems

    def rules(self, params: Params) -> Rules:
        return Rules(cooldown_s=int(params["cooldown_days"] * 86400), value_format="{:.1f}")

    def grade(self, key: str, value: float, figures: Mapping[str, Any], params: Params) -> Level:
        """The share against ``alert`` and ``severe``; below them, the heads-up when the projected
        crossing (``sessions_to_crossing``, figured with the global ``alert``) is within
        ``headsup_days`` sessions."""
        s = value
        share, cap = figures.get("share"), figures.get("share_cap")
        if isinstance(share, int | float):  # the unrounded figure the level was made from
            s = float(cap) if params["weight_by_cap"] and isinstance(cap, int | float) else float(share)
        if s >= params["severe"]:
            return Level.SEVERE
        if s >= params["alert"]:
            return Level.ALERT
        crossing = figures.get("sessions_to_crossing")
        if isinstance(crossing, int) and crossing <= int(params["headsup_days"]):
            return Level.WATCH
        return Level.OK

    def _model(self, inputs: Inputs, params: Params) -> Model | None:
        return prepare(inputs.table(EARNINGS), inputs.table(MEMBERS), params)

    # -- readings ---------------------------------------------------------------------

    def history(self, inputs: Inputs, params: Params) -> list[Reading]:
        m = self._model(inputs, params)
        if m is None:
            return []
        return [self._reading(m, d, params) for d in daily(m, params)]

    def latest(self, inputs: Inputs, params: Params, now: datetime) -> list[Reading]:
        """Today's reading with the calendar as it is at ``now`` (the run from the days before)."""
        m = self._model(inputs, params)
        if m is None:
            return []
        _, today = self._live(m, params, now, None)
        return (
            []
            if today is None
            else [self._reading(m, today, params, outlook=_outlook(m, today.know, today.day, params))]
        )

    def readings_since(
        self, inputs: Inputs, params: Params, after: datetime | None, now: datetime, warmup: int = 30
    ) -> list[Reading]:
        """Live catch-up: the sessions after ``after`` as known each day, then today's reading
        with the calendar as it is at ``now`` (so a morning refresh counts the same day)."""
        m = self._model(inputs, params)
        if m is None:
            return []
        past, today = self._live(m, params, now, after)
        if after is not None:
            past = [d for d in past if d.day * DAY_S > after.timestamp()]
        else:
            past = past[-max(warmup - 1, 0) :] if warmup > 1 else []
        out = [self._reading(m, d, params) for d in past]
        if today is not None and (after is None or today.day * DAY_S > after.timestamp()):
            out.append(self._reading(m, today, params, outlook=_outlook(m, today.know, today.day, params)))
        return out

    def _live(
        self, m: Model, p: Params, now: datetime, after: datetime | None
    ) -> tuple[list[Day], Day | None]:
        """The past sessions (each as known that day; from far enough back to know the current
        closed run) and today's session evaluated with everything known at ``now``."""
        today = _session_on_or_before(m, now)
        if today is None:
            return [], None
        first = today - 150
        if after is not None:
            first = min(first, int(after.timestamp() // DAY_S) - 150)
        past = daily(m, p, first=first, last=today - 1)
        know = now.timestamp()
        i = int(np.searchsorted(m.sessions, today, "left"))
        st = evaluate(m, know, m.sessions[i : i + 1 + p_ahead(p)])
        if not st.usable:
            return past, None
        s, level, hold, crossing = _classify(st, p)
        prev = past[-1] if past else None
        since, n, last_run = _track(
            s,
            p,
            today,
            prev.closed_since if prev else None,
            prev.closed_sessions if prev else 0,
            prev.last_run if prev else None,
            prev.day if prev else None,
        )
        return past, Day(today, know, st, s, level, hold, crossing, since, n, last_run)

    def _reading(self, m: Model, d: Day, p: Params, outlook: dict[str, Any] | None = None) -> Reading:
        st = d.stats
        s = d.value
        share, share_cap = float(st.share[0]), float(st.share_cap[0])
        basis = (
            "market-cap-weighted" if p["weight_by_cap"] and not math.isnan(share_cap) else "count-weighted"
        )
        today = from_day(d.day)
        uni = f"{st.universe} {'S&P 500 companies' if m.has_list else 'companies in the calendar'}"
        other = ""
        if basis == "count-weighted" and not math.isnan(share_cap):
            other = f" (cap-weighted {share_cap:.1f}%)"
        elif basis != "count-weighted":
            other = f" (count-weighted {share:.1f}%)"
        est_n = int(st.estimated[0])
        est_txt = f"; {est_n} on estimated dates" if est_n else ""
        head = f"{s:.1f}% of {uni} in their buyback blackout window{other}{est_txt}"
        level, hold = d.level, d.hold
        crossing_day = (
            from_day(int(st.days[d.crossing]))
            if d.crossing is not None and d.crossing < len(st.days)
            else None
        )
        if level >= Level.ALERT or (hold >= Level.ALERT and d.closed_since is not None):
            peak = "peak blackout" if s >= p["severe"] else "window closed"
            since = from_day(d.closed_since) if d.closed_since is not None else today
            summary = (
                f"Buyback {peak} (estimate): {head}; closed since {since.isoformat()} "
                f"({d.closed_sessions} trading day{'s' if d.closed_sessions != 1 else ''})"
            )
        elif (level == Level.WATCH or hold == Level.WATCH) and d.crossing is not None:
            summary = (
                f"Buyback window closes in about {d.crossing} trading day{'s' if d.crossing != 1 else ''} "
                f"(estimate): {head}; projected above {p['alert']:g}% on "
                f"{crossing_day.isoformat() if crossing_day else 'the next sessions'}"
            )
        else:
            recent = d.last_run is not None and _sessions_between(m, d.last_run[1], d.day) <= RECALL_SESSIONS
            if recent and d.last_run is not None:
                a, b, n = d.last_run
                summary = (
                    f"Buyback window reopening (estimate): {head}, below {p['alert_exit']:g}%; it was closed "
                    f"{n} trading day{'s' if n != 1 else ''} ({from_day(a).isoformat()} to {from_day(b).isoformat()})"
                )
            else:
                summary = f"Buyback window open (estimate): {head}"
        if outlook and outlook.get("next_close") and level < Level.ALERT and "closes in" not in summary:
            summary += f"; next closing projected around {outlook['next_close']}"
        fields = {
            "In blackout": f"{share:.1f}% of {uni} ({int(st.in_blackout[0])})",
            "Cap-weighted": "n/a (market caps missing)" if math.isnan(share_cap) else f"{share_cap:.1f}%",
            "Estimated dates": f"{est_n} compan{'y' if est_n == 1 else 'ies'} on last year's date + 364 d",
            "Calendar coverage": f"{st.coverage * 100:.0f}% of the universe has a known date",
            "Model": (
                f"blackout from {int(p['pre_days'])} days before the report (or {int(p['fqe_days'])} days "
                f"before quarter end) to {int(p['reopen_sessions'])} trading days after; {MODEL_NOTE}"
            ),
        }
        if d.closed_since is not None:
            fields["Window"] = (
                f"closed since {from_day(d.closed_since).isoformat()} ({d.closed_sessions} sessions)"
            )
        elif crossing_day is not None:
            fields["Window"] = f"closes in about {d.crossing} trading days ({crossing_day.isoformat()})"
        data: dict[str, Any] = {
            "share": share,
            "share_cap": None if math.isnan(share_cap) else share_cap,
            "basis": basis,
            "in_blackout": int(st.in_blackout[0]),
            "estimated": est_n,
            "universe": st.universe,
            "universe_kind": "sp500" if m.has_list else "calendar",
            "coverage": st.coverage,
            "crossing_date": crossing_day.isoformat() if crossing_day else None,
            "sessions_to_crossing": d.crossing,
            "closed_since": from_day(d.closed_since).isoformat() if d.closed_since is not None else None,
            "sessions_closed": d.closed_sessions,
            "calendar_as_of": m.frontier,
        }
        if outlook:
            data.update(outlook)
            if outlook.get("peak") is not None:
                fields["Projected peak"] = f"{outlook['peak']:.0f}% around {outlook['peak_date']}"
            if outlook.get("next_open"):
                fields["Projected reopening"] = str(outlook["next_open"])
        nxt = None
        if level < Level.ALERT:
            nxt = Threshold(Level.ALERT, p["alert"])
        elif level < Level.SEVERE:
            nxt = Threshold(Level.SEVERE, p["severe"])
        # the /status and summary line: the share and where the window stands (an estimate)
        if d.closed_since is not None:
            where = f"window closed since {from_day(d.closed_since):%m-%d} ({d.closed_sessions} trading days)"
            if outlook and outlook.get("next_open"):
                where += f", reopening around {outlook['next_open'][5:]}"
        elif (
            crossing_day is not None
            and d.crossing is not None
            and d.crossing <= int(p["headsup_days"]) + HOLD_SLACK
        ):
            where = f"window closes in about {d.crossing} trading days ({crossing_day:%m-%d})"
        elif outlook and outlook.get("next_close"):
            where = f"window open, next closing around {outlook['next_close'][5:]}"
        else:
            where = "window open"
        headline = f"{s:.1f}% of {st.universe} companies (estimate); {where}"
        return Reading(
            signal=self.id,
            key=KEY,
            ts=datetime.combine(today, datetime.min.time(), tzinfo=UTC),
            value=round(s, 4),
            level=level,
            hold=hold,
            summary=summary,
            source=_source_label(m),
            confirm=int(p["confirm"]),
            fields=fields,
            data=data,
            next_threshold=nxt,
            unit="%",
            headline=headline,
        )

    def stale_reason(self, reading: Reading, now: datetime) -> str | None:
        as_of = reading.data.get("calendar_as_of")
        if not as_of:
            return None
        age = now - from_epoch(float(as_of))
        if age > CALENDAR_MAX_AGE:
            return (
                f"the earnings calendar was last refreshed {age.days} days ago "
                f"({from_epoch(float(as_of)):%Y-%m-%d}); run flowwatch backfill earnings"
            )
        return None

    # -- presentation -----------------------------------------------------------------

    def chart_data(
        self,
        inputs: Inputs,
        params: Params,
        end: datetime,
        days: int,
        marks: Iterable[tuple[datetime, str, str]] = (),
    ) -> dict[str, Any]:
        p = params
        m = self._model(inputs, p)
        base: dict[str, Any] = {
            "signal": self.id,
            "title": "Buyback blackout: estimated share of companies in their window",
            "x": np.array([], dtype="datetime64[ns]"),
            "source": "Source: earnings calendar · estimate",
            "as_of": None,
        }
        if m is None:
            return base
        end_day = _session_on_or_before(m, end - timedelta(seconds=1))
        if end_day is None:
            return base
        know = end.timestamp()
        # each past day as it was known then; today (and ahead) with the calendar as of `end`
        hist = daily(m, p, first=end_day - days, last=end_day - 1)
        if hist and hist[-1].day < end_day - 30:
            # the calendar ends earlier: draw as of its last usable day
            end_day, know = hist[-1].day, hist[-1].know + DAY_S - 1
            hist = hist[:-1]
        i = int(np.searchsorted(m.sessions, end_day, "left"))
        last_known = int(m.date[~m.estimated].max()) if (~m.estimated).any() else end_day
        reach = min(end_day + int(p["horizon_days"]), last_known + 7)
        j = int(np.searchsorted(m.sessions, reach, "right"))
        px = m.sessions[i : max(j, i + 1)]
        proj = evaluate(m, know, px)
        x = np.array([d.day for d in hist], dtype=np.int64)
        share = np.array([float(d.stats.share[0]) for d in hist])
        share_cap = np.array([float(d.stats.share_cap[0]) for d in hist])
        if proj.usable:
            x = np.append(x, px[0])
            share = np.append(share, proj.share[0])
            share_cap = np.append(share_cap, proj.share_cap[0])
        else:
            px = px[:0]
        crossings = _crossings(x, share, p) + _crossings(px, proj.share, p, projected=True)
        lo = int(x[0]) if len(x) else end_day
        weeks, known, est = weekly_reports(m, know, lo, int(px[-1]) if len(px) else end_day)
        return {
            "signal": self.id,
            "title": "Buyback blackout: estimated share of companies in their window",
            "x": _dt64(x),
            "share": share,
            "share_cap": share_cap,
            "px": _dt64(px),
            "pshare": proj.share[: len(px)],
            "pshare_cap": proj.share_cap[: len(px)],
            "today": _dt64(np.array([end_day]))[0],
            "thresholds": {"alert": p["alert"], "severe": p["severe"]},
            "alert_exit": p["alert_exit"],
            "crossings": crossings,
            "marks": [
                (pd.Timestamp(t).tz_convert("UTC").tz_localize(None).to_datetime64(), lv)
                for t, lv, key in marks
                if key == KEY
            ],
            "weeks": _dt64(weeks),
            "reports": known,
            "reports_est": est,
            "universe": proj.universe,
            "universe_kind": "S&P 500 list" if m.has_list else "every company in the calendar",
            "source": f"Source: {_source_label(m)} · an estimate, not company disclosures",
            "as_of": datetime.combine(from_day(end_day), datetime.min.time(), tzinfo=UTC),
        }

    # -- demo -------------------------------------------------------------------------

    def demo(self, start: datetime) -> Demo:
        """Seven seasons of a synthetic earnings calendar (dated, known 180 days ahead)."""
        frontier = int((start + timedelta(days=180)).timestamp())
        rows = EarningsRows(tuple(demo_calendar(start.date())), "demo", now=frontier, dated=True)
        return Demo(rows=(rows,))


def p_ahead(p: Params) -> int:
    """Sessions the readings project ahead (the heads-up reach plus the watch's slack)."""
    return int(p["headsup_days"]) + HOLD_SLACK


def _session_on_or_before(m: Model, when: datetime) -> int | None:
    """The last session whose reading exists at ``when`` (readings are stamped 00:00 UTC of their date)."""
    day = when.astimezone(UTC).date() if when.tzinfo else when.date()
    i = int(np.searchsorted(m.sessions, to_day(day), "right")) - 1
    return int(m.sessions[i]) if i >= 0 else None


def _sessions_between(m: Model, a: int, b: int) -> int:
    return int(np.searchsorted(m.sessions, b, "left") - np.searchsorted(m.sessions, a, "left"))


def _outlook(m: Model, know: float, today: int, p: Params) -> dict[str, Any]:
    """The projection over the loaded calendar: next closing / reopening and the peak."""
    i = int(np.searchsorted(m.sessions, today, "left"))
    j = int(np.searchsorted(m.sessions, today + int(p["horizon_days"]), "right"))
    st = evaluate(m, know, m.sessions[i : max(j, i + 2)])
    vals = np.array([_value(st, x, p) for x in range(len(st.days))])
    out: dict[str, Any] = {"next_close": None, "next_open": None, "peak": None, "peak_date": None}
    if len(vals) < 2 or not st.usable:
        return out
    up = np.nonzero((vals[1:] >= p["alert"]) & (vals[:-1] < p["alert"]))[0]
    if vals[0] < p["alert"] and len(up):
        out["next_close"] = from_day(int(st.days[up[0] + 1])).isoformat()
    down = np.nonzero(vals[1:] < p["alert_exit"])[0]
    if vals[0] >= p["alert_exit"] and len(down):
        out["next_open"] = from_day(int(st.days[down[0] + 1])).isoformat()
    k = int(np.nanargmax(vals))
    if k > 0 or vals[0] >= p["alert"]:
        out["peak"], out["peak_date"] = float(vals[k]), from_day(int(st.days[k])).isoformat()
    return out


def _crossings(
    x: np.ndarray, share: np.ndarray, p: Params, projected: bool = False
) -> list[tuple[Any, str, bool]]:
    """(time, 'close'|'open', projected) where the share crosses the alert / exit lines."""
    out: list[tuple[Any, str, bool]] = []
    closed = False
    for i in range(len(x)):
        v = share[i]
        if math.isnan(v):
            continue
        if not closed and v >= p["alert"]:
            closed = True
            if i > 0:
                out.append((_dt64(x[i : i + 1])[0], "close", projected))
        elif closed and v < p["alert_exit"]:
            closed = False
            out.append((_dt64(x[i : i + 1])[0], "open", projected))
    return out


def _dt64(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[ns]")


def _source_label(m: Model) -> str:
    names = [SOURCE_NAMES.get(s, s) for s in m.sources]
    return ", ".join(names) if names else "earnings calendar"


def demo_calendar(start: date) -> list[earnings_repo.Report]:
    """A synthetic calendar of 120 companies over seven seasons around ``start`` (illustrative).

    Most report two to five weeks into each quarter, a quarter of them late, one in five on
    an off-calendar fiscal year (a month later); half carry their fiscal quarter end. One in
    ten has no date yet for the last season, so the model estimates it.
    """
    rng = random.Random(11)
    companies = []
    for n in range(120):
        off_calendar = n % 5 == 4
        if off_calendar:
            offset = rng.uniform(36, 58)
        elif n % 4 == 0:
            offset = rng.uniform(26, 44)
        else:
            offset = min(max(rng.gauss(15, 6), 1), 30)
        cap = math.exp(rng.uniform(math.log(8e9), math.log(3e12)))
        companies.append((f"DM{n:03d}", offset, off_calendar, "amc" if n % 3 else "bmo", n % 2 == 0, cap))
    out: list[earnings_repo.Report] = []
    year0 = start.year - 1
    quarters = [(y, q) for y in (year0, year0 + 1) for q in (1, 2, 3, 4)][:7]
    for y, q in quarters:
        first_month = date(y, 3 * (q - 1) + 1, 1)
        for ticker, offset, off_calendar, tod, with_fqe, cap in companies:
            if (y, q) == quarters[-1] and int(ticker[2:]) % 10 == 3:
                continue  # not listed yet: estimated from last year's date + 364
            d = first_month + timedelta(days=round(11 + offset + rng.uniform(-2, 2)))
            if d.weekday() >= 5:
                d += timedelta(days=7 - d.weekday())
            if off_calendar:
                fqe = (first_month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
            else:
                fqe = first_month - timedelta(days=1)
            out.append(earnings_repo.Report(ticker, d, tod, fqe if with_fqe else None, round(cap, -6)))
    return out


SIGNAL = Buyback()
