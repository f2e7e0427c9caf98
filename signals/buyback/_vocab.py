"""buyback's vocabulary: table names, model constants, day numbers and the parameters."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from signals.base import Param, Params

EARNINGS, MEMBERS = "earnings", "index_members"


INDEX_ID = "sp500"


KEY = "share"


DAY_S = 86400


EPOCH = date(1970, 1, 1)


ESTIMATE_DAYS = 364


#: a known listing this close to an estimated date replaces the estimate
ESTIMATE_CLEAR_DAYS = 45


#: a company with a known report this far back (or any ahead) is in the calendar's universe
UNIVERSE_DAYS = 364


#: coverage counts companies with a known report from this many days back onwards
COVERAGE_BACK_DAYS = 7


MIN_COVERAGE = 0.5


MIN_CAP_COVERAGE = 0.5


#: the watch holds while the projected crossing is at most this many sessions further out
HOLD_SLACK = 2


#: live: the calendar must have been refreshed within this time
CALENDAR_MAX_AGE = timedelta(days=4)


#: the resolve text recalls a closed run that ended this many sessions ago
RECALL_SESSIONS = 10


MODEL_NOTE = "an estimate from the earnings calendar, not company disclosures"


SOURCE_NAMES = {
    "nasdaq": "Nasdaq earnings calendar",
    "alphavantage": "Alpha Vantage earnings calendar",
    "file": "earnings file",
    "demo": "demo calendar",
}


def to_day(d: date) -> int:
    return (d - EPOCH).days


def from_day(n: int) -> date:
    return EPOCH + timedelta(days=int(n))


def dt64(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[ns]")


SIGNAL_ID = "buyback"


#: the parameters: the share's levels, the blackout model, the projection and the rules
PARAMS = (
    Param(
        "alert",
        50,
        1,
        99,
        "share in blackout (%) at which the buyback window counts as closed",
        unit="%",
        guild=True,
    ),
    Param("alert_exit", 48, 1, 99, "share (%) below which the window counts as reopened", unit="%"),
    Param(
        "severe",
        80,
        1,
        100,
        "share (%) a closed window must reach to be severe, and then only when unusually deep for its season",
        unit="%",
        guild=True,
    ),
    Param("severe_exit", 75, 1, 100, "share (%) below which a severe blackout steps down", unit="%"),
    Param(
        "severe_margin",
        1,
        0,
        20,
        "severe: at least this far above the highest peak of the same season in the last season_years years",
        unit="pp",
    ),
    Param(
        "season_years",
        5,
        2,
        15,
        "years of the same season's peaks a blackout is compared with (at least 3 seasons needed)",
        integer=True,
        unit="years",
    ),
    Param(
        "headsup_days",
        5,
        1,
        30,
        "trading days before the projected closing that the heads-up (watch) starts",
        integer=True,
        unit="trading days",
    ),
    Param(
        "pre_days",
        35,
        7,
        90,
        "calendar days before the report that the blackout starts",
        integer=True,
        unit="days",
    ),
    Param(
        "fqe_days",
        14,
        0,
        60,
        "days before the fiscal quarter end that the blackout starts, if earlier",
        integer=True,
        unit="days",
    ),
    Param(
        "reopen_sessions",
        2,
        0,
        10,
        "trading day after the report on which the blackout ends",
        integer=True,
        unit="trading days",
    ),
    Param(
        "horizon_days",
        90,
        40,
        366,
        "days ahead a dated file's report counts as known in replay (the calendar scan's reach)",
        integer=True,
        unit="days",
    ),
    Param(
        "weight_by_cap",
        0,
        0,
        1,
        "1: alert on the market-cap-weighted share instead of the count-weighted one",
        integer=True,
    ),
    Param(
        "confirm",
        1,
        1,
        10,
        "consecutive sessions needed to fire or escalate",
        integer=True,
        unit="sessions",
    ),
    Param(
        "cooldown_days",
        10,
        0,
        60,
        "days after a reopening before a new closing can fire",
        unit="days",
    ),
)


#: seasons of history (the same season, earlier years) before a blackout can be judged unusual
MIN_SEASONS = 3
#: a closed run belongs to the season of another when they started within this many days of the
#: same day of the year (the four seasons are about 91 days apart)
SEASON_SLACK_DAYS = 45


def p_ahead(p: Params) -> int:
    """Sessions the readings project ahead (the heads-up reach plus the watch's slack)."""
    return int(p["headsup_days"]) + HOLD_SLACK
