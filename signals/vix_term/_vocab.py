"""vix_term's vocabulary: the series it reads, the levels' ladders, the parameters, the Cboe close."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd

from signals.base import Level, Param, Params
from signals.presentation import ordinal
from storage.series import cboe_close, yahoo_5m
from storage.timeutil import NEW_YORK

VIX, VIX3M, VIX9D, VIX6M = (cboe_close(i) for i in ("vix", "vix3m", "vix9d", "vix6m"))


I_VIX, I_VIX3M, I_VIX9D = (yahoo_5m(i) for i in ("vix", "vix3m", "vix9d"))


CLOSE_TIME = time(16, 15)  # Cboe index closes are struck at 16:15 ET


INTRADAY_MAX_AGE = timedelta(minutes=20)


LEVELS = (Level.WATCH, Level.ALERT, Level.SEVERE)


def ladder(values: np.ndarray, enters: list[float]) -> np.ndarray:
    """Highest level whose threshold the value reaches (0 = ok)."""
    out = np.zeros(len(values), dtype=np.int8)
    for i, thr in enumerate(enters, start=1):
        out[values >= thr] = i
    return out


def close_times(dates: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """00:00 UTC trading dates -> the 16:15 America/New_York close of that date, in UTC."""
    naive = dates.tz_localize(None).normalize() + pd.Timedelta(hours=16, minutes=15)
    return naive.tz_localize(NEW_YORK).tz_convert("UTC")


def run_length(mask: np.ndarray) -> np.ndarray:
    """Length of the current run of True values at each position."""
    out = np.zeros(len(mask), dtype=np.int64)
    run = 0
    for i, m in enumerate(mask):
        run = run + 1 if m else 0
        out[i] = run
    return out


def percentile_words(pct: float) -> str:
    """``99th percentile`` (floored: 99.97 means a higher value exists) or, for the highest value
    so far, ``a record (the highest)``; never "100th" for a value that is not the highest."""
    return "a record (the highest)" if pct >= 100.0 else f"{ordinal(pct)} percentile"


def market_open(now: datetime) -> bool:
    from signals import tradingcal

    return tradingcal.is_market_open(now)


def expected_close_date(now: datetime) -> date | None:
    from signals import tradingcal

    return tradingcal.latest_published_close(now)


SIGNAL_ID = "vix_term"


KEYS = {"vix3m": "VIX / VIX3M", "vix9d": "VIX9D / VIX (front end)"}


#: the thresholds (entry and exit of each level), the confirm rules and the cooldown
PARAMS = (
    Param("watch", 0.95, 0.5, 2.0, "VIX/VIX3M at which a watch heads-up starts", guild=True),
    Param("watch_exit", 0.92, 0.5, 2.0, "VIX/VIX3M below which the watch ends"),
    Param("alert", 1.00, 0.5, 2.0, "VIX/VIX3M at which the curve counts as inverted (alert)", guild=True),
    Param("alert_exit", 0.97, 0.5, 2.0, "VIX/VIX3M below which an alert steps down"),
    Param("severe", 1.10, 0.5, 3.0, "VIX/VIX3M of a deep inversion (severe)", guild=True),
    Param("severe_exit", 1.05, 0.5, 3.0, "VIX/VIX3M below which severe steps down"),
    Param("front_watch", 1.00, 0.5, 2.0, "VIX9D/VIX at which the front-end watch starts", guild=True),
    Param("front_exit", 0.97, 0.5, 2.0, "VIX9D/VIX below which the front-end watch ends"),
    Param(
        "confirm",
        2,
        1,
        20,
        "consecutive daily closes needed to fire or escalate",
        integer=True,
        unit="closes",
    ),
    Param(
        "confirm_intraday",
        3,
        1,
        78,
        "consecutive 5-minute intraday readings needed to fire or escalate",
        integer=True,
        unit="readings",
    ),
    Param(
        "cooldown_days",
        10,
        0,
        90,
        "days after a resolve before the same key can fire again",
        unit="days",
    ),
)


def entry_lines(p: Params) -> list[float]:
    return [p["watch"], p["alert"], p["severe"]]


def exit_lines(p: Params) -> list[float]:
    return [p["watch_exit"], p["alert_exit"], p["severe_exit"]]
