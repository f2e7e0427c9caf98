"""The daily series: each session's share as known that day, its level, the projection ahead and
the closed-window runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from signals.base import Level, Params
from signals.buyback._model import DayStats, Model, evaluate, prepare
from signals.buyback._vocab import DAY_S, HOLD_SLACK, MIN_SEASONS, SEASON_SLACK_DAYS, dt64, from_day, to_day


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
    #: the closed runs that ended before this day: (first, last, peak share)
    runs: tuple[tuple[int, int, float], ...] = ()
    #: the highest peak of the same season in the last ``season_years`` years (None: too few)
    season_high: float | None = None
    #: the peak share of the current closed run so far
    run_peak: float | None = None


def _value(st: DayStats, i: int, p: Params) -> float:
    if p["weight_by_cap"] and not math.isnan(st.share_cap[i]):
        return float(st.share_cap[i])
    return float(st.share[i])


def classify_day(st: DayStats, p: Params) -> tuple[float, Level, Level, int | None]:
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


def season_high(runs: tuple[tuple[int, int, float], ...], start: int, p: Params) -> float | None:
    """The highest peak among the closed runs of the same season (started within
    ``SEASON_SLACK_DAYS`` of the same day of the year) that ended before ``start`` in the last
    ``season_years`` years; None with fewer than ``MIN_SEASONS`` of them."""
    lo = start - int(p["season_years"]) * 365.25 - SEASON_SLACK_DAYS
    peaks = []
    for a, b, peak in runs:
        if b >= start or a < lo:
            continue
        d = (start - a) % 365.25
        if min(d, 365.25 - d) <= SEASON_SLACK_DAYS:
            peaks.append(peak)
    return max(peaks) if len(peaks) >= MIN_SEASONS else None


def severe_lines(high: float | None, p: Params) -> tuple[float, float] | None:
    """(entry, exit) of severe for a run whose season's highest peak is ``high``: the share must
    pass both the ``severe`` floor and that peak by ``severe_margin``; None: too little history
    of the season to call any blackout unusual (no severe)."""
    if high is None:
        return None
    entry = max(float(p["severe"]), high + float(p["severe_margin"]))
    return entry, entry - (float(p["severe"]) - float(p["severe_exit"]))


def seasonal(level: Level, hold: Level, s: float, high: float | None, p: Params) -> tuple[Level, Level]:
    """The levels with severe kept for a blackout unusually deep for its season: a peak blackout
    that every season reaches (80–92 % of the S&P 500, four times a year) is an Alert."""
    lines = severe_lines(high, p)
    if level == Level.SEVERE and (lines is None or s < lines[0]):
        level = Level.ALERT
    if hold == Level.SEVERE and (lines is None or s < lines[1]):
        hold = Level.ALERT
    return level, hold


def step_day(td: int, know: float, st: DayStats, p: Params, prev: Day | None) -> Day:
    """One session's Day from its evaluation and the day before (the run, its peak, the season)."""
    s, level, hold, crossing = classify_day(st, p)
    closed_since, closed_n, last_run = track_run(
        s,
        p,
        td,
        prev.closed_since if prev else None,
        prev.closed_sessions if prev else 0,
        prev.last_run if prev else None,
        prev.day if prev else None,
    )
    runs = prev.runs if prev else ()
    run_peak = None
    if prev is not None and prev.closed_since is not None and closed_since != prev.closed_since:
        runs = (*runs, (prev.closed_since, prev.day, float(prev.run_peak or prev.value)))
    if closed_since is not None:
        same = prev is not None and prev.closed_since == closed_since
        run_peak = max(s, float(prev.run_peak or 0.0)) if same and prev is not None else s
    high = season_high(runs, closed_since if closed_since is not None else td, p)
    level, hold = seasonal(level, hold, s, high, p)
    return Day(td, know, st, s, level, hold, crossing, closed_since, closed_n, last_run, runs, high, run_peak)


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
    prev: Day | None = None
    for i in range(i0, i1):
        td = int(sess[i])
        know = float(td) * DAY_S
        st = evaluate(m, know, sess[i : i + 1 + ahead])
        if not st.usable:
            if prev is not None:  # the run breaks (its peak not seen to its end); seasons seen are kept
                prev = replace(prev, closed_since=None, closed_sessions=0, run_peak=None)
            continue
        day = step_day(td, know, st, p, prev)
        out.append(day)
        prev = day
    return out


def track_run(
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


def session_on_or_before(m: Model, when: datetime) -> int | None:
    """The last session whose reading exists at ``when`` (readings are stamped 00:00 UTC of their date)."""
    day = when.astimezone(UTC).date() if when.tzinfo else when.date()
    i = int(np.searchsorted(m.sessions, to_day(day), "right")) - 1
    return int(m.sessions[i]) if i >= 0 else None


def sessions_between(m: Model, a: int, b: int) -> int:
    return int(np.searchsorted(m.sessions, b, "left") - np.searchsorted(m.sessions, a, "left"))


def project_outlook(m: Model, know: float, today: int, p: Params) -> dict[str, Any]:
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


def window_crossings(
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
                out.append((dt64(x[i : i + 1])[0], "close", projected))
        elif closed and v < p["alert_exit"]:
            closed = False
            out.append((dt64(x[i : i + 1])[0], "open", projected))
    return out
