"""vol_control model: estimated de-risking and re-risking by volatility-targeting funds.

An **estimate of an unobserved flow**. Nobody publishes what volatility-targeting ("vol
control", "risk control") funds hold; this module reproduces the rule they are known to follow
and states its assumptions (:class:`Model`), so every figure can be shown with them.

The rule (the usual public description of these funds and of the risk-control indices they
track):

- realized volatility of the S&P 500: the root mean square of daily log returns over a short
  window (21 sessions, about a month) and a long one (63 sessions, about three months),
  annualised with 252 sessions;
- the fund sizes against the larger of the two, ``vol = max(short, long)``, so it de-risks as
  soon as the short window jumps and re-risks only when both have calmed down;
- target equity exposure ``target = min(target_vol / vol, max_leverage)`` (1.0 = 100 % of
  assets in equities);
- the fund trades toward the target with a lag: each session it closes ``1 / lag_days`` of the
  gap between what it holds and its target (exponential smoothing).

From it, per session: the exposure held, the target, what is still to be traded (``pending``,
negative = selling), what the lag trades over the next few sessions if the target holds, and
the implied flows in USD for an assumed amount of assets (``aum_usd``).

Levels come from the model's own history: ``sell_share`` is the share of the funds' current
equity holding they still have to sell (``1 - target / exposure``), which is the funds' risk
overshoot over their target, and its percentile over the trailing ten years decides
watch / alert / severe (:data:`SELL`). Rebuilding exposure (``buy_share``) is the calm-market
side of the same rule and is graded one level lower (:data:`BUY`).

Pure functions over a pandas Series of daily closes; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from signals._levels import (
    TRADING_DAYS,
    Ladder,
    clean_series,
    key_levels,
    pct_text,
    trailing_percentile,
    usd_text,
)

KEYS = {"selling": "estimated vol-control selling", "buying": "estimated vol-control rebuilding"}

#: share of holdings still to sell, as a percentile of its trailing window
SELL = Ladder(enter=(90.0, 97.5, 99.5), exit=(85.0, 95.0, 99.0))
#: rebuilding is graded one level lower: watch at the 97.5th percentile, alert at the 99.5th
BUY = Ladder(enter=(97.5, 99.5, None), exit=(95.0, 99.0, None))


@dataclass(frozen=True)
class Model:
    """The assumptions of the estimate. Every one is an assumption, stated with each figure.

    - ``target_vol`` 10 %: the most common target of the public risk-control indices
      (the S&P 500 Daily Risk Control family runs 5 %-18 %; 10 % is its flagship) and of desk
      models.
    - ``short_days`` 21 and ``long_days`` 63: one- and three-month realized volatility.
    - ``max_leverage`` 1.0: the largest pool, insurers' managed-volatility funds, holds at most
      100 % equities; index products that lever to 150 % exist (set 1.5 to model them).
    - ``lag_days`` 5: the funds close a fifth of the gap to their target each session
      (rebalancing spread over about a week).
    - ``aum_usd`` $300bn: public estimates of the assets following such rules are of the order
      of $100bn-$500bn (Barclays, February 2018: about $500bn tied to volatility targets, two
      thirds of it traded mechanically). An assumption, not a measurement.
    """

    target_vol: float = 0.10
    short_days: int = 21
    long_days: int = 63
    max_leverage: float = 1.0
    lag_days: float = 5.0
    aum_usd: float = 300e9
    #: sessions over which "the next days" of selling are counted
    horizon_days: int = 5

    def problems(self) -> list[str]:
        out = []
        if not 0.01 <= self.target_vol <= 0.5:
            out.append(f"target_vol {self.target_vol:g} must be between 0.01 and 0.5 (1%-50%)")
        if not 2 <= self.short_days < self.long_days <= 504:
            out.append(
                f"windows must satisfy 2 <= short_days ({self.short_days}) < long_days ({self.long_days}) <= 504"
            )
        if not 0.1 <= self.max_leverage <= 3.0:
            out.append(f"max_leverage {self.max_leverage:g} must be between 0.1 and 3")
        if not 1.0 <= self.lag_days <= 60.0:
            out.append(f"lag_days {self.lag_days:g} must be between 1 (trade at once) and 60")
        if not 0 < self.aum_usd <= 10e12:
            out.append(f"aum_usd {self.aum_usd:g} must be above 0 and at most 10 trillion")
        if not 1 <= self.horizon_days <= 60:
            out.append(f"horizon_days {self.horizon_days} must be between 1 and 60")
        return out


@dataclass(frozen=True)
class Rules:
    """How the model's history turns into levels (defaults: ten years, three to start)."""

    window: int = 10 * TRADING_DAYS
    min_periods: int = 3 * TRADING_DAYS
    sell: Ladder = field(default=SELL)
    buy: Ladder = field(default=BUY)
    confirm: int = 1
    cooldown_days: float = 5.0


