"""The detectors of one meeting over the reading grid: swing, majority flip and venue divergence
(plus the size key's arrays), as arrays (:class:`_Calc`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from signals import fomc
from signals.base import Level, Params
from signals.ratecut._size import SizeVenue
from signals.ratecut._size_detect import SizeCalc, size_calc
from signals.ratecut._venues import _Venue, lags, load_venue, whip_confirmed
from signals.ratecut._vocab import CROSS_CHECK, VENUES, swing_ladder, swing_windows
from storage.observations import Inputs


@dataclass
class _Calc:
    """Everything one meeting's readings need, as arrays over the reading grid."""

    meeting: fomc.Meeting
    grid: np.ndarray
    venues: dict[str, _Venue]
    idx: dict[str, np.ndarray]  # as-of index into the venue's points (-1 = none)
    fresh: dict[str, np.ndarray]  # bool
    primary: np.ndarray  # index into VENUES (Kalshi, else Polymarket, else FedWatch), -1 = none
    pnow: np.ndarray  # the primary venue's P(cut)
    mult: np.ndarray
    win: np.ndarray  # seconds of the window that gave ``mult``
    move: np.ndarray  # signed move in probability in that window
    other_move: np.ndarray  # the other venue's move the same way (NaN = not checked)
    confirmed: np.ndarray
    whip: np.ndarray  # (n, 5): a, b, c, t_a, t_b of a whipsaw at the primary, NaN when none
    swing_level: np.ndarray
    swing_hold: np.ndarray
    side: np.ndarray  # +1 cut majority, -1 no-cut majority, 0 not yet known
    last_flip: np.ndarray  # epoch of the latest flip (0 = none)
    flips: np.ndarray  # flips in the current chain, 0 when no flip is recent
    flip_level: np.ndarray
    gap: np.ndarray  # probability
    gap_pair: list[str]
    gap_since: np.ndarray
    #: per venue and lag label: P(cut) that long before each grid time (NaN = none near enough)
    lags: dict[str, dict[str, np.ndarray]]
    div_level: np.ndarray
    div_hold: np.ndarray
    closing: bool  # data goes past the statement: a closing reading is due
    size: SizeCalc | None = None


@dataclass
class _Grid:
    """The reading grid of one meeting and each venue's fresh quote on it."""

    venues: dict[str, _Venue]
    grid: np.ndarray
    idx: dict[str, np.ndarray]
    fresh: dict[str, np.ndarray]
    pv: dict[str, np.ndarray]  # each venue's P(cut) where fresh (NaN elsewhere)
    primary: np.ndarray
    pnow: np.ndarray
    closing: bool


def reading_grid(inputs: Inputs, p: Params, meeting: fomc.Meeting, next_two_only: bool) -> _Grid | None:
    """Every venue's points before the statement (from two meetings back), which venue is
    fresh at each, and the one the swing and the flip are measured on."""
    venues = {v: x for v in VENUES if (x := load_venue(inputs, v, meeting, p)) is not None}
    if not venues:
        return None
    close = int(meeting.closes_utc.timestamp())
    prev2 = fomc.previous(meeting, 2)
    first = int(prev2.closes_utc.timestamp()) if prev2 else -(2**62)
    grid = np.unique(np.concatenate([v.ts for v in venues.values()]))
    grid = grid[((grid >= first) | (not next_two_only)) & (grid < close)]
    data_end = int(pd.DatetimeIndex(inputs.values.index).as_unit("s").asi8.max()) if len(inputs.values) else 0
    n = len(grid)
    stale = int(p["stale_minutes"] * 60)
    idx: dict[str, np.ndarray] = {}
    fresh: dict[str, np.ndarray] = {}
    pv: dict[str, np.ndarray] = {}
    for name, v in venues.items():
        ix = np.searchsorted(v.ts, grid, side="right") - 1
        ok = ix >= 0
        age = np.where(ok, grid - v.ts[np.maximum(ix, 0)], np.iinfo(np.int64).max)
        idx[name] = ix
        fresh[name] = ok & (age <= stale)
        pv[name] = np.where(fresh[name], v.p[np.maximum(ix, 0)], np.nan)
    # the venue the swing and the flip are measured on: Kalshi, else Polymarket, else the
    # daily FedWatch point (an import-only history still gets its alerts)
    primary = np.full(n, -1, dtype=np.int64)
    for k, name in reversed(list(enumerate(VENUES))):
        if name in fresh:
            primary[fresh[name]] = k
    pnow = np.full(n, np.nan)
    for k, name in enumerate(VENUES):
        if name in pv:
            pnow[primary == k] = pv[name][primary == k]
    return _Grid(venues, grid, idx, fresh, pv, primary, pnow, data_end >= close)


