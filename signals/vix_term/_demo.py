"""The demo scenario: calm contango, a front-end warning, a vol shock that inverts deeply, recovery."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pandas as pd

from signals.base import Demo, Evaluations, LiveRun
from signals.vix_term._vocab import VIX, VIX3M, VIX9D
from storage.observations import Observation
from storage.timeutil import day_epoch


def demo_scenario(start: datetime) -> Demo:
    """Calm contango, a front-end warning, a vol shock that inverts deeply, recovery."""
    rng = random.Random(7)
    days = pd.bdate_range(start.date(), periods=130)
    out: list[Observation] = []
    for i, d in enumerate(days):
        shock = 0.0
        if 95 <= i < 120:
            k = i - 95
            shock = [
                6,
                18,
                26,
                30,
                24,
                20,
                17,
                15,
                13,
                11,
                9,
                8,
                7,
                6,
                5,
                4,
                3,
                2.5,
                2,
                1.5,
                1,
                0.8,
                0.5,
                0.3,
                0.1,
            ][k]
        pre = 1.0 if i in (92, 93, 94) else 0.0  # the front end inverts first
        base = 14.5 + rng.uniform(-0.8, 0.8)
        vix = base + shock + pre * 1.5
        vix3m = 17.6 + rng.uniform(-0.4, 0.4) + shock * 0.62 + pre * 0.4
        vix9d = base - 1.2 + shock * 1.25 + pre * 4.0
        ts = day_epoch(d.date())
        out += [
            Observation(VIX, ts, round(vix, 2), "demo"),
            Observation(VIX3M, ts, round(vix3m, 2), "demo"),
            Observation(VIX9D, ts, round(vix9d, 2), "demo"),
        ]
    return Demo(tuple(out), live=live_run(start))


def live_run(start: datetime) -> LiveRun:
    """As a live run: each close is out in the evening (the 16:15 ET close, stamped 00:00 UTC of
    its date), the signal is evaluated at 22:05 UTC every day of the shock (the short run: the
    days it inverts) and the close of day 135 (a Wednesday) comes late, at 20:00 UTC the next
    day, so a morning evaluation past the publication grace finds it missing: a stale-data
    notice, then its recovery."""
    day, evening = timedelta(days=1), timedelta(hours=22, minutes=5)
    late = start + 135 * day
    return LiveRun(
        published_after=timedelta(hours=22),
        late={late: late + day + timedelta(hours=20)},
        evaluations=(
            Evaluations(start + 126 * day + evening, start + 158 * day + evening, short=False),
            Evaluations(start + 133 * day + evening, start + 139 * day + evening),
            Evaluations(
                late + day + timedelta(hours=12, minutes=5), late + day + timedelta(hours=12, minutes=5)
            ),
        ),
    )
