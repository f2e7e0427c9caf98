"""credit's vocabulary: the series it reads, its parameters, when each figure is out."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from functools import cache

import numpy as np
import pandas as pd
from pandas.tseries.holiday import USFederalHolidayCalendar

from signals._levels import TRADING_DAYS, Ladder
from signals.base import Param, Params
from signals.credit._model import Rules
from storage.series import FRED_DGS2, FRED_DGS10, FRED_HY_OAS
from storage.timeutil import NEW_YORK

SIGNAL_ID = "credit"
INPUTS = (FRED_HY_OAS, FRED_DGS10, FRED_DGS2)
#: FRED posts the ICE BofA spread the next business morning, the Treasury yields (H.15) the next
#: business day in the afternoon: a reading is stamped then, never on the day it describes
HY_OUT = time(10, 0)
CURVE_OUT = time(16, 30)
#: how late a figure may be before the readings count as stale (one missing day is tolerated:
#: bond-market holidays such as Good Friday are not federal holidays)
GRACE = timedelta(hours=24)
MIN_YEARS = 3

PARAMS = (
    Param(
        "window_years", 10, 3, 20, "years of sessions each change is ranked in", integer=True, unit="years"
    ),
    Param(
        "watch",
        90.0,
        50.0,
        100.0,
        "percentile of the spread's widening that starts a watch",
        unit="pctl",
        guild=True,
    ),
    Param("watch_exit", 85.0, 50.0, 100.0, "percentile below which the watch ends", unit="pctl"),
    Param("alert", 97.5, 50.0, 100.0, "percentile of the widening that alerts", unit="pctl", guild=True),
    Param("alert_exit", 95.0, 50.0, 100.0, "percentile below which an alert steps down", unit="pctl"),
    Param("severe", 99.5, 50.0, 100.0, "percentile of a severe widening", unit="pctl", guild=True),
    Param("severe_exit", 99.0, 50.0, 100.0, "percentile below which severe steps down", unit="pctl"),
    Param(
        "curve_watch",
        97.5,
        50.0,
        100.0,
        "percentile of the 2s10s 20-session steepening (heads-up)",
        unit="pctl",
        guild=True,
    ),
    Param(
        "curve_watch_exit", 95.0, 50.0, 100.0, "percentile below which the curve heads-up ends", unit="pctl"
    ),
    Param("confirm", 2, 1, 5, "daily figures needed to fire or escalate", integer=True, unit="sessions"),
    Param("cooldown_days", 10, 0, 60, "days after a resolve before the same key can fire again", unit="days"),
)

LEVEL_NAMES = ("watch", "alert", "severe")


def enters(p: Params, key: str) -> list[float]:
    if key == "curve":
        return [p["curve_watch"]]
    return [p[n] for n in LEVEL_NAMES]


def model_rules(p: Params) -> Rules:
    hy = Ladder(
        enter=(p["watch"], p["alert"], p["severe"]),
        exit=(p["watch_exit"], p["alert_exit"], p["severe_exit"]),
    )
    curve = Ladder(enter=(p["curve_watch"], None, None), exit=(p["curve_watch_exit"], None, None))
    return Rules(
        window=int(p["window_years"]) * TRADING_DAYS,
        min_periods=MIN_YEARS * TRADING_DAYS,
        hy=hy,
        curve=curve,
        confirm=int(p["confirm"]),
        cooldown_days=float(p["cooldown_days"]),
    )


@cache
def _holidays(first_year: int, last_year: int) -> pd.DatetimeIndex:
    return USFederalHolidayCalendar().holidays(f"{first_year}-01-01", f"{last_year}-12-31")


def next_business_day(days: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """The next weekday that is not a US federal holiday, for each date (naive dates)."""
    naive = (days.tz_localize(None) if days.tz is not None else days).normalize()
    if len(naive) == 0:
        return naive
    hol = _holidays(naive.min().year, (naive.max() + pd.Timedelta(days=14)).year)
    day = naive + pd.Timedelta(days=1)
    for _ in range(7):
        shut = day.isin(hol) | (day.day_of_week >= 5)
        if not shut.any():
            break
        day = pd.DatetimeIndex(np.where(shut, day + pd.Timedelta(days=1), day))
    return day


def out_times(days: pd.DatetimeIndex, at: time) -> pd.DatetimeIndex:
    """When FRED has each date's figure: the next business day at ``at`` New York time, in UTC."""
    local = next_business_day(days) + pd.Timedelta(hours=at.hour, minutes=at.minute)
    return local.tz_localize(NEW_YORK).tz_convert("UTC")


def due_after(day: str, at: time) -> datetime:
    """When the figure of the business day after ``day`` is out."""
    nxt = next_business_day(pd.DatetimeIndex([pd.Timestamp(day)]))
    return out_times(nxt, at)[0].to_pydatetime()


def ladder_level(value: float, thresholds: list[float]) -> int:
    if not np.isfinite(value):
        return 0
    return sum(1 for t in thresholds if value >= t)
