"""Levels from a series' own history, shared by the flow models (vol_control, cta_trend,
net_liquidity, credit).

Three pure pieces, each usable alone:

- :func:`trailing_percentile`: where today's value stands in its own trailing window
  (0-100, today included, nothing after today used).
- :func:`ladder`: the highest level whose threshold a value reaches. Called with the entry
  thresholds it gives a reading's ``level``, with the (lower) exit thresholds its ``hold``.
- :func:`lifecycle`: the level the alert engine would be at after each reading, given
  ``level``, ``hold``, a confirm count and a cooldown. It follows ``bot.engine.Engine.step``
  rule for rule (a test holds the two together), so the episode counts reported for a model
  are the counts a replay of the finished signal gives.

:func:`episodes` turns a lifecycle into one row per episode (start, end, peak level).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: level numbers, as :class:`signals.base.Level` numbers them
OK, WATCH, ALERT, SEVERE = 0, 1, 2, 3
LEVEL_NAMES = ("ok", "watch", "alert", "severe")

TRADING_DAYS = 252


@dataclass(frozen=True)
class Ladder:
    """Entry and exit thresholds of watch, alert and severe on one score.

    A score enters a level at ``enter[i]`` and keeps it while it stays at or above ``exit[i]``
    (``exit[i] < enter[i]``: hysteresis). ``None`` leaves a level out (a watch-only key).
    """

    enter: tuple[float | None, float | None, float | None]
    exit: tuple[float | None, float | None, float | None]

    def problems(self, what: str = "score") -> list[str]:
        out = []
        names = LEVEL_NAMES[1:]
        for name, a, b in zip(names, self.enter, self.exit, strict=True):
            if (a is None) != (b is None):
                out.append(f"{name}: entry and exit must both be set or both be off")
            elif a is not None and b is not None and not b < a:
                out.append(f"{name}: the exit {what} ({b:g}) must be below the entry ({a:g})")
        set_ = [a for a in self.enter if a is not None]
        if set_ != sorted(set_):
            out.append(f"levels must rise: watch <= alert <= severe ({', '.join(f'{a:g}' for a in set_)})")
        return out

    def levels(self, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(level, hold) of every score."""
        return ladder(score, self.enter), ladder(score, self.exit)


def ladder(values: np.ndarray | pd.Series, thresholds: Sequence[float | None]) -> np.ndarray:
    """Highest level (1-based) whose threshold the value reaches; 0 below all, and for NaN."""
    v = np.asarray(values, dtype=float)
    out = np.zeros(len(v), dtype=np.int8)
    with np.errstate(invalid="ignore"):
        for i, thr in enumerate(thresholds, start=1):
            if thr is not None:
                out[v >= thr] = i
    return out


def trailing_percentile(x: pd.Series, window: int, min_periods: int) -> pd.Series:
    """Percentile (0-100) of each value among the last ``window`` values, itself included.

    Ties share their average rank. NaN until ``min_periods`` non-missing values exist, and
    where ``x`` is NaN. Uses no value after the one it ranks.
    """
    if min_periods > window:
        raise ValueError(f"min_periods ({min_periods}) must not exceed window ({window})")
    ranked = x.rolling(window, min_periods=min_periods).rank(pct=True)
    return ranked * 100.0


def lifecycle(
    index: pd.DatetimeIndex,
    level: np.ndarray,
    hold: np.ndarray,
    confirm: int = 1,
    cooldown: pd.Timedelta | None = None,
) -> np.ndarray:
    """The engine's level after each reading.

    ``level`` and ``hold`` are the entry and exit ladders of each reading (see :class:`Ladder`).
    A rise (fire or escalate) needs ``confirm`` consecutive readings at or above the new level;
    the level falls as soon as ``hold`` no longer supports it. After a resolve the key cannot
    fire again until ``cooldown`` has passed (measured on ``index``, as the engine measures it
    on reading times).
    """
    n = len(level)
    if not len(hold) == len(index) == n:
        raise ValueError("index, level and hold must have the same length")
    lv = np.asarray(level, dtype=np.int64).tolist()
    hd = np.asarray(hold, dtype=np.int64).tolist()
    t = pd.DatetimeIndex(index).as_unit("ns").asi8.tolist()
    cool = 0 if cooldown is None else int(cooldown.value)
    need = max(int(confirm), 1)
    out = np.zeros(n, dtype=np.int8)
    cur = pending = pend_level = 0
    cooldown_until: int | None = None
    for i in range(n):
        new = max(lv[i], min(cur, hd[i]))
        if new > cur:
            if cur == OK and cooldown_until is not None and t[i] < cooldown_until:
                pending = 0
            else:
                target = new if pending == 0 else min(pend_level, new)
                pending += 1
                pend_level = target
                if pending >= need:
                    cur, pending = target, 0
                    if lv[i] > target:  # the reading already counts toward the higher level it shows
                        pending, pend_level = 1, lv[i]
        else:
            pending = 0
            if new < cur:
                if new == OK:
                    cooldown_until = t[i] + cool if cool else None
                cur = new
        out[i] = cur
    return out


