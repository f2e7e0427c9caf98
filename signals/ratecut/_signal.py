"""ratecut: what the market prices for the next two FOMC meetings: P(cut), and the size.

Sources: Kalshi (primary), Polymarket (cross-check and fallback) and, when the user imports
futures settlements, the FedWatch method — series ``<venue>.fomc.<decision-date>.cut``, and the
distribution of each meeting's move (buckets, ``move_bp``, ``path_bp``; :mod:`signals.fomc_dist`).
Meetings come from the project's FOMC calendar; a meeting is evaluated while it is one of
the next two, and the "next meeting" moves on at its 2 pm ET statement, when its markets
close (a closing reading then resolves whatever its keys still have open).

Keys, per meeting (``2025-12-10.swing`` …):

- ``swing`` — the largest move of P(cut) within each window (default 10 pp in 1 h, 15 pp in
  24 h, 20 pp in 72 h), as a multiple of that window's size: half a swing is ``watch``, a
  swing ``alert``, twice the size ``severe``; a whipsaw (a swing and a reversal of
  comparable size within a few days, the 80 → 30 → 80 pattern) is ``severe`` and called
  out (an ``updated`` event when the swing was severe already). Measured on Kalshi (Polymarket when Kalshi has no fresh quote, FedWatch's daily point
  when neither has); when the other market is fresh it must move at least ``cross_check`` of
  the way too, or the level stays at watch.
  An episode keeps the highest level it reached until the moves leave every window (no
  step-down events while a repricing is still inside the windows).
- ``flip`` — P(cut) crosses 50 % with a hysteresis band (default 55 % / 45 %) and
  ``confirm`` readings beyond it: ``alert`` for ``flip_hours`` after the crossing; a flip back
  within that time is ``severe``.
- ``divergence`` — the venues (Kalshi, Polymarket, FedWatch when imported) disagree by at
  least ``diverge_pp`` for ``diverge_minutes``: ``watch`` until it has lasted that long,
  then ``alert`` (``severe`` at twice the gap).
- ``size`` — a repricing of the meeting's expected move or path in bp, in either direction and
  in any cycle, against sizes from the signal's own history (:mod:`signals.ratecut._size`).

A FedWatch point is a daily settlement, a final price: readings measured on it need no second
reading to confirm them (a move seen on one settlement has often left the windows by the next).

A venue's quote counts for ``stale_minutes`` (default 30) after its time stamp; that is
data time against data time, so replay is unaffected. Live, a venue without a fresh quote
for that long raises a stale notice (:meth:`RateCut.source_notices`) and no alert uses it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

import numpy as np

from signals import fomc
from signals.base import Demo, Level, Params, Reading, Rules
from signals.presentation import AlertText, Stamp
from signals.ratecut._chart import RateCutChart, chart_data, chart_for
from signals.ratecut._closing import closing_readings
from signals.ratecut._demo import demo_scenario
from signals.ratecut._detect import compute
from signals.ratecut._freshness import source_notices, stale_reason
from signals.ratecut._present import present
from signals.ratecut._readings import readings_at
from signals.ratecut._size import SizeVenue
from signals.ratecut._venues import meetings_in
from signals.ratecut._vocab import (
    CLOSED_GRACE,
    KIND_NAMES,
    KINDS,
    PARAMS,
    VENUES,
    meeting_label,
    size_ladder,
    split_key,
    swing_ladder,
)
from storage.alerts import AlertEvent
from storage.observations import Inputs


class RateCut:
    id = "ratecut"
    title = "Fed-cut odds"
    description = (
        "market-implied odds of the next two FOMC moves (Kalshi, Polymarket, FedWatch method): "
        "swings of P(cut), repricings of the expected move or path (size), majority flips, "
        "whipsaws and venue divergence"
    )
    inputs = tuple(
        f"{v}.fomc.%.{suffix}"
        for v in VENUES
        for suffix in ("cut", "hold", "cut_%", "hike_%", "move_bp", "path_bp", "rate")
    )
    keys: ClassVar[dict[str, str]] = {}  # one set per meeting: see keys_at and key_label
    #: 1 w ago (with tolerance), and the size key's own history: 10 days of moves over the 72 h
    #: window, taken as it stood when a 72 h window opened (10 d + 2 x 72 h, and a day to spare)
    lookback = timedelta(days=17)
    params = PARAMS

    def rules(self, params: Params) -> Rules:
        return Rules(
            cooldown_s=int(params["cooldown_hours"] * 3600),
            # 'updated' within a severe episode when the value grows 1.5x: a whipsaw inside a swing
            # that was already severe (its value is the whipsaw's total travel), a third flip in a row
            update_growth=1.5,
            update_min_level=Level.SEVERE,
            describe_peak=self.describe_peak,
        )

    def describe_peak(self, key: str, value: float) -> str | None:
        kind = key.rsplit(".", 1)[-1]
        if kind == "swing":
            return f"{value:.1f}× the swing size"
        if kind == "divergence":
            return f"{value:.0f} pp apart"
        if kind == "size":
            return f"{value:.1f}× the repricing size"
        return None  # a flip has no size

    def validate(self, params: Params) -> list[str]:
        p = params
        problems = []
        if not p["short_hours"] < p["swing_hours"] < p["long_hours"]:
            problems.append(
                f"windows must grow: short_hours ({p['short_hours']:g}) < swing_hours "
                f"({p['swing_hours']:g}) < long_hours ({p['long_hours']:g})"
            )
        if not p["exit_ratio"] < p["watch_ratio"] < 1.0 < p["severe_ratio"]:
            problems.append(
                f"ratios must rise: exit_ratio ({p['exit_ratio']:g}) < watch_ratio ({p['watch_ratio']:g}) "
                f"< 1 < severe_ratio ({p['severe_ratio']:g})"
            )
        if not p["diverge_exit_pp"] < p["diverge_pp"]:
            problems.append(
                f"diverge_exit_pp ({p['diverge_exit_pp']:g}) must be below diverge_pp ({p['diverge_pp']:g})"
            )
        if not p["size_short_bp"] <= p["size_bp"] <= p["size_long_bp"]:
            problems.append(
                f"sizes must not fall as the window grows: size_short_bp ({p['size_short_bp']:g}) <= "
                f"size_bp ({p['size_bp']:g}) <= size_long_bp ({p['size_long_bp']:g})"
            )
        return problems

    def grade(self, key: str, value: float, figures: Mapping[str, Any], params: Params) -> Level:
        """A reading's level from its figures: the swing's and the size's multiple on their
        ladders, held at watch when the other venue did not confirm it (or the nearer meeting or
        the swing tells it), severe for a whipsaw; a divergence by its gap once it has lasted
        ``diverge_minutes``; a flip by the flips in its chain."""
        kind = split_key(key)[1]
        if figures.get("closed"):
            return Level.OK
        if kind in ("swing", "size"):
            mult = figures.get("multiple", value)
            m = float(mult) if isinstance(mult, int | float) else value
            ladder = swing_ladder(params) if kind == "swing" else size_ladder(params)
            lvl = Level(sum(m >= t - 1e-9 for t in ladder))
            if figures.get("confirmed") is False or figures.get("echo"):
                lvl = min(lvl, Level.WATCH)
            if figures.get("whipsaw"):
                lvl = Level.SEVERE
            if figures.get("told_by_swing") and lvl >= Level.ALERT:
                lvl = Level.WATCH
            return lvl
        if kind == "divergence":
            gap = figures.get("gap")
            g = float(gap) if isinstance(gap, int | float) else value / 100
            dpp = params["diverge_pp"] / 100
            if g < dpp - 1e-9:
                return Level.OK
            lasted = figures.get("gap_for_s")
            if not isinstance(lasted, int | float) or lasted < int(params["diverge_minutes"] * 60):
                return Level.WATCH
            return Level.SEVERE if g >= 2 * dpp - 1e-9 else Level.ALERT
        if kind == "flip":
            return Level.SEVERE if value >= 2 else Level.ALERT if value >= 1 else Level.OK
        return Level.OK

    def keys_at(self, now: datetime) -> dict[str, str]:
        """One /status row per upcoming meeting: its swing key, whose headline has the odds."""
        return {f"{m.id}.swing": f"FOMC {m.label}" for m in fomc.upcoming(now, 2)}

    def key_label(self, key: str) -> str:
        meeting_id, kind = split_key(key)
        return f"{meeting_label(meeting_id)} · {KIND_NAMES.get(kind, kind)}"

    def history(self, inputs: Inputs, params: Params) -> list[Reading]:
        return self._readings(inputs, params, None, None, 0)

    def readings_since(
        self, inputs: Inputs, params: Params, after: datetime | None, now: datetime, warmup: int = 30
    ) -> list[Reading]:
        """Live catch-up without building the readings of the whole lookback: the arrays need
        the history, the engine only the readings after ``after`` (or the last ``warmup``)."""
        return self._readings(inputs, params, after, now, warmup)

    def _readings(
        self, inputs: Inputs, params: Params, after: datetime | None, now: datetime | None, warmup: int
    ) -> list[Reading]:
        """Readings in time order: all of them (``now`` None), else those with ``after < ts <= now``,
        or the last ``warmup`` per meeting when ``after`` is None."""
        out: list[Reading] = []
        cache: dict[tuple[str, str], SizeVenue | None] = {}
        t_now = int(now.timestamp()) if now is not None else 2**62
        t_after = int(after.timestamp()) if after is not None else None
        for meeting in meetings_in(inputs):
            calc = compute(inputs, params, meeting, cache=cache)
            if calc is None:
                continue
            # quiet stretches (every key ok, before and now) cannot produce an event: their
            # readings carry the numbers the engine needs and a short summary, nothing more
            active = (
                (calc.swing_level > 0)
                | (calc.swing_hold > 0)
                | (calc.flip_level > 0)
                | (calc.div_level > 0)
                | (calc.div_hold > 0)
            )
            if calc.size is not None:
                active |= (calc.size.level > 0) | (calc.size.hold > 0)
            points = np.nonzero((calc.primary >= 0) & (calc.grid <= t_now))[0]
            prev = np.r_[False, active[points][:-1]] if len(points) else np.zeros(0, dtype=bool)
            keep = np.ones(len(points), dtype=bool)
            if now is not None and t_after is not None:
                keep = calc.grid[points] > t_after
            elif now is not None:
                keep[: max(len(points) - warmup, 0)] = False
            for i, was_active in zip(points[keep], prev[keep], strict=True):
                out += readings_at(calc, int(i), params, light=not (active[i] or was_active))
            close = int(meeting.closes_utc.timestamp())
            if calc.closing and close <= t_now and (t_after is None or close > t_after):
                out += closing_readings(calc, params)
        out.sort(key=lambda r: (r.ts, r.key))
        return out

    def latest(self, inputs: Inputs, params: Params, now: datetime) -> list[Reading]:
        """The newest reading per key of the next two meetings (and of meetings just closed)."""
        wanted = {m.id for m in fomc.upcoming(now, 2)}
        wanted |= {m.id for m in fomc.meetings() if now - CLOSED_GRACE <= m.statement_utc <= now}
        t_now = int(now.timestamp())
        out: list[Reading] = []
        for meeting in meetings_in(inputs):
            if meeting.id not in wanted:
                continue
            calc = compute(inputs, params, meeting)
            if calc is None:
                continue
            if not meeting.is_open(now):
                out += closing_readings(calc, params)
                continue
            ok = np.nonzero((calc.grid <= t_now) & (calc.primary >= 0))[0]
            if len(ok):
                out += readings_at(calc, int(ok[-1]), params)
        order = {k: i for i, k in enumerate(KINDS)}
        out.sort(key=lambda r: (split_key(r.key)[0], order.get(split_key(r.key)[1], 9)))
        return out

    def meeting_readings(
        self, inputs: Inputs, params: Params, meeting: fomc.Meeting, now: datetime
    ) -> list[Reading]:
        """The newest swing / flip / divergence readings of any meeting as of ``now`` (for /ratecut)."""
        calc = compute(inputs, params, meeting, next_two_only=False)
        if calc is None:
            return []
        if not meeting.is_open(now):
            return closing_readings(calc, params)
        ok = np.nonzero((calc.grid <= int(now.timestamp())) & (calc.primary >= 0))[0]
        return readings_at(calc, int(ok[-1]), params) if len(ok) else []

    # -- live rules ------------------------------------------------------------------------

    def stale_reason(self, reading: Reading, now: datetime) -> str | None:
        return stale_reason(reading, now)

    def source_notices(self, readings: Sequence[Reading], now: datetime) -> dict[str, str | None]:
        """Kalshi and Polymarket each go stale on their own: a notice per venue, no alerts from it."""
        return source_notices(readings, now)

    # -- presentation and demo --------------------------------------------------------------

    def chart(
        self,
        inputs: Inputs,
        params: Params,
        end: datetime,
        days: int,
        marks: Iterable[tuple[datetime, str, str]] = (),
    ) -> RateCutChart:
        """The meeting of the alert being charted (a mark at ``end``), else the next one with data."""
        return chart_data(inputs, params, end, days, marks)

    def chart_for(
        self,
        inputs: Inputs,
        params: Params,
        meeting: fomc.Meeting,
        end: datetime,
        days: int,
        marks: Iterable[tuple[datetime, str, str]] = (),
    ) -> RateCutChart:
        """One meeting's chart (``/ratecut``)."""
        return chart_for(inputs, params, meeting, end, days, marks)

    def present(self, ev: AlertEvent, stamp: Stamp) -> AlertText | None:
        """The message of one of its alerts (:mod:`signals.presentation`)."""
        return present(ev, stamp)

    def demo(self, start: datetime) -> Demo:
        """Six months of odds: see :mod:`signals.ratecut._demo`."""
        return demo_scenario(start)


SIGNAL = RateCut()
