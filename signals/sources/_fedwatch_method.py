"""CME's FedWatch method: the odds of each FOMC meeting's move from 30-day Fed funds (ZQ) prices.

Pure arithmetic on one trade date's settlements, no I/O. A ZQ contract settles at 100 minus the
month's average effective rate. For a meeting on day ``d`` of an ``N``-day month the method counts
``d - 1`` days at the rate before the decision (``start``) and ``N - d + 1`` at the rate after it
(``end``), the decision day at the new rate as CME does (the real rate changes the next day; see
:func:`day_count_bias`)::

    N * avg = (d - 1) * start + (N - d + 1) * end - K

``K`` accounts for target-range changes already known inside the month (an unscheduled decision,
effective on day ``e``: the days before it were at the old rate). One of ``start`` and ``end`` must
come from elsewhere, an *anchor*. CME's procedure, on the contracts listed on the trade date (an
expired contract is not listed, so whether its row is in the input never changes the anchor;
every month from the trade month to the day's last contract is listed, so a contract missing
between them is a gap in the data, not a reason to anchor elsewhere: the meeting whose anchor
needs it, and the later ones, are not priced that day, with the reason):

1. **forward**: the month before has no meeting and is listed: ``start`` is its average;
2. **backward**: the month after has no meeting: ``end`` is its average, ``start`` is solved;
3. otherwise the chain runs from the **nearest** listed month without a meeting, through the
   meetings in back-to-back months: **chain backward** (``end`` is the next meeting's ``start``)
   when that month is later or as near, else **chain forward** (``start`` is the previous
   meeting's ``end``). A past meeting (the one of the trade month) blocks a chain.

A back-solved ``start`` multiplies the month's noise by ``N / (d - 1)``: 30 for a decision on the
2nd. A decision that early (fewer days before it than a third of those after) in the trade month,
whose month before has expired (2016-11-02 priced on 2016-11-01), is solved forward from the rate
already known instead: the average of the month before from the EFFR (its final settlement, when
the EFFR history does not cover it), else the latest EFFR; so is a first meeting no contract
anchors. Every anchor level is shifted by the target-range changes effective between it and the
point it stands for, a decision on the trade date itself included (its new range takes effect the
next day).

The implied change ``end - start`` splits between the two nearest multiples of 25 bp, linearly, so
its expectation is the change itself, and the meetings chain into a probability tree.
"""

from __future__ import annotations

import calendar
import math
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

STEP_BP = 25.0

Month = tuple[int, int]


def shift_month(m: Month, k: int) -> Month:
    y, mo = m
    idx = y * 12 + (mo - 1) + k
    return idx // 12, idx % 12 + 1


def month_of(d: date) -> Month:
    return d.year, d.month


def days_in(m: Month) -> int:
    return calendar.monthrange(*m)[1]


def month_label(m: Month) -> str:
    return f"{m[0]}-{m[1]:02d}"


@dataclass(frozen=True)
class RateChange:
    """A target-range change known on the trade date: ``effective`` is its first day."""

    effective: date
    change: float  # percentage points (-0.25 = a 25 bp cut)


@dataclass
class MeetingOdds:
    decision_date: date
    start_rate: float
    end_rate: float
    change_bp: float
    how: str
    #: forward | backward | chain-forward | chain-backward | known-level | effr
    anchor: str
    #: this meeting's own move (bp) -> probability
    meeting: dict[int, float]
    #: the cumulative move from today's range after this meeting (the tree) -> probability
    cumulative: dict[int, float]
    #: target range after the meeting ("3.50-3.75") -> probability, when the range is known
    by_range: dict[str, float] = field(default_factory=dict)
    #: the expected target-range midpoint after this meeting (percent), when the range is known
    expected_rate: float | None = None

    @property
    def days(self) -> tuple[int, int]:
        d = self.decision_date
        n = calendar.monthrange(d.year, d.month)[1]
        return d.day - 1, n - (d.day - 1)

    @property
    def expected_move_bp(self) -> float:
        """The expected move of this meeting, bp (the linear split keeps the mean)."""
        return sum(c * p for c, p in self.meeting.items())

    @property
    def expected_path_bp(self) -> float:
        """The expected cumulative move from today's range through this meeting, bp."""
        return sum(c * p for c, p in self.cumulative.items())

    def outcome_probs(self) -> dict[str, float]:
        """P(cut), P(hold), P(hike) of this meeting's own move."""
        return {
            "cut": sum(p for c, p in self.meeting.items() if c < 0),
            "hold": self.meeting.get(0, 0.0),
            "hike": sum(p for c, p in self.meeting.items() if c > 0),
        }


