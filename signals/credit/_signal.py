"""credit: high-yield spread stress, and the 2s10s curve as a second, watch-only key.

``hy``: the ICE BofA US High Yield OAS (FRED ``BAMLH0A0HYM2``): the 5- and 20-session widening,
each ranked in its trailing ten years; the higher percentile is the reading's value and decides
watch / alert / severe, confirmed over two daily figures. ``curve``: the 20-session steepening of
DGS10 - DGS2, a heads-up at the 97.5th percentile. Readings are stamped when FRED has the figure
(the spread the next business morning, the yields the next business day at 16:30 ET).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, ClassVar

from signals.base import Demo, Level, Params, Reading, Rules
from signals.charts import TimeSeriesChart
from signals.credit._chart import chart
from signals.credit._demo import demo_scenario
from signals.credit._model import KEYS
from signals.credit._present import present
from signals.credit._readings import readings, stale_reason
from signals.credit._vocab import INPUTS, LEVEL_NAMES, PARAMS, SIGNAL_ID, enters, ladder_level
from signals.presentation import AlertText, Stamp
from storage.alerts import AlertEvent
from storage.observations import Inputs


def _peak(key: str, value: float) -> str:
    return f"{value:.1f}th percentile"


class Credit:
    id = SIGNAL_ID
    title = "Credit stress"
    description = (
        "High-yield spread (ICE BofA US HY OAS) widening over 5 and 20 sessions against ten years of "
        "its history, and the 2s10s curve steepening fast as a heads-up"
    )
    inputs = INPUTS
    keys: ClassVar[dict[str, str]] = dict(KEYS)
    params = PARAMS
    #: an alert's chart shows this much history
    alert_chart_days = 365

    def validate(self, params: Params) -> list[str]:
        p, out = params, []
        for n in (*LEVEL_NAMES, "curve_watch"):
            if not p[f"{n}_exit"] < p[n]:
                out.append(f"{n}_exit ({p[f'{n}_exit']:g}) must be below {n} ({p[n]:g})")
        if not p["watch"] <= p["alert"] <= p["severe"]:
            out.append(
                f"levels must rise: watch ({p['watch']:g}) <= alert ({p['alert']:g}) <= severe ({p['severe']:g})"
            )
        return out

    def rules(self, params: Params) -> Rules:
        return Rules(
            cooldown_s=int(params["cooldown_days"] * 86400), value_format="{:.1f}", describe_peak=_peak
        )

    def grade(self, key: str, value: float, figures: Mapping[str, Any], params: Params) -> Level:
        """The percentile's level on the key's ladder (``curve``: watch only)."""
        return Level(ladder_level(value, enters(params, key)))

    def thresholds(self, key: str, params: Params) -> Mapping[str, float]:
        if key == "curve":
            return {"watch": params["curve_watch"]}
        return {n: params[n] for n in LEVEL_NAMES}

    def history(self, inputs: Inputs, params: Params) -> list[Reading]:
        return readings(inputs, params)

    def stale_reason(self, reading: Reading, now: datetime) -> str | None:
        return stale_reason(reading, now)

    def chart(
        self,
        inputs: Inputs,
        params: Params,
        end: datetime,
        days: int,
        marks: Iterable[tuple[datetime, str, str]] = (),
    ) -> TimeSeriesChart:
        return chart(inputs, params, end, days, marks)

    def present(self, ev: AlertEvent, stamp: Stamp) -> AlertText | None:
        return present(ev, stamp)

    def demo(self, start: datetime) -> Demo:
        """Calm spreads, a 180 bp widening in 12 sessions with the 2-year yield falling, a retrace."""
        return demo_scenario(start)


SIGNAL = Credit()
