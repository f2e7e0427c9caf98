"""credit model: high-yield spread stress, and the 2s10s curve as a second, watch-only key.

``hy``: the ICE BofA US High Yield Index option-adjusted spread (FRED ``BAMLH0A0HYM2``,
percent). Stress shows as **widening over days**: the 5- and 20-session changes in basis points,
each ranked in its trailing ten years; the higher of the two percentiles decides watch / alert /
severe (:data:`HY`). The level's own percentile is reported beside it (a wide spread that is not
widening is not an alert: it is priced). Daily marks of an illiquid market are noisy, so a level
must hold for two sessions before it counts (``confirm``).

``curve``: the 10-year minus 2-year Treasury yield (FRED ``DGS10`` - ``DGS2``, in basis points).
A fast steepening (the 20-session change in the top 2.5 % of its ten years: the market pricing
cuts in a hurry, or a bear steepening) is a heads-up that never pings (:data:`CURVE`). How long
the curve has been inverted is reported beside it.

Pure functions over pandas Series; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from signals._levels import TRADING_DAYS, Ladder, clean_series, key_levels, pct_text, trailing_percentile

KEYS = {"hy": "high-yield spread widening", "curve": "2s10s curve steepening"}
HY_HORIZONS = (5, 20)
CURVE_DAYS = 20

HY = Ladder(enter=(90.0, 97.5, 99.5), exit=(85.0, 95.0, 99.0))
CURVE = Ladder(enter=(97.5, None, None), exit=(95.0, None, None))


@dataclass(frozen=True)
class Rules:
    """How the daily history turns into levels (defaults: ten years, three to start)."""

    window: int = 10 * TRADING_DAYS
    min_periods: int = 3 * TRADING_DAYS
    horizons: tuple[int, ...] = HY_HORIZONS
    hy: Ladder = field(default=HY)
    curve: Ladder = field(default=CURVE)
    confirm: int = 2
    cooldown_days: float = 10.0


def hy_frame(oas: pd.Series, rules: Rules | None = None) -> pd.DataFrame:
    """One row per session of the HY OAS (percent; FRED's empty holiday rows dropped).

    Columns: ``oas`` (percent), ``oas_bp``, ``chg_<h>d_bp`` per horizon, ``level_pct`` (the
    level's percentile in its trailing window).
    """
    ru = rules or Rules()
    s = clean_series(oas, "BAMLH0A0HYM2", positive=True)
    bp = s * 100.0
    out = pd.DataFrame({"oas": s, "oas_bp": bp}, index=s.index)
    for h in ru.horizons:
        out[f"chg_{h}d_bp"] = bp.diff(h)
    out["level_pct"] = trailing_percentile(bp, ru.window, ru.min_periods)
    return out


def curve_frame(dgs10: pd.Series, dgs2: pd.Series, days: int = CURVE_DAYS) -> pd.DataFrame:
    """The 2s10s spread on the sessions both yields exist: ``dgs10``, ``dgs2`` (percent),
    ``spread_bp``, ``chg_bp`` (over ``days`` sessions) and ``inverted_days`` (the current run of
    sessions with the spread below zero)."""
    ten = clean_series(dgs10, "DGS10")
    two = clean_series(dgs2, "DGS2")
    days_ = ten.index.intersection(two.index)
    spread = (ten.reindex(days_) - two.reindex(days_)) * 100.0
    inv = (spread < 0).to_numpy()
    run = np.zeros(len(inv), dtype=np.int64)
    if len(inv):
        # length of the current run of inverted sessions: count since the last non-inverted one
        idx = np.arange(len(inv))
        last_ok = np.maximum.accumulate(np.where(~inv, idx, -1))
        run = np.where(inv, idx - last_ok, 0)
    return pd.DataFrame(
        {
            "dgs10": ten.reindex(days_),
            "dgs2": two.reindex(days_),
            "spread_bp": spread,
            "chg_bp": spread.diff(days),
            "inverted_days": run,
        },
        index=days_,
    )


def hy_levels(hy: pd.DataFrame, rules: Rules | None = None) -> pd.DataFrame:
    """``score`` (the higher percentile of the 5- and 20-session widening), ``horizon``,
    ``level``, ``hold`` and the engine's ``state`` for the ``hy`` key."""
    ru = rules or Rules()
    pcts = pd.concat(
        {h: trailing_percentile(hy[f"chg_{h}d_bp"], ru.window, ru.min_periods) for h in ru.horizons}, axis=1
    )
    score = pcts.max(axis=1)
    out = key_levels(score, ru.hy, ru.confirm, ru.cooldown_days)
    out.insert(1, "horizon", pcts.fillna(-1.0).idxmax(axis=1).where(score.notna(), 0).astype(int))
    return out


def curve_levels(curve: pd.DataFrame, rules: Rules | None = None) -> pd.DataFrame:
    """``score`` (percentile of the 20-session steepening), ``level``, ``hold``, ``state`` for
    the watch-only ``curve`` key."""
    ru = rules or Rules()
    score = trailing_percentile(curve["chg_bp"], ru.window, ru.min_periods)
    return key_levels(score, ru.curve, ru.confirm, ru.cooldown_days)


def hy_summary(row: pd.Series, score: float, horizon: int) -> str:
    h = horizon if horizon in HY_HORIZONS else HY_HORIZONS[-1]
    chg = row[f"chg_{h}d_bp"]
    rank = f"{pct_text(score)} of its history" if np.isfinite(score) else "history too short to rank"
    level = f"; the level is at the {pct_text(row['level_pct'])}" if np.isfinite(row["level_pct"]) else ""
    return (
        f"High-yield spread {row['oas_bp']:.0f} bp, {chg:+.0f} bp in {h} sessions ({rank}){level}. "
        "ICE BofA US High Yield OAS via FRED."
    )


def curve_summary(row: pd.Series, score: float) -> str:
    rank = f"{pct_text(score)} of its history" if np.isfinite(score) else "history too short to rank"
    inv = f"; inverted for {int(row['inverted_days'])} sessions" if row["inverted_days"] else ""
    return (
        f"2s10s {row['spread_bp']:+.0f} bp (10y {row['dgs10']:.2f}%, 2y {row['dgs2']:.2f}%), "
        f"{row['chg_bp']:+.0f} bp in {CURVE_DAYS} sessions ({rank}){inv}. Treasury yields via FRED."
    )