def swing(g: _Grid, p: Params) -> dict[str, np.ndarray]:
    """The largest move per window at the primary venue, as a multiple of that window's size;
    checked against the other venue; a whipsaw is severe."""
    venues, idx, fresh, primary, grid = g.venues, g.idx, g.fresh, g.primary, g.grid
    n = len(grid)
    mult = np.zeros(n)
    win = np.zeros(n, dtype=np.int64)
    move = np.zeros(n)
    other_move = np.full(n, np.nan)
    whip = np.full((n, 5), np.nan)
    for k, name in enumerate(VENUES):
        if name not in venues:
            continue
        v = venues[name]
        sel = primary == k
        if not sel.any():
            continue
        ix = idx[name][sel]
        cur = v.p[ix]
        best = np.zeros(len(ix))
        bw = np.zeros(len(ix), dtype=np.int64)
        bm = np.zeros(len(ix))
        for w, size in swing_windows(p):
            rmax, rmin = v.roll[w]
            up, down = cur - rmin[ix], rmax[ix] - cur
            mv = np.where(up >= down, up, -down)
            m = np.abs(mv) / size
            better = m > best + 1e-12
            best, bw, bm = np.where(better, m, best), np.where(better, w, bw), np.where(better, mv, bm)
        mult[sel], win[sel], move[sel] = best, bw, bm
        if v.whip is not None:
            whip[sel] = v.whip[ix]
        other = CROSS_CHECK.get(name)
        if other is not None and other in venues:
            o = venues[other]
            both = sel & fresh[other]
            oi = idx[other][both]
            sub = np.nonzero(both[sel])[0]
            ocur = o.p[oi]
            om = np.full(len(oi), np.nan)
            for w, _size in swing_windows(p):
                rmax, rmin = o.roll[w]
                pick = bw[sub] == w
                up_o, down_o = ocur - rmin[oi], rmax[oi] - ocur
                om = np.where(pick, np.where(bm[sub] >= 0, up_o, down_o), om)
            other_move[both] = om
    ladder = swing_ladder(p)
    level = np.zeros(n, dtype=np.int64)
    for t in ladder:
        level += (mult >= t - 1e-9).astype(np.int64)
    share = p["cross_check"]
    confirmed = np.isnan(other_move) | (other_move >= share * np.abs(move) - 1e-9)
    level = np.where(confirmed, level, np.minimum(level, int(Level.WATCH)))
    # a whipsaw is severe; its own check is the other venue's second leg (the window's last
    # move, checked above, may be the reversal's tail only)
    is_whip = ~np.isnan(whip[:, 0]) & whip_confirmed(whip, primary, venues, idx, fresh, grid, share)
    level = np.where(is_whip, int(Level.SEVERE), level)
    whip[~is_whip] = np.nan
    level[primary < 0] = 0
    hold = np.zeros(n, dtype=np.int64)
    peak = 0
    for i in range(n):
        if primary[i] >= 0 and mult[i] >= p["exit_ratio"] - 1e-9:
            peak = max(peak, int(level[i]))
            hold[i] = peak
        else:
            peak = 0
    return {
        "mult": mult,
        "win": win,
        "move": move,
        "other_move": other_move,
        "confirmed": confirmed,
        "whip": whip,
        "level": level,
        "hold": hold,
    }


def flip(g: _Grid, p: Params) -> dict[str, np.ndarray]:
    """The majority side with hysteresis and confirmation; a flip is an alert for ``flip_hours``,
    a flip back within that time severe."""
    grid, pnow = g.grid, g.pnow
    n = len(grid)
    band = p["flip_band"] / 100
    confirm = int(p["confirm"])
    flip_s = int(p["flip_hours"] * 3600)
    side = np.zeros(n, dtype=np.int64)
    last_flip = np.zeros(n, dtype=np.int64)
    flips = np.zeros(n, dtype=np.int64)  # flips in the current chain (each within flip_hours)
    cur_side, cand, run, lf, chain = 0, 0, 0, 0, 0
    for i in range(n):
        x = pnow[i]
        if not np.isnan(x):
            want = 1 if x >= 0.5 + band - 1e-9 else -1 if x <= 0.5 - band + 1e-9 else 0
            if want == 0 or want == cur_side:
                cand, run = 0, 0
            else:
                run = run + 1 if cand == want else 1
                cand = want
                if run >= confirm:
                    if cur_side != 0:
                        t = int(grid[i])
                        chain = chain + 1 if lf and t - lf < flip_s else 1
                        lf = t
                    cur_side, cand, run = want, 0, 0
        side[i], last_flip[i] = cur_side, lf
        if lf and grid[i] - lf < flip_s and not np.isnan(x):
            flips[i] = chain
    flip_level = np.where(flips >= 2, int(Level.SEVERE), np.where(flips == 1, int(Level.ALERT), 0))
    return {"side": side, "last_flip": last_flip, "flips": flips, "level": flip_level}


