"""The demo: three calm years of spreads around 320 bp (the ranking needs three), then a credit
scare: the spread widens 180 bp in 12 sessions (an alert after two, severe at the peak) and
retraces slowly, while the 2-year yield falls 60 bp in 10 sessions (a 2s10s heads-up)."""

from __future__ import annotations

import random
from datetime import datetime

import pandas as pd

from signals.base import Demo
from signals.credit._vocab import INPUTS
from storage.observations import Observation
from storage.timeutil import day_epoch

HY, DGS10, DGS2 = INPUTS
#: calm sessions before the demo's start
BEFORE = 800
#: sessions after the start: calm until SHOCK, then the widening, the retrace
SHOCK, AFTER = 40, 140
WIDEN = (8, 10, 12, 14, 16, 18, 20, 18, 16, 20, 16, 12)  # bp a session: +180 bp in 12


def demo_scenario(start: datetime) -> Demo:
    rng = random.Random(16)
    before = pd.bdate_range(end=pd.Timestamp(start.date()) - pd.Timedelta(days=1), periods=BEFORE)
    days = [*before, *pd.bdate_range(start.date(), periods=AFTER)]
    calm, oas, ten, two = 320.0, 320.0, 4.20, 3.90
    out: list[Observation] = []
    for i, d in enumerate(days):
        k = i - BEFORE
        if 0 <= k - SHOCK < len(WIDEN):
            oas += WIDEN[k - SHOCK] + rng.gauss(0.0, 2.0)
        elif k >= SHOCK + len(WIDEN):  # the slow retrace toward calm
            oas += (calm - oas) * 0.03 + rng.gauss(0.0, 2.0)
        else:  # calm; the weeks before the scare calmer still (a quiet start to the demo)
            oas += (calm - oas) * 0.05 + rng.gauss(0.0, 2.5 if k < 0 else 1.0)
        noise = 0.03 if k < 0 else 0.015
        ten += (4.20 - ten) * 0.02 + rng.gauss(0.0, noise)
        two += (3.90 - two) * 0.02 + rng.gauss(0.0, noise)
        if 0 <= k - SHOCK - 2 < 10:  # the market prices cuts in a hurry
            two -= 0.06
            ten -= 0.02
        ts = day_epoch(d.date())
        out += [
            Observation(HY, ts, round(oas / 100.0, 2), "demo"),
            Observation(DGS10, ts, round(ten, 2), "demo"),
            Observation(DGS2, ts, round(two, 2), "demo"),
        ]
    return Demo(tuple(out))
