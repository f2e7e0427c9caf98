"""ratecut's ``size`` key: a repricing of a meeting's expected move or path, in bp, in any cycle.

P(cut) is blind to what moved markets in 2019 (50 bp rather than 25), 2022 (75 rather than 50) or
2023 (hikes priced out): it sits at 0 through a hiking cycle and at 1 when a cut is certain. The
``size`` key watches the expected path through the meeting (``path_bp``: the sum of the expected
moves of the meetings up to it, CME's cumulative tree; for the next meeting, its own expected move),
which is far steadier than a later meeting's own move.

- **move**: per window (1 h, 24 h, 72 h by default) the largest change of the path at the primary
  venue (Kalshi, else Polymarket, else FedWatch's daily settlement), never across the statement of
  an earlier meeting (a decision changes the range the path is measured from);
- **size**: the change that is a repricing in that window is the larger of a floor (``size_bp``:
  3 / 5 / 7.5 bp) and ``size_baseline_k`` times the window's median change over the last
  ``size_baseline_days`` of the same venue and meeting (the signal's own history: a busy week needs
  a bigger move than a calm one). The value is the move as a multiple of the size; the levels are
  ``size_watch`` of the size (0.7) is ``watch``, one ``alert``, twice ``severe``;
- **confirmation**: when another venue is fresh it must move at least ``cross_check`` of the way in
  the same direction, or the level stays at ``watch``; a later meeting whose path moved no further
  than the nearer meeting's in the same direction (``size_echo``) is that repricing told again, and
  stays at ``watch`` (the nearer meeting's key carries it);
- an episode keeps its highest level until every move is below ``exit_ratio`` of its size.

Only venues that publish sizes feed it: the recorded December-2025 order books hold the hold outcome
alone, so they give P(cut) = 1 − P(hold) and no size alert.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from signals import fomc
from signals.base import Level, Param, Params
from signals.fomc_dist import Bucket, parse_suffix
from storage.observations import Inputs

#: ZQ futures settle at 2:00 pm Chicago time; daily FedWatch points count from then
SETTLE_TZ = ZoneInfo("America/Chicago")
SETTLE_TIME = time(14, 0)

PARAMS = (
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


def settlement_times(idx: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """00:00 UTC trading dates -> the 2:00 pm Chicago futures settlement of that date, in UTC."""
    naive = idx.tz_localize(None).normalize() + pd.Timedelta(
        hours=SETTLE_TIME.hour, minutes=SETTLE_TIME.minute
    )
    return naive.tz_localize(SETTLE_TZ).tz_convert("UTC")


def venue_index(venue: str, idx: pd.DatetimeIndex) -> np.ndarray:
    """Epoch seconds a venue's points count from (FedWatch: the settlement of the trade date)."""
    if venue == "fedwatch":
        idx = settlement_times(idx)
    return pd.DatetimeIndex(idx).as_unit("s").asi8.astype(np.int64)