def divergence(g: _Grid, p: Params) -> tuple[dict[str, np.ndarray], list[str]]:
    """The widest gap between fresh venues, and the pair; an alert once it has lasted."""
    grid, pv = g.grid, g.pv
    n = len(grid)
    gap = np.zeros(n)
    pair = [""] * n
    stack = [(name, pv[name]) for name in VENUES if name in pv]
    if len(stack) >= 2:
        vals = np.vstack([a for _, a in stack])
        cnt = np.sum(~np.isnan(vals), axis=0)
        hi = np.where(cnt >= 2, np.nanmax(np.where(np.isnan(vals), -np.inf, vals), axis=0), np.nan)
        lo = np.where(cnt >= 2, np.nanmin(np.where(np.isnan(vals), np.inf, vals), axis=0), np.nan)
        gap = np.where(cnt >= 2, hi - lo, 0.0)
        ihi = np.argmax(np.where(np.isnan(vals), -np.inf, vals), axis=0)
        ilo = np.argmin(np.where(np.isnan(vals), np.inf, vals), axis=0)
        for j in np.nonzero(cnt >= 2)[0].tolist():
            pair[j] = f"{stack[ihi[j]][0]}>{stack[ilo[j]][0]}"
    dpp, dexit = p["diverge_pp"] / 100, p["diverge_exit_pp"] / 100
    need = int(p["diverge_minutes"] * 60)
    since = np.zeros(n, dtype=np.int64)
    div_level = np.zeros(n, dtype=np.int64)
    div_hold = np.zeros(n, dtype=np.int64)
    start = 0
    for i in range(n):
        gi = gap[i]
        if gi >= dpp - 1e-9:
            start = start or int(grid[i])
            since[i] = start
            lasting = grid[i] - start >= need
            div_level[i] = (
                int(Level.SEVERE) if lasting and gi >= 2 * dpp - 1e-9 else int(Level.ALERT) if lasting else 1
            )
        else:
            start = 0
        div_hold[i] = (
            int(Level.SEVERE) if gi >= 2 * dexit - 1e-9 else int(Level.ALERT) if gi >= dexit - 1e-9 else 0
        )
    return {"gap": gap, "since": since, "level": div_level, "hold": div_hold}, pair


def compute(
    inputs: Inputs,
    p: Params,
    meeting: fomc.Meeting,
    *,
    next_two_only: bool = True,
    cache: dict[tuple[str, str], SizeVenue | None] | None = None,
) -> _Calc | None:
    """Everything one meeting's readings need (None: no venue has its odds)."""
    g = reading_grid(inputs, p, meeting, next_two_only)
    if g is None:
        return None
    sw, fl = swing(g, p), flip(g, p)
    dv, pair = divergence(g, p)
    return _Calc(
        meeting=meeting,
        grid=g.grid,
        venues=g.venues,
        idx=g.idx,
        fresh=g.fresh,
        primary=g.primary,
        pnow=g.pnow,
        mult=sw["mult"],
        win=sw["win"],
        move=sw["move"],
        other_move=sw["other_move"],
        confirmed=sw["confirmed"],
        whip=sw["whip"],
        swing_level=sw["level"],
        swing_hold=sw["hold"],
        side=fl["side"],
        last_flip=fl["last_flip"],
        flips=fl["flips"],
        flip_level=fl["level"],
        gap=dv["gap"],
        gap_pair=pair,
        gap_since=dv["since"],
        div_level=dv["level"],
        div_hold=dv["hold"],
        closing=g.closing,
        lags=lags(g.venues, g.grid),
        size=size_calc(
            inputs, p, meeting, g.grid, cache if cache is not None else {}, sw["level"] >= int(Level.ALERT)
        ),
    )