def split_move(change_bp: float) -> dict[int, float]:
    """A move between two multiples of 25 bp, linearly: -13.4 -> {-25: 0.536, 0: 0.464}."""
    lower = math.floor(change_bp / STEP_BP + 1e-9) * STEP_BP
    p_up = (change_bp - lower) / STEP_BP
    out = {int(lower): 1.0 - p_up, int(lower + STEP_BP): p_up}
    return {k: v for k, v in out.items() if v > 1e-12}


def convolve(a: Mapping[int, float], b: Mapping[int, float]) -> dict[int, float]:
    out: dict[int, float] = defaultdict(float)
    for x, p in a.items():
        for y, q in b.items():
            out[x + y] += p * q
    return dict(sorted(out.items()))


def range_label(lo: float, hi: float) -> str:
    return f"{lo:.2f}-{hi:.2f}"


def day_count_bias(decision: date) -> tuple[float, float]:
    """How CME's day count (the decision day at the new rate) bends a meeting's implied move.

    The final settlement averages the old rate on the decision day too (the new range takes
    effect the next day). Solved forward, the implied move is the true one times
    ``(N - d) / (N - d + 1)`` (too small: zero for a decision on the last day of the month);
    solved backward, times ``d / (d - 1)`` (too large). Returns (forward, backward) factors.
    """
    n = days_in(month_of(decision))
    d = decision.day
    fwd = (n - d) / (n - d + 1)
    bwd = d / (d - 1) if d > 1 else math.inf
    return fwd, bwd


class _Months:
    """Per-month facts of one trade date: meeting day, average, known changes inside."""

    def __init__(
        self,
        prices: Mapping[Month, float],
        meeting_days: Mapping[Month, int],
        trade_date: date,
        known: Sequence[RateChange],
        refused: Collection[Month] = (),
    ) -> None:
        self.trade_month = month_of(trade_date)
        # only listed contracts: an expired month's row (it may or may not be in the input)
        # never decides anything
        self.avg = {m: 100.0 - p for m, p in prices.items() if m >= self.trade_month}
        #: listed contracts whose settlement was refused (a gap, like a missing row)
        self.refused = {m for m in refused if m >= self.trade_month and m not in self.avg}
        #: the day's last contract: every month from the trade month to it is listed
        self.last = max([*self.avg, *self.refused], default=None)
        self.meeting_days = dict(meeting_days)
        self.known = sorted(known, key=lambda c: c.effective)

    def clean(self, m: Month) -> bool:
        return m not in self.meeting_days

    def listed(self, m: Month) -> bool:
        """Listed on the trade date (whether or not the input has its settlement)."""
        return self.last is not None and self.trade_month <= m <= self.last

    def missing(self, months: Sequence[Month]) -> Month | None:
        """The first of ``months`` the input has no settlement for (a gap among the day's contracts)."""
        return next((m for m in months if m not in self.avg), None)

    def changes_between(self, after: date, upto: date) -> float:
        """Sum of known changes effective in (after, upto]."""
        return sum(c.change for c in self.known if after < c.effective <= upto)

    def inside(self, m: Month, before_day: int) -> float:
        """K: sum of change * (days at the old rate) for known changes effective on days
        2..before_day of month ``m`` (relative to the level on day ``before_day``)."""
        k = 0.0
        for c in self.known:
            e = c.effective
            if (e.year, e.month) == m and 2 <= e.day <= before_day:
                k += c.change * (e.day - 1)
        return k

    def level_end(self, m: Month) -> float:
        """The rate on the last day of a month without a meeting, from its average."""
        n = days_in(m)
        return self.avg[m] + self.inside(m, n) / n

    def level_start(self, m: Month) -> float:
        """The rate on the first day of a month without a meeting, from its average."""
        n = days_in(m)
        first = date(m[0], m[1], 1)
        last = date(m[0], m[1], n)
        return self.level_end(m) - self.changes_between(first, last)


def _solve_forward(mo: _Months, d: date, start: float) -> float:
    m = month_of(d)
    n = days_in(m)
    before, after = d.day - 1, n - d.day + 1
    return (mo.avg[m] * n - before * start + mo.inside(m, d.day - 1)) / after


