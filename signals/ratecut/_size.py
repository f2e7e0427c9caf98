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

from dataclasses import dataclass, field
from datetime import time
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from signals import fomc
from signals.base import Params
from signals.fomc_dist import Bucket, parse_suffix
from storage.observations import Inputs

#: ZQ futures settle at 2:00 pm Chicago time; daily FedWatch points count from then
SETTLE_TZ = ZoneInfo("America/Chicago")


SETTLE_TIME = time(14, 0)


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


def size_windows(p: Params, swing: list[tuple[int, float]]) -> list[tuple[int, float]]:
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


def load_size(
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


def swing_residual(v: SizeVenue, j: int, w: int, move: float) -> float | None:
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
