"""Each venue's P(cut) for a meeting: its points, rolling ranges, whipsaws and lags."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from signals import fomc
from signals.base import Params
from signals.ratecut._size import venue_index
from signals.ratecut._vocab import CROSS_CHECK, LAGS, VENUES, swing_windows
from storage.observations import Inputs


@dataclass
class _Venue:
    name: str
    ts: np.ndarray  # int64 epoch seconds, ascending
    p: np.ndarray
    source: str
    #: per window (seconds): rolling max and min over [t - w, t] at the venue's own points
    roll: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    #: per point: whipsaw legs (a, b, c) or NaN
    whip: np.ndarray | None = None


def meetings_in(inputs: Inputs) -> list[fomc.Meeting]:
    ids = set()
    for col in inputs.values.columns:
        parts = str(col).split(".")
        if len(parts) == 4 and parts[0] in VENUES and parts[1] == "fomc":
            ids.add(parts[2])
    return sorted(m for i in ids if (m := fomc.get(i)) is not None)


def load_venue(
    inputs: Inputs, venue: str, meeting: fomc.Meeting, p: Params, analyse: bool = True
) -> _Venue | None:
    name = f"{venue}.fomc.{meeting.id}.cut"
    s = inputs.series(name)
    if s.empty:
        return None
    ts = venue_index(venue, pd.DatetimeIndex(s.index))
    vals = s.to_numpy(dtype=float)
    keep = (ts < int(meeting.closes_utc.timestamp())) & np.isfinite(vals) & (vals >= 0) & (vals <= 1)
    ts, vals = ts[keep], vals[keep]
    if not len(ts):
        return None
    v = _Venue(venue, ts, vals, inputs.last_source.get(name, venue))
    if not analyse:
        return v
    ser = pd.Series(vals, index=pd.to_datetime(ts, unit="s"))
    for w, _size in swing_windows(p):
        r = ser.rolling(pd.Timedelta(seconds=w), closed="both")
        v.roll[w] = (r.max().to_numpy(), r.min().to_numpy())
    v.whip = whipsaws(ts, vals, p)
    return v


def whipsaws(ts: np.ndarray, vals: np.ndarray, p: Params) -> np.ndarray:
    """Per point: (a, b, c, t_a, t_b) when the window ending there holds a whipsaw."""
    out = np.full((len(ts), 5), np.nan)
    w = int(p["whipsaw_hours"] * 3600)
    size = p["swing_pp"] / 100
    ratio = p["whipsaw_ratio"]
    ser = pd.Series(vals, index=pd.to_datetime(ts, unit="s"))
    r = ser.rolling(pd.Timedelta(seconds=w), closed="both")
    rng = (r.max() - r.min()).to_numpy()
    starts = np.searchsorted(ts, ts - w, side="left")
    for i in np.nonzero(rng >= size - 1e-9)[0]:
        j = int(starts[i])
        seg = vals[j : i + 1]
        # down then up: the lowest point, the high before it, and now
        k = len(seg) - 1 - int(np.argmin(seg[::-1]))
        a = float(seg[: k + 1].max())
        leg1, leg2 = a - seg[k], seg[-1] - seg[k]
        if leg1 >= size - 1e-9 and leg2 >= size - 1e-9 and leg2 >= ratio * leg1 - 1e-9:
            ka = int(np.argmax(seg[: k + 1]))
            out[i] = (a, seg[k], seg[-1], ts[j + ka], ts[j + k])
            continue
        # up then down
        k = len(seg) - 1 - int(np.argmax(seg[::-1]))
        a = float(seg[: k + 1].min())
        leg1, leg2 = seg[k] - a, seg[k] - seg[-1]
        if leg1 >= size - 1e-9 and leg2 >= size - 1e-9 and leg2 >= ratio * leg1 - 1e-9:
            ka = int(np.argmin(seg[: k + 1]))
            out[i] = (a, seg[k], seg[-1], ts[j + ka], ts[j + k])
    return out


def whip_confirmed(
    whip: np.ndarray,
    primary: np.ndarray,
    venues: dict[str, _Venue],
    idx: dict[str, np.ndarray],
    fresh: dict[str, np.ndarray],
    grid: np.ndarray,
    share: float,
) -> np.ndarray:
    """Per grid point: the other venue, when fresh, moved at least ``share`` of the
    whipsaw's second leg the same way since the turn (True where there is nothing to check)."""
    ok = np.ones(len(grid), dtype=bool)
    for k, name in enumerate(VENUES):
        other = CROSS_CHECK.get(name)
        if other is None or other not in venues:
            continue
        o = venues[other]
        sel = np.nonzero((primary == k) & ~np.isnan(whip[:, 0]) & fresh[other])[0]
        for i in sel:
            t_b, b, c = int(whip[i, 4]), whip[i, 1], whip[i, 2]
            kb = int(np.searchsorted(o.ts, t_b, side="right")) - 1
            if kb < 0:
                continue
            moved = (o.p[int(idx[other][i])] - o.p[kb]) * (1 if c >= b else -1)
            ok[i] = moved >= share * abs(c - b) - 1e-9
    return ok


def lags(venues: dict[str, _Venue], grid: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    out: dict[str, dict[str, np.ndarray]] = {}
    for name, v in venues.items():
        out[name] = {}
        for label, lag, tol in LAGS:
            tol_v = 4 * 86400 if name == "fedwatch" else tol
            k = np.searchsorted(v.ts, grid - lag, side="right") - 1
            ok = (k >= 0) & ((grid - lag) - v.ts[np.maximum(k, 0)] <= tol_v)
            out[name][label] = np.where(ok, v.p[np.maximum(k, 0)], np.nan)
    return out
