"""vol_control: estimated de-risking and re-risking by volatility-targeting funds.

An estimate of a flow nobody publishes (:mod:`signals.vol_control._model` states the rule and its
assumptions). Keys: ``selling`` (watch / alert / severe) and ``buying`` (watch / alert), each
graded on the percentile of the share of their equity the modelled funds still have to trade,
in its own trailing window. One reading per key at each S&P 500 close (16:00 ET).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, ClassVar

import numpy as np

from signals import _spx
from signals._levels import ladder, pct_text
from signals.base import Demo, Level, Params, Reading, Rules
from signals.charts import TimeSeriesChart
from signals.presentation import AlertText, Stamp
from signals.vol_control._chart import chart
from signals.vol_control._present import present
from signals.vol_control._readings import readings
from signals.vol_control._vocab import KEYS, PARAMS, SIGNAL_ID, entry_lines, ladders, material, problems
from storage.alerts import AlertEvent
from storage.observations import Inputs
from storage.series import SPX_CLOSE


class VolControl:
    id = SIGNAL_ID
    title = "Vol-control funds (estimate)"
    description = (
        "Estimated equity selling and rebuilding by volatility-targeting funds, from S&P 500 realized "
        "volatility (an estimate with stated assumptions)"
    )
    inputs = (SPX_CLOSE,)
    keys: ClassVar[dict[str, str]] = dict(KEYS)
    params = PARAMS
    #: the dashboard and /flows group the flow estimates
    flow = True

    def validate(self, params: Params) -> list[str]:
        return problems(params)

    def rules(self, params: Params) -> Rules:
        return Rules(
            cooldown_s=int(params["cooldown_days"] * 86400),
            value_format="{:.1f}",
            describe_peak=lambda _key, v: pct_text(v),
        )

    def grade(self, key: str, value: float, figures: Mapping[str, Any], params: Params) -> Level:
        """The percentile's level on the key's entry ladder; none for an immaterial share (below
        ``min_share`` of the funds' equity, a figure of the reading's ``data``)."""
        if not material(key, dict(figures), params):
            return Level.OK
        return Level(int(ladder(np.array([value]), ladders(params)[key].enter)[0]))

    def thresholds(self, key: str, params: Params) -> Mapping[str, float]:
        return entry_lines(key, params)

    def history(self, inputs: Inputs, params: Params) -> list[Reading]:
        return readings(inputs, params)

    def latest(self, inputs: Inputs, params: Params, now: datetime) -> list[Reading]:
        """The same readings :meth:`history` gives up to ``now``, building only the last ones."""
        return _spx.latest(readings, list(self.keys), inputs, params, now)

    def readings_since(
        self, inputs: Inputs, params: Params, after: datetime | None, now: datetime, warmup: int = 30
    ) -> list[Reading]:
        return _spx.readings_since(readings, inputs, params, after, now, warmup)

    def stale_reason(self, reading: Reading, now: datetime) -> str | None:
        return _spx.stale_reason(reading, now)

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
        """Three and a half calm years (the funds at their cap), a five-session shock that makes
        them sell, and the rebuilding once the shock leaves their three-month window."""
        return Demo(_spx.demo_closes(start))


SIGNAL = VolControl()