def windows(p: Params, swing: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """(seconds, floor in bp) per window: the swing's windows with the size floors."""
    floors = (p["size_short_bp"], p["size_bp"], p["size_long_bp"])
    return [(w, f) for (w, _), f in zip(swing, floors, strict=True)]


@dataclass
class SizeVenue:
    name: str
    ts: np.ndarray
    path: np.ndarray  # bp
    on_path: bool  # the measure is the path (False: the meeting's own expected move)
    seg: np.ndarray  # segment id: the statements of earlier meetings split the series
    source: str
    #: the venue's buckets -> probability at each point (NaN: not published then)
    buckets: dict[Bucket, np.ndarray] = field(default_factory=dict)
    rate: np.ndarray | None = None  # FedWatch: expected target rate after the meeting, percent
    #: per window: best signed move (bp) and the baseline (bp) at each point
    best: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    #: per point: a size whipsaw ending there (first leg from, turn, now; times of the first two) or NaN
    whip: np.ndarray | None = None


def _series(inputs: Inputs, name: str, venue: str, close: int) -> tuple[np.ndarray, np.ndarray]:
    s = inputs.series(name)
    if s.empty:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    ts = venue_index(venue, pd.DatetimeIndex(s.index))
    vals = s.to_numpy(dtype=float)
    keep = (ts < close) & np.isfinite(vals)
    return ts[keep], vals[keep]


def _at(inputs: Inputs, name: str, venue: str, close: int, ts: np.ndarray) -> np.ndarray:
    """Series ``name`` at exactly the times ``ts`` (NaN where it has no point)."""
    sts, svals = _series(inputs, name, venue, close)
    if not len(sts):
        return np.full(len(ts), np.nan)
    k = np.clip(np.searchsorted(sts, ts), 0, len(sts) - 1)
    return np.where(sts[k] == ts, svals[k], np.nan)


def boundaries(meeting: fomc.Meeting) -> np.ndarray:
    """Statements before this meeting's: each changes the range the path is measured from."""
    own = int(meeting.statement_utc.timestamp())
    return np.array(
        sorted(
            int(m.statement_utc.timestamp())
            for m in fomc.calendar()
            if int(m.statement_utc.timestamp()) < own
        ),
        dtype=np.int64,
    )


def load(
    inputs: Inputs, venue: str, meeting: fomc.Meeting, p: Params, wins: list[tuple[int, float]]
) -> SizeVenue | None:
    close = int(meeting.closes_utc.timestamp())
    base = f"{venue}.fomc.{meeting.id}"
    ts, vals = _series(inputs, f"{base}.path_bp", venue, close)
    on_path = True
    if not len(ts):
        ts, vals = _series(inputs, f"{base}.move_bp", venue, close)
        on_path = False
    if not len(ts):
        return None
    seg = np.searchsorted(boundaries(meeting), ts, side="right")
    v = SizeVenue(venue, ts, vals, on_path, seg, inputs.last_source.get(f"{base}.path_bp", venue))
    # the venue's own buckets (FedWatch's exact steps, the markets' open-ended ones) at the
    # measure's points; a bucket without a point at a time where others have one is at zero
    for col in inputs.values.columns:
        name = str(col)
        b = parse_suffix(name[len(base) + 1 :]) if name.startswith(base + ".") else None
        if b is not None:
            v.buckets[b] = _at(inputs, name, venue, close, ts)
    if v.buckets:
        stack = np.vstack(list(v.buckets.values()))
        some = ~np.isnan(stack).all(axis=0)
        v.buckets = {b: np.where(some & np.isnan(a), 0.0, a) for b, a in v.buckets.items()}
    rate = _at(inputs, f"{base}.rate", venue, close, ts)
    v.rate = rate if np.isfinite(rate).any() else None
    days = p["size_baseline_days"] * 86400
    for w, _floor in wins:
        best = _best_moves(ts, vals, seg, w)
        v.best[w] = (best, _baseline(ts, np.abs(best), int(days)))
    main_w, main_floor = wins[1]
    main_base = v.best[main_w][1]
    leg = np.where(
        np.isnan(main_base),
        main_floor,
        np.maximum(main_floor, p["size_baseline_k"] * np.nan_to_num(main_base)),
    )
    v.whip = _whipsaws(ts, vals, seg, leg, int(p["whipsaw_hours"] * 3600), p["whipsaw_ratio"])
    return v


def _whipsaws(
    ts: np.ndarray, vals: np.ndarray, seg: np.ndarray, leg: np.ndarray, w: int, ratio: float
) -> np.ndarray:
    """Per point: (a, b, c, t_a, t_b) when the window ending there (same segment) holds a
    repricing of at least ``leg`` bp and a reversal of at least ``leg`` and ``ratio`` of it."""
    out = np.full((len(ts), 5), np.nan)
    starts = np.maximum(np.searchsorted(ts, ts - w, side="left"), np.searchsorted(seg, seg, side="left"))
    # only windows whose range reaches a leg can hold one (the rolling range, per segment)
    span = np.zeros(len(ts))
    cuts = np.flatnonzero(np.diff(seg)) + 1
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(ts)], strict=True):
        r = pd.Series(vals[a:b], index=pd.to_datetime(ts[a:b], unit="s")).rolling(
            pd.Timedelta(seconds=w), closed="both"
        )
        span[a:b] = (r.max() - r.min()).to_numpy()
    for i in np.flatnonzero(span >= leg[starts] - 1e-9):
        j = int(starts[i])
        if i - j < 2:
            continue
        part = vals[j : i + 1]
        size = float(leg[j])
        for sign in (1.0, -1.0):
            x = sign * part
            k = len(x) - 1 - int(np.argmin(x[::-1]))  # the turn: the last extreme
            ka = int(np.argmax(x[: k + 1]))
            leg1, leg2 = x[ka] - x[k], x[-1] - x[k]
            if leg1 >= size - 1e-9 and leg2 >= size - 1e-9 and leg2 >= ratio * leg1 - 1e-9:
                out[i] = (part[ka], part[k], part[-1], ts[j + ka], ts[j + k])
                break
    return out