def _solve_backward(mo: _Months, d: date, end: float) -> float | None:
    m = month_of(d)
    n = days_in(m)
    before, after = d.day - 1, n - d.day + 1
    if before == 0:
        return None  # a decision on the 1st: the month says nothing about the rate before it
    return (mo.avg[m] * n - after * end + mo.inside(m, d.day - 1)) / before


def fedwatch(
    prices: Mapping[Month, float],
    decisions: Sequence[date],
    trade_date: date,
    *,
    effr: float | None = None,
    effr_date: date | None = None,
    target: tuple[float, float] | None = None,
    known: Sequence[RateChange] = (),
    month_before_avg: float | None = None,
    problems: list[str] | None = None,
    refused: Collection[Month] = (),
) -> list[MeetingOdds]:
    """CME's FedWatch method for every meeting after ``trade_date`` the prices reach.

    ``prices``: ZQ settlement per contract month (contracts that have expired by the trade date
    are ignored); ``decisions``: the decision dates of the scheduled meetings known on the trade
    date (one a month at most; past ones mark their month as a meeting month); ``known``:
    target-range changes effective by the day after the trade date; ``month_before_avg``: the
    average rate of the month before the trade month (from the EFFR history or its final
    settlement), ``effr`` (of ``effr_date``, the day before the trade date when not given): the
    latest effective rate. Both only anchor a first-half meeting that would otherwise be
    back-solved, or a meeting no contract anchors. ``target``: the range after the trade date's
    decisions, for ``by_range`` and the expected rate. ``problems`` receives why the first meeting
    could not be priced, when it could not.
    """
    upcoming = sorted(d for d in decisions if d > trade_date)
    if len({month_of(d) for d in upcoming}) != len(upcoming):
        raise ValueError("the method allows one scheduled meeting a month")
    meeting_days = {month_of(d): d.day for d in decisions if d <= trade_date}
    meeting_days.update({month_of(d): d.day for d in upcoming})
    mo = _Months(prices, meeting_days, trade_date, known, refused)
    solved: dict[date, tuple[float, float, str, str]] = {}

    def prev_day(m: Month) -> date:
        return date(m[0], m[1], 1) - timedelta(days=1)

    def fallback(d: date) -> tuple[float, str, str] | None:
        """The rate just before ``d`` from what is already known, for the first meeting only:
        the average of the month before (expired, no meeting), else the latest EFFR."""
        if not upcoming or d != upcoming[0]:
            return None
        m = month_of(d)
        prior = shift_month(m, -1)
        if m == mo.trade_month and mo.clean(prior) and month_before_avg is not None:
            n = days_in(prior)
            lvl = month_before_avg + mo.inside(prior, n) / n
            return (
                lvl + mo.changes_between(prev_day(m), d - timedelta(days=1)),
                "known-level",
                f"start from the {month_label(prior)} average already known (expired), forward",
            )
        if effr is not None:
            e0 = effr_date or trade_date - timedelta(days=1)
            return (
                effr + mo.changes_between(e0, d - timedelta(days=1)),
                "effr",
                "start from the latest EFFR (shifted by the known range changes), forward",
            )
        return None

    up_months = {month_of(d) for d in upcoming}

    def nearest(m: Month, step: int) -> int | None:
        """Months from ``m`` to the nearest listed month without a meeting in direction ``step``,
        through upcoming meetings only (a past meeting or a missing contract blocks the chain)."""
        k, dist = shift_month(m, step), 1
        while k in up_months and mo.listed(k):
            k, dist = shift_month(k, step), dist + 1
        return dist if mo.clean(k) and mo.listed(k) else None

    def tiny_before(d: date) -> bool:
        """A decision so early in its month (fewer days before it than a third of those after)
        that back-solving the rate before it would multiply the month's noise several times."""
        n = days_in(month_of(d))
        return (d.day - 1) * 3 < n - d.day + 1

    plan: dict[date, str] = {}
    for d in upcoming:
        m = month_of(d)
        if not mo.listed(m):
            break
        before, after = nearest(m, -1), nearest(m, 1)
        if before == 1:
            plan[d] = "forward"  # CME: the month before has no meeting
        elif tiny_before(d) and fallback(d) is not None:
            plan[d] = "fallback"
        elif after == 1:
            plan[d] = "backward"  # CME: the month after has no meeting
        elif after is not None and (before is None or after <= before):
            plan[d] = "chain-backward"  # the nearest month without a meeting is later
        elif before is not None:
            plan[d] = "chain-forward"
        elif fallback(d) is not None:
            plan[d] = "fallback"

    # a listed contract the plan needs is missing from the input: that meeting is not priced
    # (nor, through the chains, the ones that lean on it), rather than anchored some other way
    gaps: dict[date, str] = {}
    for d in upcoming:
        m = month_of(d)
        if not mo.listed(m):
            break
        planned = plan.get(d, "")
        needs = [m, *{"forward": [shift_month(m, -1)], "backward": [shift_month(m, 1)]}.get(planned, [])]
        gap = mo.missing(needs)
        if gap is None:
            continue
        plan.pop(d, None)
        what = (
            f"no usable settlement for {month_label(gap)} (its row was refused)"
            if gap in mo.refused
            else f"no settlement for {month_label(gap)}"
            if gap == m
            else f"no settlement for {month_label(gap)} (a gap among the day's contracts)"
        )
        gaps[d] = (
            f"{what}, the month of the {d.isoformat()} meeting"
            if gap == m
            else f"{what}, the month that anchors the {d.isoformat()} meeting"
        )

    for i, d in enumerate(upcoming):  # forward kinds, in date order
        m = month_of(d)
        kind = plan.get(d)
        if kind == "forward":
            prior = shift_month(m, -1)
            start = mo.level_end(prior) + mo.changes_between(prev_day(m), d - timedelta(days=1))
            how = f"start from the {month_label(prior)} average (no meeting), forward"
            solved[d] = (start, _solve_forward(mo, d, start), "forward", how)
        elif kind == "chain-forward" and i > 0 and upcoming[i - 1] in solved:
            pe = solved[upcoming[i - 1]][1]
            how = "start from the previous meeting's end (back-to-back months), forward"
            solved[d] = (pe, _solve_forward(mo, d, pe), "chain-forward", how)
        elif kind == "fallback":
            fb = fallback(d)
            assert fb is not None
            start, fkind, how = fb
            solved[d] = (start, _solve_forward(mo, d, start), fkind, how)
    for i in range(len(upcoming) - 1, -1, -1):  # backward kinds, from the latest
        d = upcoming[i]
        kind = plan.get(d)
        end: float | None = None
        if kind == "backward":
            nxt = shift_month(month_of(d), 1)
            end, how = mo.level_start(nxt), f"end from the {month_label(nxt)} average (no meeting), backward"
        elif kind == "chain-backward" and i + 1 < len(upcoming) and upcoming[i + 1] in solved:
            end, how = (
                solved[upcoming[i + 1]][0],
                "end from the next meeting's start (back-to-back months), backward",
            )
        if end is not None:
            s = _solve_backward(mo, d, end)
            if s is not None:
                solved[d] = (s, end, kind or "", how)

    out: list[MeetingOdds] = []
    cum: dict[int, float] = {0: 1.0}
    for i, d in enumerate(upcoming):
        if d not in solved:
            # a gap in the contracts of this meeting's chain (backward: a later meeting's)
            stop = next((x for x in upcoming[i:] if x in gaps), None)
            why: str | None = None
            if stop is not None:
                why = (
                    gaps[stop]
                    if stop == d
                    else f"{gaps[stop]}, through which the {d.isoformat()} one is chained"
                )
            if problems is not None and (why or not out):
                problems.append(why or _why(mo, d, effr is not None))
            break  # no anchor: neither this meeting nor later ones can be priced
        start, end, kind, how = solved[d]
        change = (end - start) * 100.0
        own = split_move(change)
        cum = convolve(cum, own)
        rng: dict[str, float] = {}
        exp_rate = None
        if target is not None:
            lo, hi = target
            rng = {range_label(lo + c / 100.0, hi + c / 100.0): p for c, p in cum.items()}
            exp_rate = (lo + hi) / 2 + sum(c * p for c, p in cum.items()) / 100.0
        out.append(MeetingOdds(d, start, end, change, how, kind, own, dict(cum), rng, exp_rate))
    return out


def _why(mo: _Months, d: date, have_effr: bool) -> str:
    """Why the meeting on ``d`` (the first one) could not be priced."""
    m = month_of(d)
    if not mo.listed(m):
        return f"no settlement for {month_label(m)}, the month of the {d.isoformat()} meeting"
    k = m
    while not mo.clean(k):
        k = shift_month(k, 1)
    if not mo.listed(k):
        missing = f"no settlement for {month_label(k)}, the first month after it without a meeting"
    else:
        missing = f"a settlement between {month_label(m)} and {month_label(k)} is missing"
    effr = "" if have_effr else " and no EFFR before the trade date"
    return f"no anchor for the {d.isoformat()} meeting: {missing}{effr}"
