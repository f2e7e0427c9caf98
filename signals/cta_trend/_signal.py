"""cta_trend: where trend followers flip, and their estimated de- and re-leveraging.

An estimate (:mod:`signals.cta_trend._model` states the replication and its assumptions). Keys:
``selling`` (watch / alert / severe) and ``buying`` (watch / alert), graded on the percentile of
the replicated position's fall (rise) over ``flow_days`` sessions in its own trailing window;
``trigger`` (watch only), a heads-up when the S&P 500 is within ``near`` daily moves of the level
where the net position changes sign. One reading per key at each S&P 500 close (16:00 ET).
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
from signals.cta_trend._chart import chart
from signals.cta_trend._present import present
from signals.cta_trend._readings import readings
from signals.cta_trend._vocab import KEYS, PARAMS, SIGNAL_ID, entry_lines, ladders, material, problems
from signals.presentation import AlertText, Stamp
from storage.alerts import AlertEvent
from storage.observations import Inputs
from storage.series import SPX_CLOSE


class CtaTrend:
    id = SIGNAL_ID
    title = "CTA trend (estimate)"
    description = (
        "Trend-follower replication on the S&P 500: the index levels where its signals flip, and the "
        "estimated de- and re-leveraging (an estimate with stated assumptions)"
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
            # a trigger's peak (its largest distance) says nothing: left out
            describe_peak=lambda key, v: None if key == "trigger" else pct_text(v),
        )

    def grade(self, key: str, value: float, figures: Mapping[str, Any], params: Params) -> Level:
        """The value's level: the percentile on the key's entry ladder; for ``trigger`` a heads-up
        within ``near`` daily moves of the net flip level; none for a move below ``min_points``."""
        if key == "trigger":
            return Level.WATCH if value <= params["near"] else Level.OK
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
        """Three and a half years of steady uptrend (full long), a five-session fall through the
        1- and 3-month triggers that makes the replication cut, and the rebuilding in the recovery."""
        return Demo(_spx.demo_closes(start))


SIGNAL = CtaTrend()
