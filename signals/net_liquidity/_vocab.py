"""net_liquidity's vocabulary: the series it reads, its parameters, release times."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import numpy as np
import pandas as pd

from signals._levels import Ladder
from signals.base import Param, Params
from signals.net_liquidity._model import WEEKS_PER_YEAR, Rules, h41_release
from storage.series import FRED_RRPONTSYD, FRED_WALCL, FRED_WTREGEN
from storage.timeutil import NEW_YORK

SIGNAL_ID = "net_liquidity"
INPUTS = (FRED_WALCL, FRED_WTREGEN, FRED_RRPONTSYD)
#: the H.4.1 is published at 16:30 ET
RELEASE_TIME = time(16, 30)
#: how late a release may be before the readings count as stale
GRACE = timedelta(hours=24)
#: the ranking needs three years of weeks before the first reading
MIN_YEARS = 3

PARAMS = (
    Param(
        "window_years",
        10,
        3,
        20,
        "years of weekly history each change is ranked in",
        integer=True,
        unit="years",
    ),
    Param(
        "watch",
        90.0,
        50.0,
        100.0,
        "percentile of a drain or injection that starts a watch",
        unit="pctl",
        guild=True,
    ),
    Param("watch_exit", 85.0, 50.0, 100.0, "percentile below which the watch ends", unit="pctl"),
    Param(
        "alert", 97.5, 50.0, 100.0, "percentile of a drain or injection that alerts", unit="pctl", guild=True
    ),
    Param("alert_exit", 95.0, 50.0, 100.0, "percentile below which an alert steps down", unit="pctl"),
    Param("severe", 99.5, 50.0, 100.0, "percentile of a severe drain or injection", unit="pctl", guild=True),
    Param("severe_exit", 99.0, 50.0, 100.0, "percentile below which severe steps down", unit="pctl"),
    Param("confirm", 1, 1, 3, "weekly releases needed to fire or escalate", integer=True, unit="releases"),
    Param("cooldown_days", 14, 0, 90, "days after a resolve before the same key can fire again", unit="days"),
)

LEVEL_NAMES = ("watch", "alert", "severe")


def enters(p: Params) -> list[float]:
    return [p[n] for n in LEVEL_NAMES]


def exits(p: Params) -> list[float]:
    return [p[f"{n}_exit"] for n in LEVEL_NAMES]


def model_rules(p: Params) -> Rules:
    lad = Ladder(enter=tuple(enters(p)), exit=tuple(exits(p)))  # type: ignore[arg-type]
    return Rules(
        window=int(p["window_years"]) * WEEKS_PER_YEAR,
        min_periods=MIN_YEARS * WEEKS_PER_YEAR,
        drain=lad,
        injection=lad,
        confirm=int(p["confirm"]),
        cooldown_days=float(p["cooldown_days"]),
    )


def release_times(days: pd.DatetimeIndex | pd.Series) -> pd.DatetimeIndex:
    """Release dates (00:00 UTC) -> 16:30 America/New_York of that date, in UTC."""
    idx = pd.DatetimeIndex(days)
    naive = (idx.tz_localize(None) if idx.tz is not None else idx).normalize()
    local = naive + pd.Timedelta(hours=RELEASE_TIME.hour, minutes=RELEASE_TIME.minute)
    return local.tz_localize(NEW_YORK).tz_convert("UTC")


def release_of(wednesday: pd.Timestamp) -> datetime:
    """When the H.4.1 with ``wednesday``'s levels is published (16:30 ET, UTC)."""
    day = h41_release(pd.DatetimeIndex([wednesday]))
    return release_times(day)[0].to_pydatetime()


def ladder_level(value: float, thresholds: list[float]) -> int:
    if not np.isfinite(value):
        return 0
    return sum(1 for t in thresholds if value >= t)
