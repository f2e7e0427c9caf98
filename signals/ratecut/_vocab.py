"""ratecut's vocabulary: venues, kinds of keys, lags, the parameters and the ladders built from them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from signals import fomc
from signals.base import Param, Params

VENUES = ("kalshi", "polymarket", "fedwatch")


LIVE_VENUES = ("kalshi", "polymarket")


#: the venue whose move must confirm the primary venue's (FedWatch is primary only when neither
#: market has a fresh quote, so it has none)
CROSS_CHECK = {"kalshi": "polymarket", "polymarket": "kalshi"}


VENUE_NAMES = {"kalshi": "Kalshi", "polymarket": "Polymarket", "fedwatch": "FedWatch"}


KINDS = ("swing", "flip", "divergence", "size")


KIND_NAMES = {
    "swing": "swing",
    "flip": "majority flip",
    "divergence": "venue divergence",
    "size": "size repricing",
}


SOURCE_NAMES = {
    "kalshi": "Kalshi",
    "kalshi-candles": "Kalshi hourly candlesticks",
    "kalshi-csv": "Kalshi recorded order book (P(cut) = 1 − P(hold))",
    "polymarket": "Polymarket",
    "polymarket-history": "Polymarket hourly price history",
    "polymarket-csv": "Polymarket recorded order book (P(cut) = 1 − P(hold))",
    "fedwatch-zq": "FedWatch method on ZQ settlements",
    "fedwatch-cme": "CME FedWatch export",
    "demo": "demo data",
    "import": "imported",
}


#: (label, lag, tolerance) for "now versus 1 h, 1 d and 1 w ago"
LAGS = (("1 h", 3600, 2700), ("1 d", 86400, 6 * 3600), ("1 w", 7 * 86400, 42 * 3600))


#: how long a closed meeting's keys are still reported live (its closing reading)
CLOSED_GRACE = timedelta(days=7)


_ORDER = {"kalshi": 0, "polymarket": 1}


def meeting_label(meeting_id: str) -> str:
    m = fomc.get(meeting_id)
    return f"FOMC {m.label}" if m else f"FOMC {meeting_id}"


def split_key(key: str) -> tuple[str, str]:
    meeting_id, _, kind = key.rpartition(".")
    return meeting_id, kind


PCT = [f"{i}%" for i in range(101)]


def pct(p: float | None) -> str:
    if p is None or p != p:  # None or NaN
        return "n/a"
    return PCT[min(100, max(0, round(p * 100)))]


def pp(x: float) -> str:
    v = round(x * 100)
    return f"{v:+d} pp" if v else "0 pp"


def utc(ts: int) -> datetime:
    return datetime.fromtimestamp(int(ts), UTC)


def hours(seconds: float) -> str:
    h = seconds / 3600
    return f"{h:g} h" if h < 48 or h % 24 else f"{h / 24:g} d"


def swing_windows(p: Params) -> list[tuple[int, float]]:
    """(seconds, size in probability) per swing window."""
    return [
        (int(p["short_hours"] * 3600), p["short_pp"] / 100),
        (int(p["swing_hours"] * 3600), p["swing_pp"] / 100),
        (int(p["long_hours"] * 3600), p["long_pp"] / 100),
    ]


def swing_ladder(p: Params) -> list[float]:
    return [p["watch_ratio"], 1.0, p["severe_ratio"]]


def size_ladder(p: Params) -> list[float]:
    return [p["size_watch"], 1.0, p["severe_ratio"]]


def confirm_of(venue: str, p: Params) -> int:
    """Readings needed to fire: one on a daily settlement (a final price), else ``confirm``."""
    return 1 if venue == "fedwatch" else int(p["confirm"])


SIGNAL_ID = "ratecut"


SIZE_PARAMS = (
    Param(
        "size_short_bp",
        3,
        0.5,
        100,
        "expected-path change within the short window that is a repricing",
        unit="bp",
    ),
    Param(
        "size_bp", 5, 0.5, 100, "expected-path change within the main window that is a repricing", unit="bp"
    ),
    Param(
        "size_long_bp",
        7.5,
        0.5,
        200,
        "expected-path change within the long window that is a repricing",
        unit="bp",
    ),
    Param(
        "size_baseline_k",
        4,
        1,
        50,
        "a repricing is also at least this multiple of the window's median change in the signal's own history",
    ),
    Param("size_baseline_days", 10, 2, 10, "days of own history the median change is taken over", unit="d"),
    Param("size_watch", 0.7, 0.1, 1, "share of the repricing size that is a watch heads-up", guild=True),
    Param(
        "size_echo",
        0.67,
        0,
        1,
        "a later meeting's repricing the nearer meeting matched this share of, the same way, stays at watch",
    ),
)


#: the parameters (thresholds and rules); the size key's are in ``SIZE_PARAMS``
PARAMS = (
    Param("short_hours", 1, 0.25, 12, "short swing window", unit="h"),
    Param("short_pp", 10, 1, 100, "P(cut) move within the short window that is a swing", unit="pp"),
    Param("swing_hours", 24, 1, 72, "main swing window", unit="h"),
    Param("swing_pp", 15, 1, 100, "P(cut) move within the main window that is a swing", unit="pp"),
    Param("long_hours", 72, 2, 336, "long swing window", unit="h"),
    Param("long_pp", 20, 1, 100, "P(cut) move within the long window that is a swing", unit="pp"),
    Param("watch_ratio", 0.5, 0.1, 1, "share of a swing size that is a watch heads-up", guild=True),
    Param("severe_ratio", 2.0, 1, 10, "multiple of a swing size that is severe", guild=True),
    Param("exit_ratio", 0.4, 0.05, 1, "a swing episode ends when every move is below this share"),
    Param(
        "confirm",
        2,
        1,
        20,
        "consecutive readings needed to fire or escalate",
        integer=True,
        unit="readings",
    ),
    Param("cross_check", 0.5, 0, 1, "share of the move the other venue must confirm (0 = off)"),
    Param("whipsaw_hours", 72, 6, 336, "window in which a swing and its reversal form a whipsaw", unit="h"),
    Param("whipsaw_ratio", 0.6, 0.1, 2, "the reversal must be at least this share of the first leg"),
    Param("flip_band", 5, 0.5, 20, "hysteresis around 50%: a flip needs 50 ± this", unit="pp"),
    Param("flip_hours", 24, 0.5, 168, "how long a flip stays an alert", unit="h"),
    Param("diverge_pp", 10, 1, 100, "P(cut) gap between venues that is a divergence", unit="pp", guild=True),
    Param("diverge_exit_pp", 7, 0.5, 100, "gap below which a divergence ends", unit="pp"),
    Param("diverge_minutes", 30, 0, 1440, "how long the gap must last", unit="min"),
    Param("stale_minutes", 30, 5, 1440, "a venue's quote counts this long; live, older is stale", unit="min"),
    Param("cooldown_hours", 6, 0, 168, "hours after a resolve before the same key can fire again", unit="h"),
    *SIZE_PARAMS,
)


@dataclass(frozen=True)
class VenueLine:
    """One venue's line on the chart (P(cut) in %, or the expected path in bp)."""

    venue: str
    label: str
    x: np.ndarray
    y: np.ndarray