def realized_vol(log_returns: pd.Series, days: int) -> pd.Series:
    """Annualised root mean square of the last ``days`` daily log returns (NaN until full)."""
    return np.sqrt((log_returns**2).rolling(days, min_periods=days).mean() * TRADING_DAYS)


def frame(close: pd.Series, model: Model | None = None) -> pd.DataFrame:
    """The model, one row per session of ``close`` (S&P 500 daily closes).

    Columns: ``close``; ``vol_short``, ``vol_long``, ``vol`` (the larger, annualised) and
    ``binding`` (``"short"`` or ``"long"``: which window sets it); ``target`` and ``exposure``
    (fractions of assets in equities); ``pending`` (target - exposure: still to trade, negative
    = selling) and ``next_days`` (the part of it the lag trades over the next
    ``model.horizon_days`` sessions if the target holds); ``flow`` (today's trade); the same
    three in USD (``pending_usd``, ``next_days_usd``, ``flow_usd``); ``sell_share`` and
    ``buy_share`` (share of today's holding still to sell or to add). Rows before the long
    window is full carry NaN.
    """
    m = model or Model()
    if bad := m.problems():
        raise ValueError("vol_control model: " + "; ".join(bad))
    px = clean_series(close, "S&P 500 close", positive=True)
    r = np.log(px).diff()
    vs, vl = realized_vol(r, m.short_days), realized_vol(r, m.long_days)
    vol = vs.where(vs >= vl, vl).where(vs.notna() & vl.notna())
    with np.errstate(divide="ignore"):
        target = (m.target_vol / vol).clip(upper=m.max_leverage)
    exposure = target.ewm(alpha=1.0 / m.lag_days, adjust=False).mean().where(target.notna())
    pending = target - exposure
    done = 1.0 - (1.0 - 1.0 / m.lag_days) ** m.horizon_days
    flow = exposure.diff()
    ratio = target / exposure
    out = pd.DataFrame(
        {
            "close": px,
            "vol_short": vs,
            "vol_long": vl,
            "vol": vol,
            "binding": np.where(vs >= vl, "short", "long"),
            "target": target,
            "exposure": exposure,
            "pending": pending,
            "next_days": pending * done,
            "flow": flow,
            "pending_usd": pending * m.aum_usd,
            "next_days_usd": pending * done * m.aum_usd,
            "flow_usd": flow * m.aum_usd,
            "sell_share": (1.0 - ratio).clip(lower=0.0),
            "buy_share": (ratio - 1.0).clip(lower=0.0),
        },
        index=px.index,
    )
    out.loc[vol.isna(), "binding"] = ""
    return out


def levels(model_frame: pd.DataFrame, rules: Rules | None = None) -> dict[str, pd.DataFrame]:
    """Per key (``selling``, ``buying``): ``score`` (percentile in the trailing window),
    ``level``, ``hold`` and the engine's ``state`` on every session of ``model_frame``."""
    ru = rules or Rules()
    out = {}
    for key, col, lad in (("selling", "sell_share", ru.sell), ("buying", "buy_share", ru.buy)):
        score = trailing_percentile(model_frame[col], ru.window, ru.min_periods)
        out[key] = key_levels(score, lad, ru.confirm, ru.cooldown_days)
    return out


def assumptions(model: Model | None = None) -> str:
    m = model or Model()
    return (
        f"estimate; assumes {usd_text(m.aum_usd)} of vol-control assets, a {m.target_vol:.0%} volatility "
        f"target on max({m.short_days}-, {m.long_days}-session) realized volatility, at most "
        f"{m.max_leverage:.0%} in equities, a {m.lag_days:g}-session rebalancing lag"
    )


def summary(row: pd.Series, score: float, model: Model | None = None) -> str:
    """One line for a session of :func:`frame` with its ``selling``/``buying`` ``score``."""
    m = model or Model()
    window = "1-month" if row["binding"] == "short" else "3-month"
    move = (
        f"exposure {row['exposure']:.0%} → target {row['target']:.0%} ({window} volatility {row['vol']:.1%})"
    )
    if row["pending"] < 0:
        what = (
            f"Vol-control funds: about {usd_text(-row['next_days_usd'])} to sell over the next "
            f"{m.horizon_days} sessions ({usd_text(-row['pending_usd'])} in all, "
            f"{row['sell_share']:.0%} of their equity)"
        )
    else:
        what = (
            f"Vol-control funds: about {usd_text(row['next_days_usd'])} to buy over the next "
            f"{m.horizon_days} sessions ({usd_text(row['pending_usd'])} in all)"
        )
    rank = f"{pct_text(score)} of its history" if np.isfinite(score) else "history too short to rank"
    return f"{what}, {rank}; {move}. {_upper_first(assumptions(m))}."


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]
