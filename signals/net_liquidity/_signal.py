"""net_liquidity: the Fed's balance sheet net of the Treasury's account and reverse repo.

``WALCL - WTREGEN - RRPONTSYD x 1000`` (millions; reverse repo comes in billions). Keys: ``drain``
and ``injection``, each graded by the highest percentile its 1-, 2- or 4-week change (as a share
of net liquidity) reaches in its trailing ten years of weeks. A reading's value is that
percentile; it is stamped when the H.4.1 with the Wednesday's levels is out (Thursday 16:30 ET,
the next business day after a holiday), never on the Wednesday itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, ClassVar

from signals.base import Demo, Level, Params, Reading, Rules
from signals.charts import TimeSeriesChart
from signals.net_liquidity._chart import chart
from signals.net_liquidity._demo import demo_scenario
from signals.net_liquidity._model import KEYS
from signals.net_liquidity._present import present
from signals.net_liquidity._readings import readings, stale_reason
from signals.net_liquidity._vocab import INPUTS, LEVEL_NAMES, PARAMS, SIGNAL_ID, enters, ladder_level
from signals.presentation import AlertText, Stamp
from storage.alerts import AlertEvent
from storage.observations import Inputs


def _peak(key: str, value: float) -> str:
    return f"{value:.1f}th percentile"


class NetLiquidity:
    id = SIGNAL_ID
    title = "Net liquidity"
    description = (
        "Fed assets (WALCL) minus the Treasury account (WTREGEN) and reverse repo (RRPONTSYD): drains "
        "and injections over 1-4 weeks ranked against ten years of H.4.1 releases"
    )
    inputs = INPUTS
    keys: ClassVar[dict[str, str]] = dict(KEYS)
    params = PARAMS
    #: an alert's chart shows this much history
    alert_chart_days = 730

    def validate(self, params: Params) -> list[str]:
        p, out = params, []
        for n in LEVEL_NAMES:
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
        """The percentile's level: the ladder of entry thresholds."""
        return Level(ladder_level(value, enters(params)))

    def thresholds(self, key: str, params: Params) -> Mapping[str, float]:
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
        """Quiet weeks, a Treasury-account rebuild (a drain), a week of emergency lending."""
        return demo_scenario(start)


SIGNAL = NetLiquidity()
