"""The level rule of one window, from its figures (also what a guild's thresholds regrade)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from signals.base import Level, Params
from signals.btc_liq._vocab import RANK_DAYS


def ladder(value: float, thresholds: Sequence[float]) -> Level:
    lvl = Level.OK
    for i, thr in enumerate(thresholds, start=1):
        if value >= thr:
            lvl = Level(i)
    return lvl


def floor_usd(p: Params, window: str) -> float:
    return float(p[f"floor_{window}"]) * 1e6


def year_rank(rank: int, history_days: float, full_year: bool = False) -> float:
    """A rank among ``history_days`` of history, as a rank in a year. With a full trailing year
    the rank is one already (``history_days`` is then a window short of 365: the window's own
    period is not in it, so scaling would turn the 5th of a year into the 5.01th)."""
    if full_year:
        return float(rank)
    return 1 + (rank - 1) * RANK_DAYS / max(history_days, 1e-9)


def top_rank(top_n: int, history_days: float, full_year: bool = False) -> int:
    """The lowest place that is still in the top ``top_n`` of a year (the inverse of :func:`year_rank`)."""
    if full_year:
        return top_n
    return 1 + math.floor((top_n - 1) * history_days / RANK_DAYS)


def min_rank_days(p: Params) -> float:
    """History a rank needs: the span in which a steady market makes one top-N window."""
    return RANK_DAYS / float(p["top_n"])


def window_level(name: str, w: Mapping[str, Any], p: Params) -> Level:
    """A window's level from its own figures (the ``data["windows"]`` entry of a reading) under
    ``p``: the rule of :meth:`Tracker._judge`, from what the reading recorded. With the params the
    reading was made with it is the window's level (tests check it on every reading); with a
    guild's params it regrades the window. Ranks are looked up only for windows that reached a
    watch under the global params, so a window below that gets no rank: ok."""
    kw, ka, ks = float(p["k_watch"]), float(p["k_alert"]), float(p["k_severe"])
    floor = floor_usd(p, name)
    norm = float(w.get("norm_usd") or 0.0)
    med = w.get("median_usd")
    if med is None or med <= 0:
        base = max(floor, float(w.get("rough_usd") or 0.0))
        if norm < floor or norm < kw * base:
            return Level.OK
        return Level.ALERT if norm >= ks * base else Level.WATCH
    med = float(med)
    if norm < floor or norm < kw * med:
        return Level.OK
    if not w.get("checked") or w.get("rank") is None:
        return Level.OK
    mult = norm / med
    since = w.get("largest_for_s")
    watch = since is None or since >= int(p["watch_days"]) * 86400
    days = float(w.get("history_days") or 0.0)
    if days < min_rank_days(p):
        if mult >= ks and norm >= ks * floor:
            return Level.ALERT
        return Level.WATCH if watch else Level.OK
    rank = int(w["rank"])
    if rank == 1 and (w.get("full_year") or days >= float(p["record_days"])):
        return Level.SEVERE
    top_n = int(p["top_n"])
    mult_rank = w.get("multiple_rank")
    full = bool(w.get("full_year"))
    top = year_rank(rank, days, full) <= top_n
    top_mult = mult_rank is not None and year_rank(int(mult_rank), days, full) <= top_n
    if top or top_mult:
        return Level.ALERT if mult >= ka else Level.WATCH
    return Level.WATCH if watch else Level.OK


def reading_level(figures: Mapping[str, Any], p: Params) -> Level | None:
    """A reading's entry level from its figures (None when it carries no window figures): ok
    when the market is calm, else its strongest window's level."""
    wins = figures.get("windows")
    if not isinstance(wins, Mapping) or not wins:
        return None
    if figures.get("calm"):
        return Level.OK
    return max(window_level(str(n), w, p) for n, w in wins.items() if isinstance(w, Mapping))
