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

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, ClassVar

from signals.base import Demo, Level, Params, Reading, Rules, TableLoader
from signals.buyback._chart import BuybackChart, chart_data
from signals.buyback._daily import daily, project_outlook, severe_lines
from signals.buyback._demo import demo
from signals.buyback._model import model_of
from signals.buyback._present import present
from signals.buyback._reading import live_days, reading_of, stale_reason
from signals.buyback._vocab import DAY_S, EARNINGS, KEY, MEMBERS, PARAMS
from signals.presentation import AlertText, Stamp
from storage import earnings as earnings_repo
from storage.alerts import AlertEvent
from storage.observations import Inputs


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
    params = PARAMS

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
        """The share against ``alert`` and, with the season's highest peak of the last years
        (``season_high``), the severe line; below them, the heads-up when the projected
        crossing (``sessions_to_crossing``, figured with the global ``alert``) is within
        ``headsup_days`` sessions."""
        s = value
        share, cap = figures.get("share"), figures.get("share_cap")
        if isinstance(share, int | float):  # the unrounded figure the level was made from
            s = float(cap) if params["weight_by_cap"] and isinstance(cap, int | float) else float(share)
        high = figures.get("season_high")
        lines = severe_lines(float(high) if isinstance(high, int | float) else None, params)
        if lines is not None and s >= lines[0]:
            return Level.SEVERE  # unusually deep for its season (see docs/signals/buyback.md)
        if s >= params["alert"]:
            return Level.ALERT
        crossing = figures.get("sessions_to_crossing")
        if isinstance(crossing, int) and crossing <= int(params["headsup_days"]):
            return Level.WATCH
        return Level.OK

    def history(self, inputs: Inputs, params: Params) -> list[Reading]:
        m = model_of(inputs, params)
        if m is None:
            return []
        return [reading_of(m, d, params) for d in daily(m, params)]

    def latest(self, inputs: Inputs, params: Params, now: datetime) -> list[Reading]:
        """Today's reading with the calendar as it is at ``now`` (the run from the days before)."""
        m = model_of(inputs, params)
        if m is None:
            return []
        _, today = live_days(m, params, now, None)
        return (
            []
            if today is None
            else [reading_of(m, today, params, outlook=project_outlook(m, today.know, today.day, params))]
        )

    def readings_since(
        self, inputs: Inputs, params: Params, after: datetime | None, now: datetime, warmup: int = 30
    ) -> list[Reading]:
        """Live catch-up: the sessions after ``after`` as known each day, then today's reading
        with the calendar as it is at ``now`` (so a morning refresh counts the same day)."""
        m = model_of(inputs, params)
        if m is None:
            return []
        past, today = live_days(m, params, now, after)
        if after is not None:
            past = [d for d in past if d.day * DAY_S > after.timestamp()]
        else:
            past = past[-max(warmup - 1, 0) :] if warmup > 1 else []
        out = [reading_of(m, d, params) for d in past]
        if today is not None and (after is None or today.day * DAY_S > after.timestamp()):
            out.append(
                reading_of(m, today, params, outlook=project_outlook(m, today.know, today.day, params))
            )
        return out

    def stale_reason(self, reading: Reading, now: datetime) -> str | None:
        return stale_reason(reading, now)

    # -- presentation -----------------------------------------------------------------

    def chart(
        self,
        inputs: Inputs,
        params: Params,
        end: datetime,
        days: int,
        marks: Iterable[tuple[datetime, str, str]] = (),
    ) -> BuybackChart:
        return chart_data(inputs, params, end, days, marks)

    # -- demo -------------------------------------------------------------------------

    def present(self, ev: AlertEvent, stamp: Stamp) -> AlertText | None:
        """The message of one of its alerts (:mod:`signals.presentation`)."""
        return present(ev, stamp)

    def demo(self, start: datetime) -> Demo:
        return demo(start)


SIGNAL = Buyback()
