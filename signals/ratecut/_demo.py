"""The demo scenario: six months of odds with a drift, a whipsaw, a size repricing and a lagging venue."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

from signals import fomc
from signals.base import Demo, Evaluations, LiveRun
from signals.fomc_dist import HOLD, Bucket, dist_observations, path_observations
from signals.ratecut._vocab import LIVE_VENUES, utc
from storage.observations import Observation


def demo_scenario(start: datetime) -> Demo:
    """Six months of odds: a quiet January meeting, then for March a drift up to 80 %, an
    80 → 30 → 80 whipsaw in three days, the odds of a 50 bp cut rather than 25 going 10 %
    → 55 % in half a day (a size repricing while P(cut) holds), and a few hours when
    Polymarket lags Kalshi by 13 pp; later meetings stay calm. Hourly for the first 60 days,
    every 3 hours after."""
    rng = random.Random(11)
    out: list[Observation] = []
    t0 = int(start.timestamp())
    mar = "2026-03-18"
    calm = {
        "2026-01-28": 0.06,
        "2026-04-29": 0.55,
        "2026-06-17": 0.5,
        "2026-07-29": 0.45,
        "2026-09-16": 0.4,
    }

    def path(mid: str, day: float) -> float:
        if mid != mar:
            return calm.get(mid, 0.4) + 0.04 * math.sin(day / 2.5)
        if day < 24:
            return 0.35 + 0.45 * min(1.0, day / 20)  # drifts up to 80 %
        if day < 35:
            return 0.80
        if day < 36.5:
            return 0.80 - 0.50 * (day - 35) / 1.5  # hawkish remarks: down to 30 % in 36 h
        if day < 37:
            return 0.30
        if day < 38:
            return 0.30 + 0.50 * (day - 37)  # and back to 80 % within a day: a whipsaw
        return 0.80 + 0.08 * min(1.0, (day - 38) / 20)

    def large(mid: str, day: float) -> float:
        """The share of the cut odds on 50 bp or more."""
        if mid != mar or day < 50:
            return 0.10
        return 0.10 + 0.45 * min(1.0, (day - 50) * 2)

    steps = list(range(0, 60 * 24)) + list(range(60 * 24, 180 * 24, 3))
    for h in steps:
        t = t0 + h * 3600
        day = h / 24
        at = utc(t)
        polled: list[Observation] = []
        for meeting in fomc.upcoming(at, 2):
            mid = meeting.id
            base = min(0.97, max(0.02, path(mid, day) + rng.uniform(-0.01, 0.01)))
            for venue in LIVE_VENUES:
                cut = base
                if venue == "polymarket":
                    cut = base + rng.uniform(-0.015, 0.015)
                    if mid == mar and 45.0 <= day < 45.2:
                        cut = base - 0.13  # a thin Polymarket book lags for a few hours
                cut = min(0.98, max(0.01, cut))
                hike = 0.01
                hold = max(0.0, 1.0 - cut - hike)
                q = large(mid, day)
                dist = {
                    Bucket(-50, True): cut * q,
                    Bucket(-25): cut * (1 - q),
                    HOLD: hold,
                    Bucket(25): hike,
                }
                polled += dist_observations(venue, mid, t, dist, "demo")
        for venue in LIVE_VENUES:
            mine = [o for o in polled if o.series.startswith(f"{venue}.")]
            out += mine + path_observations(venue, mine)
        if h % 24 == 0 and at.weekday() < 5 and fomc.get(mar).is_open(at):  # type: ignore[union-attr]
            # a daily FedWatch point for March (stamped at 00:00 UTC of the trade date)
            fw = min(0.97, max(0.02, path(mar, day + 19 / 24) - 0.03))
            out.append(Observation(f"fedwatch.fomc.{mar}.cut", t, round(fw, 4), "demo"))
            out.append(Observation(f"fedwatch.fomc.{mar}.hold", t, round(1 - fw, 4), "demo"))
    return Demo(tuple(out), live=live_run(start))


def live_run(start: datetime) -> LiveRun:
    """As a live run: quotes are out as they are stamped; the signal is evaluated on the first
    evening, then every six hours around the January flip (the short run) and through the March
    swings, flips and divergence. A quote counts for seven hours there, so each evaluation
    steps every hourly reading since the one before."""
    day, six = timedelta(days=1), timedelta(hours=6)
    at = timedelta(minutes=5)
    return LiveRun(
        evaluations=(
            Evaluations(start + timedelta(hours=22) + at, start + timedelta(hours=22) + at),
            Evaluations(start + 8 * day + 2 * six + at, start + 10 * day + six + at, every=six),
            Evaluations(
                start + 34 * day + 2 * six + at, start + 45 * day + 3 * six + at, every=six, short=False
            ),
        ),
        env={"FLOWWATCH_RATECUT_STALE_MINUTES": "420"},
    )