def _best_moves(ts: np.ndarray, vals: np.ndarray, seg: np.ndarray, w: int) -> np.ndarray:
    """Per point: the largest signed change from a point within ``w`` seconds before it (never
    across a segment boundary) to it."""
    best = np.zeros(len(ts))
    cuts = np.flatnonzero(np.diff(seg)) + 1
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(ts)], strict=True):
        ser = pd.Series(vals[a:b], index=pd.to_datetime(ts[a:b], unit="s"))
        r = ser.rolling(pd.Timedelta(seconds=w), closed="both")
        cur = vals[a:b]
        up, down = cur - r.min().to_numpy(), cur - r.max().to_numpy()
        best[a:b] = np.where(up >= -down, up, down)
    return best


def _residual(v: SizeVenue, j: int, w: int, move: float) -> float | None:
    """The part of the path's change at ``j`` that the change of P(cut) and P(hike) at one 25 bp
    step does not explain: the repricing of sizes (None without buckets)."""
    if not v.buckets:
        return None
    s = window_start(v, j, w, move)
    d_cut = sum(float(a[j] - a[s]) for b, a in v.buckets.items() if b.move < 0)
    d_hike = sum(float(a[j] - a[s]) for b, a in v.buckets.items() if b.move > 0)
    if not (np.isfinite(d_cut) and np.isfinite(d_hike)):
        return None
    return float(v.path[j] - v.path[s]) - 25.0 * (d_hike - d_cut)


def window_start(v: SizeVenue, j: int, w: int, move: float) -> int:
    """The index of the point the move at ``j`` (within ``w`` seconds, same segment) started from."""
    lo = max(
        int(np.searchsorted(v.ts, v.ts[j] - w, side="left")),
        int(np.searchsorted(v.seg, v.seg[j], side="left")),
    )
    if lo >= j:
        return j
    window = v.path[lo:j][::-1]  # the last time it stood at the extreme: when the move began
    return j - 1 - int(np.argmin(window) if move >= 0 else np.argmax(window))


def _baseline(ts: np.ndarray, absmove: np.ndarray, days: int) -> np.ndarray:
    """The median of the window's absolute change over the last ``days`` seconds, at each point
    (NaN with fewer than five points)."""
    ser = pd.Series(absmove, index=pd.to_datetime(ts, unit="s"))
    r = ser.rolling(pd.Timedelta(seconds=days), closed="both")
    med = r.median().to_numpy()
    cnt = r.count().to_numpy()
    return np.where(cnt >= 5, med, np.nan)


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
            r = _residual(venues[name], int(idx[name][k]), int(win[k]), float(move[k]))
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


# -- text ------------------------------------------------------------------------------------------


def _pct(x: float) -> str:
    return "n/a" if x != x else f"{round(x * 100):d} %"


def _bp(x: float) -> str:
    v = round(x)
    return f"{'−' if v < 0 else '+' if v > 0 else ''}{abs(v)} bp"


def _span(seconds: float) -> str:
    h = seconds / 3600
    if h < 36:
        return f"{h:.0f} h" if h >= 1 else f"{seconds / 60:.0f} min"
    return f"{h / 24:.0f} days"


