"""cta_trend model: a simple trend-follower replication on the S&P 500 and its trigger levels.

An **estimate**. Trend followers (CTAs) do not publish positions; this is a small, documented
replication of the signals they are known to run, in the spirit of time-series momentum
(Moskowitz, Ooi and Pedersen 2012) over several horizons (Hurst, Ooi and Pedersen 2017) with
a trend-strength signal (Baltas and Kosowski 2013):

- four components, the 1-, 3-, 6- and 12-month log returns (21, 63, 126 and 252 sessions);
- each measured in standard deviations of its own horizon,
  ``z = ln(P_t / P_{t-n}) / (vol * sqrt(n / 252))`` with ``vol`` the 63-session realized
  volatility, and clipped to [-1, +1] (full long or short at a one-standard-deviation trend);
- the position is their average scaled down when volatility is above a reference
  (``min(1, ref_vol / vol)``: trend followers size to constant risk), so it lies in
  [-100 %, +100 %] of the largest position the model allows.

**Trigger levels**: component ``n`` changes sign tomorrow exactly where tomorrow's close
crosses the close ``n - 1`` sessions back (tomorrow's ``n``-session return is measured from
it). The **net flip level** is the close tomorrow at which the whole position changes sign
(solved by bisection, volatility updated with the hypothetical move). Distances are given in
percent and in daily standard deviations (``vol / sqrt(252)``): one is an ordinary day's move.

Flows: the change in position times ``full_usd``, the assumed size of a full (100 %) position.
Levels: the fall (or rise) of the position over ``flow_days`` sessions, as a percentile of its
trailing ten years (:data:`SELL`, :data:`BUY`); a watch-only heads-up when the net flip level
is within one daily standard deviation (:data:`NEAR`).

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

KEYS = {
    "selling": "estimated CTA de-leveraging",
    "buying": "estimated CTA re-leveraging",
    "trigger": "index near the CTA net flip level",
}
NAMES = {21: "1-month", 63: "3-month", 126: "6-month", 252: "12-month"}

#: position fall over ``flow_days``, as a percentile of its trailing window
SELL = Ladder(enter=(90.0, 97.5, 99.5), exit=(85.0, 95.0, 99.0))
#: re-leveraging is graded one level lower
BUY = Ladder(enter=(97.5, 99.5, None), exit=(95.0, 99.0, None))
#: minus the distance to the net flip level in daily standard deviations: watch within 1, ends beyond 1.5
NEAR = Ladder(enter=(-1.0, None, None), exit=(-1.5, None, None))
#: how far (log move) tomorrow's close is searched for the net flip level
FLIP_SEARCH = 0.25


@dataclass(frozen=True)
class Model:
    """The assumptions of the replication. Every one is an assumption, stated with each figure.

    - ``lookbacks`` 21, 63, 126, 252 sessions (1, 3, 6, 12 months), equally weighted.
    - ``vol_days`` 63: the realized volatility that measures trend strength and sizes risk.
    - ``ref_vol`` 15 %: at or below this volatility the model holds full size; above it the
      position shrinks in proportion (about the S&P 500's long-run realized volatility).
    - ``full_usd`` $70bn: the S&P 500 exposure of trend followers at a full (100 %) position.
      Desk estimates published in 2024 put CTAs' US equity length near $50bn when their global
      equity length was around its 60th-80th percentile, and their selling in a one-month down
      market near $60bn; a full position of the order of $60bn-$80bn follows. An assumption.
    - ``flow_days`` 10: de- or re-leveraging is measured over two weeks of sessions.
    """

    lookbacks: tuple[int, ...] = (21, 63, 126, 252)
    vol_days: int = 63
    ref_vol: float = 0.15
    full_usd: float = 70e9
    flow_days: int = 10

    def problems(self) -> list[str]:
        out = []
        if not self.lookbacks or len(set(self.lookbacks)) != len(self.lookbacks):
            out.append("lookbacks must be one or more distinct session counts")
        elif not all(2 <= n <= 756 for n in self.lookbacks):
            out.append(f"lookbacks {self.lookbacks} must each be between 2 and 756 sessions")
        if not 5 <= self.vol_days <= 504:
            out.append(f"vol_days {self.vol_days} must be between 5 and 504")
        if not 0.01 <= self.ref_vol <= 1.0:
            out.append(f"ref_vol {self.ref_vol:g} must be between 0.01 and 1 (1%-100%)")
        if not 0 < self.full_usd <= 10e12:
            out.append(f"full_usd {self.full_usd:g} must be above 0 and at most 10 trillion")
        if not 1 <= self.flow_days <= 60:
            out.append(f"flow_days {self.flow_days} must be between 1 and 60")
        return out


@dataclass(frozen=True)
class Rules:
    """How the model's history turns into levels (defaults: ten years, three to start)."""

    window: int = 10 * TRADING_DAYS
    min_periods: int = 3 * TRADING_DAYS
    sell: Ladder = field(default=SELL)
    buy: Ladder = field(default=BUY)
    near: Ladder = field(default=NEAR)
    confirm: int = 1
    cooldown_days: float = 5.0


class _Tomorrow:
    """What tomorrow's position depends on, known at today's close: the squared returns that
    stay in the volatility window and, per component, the log distance of its base close."""

    def __init__(self, px: pd.Series, m: Model) -> None:
        logp = np.log(px.to_numpy(dtype=float))
        r = np.diff(logp, prepend=np.nan)
        self.keep_sq = pd.Series(r**2).rolling(m.vol_days - 1, min_periods=m.vol_days - 1).sum().to_numpy()
        self.bases = {n: _shift(logp, n - 1) - logp for n in m.lookbacks}
        self.m = m

    def mean_signal(self, x: np.ndarray) -> np.ndarray:
        """Average component signal tomorrow if the index moves by log return ``x``."""
        vol = np.sqrt((self.keep_sq + x**2) / self.m.vol_days * TRADING_DAYS)
        total = np.zeros(len(x))
        for n, base in self.bases.items():
            total += np.clip((x - base) / (vol * np.sqrt(n / TRADING_DAYS)), -1.0, 1.0)
        return total / len(self.bases)

    def position(self, x: np.ndarray) -> np.ndarray:
        vol = np.sqrt((self.keep_sq + x**2) / self.m.vol_days * TRADING_DAYS)
        return self.mean_signal(x) * np.minimum(1.0, self.m.ref_vol / vol)

    def flip(self, iterations: int = 40) -> np.ndarray:
        """Log move tomorrow at which the average signal crosses zero (below it the position is
        short, above it long), by bisection over +-FLIP_SEARCH; NaN where the sign does not
        change within it."""
        n = len(self.keep_sq)
        lo, hi = np.full(n, -FLIP_SEARCH), np.full(n, FLIP_SEARCH)
        found = (self.mean_signal(lo) < 0) & (self.mean_signal(hi) >= 0)
        for _ in range(iterations):
            mid = 0.5 * (lo + hi)
            neg = self.mean_signal(mid) < 0
            lo, hi = np.where(neg, mid, lo), np.where(neg, hi, mid)
        return np.where(found, 0.5 * (lo + hi), np.nan)


def _shift(a: np.ndarray, k: int) -> np.ndarray:
    out = np.full(len(a), np.nan)
    if k == 0:
        return a.copy()
    out[k:] = a[:-k]
    return out


def _turned(x: pd.Series) -> pd.Series:
    """+1 where ``x`` turned positive today, -1 where it turned negative, else 0 (a zero reading
    keeps the previous side)."""
    side = np.sign(x).replace(0.0, np.nan).ffill()
    prev = side.shift(1)
    return (side.where(side.notna() & prev.notna() & (side != prev), 0.0)).fillna(0.0).astype(int)


def frame(close: pd.Series, model: Model | None = None) -> pd.DataFrame:
    """The replication, one row per session of ``close`` (S&P 500 daily closes).

    Columns: ``close``, ``vol`` (annualised), ``scale`` (the volatility scaling), per lookback
    ``n`` the signal ``s_n`` in [-1, 1], its trigger level ``trigger_n`` (tomorrow's close at
    which it changes sign) and ``flip_n`` (+1 if it turned long today, -1 if it turned short,
    else 0); ``position`` in [-1, 1] and ``net_flip`` (the same for the whole position); ``flow``
    (today's change of position) and
    ``flow_usd``; ``sell`` and ``buy`` (the fall or rise of the position over ``flow_days``) with
    ``sell_usd`` / ``buy_usd``; ``flip_level`` (tomorrow's close where the position changes sign:
    short below it, long above; NaN if none within 25 %), ``flip_pct`` (its distance from today's
    close, percent, signed) and ``flip_sigma`` (unsigned, in daily standard deviations);
    ``nearest`` (lookback of the component trigger closest to today's close) with
    ``nearest_level`` and ``nearest_pct``.
    """
    m = model or Model()
    if bad := m.problems():
        raise ValueError("cta_trend model: " + "; ".join(bad))
    px = clean_series(close, "S&P 500 close", positive=True)
    logp = np.log(px)
    r = logp.diff()
    vol = np.sqrt((r**2).rolling(m.vol_days, min_periods=m.vol_days).mean() * TRADING_DAYS)
    scale = np.minimum(1.0, m.ref_vol / vol)
    out = pd.DataFrame({"close": px, "vol": vol, "scale": scale}, index=px.index)
    sigs = []
    for n in m.lookbacks:
        z = (logp - logp.shift(n)) / (vol * np.sqrt(n / TRADING_DAYS))
        out[f"s_{n}"] = z.clip(-1.0, 1.0)
        out[f"trigger_{n}"] = px.shift(n - 1)
        out[f"flip_{n}"] = _turned(out[f"s_{n}"])
        sigs.append(out[f"s_{n}"])
    position = pd.concat(sigs, axis=1).mean(axis=1, skipna=False) * scale
    out["position"] = position
    out["net_flip"] = _turned(position)
    out["flow"] = position.diff()
    out["flow_usd"] = out["flow"] * m.full_usd
    change = position - position.shift(m.flow_days)
    out["sell"] = (-change).clip(lower=0.0)
    out["buy"] = change.clip(lower=0.0)
    out["sell_usd"] = out["sell"] * m.full_usd
    out["buy_usd"] = out["buy"] * m.full_usd

    x = _Tomorrow(px, m).flip()
    sd = (vol / np.sqrt(TRADING_DAYS)).to_numpy()
    out["flip_level"] = px.to_numpy() * np.exp(x)
    out["flip_pct"] = np.expm1(x) * 100.0
    out["flip_sigma"] = np.abs(x) / sd

    trig = np.column_stack([out[f"trigger_{n}"].to_numpy() for n in m.lookbacks])
    dist = np.abs(np.log(trig / px.to_numpy()[:, None]))
    has = ~np.isnan(dist).all(axis=1)
    idx = np.argmin(np.where(np.isnan(dist), np.inf, dist), axis=1)
    looks = np.array(m.lookbacks)
    out["nearest"] = np.where(has, looks[idx], 0)
    near_level = trig[np.arange(len(trig)), idx]
    out["nearest_level"] = np.where(has, near_level, np.nan)
    out["nearest_pct"] = (out["nearest_level"] / px - 1.0) * 100.0
    return out


def scenarios(
    close: pd.Series, model: Model | None = None, moves: tuple[float, ...] = (-2, -1, 0, 1)
) -> pd.DataFrame:
    """Tomorrow's position and flow (USD) if the index moves ``k`` daily standard deviations,
    for each ``k`` in ``moves``: columns ``position_<k>`` and ``flow_usd_<k>`` per session."""
    m = model or Model()
    f = frame(close, m)
    px = clean_series(close, "S&P 500 close", positive=True)
    tomorrow = _Tomorrow(px, m)
    sd = (f["vol"] / np.sqrt(TRADING_DAYS)).to_numpy()
    out = pd.DataFrame(index=f.index)
    for k in moves:
        pos = tomorrow.position(k * sd)
        out[f"position_{k:+g}"] = pos
        out[f"flow_usd_{k:+g}"] = (pos - f["position"].to_numpy()) * m.full_usd
    return out


def levels(model_frame: pd.DataFrame, rules: Rules | None = None) -> dict[str, pd.DataFrame]:
    """Per key (``selling``, ``buying``, ``trigger``): ``score``, ``level``, ``hold`` and the
    engine's ``state``. ``trigger``'s score is minus the net flip distance in daily
    standard deviations (higher = closer)."""
    ru = rules or Rules()
    out = {}
    for key, col, lad in (("selling", "sell", ru.sell), ("buying", "buy", ru.buy)):
        score = trailing_percentile(model_frame[col], ru.window, ru.min_periods)
        out[key] = key_levels(score, lad, ru.confirm, ru.cooldown_days)
    out["trigger"] = key_levels(-model_frame["flip_sigma"], ru.near, ru.confirm, 0.0)
    return out


def assumptions(model: Model | None = None) -> str:
    m = model or Model()
    looks = "/".join(NAMES.get(n, f"{n}-session") for n in m.lookbacks)
    return (
        f"estimate; a {looks} trend replication, volatility-scaled above {m.ref_vol:.0%}, "
        f"a full position assumed to be {usd_text(m.full_usd)} of S&P 500 exposure"
    )


def summary(row: pd.Series, score: float, model: Model | None = None) -> str:
    """One line for a session of :func:`frame` with its ``selling``/``buying`` ``score``."""
    m = model or Model()
    side = "long" if row["position"] >= 0 else "short"
    change = row["buy"] - row["sell"]
    what = (
        f"CTAs (estimate): position {row['position']:+.0%} ({side}), {change * 100:+.0f} points "
        f"in {m.flow_days} sessions ({usd_text(change * m.full_usd)})"
    )
    rank = f"{pct_text(score)} of its history" if np.isfinite(score) else "history too short to rank"
    if np.isfinite(row["flip_level"]):
        flip = (
            f"net {'short below' if side == 'long' else 'long above'} {row['flip_level']:,.0f} "
            f"({row['flip_pct']:+.1f}%, {row['flip_sigma']:.1f} daily moves)"
        )
    else:
        flip = f"no flip of the net position within {FLIP_SEARCH:.0%}"
    nearest = (
        f"nearest trigger: {NAMES.get(int(row['nearest']), str(row['nearest']))} at "
        f"{row['nearest_level']:,.0f} ({row['nearest_pct']:+.1f}%)"
        if np.isfinite(row["nearest_level"])
        else "no trigger yet"
    )
    return f"{what}, {rank}; {flip}; {nearest}. {_upper_first(assumptions(m))}."


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]