def key_levels(
    score: pd.Series,
    ladder_: Ladder,
    confirm: int = 1,
    cooldown_days: float = 0.0,
) -> pd.DataFrame:
    """``score``, ``level``, ``hold`` and the engine's ``state`` of one key, on the score's index."""
    lv, hd = ladder_.levels(score.to_numpy(dtype=float))
    index = pd.DatetimeIndex(score.index)
    st = lifecycle(index, lv, hd, confirm, pd.Timedelta(days=cooldown_days))
    return pd.DataFrame(
        {"score": score.to_numpy(dtype=float), "level": lv, "hold": hd, "state": st}, index=index
    )


def clean_series(x: pd.Series, name: str, *, positive: bool = False) -> pd.Series:
    """``x`` as floats on a sorted, unique DatetimeIndex without missing values.

    Raises ``ValueError`` saying what is wrong: an index that is not dates, duplicate dates,
    infinite values, or (``positive``) a value at or below zero.
    """
    if not isinstance(x.index, pd.DatetimeIndex):
        raise ValueError(f"{name}: the index must be dates (a DatetimeIndex), got {type(x.index).__name__}")
    s = pd.to_numeric(x, errors="coerce").astype(float).dropna().sort_index()
    dup = s.index[s.index.duplicated()]
    if len(dup):
        raise ValueError(f"{name}: duplicate date {dup[0].date().isoformat()} ({len(dup)} in all)")
    bad = s[~np.isfinite(s.to_numpy())]
    if len(bad):
        raise ValueError(f"{name}: value {bad.iloc[0]!r} on {bad.index[0].date().isoformat()} is not finite")
    if positive:
        low = s[s <= 0]
        if len(low):
            raise ValueError(
                f"{name}: value {low.iloc[0]:g} on {low.index[0].date().isoformat()} must be above zero"
            )
    return s


def episodes(index: pd.DatetimeIndex, state: np.ndarray, score: np.ndarray | None = None) -> pd.DataFrame:
    """One row per lifecycle episode: ``start`` (fired), ``end`` (resolved, NaT if still open),
    ``peak_level`` (0-3), ``peak`` (the highest score while firing, if ``score`` is given) and
    ``readings`` (how many readings it lasted)."""
    s = np.asarray(state, dtype=np.int8)
    on = s > OK
    edges = np.diff(np.concatenate([[False], on, [False]]).astype(np.int8))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)  # first ok reading after the episode
    rows = []
    for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
        seg = slice(a, b)
        row: dict[str, object] = {
            "start": index[a],
            "end": index[b] if b < len(index) else pd.NaT,
            "peak_level": int(s[seg].max()),
            "readings": int(b - a),
        }
        if score is not None:
            vals = np.asarray(score, dtype=float)[seg]
            row["peak"] = float(np.nanmax(vals)) if np.isfinite(vals).any() else float("nan")
        rows.append(row)
    cols = ["start", "end", "peak_level", "readings"] + (["peak"] if score is not None else [])
    return pd.DataFrame(rows, columns=cols)


def per_year(eps: pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp, min_level: int = ALERT) -> float:
    """Episodes reaching ``min_level`` per year of evaluated history."""
    years = (last - first).days / 365.25
    if years <= 0:
        return float("nan")
    return float((eps["peak_level"] >= min_level).sum() / years)


def usd_text(x: float) -> str:
    """The one money style of every message (as ``$1.46B`` for a BTC cascade): ``41.2e9`` ->
    ``$41B``; ``2.34e9`` -> ``$2.3B``; ``8.5e8`` -> ``$850M``; ``1.25e12`` -> ``$1.25T``; signed."""
    if not np.isfinite(x):
        return "n/a"
    a = abs(x)
    sign = "-" if x < 0 and a >= 0.5 else ""
    if a >= 1e12:
        return f"{sign}${a / 1e12:.2f}T"
    if a >= 10e9:
        return f"{sign}${a / 1e9:.0f}B"
    if a >= 1e9:
        return f"{sign}${a / 1e9:.1f}B"
    if a >= 1e6:
        return f"{sign}${a / 1e6:.0f}M"
    if a >= 1e3:
        return f"{sign}${a / 1e3:.0f}K"
    return f"{sign}${a:.0f}"


def pct_text(pct: float) -> str:
    """A percentile as an ordinal, capped below 100: ``99.7`` -> ``99.7th percentile``, ``99.2`` ->
    ``99.2nd percentile``, ``21`` -> ``21st percentile``."""
    if not np.isfinite(pct):
        return "n/a"
    p = min(pct, 99.9)
    if p >= 99.0 and round(p, 1) != 99.0:
        text, last = f"{p:.1f}", round(p * 10) % 10
        return f"{text}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(last, 'th') } percentile"
    n = round(p)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix} percentile"


def events(index: pd.DatetimeIndex, state: np.ndarray) -> pd.DataFrame:
    """The engine's events implied by a lifecycle: ``ts``, ``event`` (``fired``, ``escalated``,
    ``deescalated``, ``resolved``), ``level`` and ``prev`` (level numbers)."""
    s = np.asarray(state, dtype=np.int8)
    prev = np.concatenate([[OK], s[:-1]]) if len(s) else s
    at = np.flatnonzero(s != prev)
    rows = []
    for i in at.tolist():
        a, b = int(prev[i]), int(s[i])
        kind = "fired" if a == OK else "resolved" if b == OK else "escalated" if b > a else "deescalated"
        rows.append({"ts": index[i], "event": kind, "level": b, "prev": a})
    return pd.DataFrame(rows, columns=["ts", "event", "level", "prev"])