def describe(
    calc: SizeCalc,
    i: int,
    meeting: fomc.Meeting,
    p: Params,
    names: Mapping[str, str],
    cross: Mapping[str, str],
) -> dict[str, Any]:
    """What a size reading says at grid point ``i``: its value, text, checks, fields and data."""
    k = int(calc.primary[i])
    name = calc.order[k]
    v = calc.venues[name]
    j = int(calc.idx[name][i])
    mult, mv, size = float(calc.mult[i]), float(calc.move[i]), float(calc.size[i])
    s = window_start(v, j, int(calc.win[i]), mv)
    now_v, then_v = float(v.path[j]), float(v.path[s])
    d = meeting.decision_date
    short = f"{d:%b} {d.day}"
    what = "expected move" if not v.on_path or is_next(meeting, int(v.ts[j])) else "expected path to it"
    parts = []
    if v.buckets and s != j:
        moves = {
            b: float(arr[j] - arr[s])
            for b, arr in v.buckets.items()
            if np.isfinite(arr[j]) and np.isfinite(arr[s])
        }
        if moves:
            # the bucket whose odds moved most; between near-equal ones, the larger move
            b = max(moves, key=lambda x: (round(abs(moves[x]) * 50), abs(x.move)))
            parts.append(f"odds of {b.label} {_pct(float(v.buckets[b][s]))} → {_pct(float(v.buckets[b][j]))}")
    head = f"{short}: " + (", ".join(parts) + f" in {_span(int(v.ts[j]) - int(v.ts[s]))}; " if parts else "")
    text = f"{head}{what} {_bp(now_v)} (was {_bp(then_v)})"
    wh = calc.whip[i]
    value = mult
    if np.isfinite(wh[0]):  # a whipsaw: its whole travel counts, as the swing's does
        value = max(mult, (abs(wh[1] - wh[0]) + abs(wh[2] - wh[1])) / size)
        days = (int(v.ts[j]) - wh[3]) / 86400
        text = (
            f"{short}: WHIPSAW of the {what}: {_bp(wh[0])} → {_bp(wh[1])} → {_bp(wh[2])} within {days:.1f} days "
            f"({_bp(wh[1] - wh[0])} then {_bp(wh[2] - wh[1])}); " + text[len(short) + 2 :]
        )
    if v.rate is not None and np.isfinite(v.rate[j]) and np.isfinite(v.rate[s]):
        text += f", expected rate after it {v.rate[j]:.2f} % (was {v.rate[s]:.2f} %)"
    text += f" on {names[name]}"
    if mult > 0:
        text += f" ({mult:.1f}× the {size:.1f} bp repricing size"
        if np.isfinite(calc.baseline[i]):
            text += f"; median change {calc.baseline[i]:.1f} bp"
        text += ")"
    check = ""
    if not np.isnan(calc.other_move[i]) and mult > 0:
        check = f"; {names[cross[name]]} {'−' if mv < 0 else '+'}{calc.other_move[i]:.0f} bp the same way"
        if not calc.confirmed[i]:
            check += " (not confirmed: held at watch)"
    if calc.echoed[i] and mult >= p["size_watch"]:
        prev = fomc.previous(meeting)
        near = f"{prev.decision_date:%b} {prev.decision_date.day}" if prev else "the nearer"
        check += (
            f"; the {near} meeting moved {calc.echo[i]:.0f} bp the same way: its repricing, held at watch"
        )
    if np.isfinite(calc.residual[i]) and int(calc.level[i]) == int(Level.WATCH) and mult >= 1:
        check += (
            f"; the swing of P(cut) tells this repricing (the odds of the sizes moved "
            f"{calc.residual[i]:+.0f} bp of it): held at watch"
        )
    label = "Expected move" if not v.on_path else "Expected path"
    span = _hours(int(calc.win[i]))
    return {
        "venue": name,
        "value": value,
        "text": text,
        "check": check,
        "fields": {
            label: f"{now_v:+.1f} bp on {names[name]} (was {then_v:+.1f} bp)",
            "Move": f"{mv:+.1f} bp within {span} ({mult:.2f}× the {size:.1f} bp size)",
        },
        "data": {
            "size_venue": name,
            "multiple": mult,
            "move_bp": mv,
            "expected_bp": now_v,
            "was_bp": then_v,
            "since": int(v.ts[s]),
            "window_s": int(calc.win[i]),
            "size_bp": size,
            "baseline_bp": None if not np.isfinite(calc.baseline[i]) else float(calc.baseline[i]),
            "confirmed": bool(calc.confirmed[i]),
            "echo": bool(calc.echoed[i]),
            # held at watch: the swing of P(cut) tells this repricing
            "told_by_swing": bool(
                np.isfinite(calc.residual[i]) and abs(calc.residual[i]) < calc.size[i] - 1e-9
            ),
            "whipsaw": None if not np.isfinite(wh[0]) else [float(x) for x in wh],
        },
    }


def chart_series(
    inputs: Inputs,
    meeting: fomc.Meeting,
    p: Params,
    wins: list[tuple[int, float]],
    order: tuple[str, ...],
    names: Mapping[str, str],
    t_start: int,
    t_end: int,
) -> tuple[list[dict[str, Any]], SizeVenue | None]:
    """Each venue's expected path (bp) in ``[t_start, t_end]`` for the chart's size panel, and
    the first venue that has one (the size marks sit on it)."""
    out: list[dict[str, Any]] = []
    first = None
    for name in order:
        v = load(inputs, name, meeting, p, wins)
        if v is None:
            continue
        sel = (v.ts <= t_end) & (v.ts >= t_start)
        if not sel.any():
            continue
        x = v.ts[sel].astype("datetime64[s]").astype("datetime64[ns]")
        out.append({"venue": name, "label": names[name], "x": x, "y": v.path[sel]})
        first = first or v
    return out, first


def _hours(seconds: int) -> str:
    h = seconds / 3600
    return f"{h:g} h" if h < 48 or h % 24 else f"{h / 24:g} d"


def is_next(meeting: fomc.Meeting, ts: int) -> bool:
    """Whether ``meeting`` is the first one still open at ``ts`` (its path is its own move)."""
    nxt = fomc.meeting_after(datetime.fromtimestamp(ts, UTC))
    return nxt is not None and nxt.id == meeting.id
