"""The demo: three and a half quiet years of H.4.1 weeks (the ranking needs three), ten more quiet
weeks, a Treasury-account rebuild (+$300bn in three weeks while reverse repo gives back $100bn:
a drain led by WTREGEN), then a week of emergency lending (+$300bn of Fed assets: an injection
led by WALCL)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pandas as pd

from signals.base import Demo
from signals.net_liquidity._vocab import INPUTS
from storage.observations import Observation
from storage.timeutil import day_epoch

WALCL, WTREGEN, RRP = INPUTS
#: quiet weeks before the demo's start (the ranking needs three years)
BEFORE = 182
#: weeks after the start: quiet until REBUILD, the rebuild's three weeks, EMERGENCY's week
REBUILD, EMERGENCY, AFTER = 10, 20, 30


def demo_scenario(start: datetime) -> Demo:
    rng = random.Random(14)
    first = pd.Timestamp(start.date()) - pd.Timedelta(weeks=BEFORE)
    first += pd.Timedelta(days=(2 - first.day_of_week) % 7)  # a Wednesday
    walcl, tga, rrp = 6_800_000.0, 750_000.0, 400.0  # millions, millions, billions
    out: list[Observation] = []
    for w in range(BEFORE + AFTER):
        wed = first + pd.Timedelta(weeks=w)
        k = w - BEFORE  # week BEFORE is the first Wednesday on or after the start
        walcl += rng.gauss(0.0, 12_000.0)
        tga += rng.gauss(0.0, 20_000.0)
        step_rrp = rng.gauss(0.0, 8.0)
        if REBUILD <= k < REBUILD + 3:  # the Treasury refills its account; reverse repo gives some back
            tga += 100_000.0
            step_rrp -= 100.0 / 3
        if k == EMERGENCY:  # emergency lending
            walcl += 300_000.0
        tga = max(tga, 50_000.0)
        ts = day_epoch(wed.date())
        out += [
            Observation(WALCL, ts, round(walcl, 0), "demo"),
            Observation(WTREGEN, ts, round(tga, 0), "demo"),
        ]
        for back in (6, 5, 2, 1, 0):  # reverse repo: every business day, Thursday to Wednesday
            day = wed - timedelta(days=back)
            rrp = max(rrp + step_rrp / 5, 0.0)
            out.append(Observation(RRP, day_epoch(day.date()), round(rrp, 3), "demo"))
    return Demo(tuple(sorted(out, key=lambda o: (o.ts, o.series))))
