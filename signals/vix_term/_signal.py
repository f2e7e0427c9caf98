"""vix_term: the VIX term structure.

VIX / VIX3M at or above 1 means the curve is inverted: 30-day implied volatility is priced
above 3-month, which happens when hedging demand is urgent and vol-targeting funds are
de-risking. VIX9D / VIX above 1 is the front end inverting first; it is an early warning
and never rises above ``watch``.

Keys: ``vix3m`` (VIX/VIX3M, levels watch / alert / severe) and ``vix9d`` (VIX9D/VIX, watch).
Daily readings come from Cboe closes (stamped at the 16:15 ET close of the session);
intraday readings from Yahoo 5-minute bars for the session that has no close yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from signals.base import Demo, Level, Params, Reading, Rules
from signals.presentation import AlertText, Stamp
from signals.vix_term._chart import VixTermChart, chart
from signals.vix_term._demo import demo_scenario
from signals.vix_term._present import present
from signals.vix_term._readings import readings, stale_reason
from signals.vix_term._vocab import (
    I_VIX,
    I_VIX3M,
    I_VIX9D,
    PARAMS,
    VIX,
    VIX3M,
    VIX6M,
    VIX9D,
    entry_lines,
    ladder,
)
from storage.alerts import AlertEvent
from storage.observations import Inputs


class VixTerm:
    id = "vix_term"
    title = "VIX term structure"
    description = "VIX / VIX3M (inverted at 1.00 or more) and VIX9D / VIX as the front-end early warning"
    inputs = (VIX, VIX3M, VIX9D, VIX6M, I_VIX, I_VIX3M, I_VIX9D)
    keys: ClassVar[dict[str, str]] = {"vix3m": "VIX / VIX3M", "vix9d": "VIX9D / VIX (front end)"}
    params = PARAMS
    #: the closes each key's readings need: a stale notice names the one that lags
    key_inputs: ClassVar[dict[str, dict[str, str]]] = {
        "vix3m": {"VIX": VIX, "VIX3M": VIX3M},
        "vix9d": {"VIX9D": VIX9D, "VIX": VIX},
    }

    def validate(self, params: Params) -> list[str]:
        p = params
        problems = []
        for name in ("watch", "alert", "severe", "front_watch"):
            exit_name = "front_exit" if name == "front_watch" else f"{name}_exit"
            if not p[exit_name] < p[name]:
                problems.append(f"{exit_name} ({p[exit_name]:g}) must be below {name} ({p[name]:g})")
        if not p["watch"] <= p["alert"] <= p["severe"]:
            problems.append(
                f"levels must rise: watch ({p['watch']:g}) <= alert ({p['alert']:g}) <= severe ({p['severe']:g})"
            )
        return problems

    def rules(self, params: Params) -> Rules:
        return Rules(cooldown_s=int(params["cooldown_days"] * 86400))

    def grade(self, key: str, value: float, figures: Mapping[str, Any], params: Params) -> Level:
        """The ratio's level: the ladder of entry thresholds (the ratio is the only figure)."""
        if key == "vix9d":
            return Level.WATCH if value >= params["front_watch"] else Level.OK
        return Level(int(ladder(np.array([value]), entry_lines(params))[0]))

    def history(self, inputs: Inputs, params: Params) -> list[Reading]:
        return readings(inputs, params, None)

    def latest(self, inputs: Inputs, params: Params, now: datetime) -> list[Reading]:
        """Same readings as :meth:`history` would give up to ``now``, building only the last ones."""
        vals = inputs.values
        if len(vals.index):
            vals = vals[vals.index <= pd.Timestamp(now)]
        last: dict[str, Reading] = {}
        for r in readings(Inputs(vals, inputs.last_source), params, tail=2):
            if r.ts <= now:
                last[r.key] = r
        return [last[k] for k in self.keys if k in last]

    def readings_since(
        self, inputs: Inputs, params: Params, after: datetime | None, now: datetime, warmup: int = 30
    ) -> list[Reading]:
        vals = inputs.values
        if len(vals.index):
            vals = vals[vals.index <= pd.Timestamp(now)]
        tail = warmup
        if after is not None and len(vals.index):
            # daily rows are stamped at 00:00 UTC of their date; their readings come later that day
            tail = int((vals.index >= pd.Timestamp(after).normalize()).sum()) + 1
        rs = readings(Inputs(vals, inputs.last_source), params, tail=tail)
        return [r for r in rs if r.ts <= now and (after is None or r.ts > after)]

    def stale_reason(self, reading: Reading, now: datetime) -> str | None:
        return stale_reason(reading, now)

    # -- presentation and demo --------------------------------------------------------

    def chart(
        self,
        inputs: Inputs,
        params: Params,
        end: datetime,
        days: int,
        marks: Iterable[tuple[datetime, str, str]] = (),
    ) -> VixTermChart:
        return chart(inputs, params, end, days, marks)

    def present(self, ev: AlertEvent, stamp: Stamp) -> AlertText | None:
        """The message of one of its alerts (:mod:`signals.presentation`)."""
        return present(ev, stamp)

    def demo(self, start: datetime) -> Demo:
        """Calm contango, a front-end warning, a vol shock that inverts deeply, recovery."""
        return demo_scenario(start)


SIGNAL = VixTerm()
