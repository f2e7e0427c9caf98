"""cta_trend's vocabulary: the keys, the parameters (the replication's assumptions and the
levels' percentiles and the heads-up distance) and the model and level rules they make."""

from __future__ import annotations

from signals._levels import TRADING_DAYS, Ladder
from signals.base import Level, Param, Params
from signals.cta_trend._model import Model
from signals.cta_trend._model import Rules as LevelRules

SIGNAL_ID = "cta_trend"

KEYS = {
    "selling": "Estimated CTA de-leveraging",
    "buying": "Estimated CTA re-leveraging",
    "trigger": "S&P 500 near the CTA flip level",
}

KEY_LEVELS = {
    "selling": (Level.WATCH, Level.ALERT, Level.SEVERE),
    "buying": (Level.WATCH, Level.ALERT),
    "trigger": (Level.WATCH,),
}

#: a trigger reading's value when the position does not change sign within the search range
FAR = 99.0

_PCT = "pctl"

PARAMS = (
    Param("ref_vol", 0.15, 0.05, 0.40, "volatility at or below which the replication holds full size"),
    Param(
        "vol_days", 63, 21, 252, "sessions of the realized-volatility window", integer=True, unit="sessions"
    ),
    Param(
        "full_bn", 70, 5, 500, "S&P 500 exposure of a full CTA position, in $bn (an assumption)", unit="$bn"
    ),
    Param(
        "flow_days",
        10,
        3,
        30,
        "sessions over which de- and re-leveraging is measured",
        integer=True,
        unit="sessions",
    ),
    Param(
        "min_points",
        10,
        0,
        100,
        "fall or rise of the position, in points of a full position, below which no level is given",
        unit="points",
    ),
    Param("window_years", 10, 3, 20, "years of history each score is ranked in", unit="years"),
    Param(
        "watch",
        90,
        50,
        100,
        "percentile of the position's fall at which a heads-up starts",
        unit=_PCT,
        guild=True,
    ),
    Param("watch_exit", 85, 50, 100, "percentile below which the heads-up ends", unit=_PCT),
    Param("alert", 97.5, 50, 100, "percentile of the position's fall that alerts", unit=_PCT, guild=True),
    Param("alert_exit", 95, 50, 100, "percentile below which an alert steps down", unit=_PCT),
    Param("severe", 99.5, 50, 100, "percentile of the position's fall that is severe", unit=_PCT, guild=True),
    Param("severe_exit", 99, 50, 100, "percentile below which severe steps down", unit=_PCT),
    Param(
        "buy_watch", 97.5, 50, 100, "percentile of the position's rise for a heads-up", unit=_PCT, guild=True
    ),
    Param("buy_watch_exit", 95, 50, 100, "percentile below which the re-leveraging heads-up ends", unit=_PCT),
    Param("buy_alert", 99.5, 50, 100, "percentile of the position's rise that alerts", unit=_PCT, guild=True),
    Param(
        "buy_alert_exit", 99, 50, 100, "percentile below which the re-leveraging alert steps down", unit=_PCT
    ),
    Param(
        "near",
        1.0,
        0.1,
        5.0,
        "distance to the net flip level, in daily moves, within which a heads-up starts",
        unit="daily moves",
        guild=True,
    ),
    Param(
        "near_exit", 1.5, 0.1, 5.0, "distance beyond which the heads-up ends (above near)", unit="daily moves"
    ),
    Param("confirm", 1, 1, 5, "daily closes needed to fire or escalate", integer=True, unit="closes"),
    Param("cooldown_days", 5, 0, 60, "days after a resolve before the same key can fire again", unit="days"),
)


def model_of(p: Params) -> Model:
    return Model(
        vol_days=int(p["vol_days"]),
        ref_vol=p["ref_vol"],
        full_usd=p["full_bn"] * 1e9,
        flow_days=int(p["flow_days"]),
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
        # the model ranks minus the distance, so one ladder type serves every key
        "trigger": Ladder(enter=(-p["near"], None, None), exit=(-p["near_exit"], None, None)),
    }


def level_rules(p: Params) -> LevelRules:
    lad = ladders(p)
    return LevelRules(
        window=round(p["window_years"] * TRADING_DAYS),
        min_periods=3 * TRADING_DAYS,
        sell=lad["selling"],
        buy=lad["buying"],
        near=lad["trigger"],
        confirm=int(p["confirm"]),
        cooldown_days=p["cooldown_days"],
    )


def entry_lines(key: str, p: Params) -> dict[str, float]:
    """Level label -> entry value of ``key`` (the trigger's: the distance in daily moves)."""
    if key == "trigger":
        return {"watch": p["near"]}
    lad = ladders(p)[key]
    return {lv.label: float(v) for lv, v in zip(KEY_LEVELS[key], lad.enter, strict=False) if v is not None}


def problems(p: Params) -> list[str]:
    out = []
    for key in ("selling", "buying"):
        out += [f"{key}: {x}" for x in ladders(p)[key].problems("percentile")]
    if not p["near_exit"] > p["near"]:
        out.append(
            f"near_exit ({p['near_exit']:g}) must be above near ({p['near']:g}): the heads-up ends farther out"
        )
    return out


#: the figure of each key that must reach ``min_points`` (fractions of a full position)
CHANGE = {"selling": "sell", "buying": "buy"}


def material(key: str, figures: dict[str, float] | None, p: Params) -> bool:
    """Whether the position's move is large enough to grade (a figure that is absent counts)."""
    v = (figures or {}).get(CHANGE[key])
    return not isinstance(v, int | float) or v * 100.0 >= p["min_points"]
