"""The size key's detector over the reading grid: moves against their sizes, checks and whipsaws."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from signals import fomc
from signals.base import Level, Params
from signals.ratecut._size import SizeVenue, load_size, size_windows, swing_residual
from signals.ratecut._vocab import CROSS_CHECK, VENUES, swing_windows
from storage.observations import Inputs


@dataclass
class SizeCalc:
    venues: dict[str, SizeVenue]
    primary: np.ndarray  # venue name index into order, -1 none
    order: tuple[str, ...]
    idx: dict[str, np.ndarray]
    fresh: dict[str, np.ndarray]
    mult: np.ndarray
    win: np.ndarray
    move: np.ndarray  # bp, signed
    size: np.ndarray  # bp: the size of the window that gave mult
    baseline: np.ndarray  # bp (NaN: too little history)
    other_move: np.ndarray  # bp the confirming venue moved the same way (NaN: not checked)
    confirmed: np.ndarray
    echo: np.ndarray  # bp the nearer meeting's path moved the same way (NaN: not checked)
    echoed: np.ndarray  # bool: held at watch as an echo
    whip: np.ndarray  # (n, 5) the primary venue's size whipsaw, NaN when none
    #: bp of the move the change of direction does not explain (checked where the swing alerts)
    residual: np.ndarray
    level: np.ndarray
    hold: np.ndarray


def analyse(
    venues: Mapping[str, SizeVenue],
    nearer: Mapping[str, SizeVenue],
    grid: np.ndarray,
    order: tuple[str, ...],
    cross: Mapping[str, str],
    wins: list[tuple[int, float]],
    p: Params,
    stale: int,
    swinging: np.ndarray | None = None,
) -> SizeCalc:
    """The size key's arrays over the reading grid (the swing's grid). ``swinging``: where the
    swing key is at alert or above (a repricing it tells is not told again)."""
    n = len(grid)
    idx: dict[str, np.ndarray] = {}
    fresh: dict[str, np.ndarray] = {}
    for name, v in venues.items():
        ix = np.searchsorted(v.ts, grid, side="right") - 1
        ok = ix >= 0
        age = np.where(ok, grid - v.ts[np.maximum(ix, 0)], np.iinfo(np.int64).max)
        idx[name], fresh[name] = ix, ok & (age <= stale)
    primary = np.full(n, -1, dtype=np.int64)
    for k, name in reversed(list(enumerate(order))):
        if name in fresh:
            primary[fresh[name]] = k
    mult, move, size = np.zeros(n), np.zeros(n), np.zeros(n)
    win = np.zeros(n, dtype=np.int64)
    baseline = np.full(n, np.nan)
    other_move, echo = np.full(n, np.nan), np.full(n, np.nan)
    whip = np.full((n, 5), np.nan)
    kmult = p["size_baseline_k"]
    for k, name in enumerate(order):
        if name not in venues:
            continue
        v = venues[name]
        sel = np.nonzero(primary == k)[0]
        if not len(sel):
            continue
        ix = idx[name][sel]
        if v.whip is not None:
            whip[sel] = v.whip[ix]
        for w, floor in wins:
            best, base_w = v.best[w]
            # the baseline as it stood when the window opened (the move itself never raises it)
            bix = np.searchsorted(v.ts, v.ts[ix] - w, side="right") - 1
            bl = np.where(bix >= 0, base_w[np.maximum(bix, 0)], np.nan)
            sz = np.where(np.isnan(bl), floor, np.maximum(floor, kmult * np.nan_to_num(bl)))
            m = np.abs(best[ix]) / sz
            better = m > mult[sel] + 1e-12
            upd = sel[better]
            mult[upd], move[upd], size[upd] = m[better], best[ix][better], sz[better]
            win[upd], baseline[upd] = w, bl[better]
        # the other venue's move over the same window, the same way
        other = cross.get(name)
        if other is not None and other in venues:
            o = venues[other]
            both = sel[fresh[other][sel]]
            if len(both):
                oi = idx[other][both]
                for w, _floor in wins:
                    pick = win[both] == w
                    ob = o.best[w][0][oi]
                    same_way = np.where(move[both] >= 0, np.maximum(ob, 0), np.maximum(-ob, 0))
                    other_move[both[pick]] = same_way[pick]
        # the nearer meeting's path over the same window at the same venue
        near = nearer.get(name)
        if near is not None:
            ni = np.searchsorted(near.ts, grid[sel], side="right") - 1
            ok = (ni >= 0) & (grid[sel] - near.ts[np.maximum(ni, 0)] <= stale)
            for w, _floor in wins:
                pick = ok & (win[sel] == w)
                nb = near.best[w][0][np.maximum(ni, 0)]
                same_way = np.where(move[sel] >= 0, np.maximum(nb, 0), np.maximum(-nb, 0))
                echo[sel[pick]] = same_way[pick]
    ladder = [p["size_watch"], 1.0, p["severe_ratio"]]
    level = np.zeros(n, dtype=np.int64)
    for t in ladder:
        level += (mult >= t - 1e-9).astype(np.int64)
    confirmed = np.isnan(other_move) | (other_move >= p["cross_check"] * np.abs(move) - 1e-9)
    echoed = ~np.isnan(echo) & (echo >= p["size_echo"] * np.abs(move) - 1e-9) & (np.abs(move) > 0)
    level = np.where(confirmed & ~echoed, level, np.minimum(level, int(Level.WATCH)))
    # a repricing and its reversal within the whipsaw window is severe (the July 2019 walk-back)
    is_whip = ~np.isnan(whip[:, 0]) & confirmed & ~echoed
    level = np.where(is_whip, int(Level.SEVERE), level)
    whip[~is_whip] = np.nan
    level[primary < 0] = 0
    # what the swing tells already: a change of the expected move that the change of P(cut) (and
    # P(hike)) at one step explains, the odds of the sizes unchanged, stays at watch
    residual = np.full(n, np.nan)
    if swinging is not None:
        for k in np.flatnonzero((level >= int(Level.ALERT)) & swinging).tolist():
            name = order[int(primary[k])]
            r = swing_residual(venues[name], int(idx[name][k]), int(win[k]), float(move[k]))
            if r is not None:
                residual[k] = r
                if abs(r) < size[k] - 1e-9:
                    level[k] = int(Level.WATCH)
    hold = np.zeros(n, dtype=np.int64)
    peak = 0
    for i in range(n):
        if primary[i] >= 0 and mult[i] >= p["exit_ratio"] - 1e-9:
            peak = max(peak, int(level[i]))
            hold[i] = peak
        else:
            peak = 0
    return SizeCalc(
        venues=dict(venues),
        primary=primary,
        order=order,
        idx=idx,
        fresh=fresh,
        mult=mult,
        win=win,
        move=move,
        size=size,
        baseline=baseline,
        other_move=other_move,
        confirmed=confirmed,
        echo=echo,
        echoed=echoed,
        whip=whip,
        residual=residual,
        level=level,
        hold=hold,
    )


def size_calc(
    inputs: Inputs,
    p: Params,
    meeting: fomc.Meeting,
    grid: np.ndarray,
    cache: dict[tuple[str, str], SizeVenue | None],
    swinging: np.ndarray | None = None,
) -> SizeCalc | None:
    """The size key's arrays (None when no venue publishes sizes for this meeting)."""
    wins = size_windows(p, swing_windows(p))

    def get(venue: str, m: fomc.Meeting) -> SizeVenue | None:
        key = (venue, m.id)
        if key not in cache:
            cache[key] = load_size(inputs, venue, m, p, wins)
        return cache[key]

    venues = {v: x for v in VENUES if (x := get(v, meeting)) is not None}
    if not venues:
        return None
    prev = fomc.previous(meeting)
    nearer = {v: x for v in venues if prev is not None and (x := get(v, prev)) is not None}
    stale = int(p["stale_minutes"] * 60)
    return analyse(venues, nearer, grid, VENUES, CROSS_CHECK, wins, p, stale, swinging)
