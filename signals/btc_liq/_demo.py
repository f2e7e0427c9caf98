"""The demo cascade of ``flowwatch demo``: calm days, then about $1.4B in 90 minutes with an OKX outage."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

from signals.base import Demo, LiveRun
from storage.observations import Observation
from storage.series import gap_series, liq_series, price_series
from storage.timeutil import to_epoch


def demo(start: datetime) -> Demo:
    """The demo cascade. As a live run: everything before 13:00 UTC of the cascade's day is
    stored before it (what earlier runs wrote); the liquidations from 13:00 to 17:30 UTC (the
    cascade, the outage, the calm after) are fed minute by minute through the live stream."""
    return Demo(
        tuple(demo_observations(start)),
        live=LiveRun(stream=(start + timedelta(days=1, hours=13), 270)),
    )


def demo_observations(start: datetime) -> list[Observation]:
    """Eight calm days, then a long-squeeze cascade (about $1.4B in 90 minutes, with a short
    OKX outage), then two calm days. 1-minute buckets per venue, as the live streams write them."""
    rng = random.Random(11)
    t0 = to_epoch(start) - 8 * 86400
    minutes = 11 * 86400 // 60
    crash = to_epoch(start) + 86400 + 13 * 3600 + 30 * 60
    weight = {"bybit": 0.45, "binance": 0.3, "okx": 0.25}
    out: list[Observation] = []
    price = 96000.0
    for i in range(minutes):
        ts = t0 + 60 * i
        k = (ts - crash) // 60
        surge = 0.0
        if 0 <= k < 90:
            surge = 40e6 * math.exp(-((k - 25) ** 2) / 300.0) + 2e6
        elif 90 <= k < 240:
            surge = 1.2e6 * math.exp(-(k - 90) / 60.0)
        drift = -0.0012 if 0 <= k < 60 else 0.0
        price *= 1 + drift + rng.gauss(0, 0.0006)
        out.append(Observation(price_series("1m"), ts, round(price, 2), "demo"))
        okx_down = 20 <= k < 24
        for venue, w in weight.items():
            if venue == "okx" and okx_down:
                out.append(Observation(gap_series("okx"), ts, 60.0, "demo"))
                continue
            base_long = rng.expovariate(1 / 60e3) if rng.random() < 0.7 else 0.0
            base_short = rng.expovariate(1 / 50e3) if rng.random() < 0.7 else 0.0
            long = base_long * w / 0.35 + surge * w * 0.88 * rng.uniform(0.7, 1.3)
            short = base_short * w / 0.35 + surge * w * 0.12 * rng.uniform(0.7, 1.3)
            out.append(Observation(liq_series(venue, "long", "1m"), ts, round(long, 2), "demo"))
            out.append(Observation(liq_series(venue, "short", "1m"), ts, round(short, 2), "demo"))
    return out
