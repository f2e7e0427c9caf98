"""vol_control's vocabulary: the keys, the parameters (the model's assumptions and the levels'
percentiles) and the model and level rules they make."""

from __future__ import annotations

from signals._levels import TRADING_DAYS, Ladder
from signals.base import Level, Param, Params
from signals.vol_control._model import Model
from signals.vol_control._model import Rules as LevelRules

SIGNAL_ID = "vol_control"

KEYS = {"selling": "Estimated vol-control selling", "buying": "Estimated vol-control rebuilding"}

#: levels each key can reach
KEY_LEVELS = {"selling": (Level.WATCH, Level.ALERT, Level.SEVERE), "buying": (Level.WATCH, Level.ALERT)}

_PCT = "pctl"

PARAMS = (
    Param("target_vol", 0.10, 0.02, 0.30, "volatility the modelled funds target (an assumption)"),
    Param(
        "short_days",
        21,
        5,
        63,
        "sessions of the short realized-volatility window",
        integer=True,
        unit="sessions",
    ),
    Param(
        "long_days",
        63,
        21,
        252,
        "sessions of the long realized-volatility window (must exceed short_days)",
        integer=True,
        unit="sessions",
    ),
    Param("max_leverage", 1.0, 0.5, 2.0, "largest equity exposure (1 = 100%; 1.5 models levered products)"),
    Param(
        "lag_days", 5, 1, 20, "sessions over which the funds close the gap to their target", unit="sessions"
    ),
    Param("aum_bn", 300, 10, 2000, "assets following the rule, in $bn (an assumption)", unit="$bn"),
    Param(
        "min_share",
        0.02,
        0.0,
        0.5,
        "share of their equity still to trade below which no level is given (an immaterial trade)",
    ),
    Param("window_years", 10, 3, 20, "years of history each score is ranked in", unit="years"),
    Param(
        "watch",
        90,
        50,
        100,
        "percentile of the share still to sell at which a heads-up starts",
        unit=_PCT,
        guild=True,
    ),
    Param("watch_exit", 85, 50, 100, "percentile below which the heads-up ends", unit=_PCT),
    Param("alert", 97.5, 50, 100, "percentile of the share still to sell that alerts", unit=_PCT, guild=True),
    Param("alert_exit", 95, 50, 100, "percentile below which an alert steps down", unit=_PCT),
    Param(
        "severe", 99.5, 50, 100, "percentile of the share still to sell that is severe", unit=_PCT, guild=True
    ),
    Param("severe_exit", 99, 50, 100, "percentile below which severe steps down", unit=_PCT),
    Param(
        "buy_watch",
        97.5,
        50,
        100,
        "percentile of the share still to buy back for a heads-up",
        unit=_PCT,
        guild=True,
    ),
    Param("buy_watch_exit", 95, 50, 100, "percentile below which the rebuilding heads-up ends", unit=_PCT),
    Param(
        "buy_alert",
        99.5,
        50,
        100,
        "percentile of the share still to buy back that alerts",
        unit=_PCT,
        guild=True,
    ),
    Param("buy_alert_exit", 99, 50, 100, "percentile below which the rebuilding alert steps down", unit=_PCT),
    Param("confirm", 1, 1, 5, "daily closes needed to fire or escalate", integer=True, unit="closes"),
    Param("cooldown_days", 5, 0, 60, "days after a resolve before the same key can fire again", unit="days"),
)


def model_of(p: Params) -> Model:
    return Model(
        target_vol=p["target_vol"],
        short_days=int(p["short_days"]),
        long_days=int(p["long_days"]),
        max_leverage=p["max_leverage"],
        lag_days=p["lag_days"],
        aum_usd=p["aum_bn"] * 1e9,
    )


def ladders(p: Params) -> dict[str, Ladder]:
    return {
        "selling": Ladder(
            enter=(p["watch"], p["alert"], p["severe"]),
            exit=(p["watch_exit"], p["alert_exit"], p["severe_exit"]),
        ),
        "buying": Ladder(
            enter=(p["buy_watch"], p["buy_alert"], None),
            exit=(p["buy_watch_exit"], p["buy_alert_exit"], None),
        ),
    }


def level_rules(p: Params) -> LevelRules:
    lad = ladders(p)
    return LevelRules(
        window=round(p["window_years"] * TRADING_DAYS),
        min_periods=3 * TRADING_DAYS,
        sell=lad["selling"],
        buy=lad["buying"],
        confirm=int(p["confirm"]),
        cooldown_days=p["cooldown_days"],
    )


def entry_lines(key: str, p: Params) -> dict[str, float]:
    """Level label -> entry percentile of ``key``."""
    lad = ladders(p)[key]
    return {lv.label: float(v) for lv, v in zip(KEY_LEVELS[key], lad.enter, strict=False) if v is not None}


def problems(p: Params) -> list[str]:
    out = []
    for key, lad in ladders(p).items():
        out += [f"{key}: {x}" for x in lad.problems("percentile")]
    if not p["short_days"] < p["long_days"]:
        out.append(f"short_days ({p['short_days']:g}) must be below long_days ({p['long_days']:g})")
    return out


#: the figure of each key that must reach ``min_share`` (fractions of the funds' equity)
SHARE = {"selling": "sell_share", "buying": "buy_share"}


def material(key: str, figures: dict[str, float] | None, p: Params) -> bool:
    """Whether the share still to trade is large enough to grade (a figure that is absent counts)."""
    v = (figures or {}).get(SHARE[key])
    return not isinstance(v, int | float) or v >= p["min_share"]
