"""ratecut: what the market prices for the next two FOMC meetings: P(cut), and the size.

Sources: Kalshi (primary), Polymarket (cross-check and fallback) and, when the user imports
futures settlements, the FedWatch method — series ``<venue>.fomc.<decision-date>.cut``, and the
distribution of each meeting's move (buckets, ``move_bp``, ``path_bp``; :mod:`signals.fomc_dist`).
Meetings come from the project's FOMC calendar; a meeting is evaluated while it is one of
the next two, and the "next meeting" moves on at its 2 pm ET statement, when its markets
close (a closing reading then resolves whatever its keys still have open).

Keys, per meeting (``2025-12-10.swing`` …):

- ``swing`` — the largest move of P(cut) within each window (default 10 pp in 1 h, 15 pp in
  24 h, 20 pp in 72 h), as a multiple of that window's size: half a swing is ``watch``, a
  swing ``alert``, twice the size ``severe``; a whipsaw (a swing and a reversal of
  comparable size within a few days, the 80 → 30 → 80 pattern) is ``severe`` and called
  out (an ``updated`` event when the swing was severe already). Measured on Kalshi (Polymarket when Kalshi has no fresh quote, FedWatch's daily point
  when neither has); when the other market is fresh it must move at least ``cross_check`` of
  the way too, or the level stays at watch.
  An episode keeps the highest level it reached until the moves leave every window (no
  step-down events while a repricing is still inside the windows).
- ``flip`` — P(cut) crosses 50 % with a hysteresis band (default 55 % / 45 %) and
  ``confirm`` readings beyond it: ``alert`` for ``flip_hours`` after the crossing; a flip back
  within that time is ``severe``.
- ``divergence`` — the venues (Kalshi, Polymarket, FedWatch when imported) disagree by at
  least ``diverge_pp`` for ``diverge_minutes``: ``watch`` until it has lasted that long,
  then ``alert`` (``severe`` at twice the gap).
- ``size`` — a repricing of the meeting's expected move or path in bp, in either direction and
  in any cycle, against sizes from the signal's own history (:mod:`signals.ratecut_size`).

A FedWatch point is a daily settlement, a final price: readings measured on it need no second
reading to confirm them (a move seen on one settlement has often left the windows by the next).

A venue's quote counts for ``stale_minutes`` (default 30) after its time stamp; that is
data time against data time, so replay is unaffected. Live, a venue without a fresh quote
for that long raises a stale notice (:meth:`RateCut.source_notices`) and no alert uses it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from signals import fomc
from signals import ratecut_size as size_mod
from signals.base import Demo, Level, Param, Params, Reading, Rules, Threshold
from signals.fomc_dist import HOLD, Bucket, dist_observations, path_observations
from storage.observations import Inputs, Observation

VENUES = ("kalshi", "polymarket", "fedwatch")
LIVE_VENUES = ("kalshi", "polymarket")
#: the venue whose move must confirm the primary venue's (FedWatch is primary only when neither
#: market has a fresh quote, so it has none)
CROSS_CHECK = {"kalshi": "polymarket", "polymarket": "kalshi"}
VENUE_NAMES = {"kalshi": "Kalshi", "polymarket": "Polymarket", "fedwatch": "FedWatch"}
KINDS = ("swing", "flip", "divergence", "size")
KIND_NAMES = {
    "swing": "swing",
    "flip": "majority flip",
    "divergence": "venue divergence",
    "size": "size repricing",
}
SOURCE_NAMES = {
    "kalshi": "Kalshi",
    "kalshi-candles": "Kalshi hourly candlesticks",
    "kalshi-csv": "Kalshi recorded order book (P(cut) = 1 − P(hold))",
    "polymarket": "Polymarket",
    "polymarket-history": "Polymarket hourly price history",
    "polymarket-csv": "Polymarket recorded order book (P(cut) = 1 − P(hold))",
    "fedwatch-zq": "FedWatch method on ZQ settlements",
    "fedwatch-cme": "CME FedWatch export",
    "demo": "demo data",
    "import": "imported",
}
#: (label, lag, tolerance) for "now versus 1 h, 1 d and 1 w ago"
LAGS = (("1 h", 3600, 2700), ("1 d", 86400, 6 * 3600), ("1 w", 7 * 86400, 42 * 3600))
#: how long a closed meeting's keys are still reported live (its closing reading)
CLOSED_GRACE = timedelta(days=7)
_ORDER = {"kalshi": 0, "polymarket": 1}


def meeting_label(meeting_id: str) -> str:
    m = fomc.get(meeting_id)
    return f"FOMC {m.label}" if m else f"FOMC {meeting_id}"


def split_key(key: str) -> tuple[str, str]:
    meeting_id, _, kind = key.rpartition(".")
    return meeting_id, kind


_PCT = [f"{i}%" for i in range(101)]


def _pct(p: float | None) -> str:
    if p is None or p != p:  # None or NaN
        return "n/a"
    return _PCT[min(100, max(0, round(p * 100)))]


def _pp(x: float) -> str:
    v = round(x * 100)
    return f"{v:+d} pp" if v else "0 pp"


def _utc(ts: int) -> datetime:
    return datetime.fromtimestamp(int(ts), UTC)


def _hours(seconds: float) -> str:
    h = seconds / 3600
    return f"{h:g} h" if h < 48 or h % 24 else f"{h / 24:g} d"


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
    size: size_mod.SizeCalc | None = None


class RateCut:
    id = "ratecut"
    title = "Fed-cut odds"
    description = (
        "market-implied odds of the next two FOMC moves (Kalshi, Polymarket, FedWatch method): "
        "swings of P(cut), repricings of the expected move or path (size), majority flips, "
        "whipsaws and venue divergence"
    )
    inputs = tuple(
        f"{v}.fomc.%.{suffix}"
        for v in VENUES
        for suffix in ("cut", "hold", "cut_%", "hike_%", "move_bp", "path_bp", "rate")
    )
    keys: ClassVar[dict[str, str]] = {}  # one set per meeting: see keys_at and key_label
    #: 1 w ago (with tolerance), and the size key's own history: 10 days of moves over the 72 h
    #: window, taken as it stood when a 72 h window opened (10 d + 2 x 72 h, and a day to spare)
    lookback = timedelta(days=17)
    params = (
        Param("short_hours", 1, 0.25, 12, "short swing window", unit="h"),
        Param("short_pp", 10, 1, 100, "P(cut) move within the short window that is a swing", unit="pp"),
        Param("swing_hours", 24, 1, 72, "main swing window", unit="h"),
        Param("swing_pp", 15, 1, 100, "P(cut) move within the main window that is a swing", unit="pp"),
        Param("long_hours", 72, 2, 336, "long swing window", unit="h"),
        Param("long_pp", 20, 1, 100, "P(cut) move within the long window that is a swing", unit="pp"),
        Param("watch_ratio", 0.5, 0.1, 1, "share of a swing size that is a watch heads-up", guild=True),
        Param("severe_ratio", 2.0, 1, 10, "multiple of a swing size that is severe", guild=True),
        Param("exit_ratio", 0.4, 0.05, 1, "a swing episode ends when every move is below this share"),
        Param(
            "confirm",
            2,
            1,
            20,
            "consecutive readings needed to fire or escalate",
            integer=True,
            unit="readings",
        ),
        Param("cross_check", 0.5, 0, 1, "share of the move the other venue must confirm (0 = off)"),
        Param(
            "whipsaw_hours", 72, 6, 336, "window in which a swing and its reversal form a whipsaw", unit="h"
        ),
        Param("whipsaw_ratio", 0.6, 0.1, 2, "the reversal must be at least this share of the first leg"),
        Param("flip_band", 5, 0.5, 20, "hysteresis around 50 %: a flip needs 50 ± this", unit="pp"),
        Param("flip_hours", 24, 0.5, 168, "how long a flip stays an alert", unit="h"),
        Param(
            "diverge_pp", 10, 1, 100, "P(cut) gap between venues that is a divergence", unit="pp", guild=True
        ),
        Param("diverge_exit_pp", 7, 0.5, 100, "gap below which a divergence ends", unit="pp"),
        Param("diverge_minutes", 30, 0, 1440, "how long the gap must last", unit="min"),
        Param(
            "stale_minutes", 30, 5, 1440, "a venue's quote counts this long; live, older is stale", unit="min"
        ),
        Param(
            "cooldown_hours", 6, 0, 168, "hours after a resolve before the same key can fire again", unit="h"
        ),
        *size_mod.PARAMS,
    )

    def rules(self, params: Params) -> Rules:
        return Rules(
            cooldown_s=int(params["cooldown_hours"] * 3600),
            # 'updated' within a severe episode when the value grows 1.5x: a whipsaw inside a swing
            # that was already severe (its value is the whipsaw's total travel), a third flip in a row
            update_growth=1.5,
            update_min_level=Level.SEVERE,
            describe_peak=self.describe_peak,
        )

    def describe_peak(self, key: str, value: float) -> str | None:
        kind = key.rsplit(".", 1)[-1]
        if kind == "swing":
            return f"{value:.1f}× the swing size"
        if kind == "divergence":
            return f"{value:.0f} pp apart"
        if kind == "size":
            return f"{value:.1f}× the repricing size"
        return None  # a flip has no size

    # -- parameters ------------------------------------------------------------------------

    def validate(self, params: Params) -> list[str]:
        p = params
        problems = []
        if not p["short_hours"] < p["swing_hours"] < p["long_hours"]:
            problems.append(
                f"windows must grow: short_hours ({p['short_hours']:g}) < swing_hours "
                f"({p['swing_hours']:g}) < long_hours ({p['long_hours']:g})"
            )
        if not p["exit_ratio"] < p["watch_ratio"] < 1.0 < p["severe_ratio"]:
            problems.append(
                f"ratios must rise: exit_ratio ({p['exit_ratio']:g}) < watch_ratio ({p['watch_ratio']:g}) "
                f"< 1 < severe_ratio ({p['severe_ratio']:g})"
            )
        if not p["diverge_exit_pp"] < p["diverge_pp"]:
            problems.append(
                f"diverge_exit_pp ({p['diverge_exit_pp']:g}) must be below diverge_pp ({p['diverge_pp']:g})"
            )
        if not p["size_short_bp"] <= p["size_bp"] <= p["size_long_bp"]:
            problems.append(
                f"sizes must not fall as the window grows: size_short_bp ({p['size_short_bp']:g}) <= "
                f"size_bp ({p['size_bp']:g}) <= size_long_bp ({p['size_long_bp']:g})"
            )
        return problems

    @staticmethod
    def _windows(p: Params) -> list[tuple[int, float]]:
        """(seconds, size in probability) per swing window."""
        return [
            (int(p["short_hours"] * 3600), p["short_pp"] / 100),
            (int(p["swing_hours"] * 3600), p["swing_pp"] / 100),
            (int(p["long_hours"] * 3600), p["long_pp"] / 100),
        ]

    def _swing_ladder(self, p: Params) -> list[float]:
        return [p["watch_ratio"], 1.0, p["severe_ratio"]]

    def _size_ladder(self, p: Params) -> list[float]:
        return [p["size_watch"], 1.0, p["severe_ratio"]]

    def grade(self, key: str, value: float, figures: Mapping[str, Any], params: Params) -> Level:
        """A reading's level from its figures: the swing's and the size's multiple on their
        ladders, held at watch when the other venue did not confirm it (or the nearer meeting or
        the swing tells it), severe for a whipsaw; a divergence by its gap once it has lasted
        ``diverge_minutes``; a flip by the flips in its chain."""
        kind = split_key(key)[1]
        if figures.get("closed"):
            return Level.OK
        if kind in ("swing", "size"):
            mult = figures.get("multiple", value)
            m = float(mult) if isinstance(mult, int | float) else value
            ladder = self._swing_ladder(params) if kind == "swing" else self._size_ladder(params)
            lvl = Level(sum(m >= t - 1e-9 for t in ladder))
            if figures.get("confirmed") is False or figures.get("echo"):
                lvl = min(lvl, Level.WATCH)
            if figures.get("whipsaw"):
                lvl = Level.SEVERE
            if figures.get("told_by_swing") and lvl >= Level.ALERT:
                lvl = Level.WATCH
            return lvl
        if kind == "divergence":
            gap = figures.get("gap")
            g = float(gap) if isinstance(gap, int | float) else value / 100
            dpp = params["diverge_pp"] / 100
            if g < dpp - 1e-9:
                return Level.OK
            lasted = figures.get("gap_for_s")
            if not isinstance(lasted, int | float) or lasted < int(params["diverge_minutes"] * 60):
                return Level.WATCH
            return Level.SEVERE if g >= 2 * dpp - 1e-9 else Level.ALERT
        if kind == "flip":
            return Level.SEVERE if value >= 2 else Level.ALERT if value >= 1 else Level.OK
        return Level.OK

    # -- keys ------------------------------------------------------------------------------

    def keys_at(self, now: datetime) -> dict[str, str]:
        """One /status row per upcoming meeting: its swing key, whose headline has the odds."""
        return {f"{m.id}.swing": f"FOMC {m.label}" for m in fomc.upcoming(now, 2)}

    def key_label(self, key: str) -> str:
        meeting_id, kind = split_key(key)
        return f"{meeting_label(meeting_id)} · {KIND_NAMES.get(kind, kind)}"

    # -- evaluation ------------------------------------------------------------------------

    @staticmethod
    def meetings_in(inputs: Inputs) -> list[fomc.Meeting]:
        ids = set()
        for col in inputs.values.columns:
            parts = str(col).split(".")
            if len(parts) == 4 and parts[0] in VENUES and parts[1] == "fomc":
                ids.add(parts[2])
        return sorted(m for i in ids if (m := fomc.get(i)) is not None)

    def _venue(
        self, inputs: Inputs, venue: str, meeting: fomc.Meeting, p: Params, analyse: bool = True
    ) -> _Venue | None:
        name = f"{venue}.fomc.{meeting.id}.cut"
        s = inputs.series(name)
        if s.empty:
            return None
        ts = size_mod.venue_index(venue, pd.DatetimeIndex(s.index))
        vals = s.to_numpy(dtype=float)
        keep = (ts < int(meeting.closes_utc.timestamp())) & np.isfinite(vals) & (vals >= 0) & (vals <= 1)
        ts, vals = ts[keep], vals[keep]
        if not len(ts):
            return None
        v = _Venue(venue, ts, vals, inputs.last_source.get(name, venue))
        if not analyse:
            return v
        ser = pd.Series(vals, index=pd.to_datetime(ts, unit="s"))
        for w, _size in self._windows(p):
            r = ser.rolling(pd.Timedelta(seconds=w), closed="both")
            v.roll[w] = (r.max().to_numpy(), r.min().to_numpy())
        v.whip = self._whipsaws(ts, vals, p)
        return v

    def _whipsaws(self, ts: np.ndarray, vals: np.ndarray, p: Params) -> np.ndarray:
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

    @staticmethod
    def _whip_confirmed(
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

    def _compute(
        self,
        inputs: Inputs,
        p: Params,
        meeting: fomc.Meeting,
        *,
        next_two_only: bool = True,
        cache: dict[tuple[str, str], size_mod.SizeVenue | None] | None = None,
    ) -> _Calc | None:
        venues = {v: x for v in VENUES if (x := self._venue(inputs, v, meeting, p)) is not None}
        if not venues:
            return None
        close = int(meeting.closes_utc.timestamp())
        prev2 = fomc.previous(meeting, 2)
        first = int(prev2.closes_utc.timestamp()) if prev2 else -(2**62)
        grid = np.unique(np.concatenate([v.ts for v in venues.values()]))
        grid = grid[((grid >= first) | (not next_two_only)) & (grid < close)]
        data_end = (
            int(pd.DatetimeIndex(inputs.values.index).as_unit("s").asi8.max()) if len(inputs.values) else 0
        )
        closing = data_end >= close
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

        # swing: the largest move per window at the primary, as a multiple of that window's size
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
            for w, size in self._windows(p):
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
                for w, _size in self._windows(p):
                    rmax, rmin = o.roll[w]
                    pick = bw[sub] == w
                    up_o, down_o = ocur - rmin[oi], rmax[oi] - ocur
                    om = np.where(pick, np.where(bm[sub] >= 0, up_o, down_o), om)
                other_move[both] = om
        ladder = self._swing_ladder(p)
        level = np.zeros(n, dtype=np.int64)
        for t in ladder:
            level += (mult >= t - 1e-9).astype(np.int64)
        share = p["cross_check"]
        confirmed = np.isnan(other_move) | (other_move >= share * np.abs(move) - 1e-9)
        level = np.where(confirmed, level, np.minimum(level, int(Level.WATCH)))
        # a whipsaw is severe; its own check is the other venue's second leg (the window's last
        # move, checked above, may be the reversal's tail only)
        is_whip = ~np.isnan(whip[:, 0]) & self._whip_confirmed(whip, primary, venues, idx, fresh, grid, share)
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

        # flip: the majority side with hysteresis and confirmation
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

        # divergence: the widest gap between fresh venues, sustained
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
            g = gap[i]
            if g >= dpp - 1e-9:
                start = start or int(grid[i])
                since[i] = start
                lasting = grid[i] - start >= need
                div_level[i] = (
                    int(Level.SEVERE)
                    if lasting and g >= 2 * dpp - 1e-9
                    else int(Level.ALERT)
                    if lasting
                    else 1
                )
            else:
                start = 0
            div_hold[i] = (
                int(Level.SEVERE) if g >= 2 * dexit - 1e-9 else int(Level.ALERT) if g >= dexit - 1e-9 else 0
            )
        return _Calc(
            meeting=meeting,
            grid=grid,
            venues=venues,
            idx=idx,
            fresh=fresh,
            primary=primary,
            pnow=pnow,
            mult=mult,
            win=win,
            move=move,
            other_move=other_move,
            confirmed=confirmed,
            whip=whip,
            swing_level=level,
            swing_hold=hold,
            side=side,
            last_flip=last_flip,
            flips=flips,
            flip_level=flip_level,
            gap=gap,
            gap_pair=pair,
            gap_since=since,
            div_level=div_level,
            div_hold=div_hold,
            closing=closing,
            lags=self._lags(venues, grid),
            size=self._size(
                inputs, p, meeting, grid, cache if cache is not None else {}, level >= int(Level.ALERT)
            ),
        )

    def _size(
        self,
        inputs: Inputs,
        p: Params,
        meeting: fomc.Meeting,
        grid: np.ndarray,
        cache: dict[tuple[str, str], size_mod.SizeVenue | None],
        swinging: np.ndarray | None = None,
    ) -> size_mod.SizeCalc | None:
        """The size key's arrays (None when no venue publishes sizes for this meeting)."""
        wins = size_mod.windows(p, self._windows(p))

        def get(venue: str, m: fomc.Meeting) -> size_mod.SizeVenue | None:
            key = (venue, m.id)
            if key not in cache:
                cache[key] = size_mod.load(inputs, venue, m, p, wins)
            return cache[key]

        venues = {v: x for v in VENUES if (x := get(v, meeting)) is not None}
        if not venues:
            return None
        prev = fomc.previous(meeting)
        nearer = {v: x for v in venues if prev is not None and (x := get(v, prev)) is not None}
        stale = int(p["stale_minutes"] * 60)
        return size_mod.analyse(venues, nearer, grid, VENUES, CROSS_CHECK, wins, p, stale, swinging)

    @staticmethod
    def _lags(venues: dict[str, _Venue], grid: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
        out: dict[str, dict[str, np.ndarray]] = {}
        for name, v in venues.items():
            out[name] = {}
            for label, lag, tol in LAGS:
                tol_v = 4 * 86400 if name == "fedwatch" else tol
                k = np.searchsorted(v.ts, grid - lag, side="right") - 1
                ok = (k >= 0) & ((grid - lag) - v.ts[np.maximum(k, 0)] <= tol_v)
                out[name][label] = np.where(ok, v.p[np.maximum(k, 0)], np.nan)
        return out

    def history(self, inputs: Inputs, params: Params) -> list[Reading]:
        return self._readings(inputs, params, None, None, 0)

    def readings_since(
        self, inputs: Inputs, params: Params, after: datetime | None, now: datetime, warmup: int = 30
    ) -> list[Reading]:
        """Live catch-up without building the readings of the whole lookback: the arrays need
        the history, the engine only the readings after ``after`` (or the last ``warmup``)."""
        return self._readings(inputs, params, after, now, warmup)

    def _readings(
        self, inputs: Inputs, params: Params, after: datetime | None, now: datetime | None, warmup: int
    ) -> list[Reading]:
        """Readings in time order: all of them (``now`` None), else those with ``after < ts <= now``,
        or the last ``warmup`` per meeting when ``after`` is None."""
        out: list[Reading] = []
        cache: dict[tuple[str, str], size_mod.SizeVenue | None] = {}
        t_now = int(now.timestamp()) if now is not None else 2**62
        t_after = int(after.timestamp()) if after is not None else None
        for meeting in self.meetings_in(inputs):
            calc = self._compute(inputs, params, meeting, cache=cache)
            if calc is None:
                continue
            # quiet stretches (every key ok, before and now) cannot produce an event: their
            # readings carry the numbers the engine needs and a short summary, nothing more
            active = (
                (calc.swing_level > 0)
                | (calc.swing_hold > 0)
                | (calc.flip_level > 0)
                | (calc.div_level > 0)
                | (calc.div_hold > 0)
            )
            if calc.size is not None:
                active |= (calc.size.level > 0) | (calc.size.hold > 0)
            points = np.nonzero((calc.primary >= 0) & (calc.grid <= t_now))[0]
            prev = np.r_[False, active[points][:-1]] if len(points) else np.zeros(0, dtype=bool)
            keep = np.ones(len(points), dtype=bool)
            if now is not None and t_after is not None:
                keep = calc.grid[points] > t_after
            elif now is not None:
                keep[: max(len(points) - warmup, 0)] = False
            for i, was_active in zip(points[keep], prev[keep], strict=True):
                out += self._readings_at(calc, int(i), params, light=not (active[i] or was_active))
            close = int(meeting.closes_utc.timestamp())
            if calc.closing and close <= t_now and (t_after is None or close > t_after):
                out += self._closing(calc, params)
        out.sort(key=lambda r: (r.ts, r.key))
        return out

    def latest(self, inputs: Inputs, params: Params, now: datetime) -> list[Reading]:
        """The newest reading per key of the next two meetings (and of meetings just closed)."""
        wanted = {m.id for m in fomc.upcoming(now, 2)}
        wanted |= {m.id for m in fomc.meetings() if now - CLOSED_GRACE <= m.statement_utc <= now}
        t_now = int(now.timestamp())
        out: list[Reading] = []
        for meeting in self.meetings_in(inputs):
            if meeting.id not in wanted:
                continue
            calc = self._compute(inputs, params, meeting)
            if calc is None:
                continue
            if not meeting.is_open(now):
                out += self._closing(calc, params)
                continue
            ok = np.nonzero((calc.grid <= t_now) & (calc.primary >= 0))[0]
            if len(ok):
                out += self._readings_at(calc, int(ok[-1]), params)
        order = {k: i for i, k in enumerate(KINDS)}
        out.sort(key=lambda r: (split_key(r.key)[0], order.get(split_key(r.key)[1], 9)))
        return out

    def meeting_readings(
        self, inputs: Inputs, params: Params, meeting: fomc.Meeting, now: datetime
    ) -> list[Reading]:
        """The newest swing / flip / divergence readings of any meeting as of ``now`` (for /ratecut)."""
        calc = self._compute(inputs, params, meeting, next_two_only=False)
        if calc is None:
            return []
        if not meeting.is_open(now):
            return self._closing(calc, params)
        ok = np.nonzero((calc.grid <= int(now.timestamp())) & (calc.primary >= 0))[0]
        return self._readings_at(calc, int(ok[-1]), params) if len(ok) else []

    # -- readings --------------------------------------------------------------------------

    def _venue_view(self, calc: _Calc, i: int) -> dict[str, dict[str, Any]]:
        """Per venue: P(cut) now (fresh or not), its time, and 1 h / 1 d / 1 w ago."""
        t = int(calc.grid[i])
        out: dict[str, dict[str, Any]] = {}
        for name, v in calc.venues.items():
            j = int(calc.idx[name][i])
            if j < 0:
                continue
            if name == "fedwatch" and t - int(v.ts[j]) > 4 * 86400:
                continue
            row: dict[str, Any] = {
                "p": float(v.p[j]),
                "asof": int(v.ts[j]),
                "fresh": bool(calc.fresh[name][i]),
                "source": v.source,
            }
            for label, _lag, _tol in LAGS:
                x = calc.lags[name][label][i]
                row[label] = None if x != x else float(x)
            out[name] = row
        return out

    def _readings_at(self, calc: _Calc, i: int, p: Params, light: bool = False) -> list[Reading]:
        m = calc.meeting
        t = int(calc.grid[i])
        ts = _utc(t)
        prim = VENUES[int(calc.primary[i])]
        if light:
            return self._quiet_readings(calc, i, p, ts, prim)
        view = self._venue_view(calc, i)
        pv = view[prim]
        lead = f"{meeting_label(m.id)}"
        src = SOURCE_NAMES.get(pv["source"], pv["source"])
        tail = f"Source {src}, as of {ts:%Y-%m-%d %H:%M} UTC"
        table = self._table(view)
        last_quote = {name: row["asof"] for name, row in view.items()}
        base_data: dict[str, Any] = {
            "meeting": m.id,
            "statement": int(m.closes_utc.timestamp()),
            "primary": prim,
            "p_cut": calc.pnow[i],
            "venues": view,
            "last_quote": last_quote,
            "stale_s": int(p["stale_minutes"] * 60),
            "closed": False,
        }
        fields = {
            "Meeting": f"{m.label} (statement {m.statement_utc:%Y-%m-%d %H:%M} UTC)",
            **{
                VENUE_NAMES[n]: self._venue_field(row)
                for n, row in sorted(view.items(), key=lambda kv: VENUES.index(kv[0]))
            },
            "Source": src,
            "As of": f"{ts:%Y-%m-%d %H:%M} UTC",
        }
        windows = dict(self._windows(p))

        # swing
        mult, mv, w = float(calc.mult[i]), float(calc.move[i]), int(calc.win[i])
        size = windows.get(w, p["swing_pp"] / 100)
        lvl = Level(int(calc.swing_level[i]))
        hold = Level(int(calc.swing_hold[i]))
        wh = calc.whip[i]
        value = mult
        if not np.isnan(wh[0]):
            value = max(mult, (abs(wh[1] - wh[0]) + abs(wh[2] - wh[1])) / (p["swing_pp"] / 100))
            a, b, c = wh[0], wh[1], wh[2]
            days = (t - wh[3]) / 86400
            what = (
                f"WHIPSAW: P(cut) {_pct(a)} → {_pct(b)} → {_pct(c)} on {VENUE_NAMES[prim]} within "
                f"{days:.1f} days ({_pp(b - a)} then {_pp(c - b)})"
            )
        elif mult > 0:
            what = (
                f"P(cut) {_pct(pv['p'])} on {VENUE_NAMES[prim]}, {_pp(mv)} within {_hours(w)} "
                f"({mult:.1f}× the {size * 100:.0f} pp swing size)"
            )
        else:
            what = f"P(cut) {_pct(pv['p'])} on {VENUE_NAMES[prim]}, steady"
        check = ""
        if not np.isnan(calc.other_move[i]) and mult > 0:
            other = VENUE_NAMES[CROSS_CHECK[prim]]
            sign = 1 if mv >= 0 else -1
            check = f"; {other} {_pp(sign * calc.other_move[i])}"
            if not calc.confirmed[i]:
                check += " (not confirmed: held at watch)"
        summary = f"{lead}: {what}{check}. P(cut) now vs 1 h / 1 d / 1 w ago: {table}. {tail}"
        nxt = next(
            (Threshold(Level(k + 1), t_) for k, t_ in enumerate(self._swing_ladder(p)) if Level(k + 1) > lvl),
            None,
        )
        side = int(calc.side[i])
        majority = "cut" if side > 0 else "no cut" if side < 0 else "undecided"
        lags = " / ".join(_pct(pv[label]) for label, _, _ in LAGS)
        others = "".join(
            f"; {VENUE_NAMES[n]} {_pct(view[n]['p'])}"
            + (f" on {_utc(view[n]['asof']):%m-%d}" if n == "fedwatch" else "")
            for n in VENUES
            if n in view and n != prim
        )
        headline = f"P(cut) {_pct(pv['p'])} on {VENUE_NAMES[prim]} (1 h / 1 d / 1 w ago: {lags}){others}; majority: {majority}"
        if calc.gap[i] > 0:
            headline += f"; venues {calc.gap[i] * 100:.0f} pp apart"
        if mult >= p["watch_ratio"]:
            headline += f"; {_pp(mv)} within {_hours(w)}"
        sc = calc.size
        if sc is not None and sc.primary[i] >= 0:
            sv = sc.venues[VENUES[int(sc.primary[i])]]
            what = "path" if sv.on_path and not size_mod.is_next(m, t) else "move"
            headline += f"; expected {what} {float(sv.path[int(sc.idx[sv.name][i])]):+.0f} bp"
        swing = Reading(
            signal=self.id,
            key=f"{m.id}.swing",
            ts=ts,
            value=value,
            level=lvl,
            hold=max(hold, lvl),
            summary=summary,
            source=src,
            confirm=self._confirm(prim, p),
            fields={**fields, "Move": f"{_pp(mv)} within {_hours(w)} ({mult:.2f}× swing size)"},
            data={
                **base_data,
                "multiple": mult,
                "move": mv,
                "window_s": w,
                "whipsaw": None if np.isnan(wh[0]) else [float(x) for x in wh],
                "confirmed": bool(calc.confirmed[i]),
            },
            next_threshold=nxt,
            unit="×",
            headline=headline,
        )

        # flip
        x = float(calc.pnow[i])
        fl = Level(int(calc.flip_level[i]))
        lf = int(calc.last_flip[i])
        if fl > Level.OK:
            expects = "a cut" if side > 0 else "no cut"
            ago = (t - lf) / 3600
            when = f" {ago:.0f} h ago" if ago >= 1 else ""
            what = f"majority flipped{when}: the market now expects {expects} (P(cut) {_pct(x)})"
            if fl == Level.SEVERE:
                what += f", flip {int(calc.flips[i])} within {p['flip_hours']:g} h of the one before"
        elif side:
            what = (
                f"majority steady: P(cut) {_pct(x)}, the market expects {'a cut' if side > 0 else 'no cut'}"
            )
        else:
            what = f"no clear majority yet: P(cut) {_pct(x)}"
        flip = Reading(
            signal=self.id,
            key=f"{m.id}.flip",
            ts=ts,
            value=float(calc.flips[i]),
            level=fl,
            hold=fl,
            summary=f"{lead}: {what} on {VENUE_NAMES[prim]}. P(cut) now vs 1 h / 1 d / 1 w ago: {table}. {tail}",
            source=src,
            confirm=1,
            fields={**fields, "Majority": majority},
            data={**base_data, "side": side, "last_flip": lf or None, "flips": int(calc.flips[i])},
            unit=" flips",
        )

        # divergence
        g = float(calc.gap[i])
        dl = Level(int(calc.div_level[i]))
        if g > 0:
            hi_v, lo_v = calc.gap_pair[i].split(">")
            lasted = (t - int(calc.gap_since[i])) / 60 if calc.gap_since[i] else 0
            what = (
                f"{VENUE_NAMES[hi_v]} {_pct(view[hi_v]['p'])} vs {VENUE_NAMES[lo_v]} {_pct(view[lo_v]['p'])}: "
                f"{g * 100:.0f} pp apart"
            )
            if calc.gap_since[i] and lasted >= 1:
                what += f" for {lasted:.0f} min"
            elif calc.gap_since[i]:
                what += " (just now)"
        else:
            fresh = [VENUE_NAMES[n] for n in VENUES if n in view and view[n]["fresh"]]
            what = f"only {', '.join(fresh) or 'one venue'} has a fresh quote; nothing to compare"
        div = Reading(
            signal=self.id,
            key=f"{m.id}.divergence",
            ts=ts,
            value=g * 100,
            level=dl,
            hold=Level(int(calc.div_hold[i])),
            summary=f"{lead}: {what}. P(cut) now vs 1 h / 1 d / 1 w ago: {table}. {tail}",
            source=src,
            confirm=1,
            fields={**fields, "Gap": f"{g * 100:.1f} pp"},
            data={
                **base_data,
                "gap": g,
                "pair": calc.gap_pair[i],
                "gap_for_s": t - int(calc.gap_since[i]) if calc.gap_since[i] else None,
            },
            next_threshold=None if dl >= Level.ALERT else Threshold(Level.ALERT, p["diverge_pp"]),
            unit="pp",
        )
        return [swing, flip, div, *self._size_reading(calc, i, p, ts, lead, base_data, fields)]

    @staticmethod
    def _confirm(venue: str, p: Params) -> int:
        """Readings needed to fire: one on a daily settlement (a final price), else ``confirm``."""
        return 1 if venue == "fedwatch" else int(p["confirm"])

    def _size_reading(
        self,
        calc: _Calc,
        i: int,
        p: Params,
        ts: datetime,
        lead: str,
        base_data: dict[str, Any],
        fields: dict[str, str],
    ) -> list[Reading]:
        """The size key at grid point ``i`` (nothing when no venue publishes sizes)."""
        sc = calc.size
        if sc is None:
            return []
        m = calc.meeting
        k = int(sc.primary[i])
        if k < 0:
            summary = f"{lead}: no fresh expected move to measure a repricing on"
            return [
                Reading(
                    self.id,
                    f"{m.id}.size",
                    ts,
                    0.0,
                    Level.OK,
                    Level.OK,
                    summary,
                    "none",
                    data=base_data,
                    unit="×",
                )
            ]
        d = size_mod.describe(sc, i, m, p, VENUE_NAMES, CROSS_CHECK)
        venue = d["venue"]
        src = SOURCE_NAMES.get(sc.venues[venue].source, sc.venues[venue].source)
        lvl = Level(int(sc.level[i]))
        nxt = next(
            (Threshold(Level(j + 1), t_) for j, t_ in enumerate(self._size_ladder(p)) if Level(j + 1) > lvl),
            None,
        )
        return [
            Reading(
                signal=self.id,
                key=f"{m.id}.size",
                ts=ts,
                value=d["value"],
                level=lvl,
                hold=max(Level(int(sc.hold[i])), lvl),
                summary=f"{lead}: {d['text']}{d['check']}. Source {src}, as of {ts:%Y-%m-%d %H:%M} UTC",
                source=src,
                confirm=self._confirm(venue, p),
                fields={**fields, **d["fields"], "Source": src},
                data={**base_data, **d["data"]},
                next_threshold=nxt,
                unit="×",
                headline=d["text"],
            )
        ]

    def _quiet_readings(self, calc: _Calc, i: int, p: Params, ts: datetime, prim: str) -> list[Reading]:
        """Readings of a quiet moment (all ok, no episode open): numbers and a short summary."""
        m = calc.meeting
        x = float(calc.pnow[i])
        summary = f"{meeting_label(m.id)}: P(cut) {_pct(x)} on {VENUE_NAMES[prim]}, quiet"
        data = {"meeting": m.id, "statement": int(m.closes_utc.timestamp()), "primary": prim, "p_cut": x}
        return [
            Reading(
                self.id,
                f"{m.id}.swing",
                ts,
                float(calc.mult[i]),
                Level.OK,
                Level.OK,
                summary,
                prim,
                confirm=int(p["confirm"]),
                data=data,
                unit="×",
            ),
            Reading(
                self.id, f"{m.id}.flip", ts, 0.0, Level.OK, Level.OK, summary, prim, data=data, unit=" flips"
            ),
            Reading(
                self.id,
                f"{m.id}.divergence",
                ts,
                float(calc.gap[i]) * 100,
                Level.OK,
                Level.OK,
                summary,
                prim,
                data=data,
                unit="pp",
            ),
            *(
                [
                    Reading(
                        self.id,
                        f"{m.id}.size",
                        ts,
                        float(calc.size.mult[i]),
                        Level.OK,
                        Level.OK,
                        summary,
                        prim,
                        data=data,
                        unit="×",
                    )
                ]
                if calc.size is not None
                else []
            ),
        ]

    @staticmethod
    def _table(view: dict[str, dict[str, Any]]) -> str:
        parts = []
        for name in VENUES:
            row = view.get(name)
            if row is None:
                continue
            ago = " / ".join(_pct(row[label]) for label, _, _ in LAGS)
            when = "" if name != "fedwatch" else f" on {_utc(row['asof']):%m-%d}"
            stale = "" if row["fresh"] or name == "fedwatch" else " (stale)"
            parts.append(f"{VENUE_NAMES[name]} {_pct(row['p'])}{when}{stale} ({ago})")
        return "; ".join(parts) if parts else "no quotes"

    @staticmethod
    def _venue_field(row: dict[str, Any]) -> str:
        ago = " · ".join(f"{label} ago {_pct(row[label])}" for label, _, _ in LAGS)
        return f"{_pct(row['p'])} (as of {_utc(row['asof']):%m-%d %H:%M} UTC) · {ago}"

    def _closing(self, calc: _Calc, p: Params) -> list[Reading]:
        """At the statement the markets close: every key of the meeting goes back to ok."""
        m = calc.meeting
        ts = m.closes_utc
        last = ""
        for name in LIVE_VENUES:
            v = calc.venues.get(name)
            if v is not None and len(v.ts):
                last = f"; last P(cut) {_pct(float(v.p[-1]))} on {VENUE_NAMES[name]} at {_utc(int(v.ts[-1])):%m-%d %H:%M} UTC"
                break
        summary = (
            f"{meeting_label(m.id)}: decision day, the markets closed at the {ts:%H:%M} UTC statement{last}; "
            "the next meeting is now the first"
        )
        return [
            Reading(
                signal=self.id,
                key=f"{m.id}.{kind}",
                ts=ts,
                value=0.0,
                level=Level.OK,
                hold=Level.OK,
                summary=summary,
                source="FOMC calendar",
                confirm=1,
                data={"meeting": m.id, "closed": True, "statement": int(ts.timestamp())},
                headline=summary,
            )
            for kind in KINDS
        ]

    # -- live rules ------------------------------------------------------------------------

    def stale_reason(self, reading: Reading, now: datetime) -> str | None:
        if reading.data.get("closed") or now >= _utc(int(reading.data.get("statement", 2**40))):
            return None
        quotes = reading.data.get("last_quote") or {}
        live = [int(quotes[v]) for v in LIVE_VENUES if v in quotes]
        if not live:
            return None
        limit = int(reading.data.get("stale_s", 1800))
        age = int(now.timestamp()) - max(live)
        if age > limit:
            return (
                f"no Kalshi or Polymarket quote for the {meeting_label(str(reading.data.get('meeting')))} meeting "
                f"for {age // 60} min (last at {_utc(max(live)):%Y-%m-%d %H:%M} UTC)"
            )
        return None

    def source_notices(self, readings: Sequence[Reading], now: datetime) -> dict[str, str | None]:
        """Kalshi and Polymarket each go stale on their own: a notice per venue, no alerts from it."""
        newest: dict[str, int] = {}
        t_now = int(now.timestamp())
        limit = 1800
        for r in readings:
            if r.data.get("closed") or t_now >= int(r.data.get("statement", 0)):
                continue
            limit = int(r.data.get("stale_s", limit))
            for v, asof in (r.data.get("last_quote") or {}).items():
                if v in LIVE_VENUES:
                    newest[v] = max(newest.get(v, 0), int(asof))
        out: dict[str, str | None] = {}
        for v in LIVE_VENUES:
            if v not in newest:
                continue  # no market for the coming meetings on this venue: nothing to go stale
            age = t_now - newest[v]
            out[v] = (
                f"no fresh {VENUE_NAMES[v]} quote for {age // 60} min (last at {_utc(newest[v]):%Y-%m-%d %H:%M} UTC)"
                if age > limit
                else None
            )
        return out

    # -- presentation ------------------------------------------------------------------------

    def chart_data(
        self,
        inputs: Inputs,
        params: Params,
        end: datetime,
        days: int,
        marks: Iterable[tuple[datetime, str, str]] = (),
    ) -> dict[str, Any]:
        """The meeting of the alert being charted (a mark at ``end``), else the next one with data."""
        marks = list(marks)
        meeting = None
        recent = [mk for mk in marks if end - timedelta(minutes=2) <= mk[0] <= end]
        if recent:
            meeting = fomc.get(split_key(max(recent, key=lambda mk: mk[0])[2])[0])
        if meeting is None:
            have = self.meetings_in(inputs)
            upcoming = [m for m in have if m.is_open(end)]
            meeting = upcoming[0] if upcoming else (have[-1] if have else fomc.meeting_after(end))
        assert meeting is not None
        return self.chart_for(inputs, params, meeting, end, days, marks)

    def chart_for(
        self,
        inputs: Inputs,
        params: Params,
        meeting: fomc.Meeting,
        end: datetime,
        days: int,
        marks: Iterable[tuple[datetime, str, str]] = (),
    ) -> dict[str, Any]:
        t_end = int(end.timestamp())
        t_start = t_end - days * 86400
        series = []
        xs = []
        sources = []
        primary = None
        for name in VENUES:
            v = self._venue(inputs, name, meeting, params, analyse=False)
            if v is None:
                continue
            sel = (v.ts <= t_end) & (v.ts >= t_start)
            if not sel.any():
                continue
            x = v.ts[sel].astype("datetime64[s]").astype("datetime64[ns]")
            series.append({"venue": name, "label": VENUE_NAMES[name], "x": x, "y": v.p[sel] * 100})
            xs.append(x)
            sources.append(SOURCE_NAMES.get(v.source, v.source))
            if primary is None:
                primary = v
        allx = np.unique(np.concatenate(xs)) if xs else np.array([], dtype="datetime64[ns]")
        first_x = int(allx[0].astype("datetime64[s]").astype(np.int64)) if len(allx) else t_start
        refs = []
        if primary is not None:
            last = int(primary.ts[primary.ts <= t_end][-1]) if (primary.ts <= t_end).any() else None
            if last is not None:
                for label, lag in (("1M", 30 * 86400), ("1W", 7 * 86400), ("1D", 86400), ("now", 0)):
                    k = int(np.searchsorted(primary.ts, last - lag, side="right")) - 1
                    if (
                        k >= 0
                        and int(primary.ts[k]) >= t_start
                        and (last - lag) - int(primary.ts[k]) <= max(3600, lag // 4)
                    ):
                        refs.append(
                            (
                                np.datetime64(int(primary.ts[k]), "s").astype("datetime64[ns]"),
                                float(primary.p[k] * 100),
                                label,
                            )
                        )
        size_series, size_primary = size_mod.chart_series(
            inputs,
            meeting,
            params,
            size_mod.windows(params, self._windows(params)),
            VENUES,
            VENUE_NAMES,
            t_start,
            t_end,
        )
        mark_pts = []
        for when, level, key in marks:
            mid, kind = split_key(key)
            on = size_primary if kind == "size" else primary
            if mid != meeting.id or on is None:
                continue
            t = int(when.timestamp())
            ts_on = on.ts
            k = int(np.searchsorted(ts_on, t, side="right")) - 1
            if k >= 0 and t_start <= t <= t_end:
                y = float(on.path[k]) if isinstance(on, size_mod.SizeVenue) else float(on.p[k] * 100)
                mark_pts.append((np.datetime64(t, "s").astype("datetime64[ns]"), y, level, kind))
        statement = meeting.statement_utc
        return {
            "signal": self.id,
            "title": f"{meeting_label(meeting.id)} · market-implied probability of a cut",
            "meeting": meeting.id,
            "x": allx,
            "series": series,
            "decision": np.datetime64(int(statement.timestamp()), "s").astype("datetime64[ns]"),
            "decision_label": f"decision {meeting.label}",
            "show_decision": bool(len(allx))
            and statement.timestamp() <= t_end + max(3 * 86400, 0.35 * (t_end - max(t_start, first_x))),
            "refs": refs,
            "marks": mark_pts,
            "size_series": size_series,
            "size_label": "expected move, bp"
            if size_primary is not None and not size_primary.on_path
            else "expected path to it, bp",
            "source": "Source: " + ", ".join(dict.fromkeys(sources)) if sources else "Source: none",
            "as_of": _utc(int(allx[-1].astype("datetime64[s]").astype(np.int64))) if len(allx) else None,
        }

    # -- demo --------------------------------------------------------------------------------

    def demo(self, start: datetime) -> Demo:
        """Six months of odds: a quiet January meeting, then for March a drift up to 80 %, an
        80 → 30 → 80 whipsaw in three days, the odds of a 50 bp cut rather than 25 going 10 %
        → 55 % in half a day (a size repricing while P(cut) holds), and a few hours when
        Polymarket lags Kalshi by 13 pp; later meetings stay calm. Hourly for the first 60 days,
        every 3 hours after."""
        rng = random.Random(11)
        out: list[Observation] = []
        t0 = int(start.timestamp())
        mar = "2026-03-18"
        calm = {
            "2026-01-28": 0.06,
            "2026-04-29": 0.55,
            "2026-06-17": 0.5,
            "2026-07-29": 0.45,
            "2026-09-16": 0.4,
        }

        def path(mid: str, day: float) -> float:
            if mid != mar:
                return calm.get(mid, 0.4) + 0.04 * math.sin(day / 2.5)
            if day < 24:
                return 0.35 + 0.45 * min(1.0, day / 20)  # drifts up to 80 %
            if day < 35:
                return 0.80
            if day < 36.5:
                return 0.80 - 0.50 * (day - 35) / 1.5  # hawkish remarks: down to 30 % in 36 h
            if day < 37:
                return 0.30
            if day < 38:
                return 0.30 + 0.50 * (day - 37)  # and back to 80 % within a day: a whipsaw
            return 0.80 + 0.08 * min(1.0, (day - 38) / 20)

        def large(mid: str, day: float) -> float:
            """The share of the cut odds on 50 bp or more."""
            if mid != mar or day < 50:
                return 0.10
            return 0.10 + 0.45 * min(1.0, (day - 50) * 2)

        steps = list(range(0, 60 * 24)) + list(range(60 * 24, 180 * 24, 3))
        for h in steps:
            t = t0 + h * 3600
            day = h / 24
            at = _utc(t)
            polled: list[Observation] = []
            for meeting in fomc.upcoming(at, 2):
                mid = meeting.id
                base = min(0.97, max(0.02, path(mid, day) + rng.uniform(-0.01, 0.01)))
                for venue in LIVE_VENUES:
                    cut = base
                    if venue == "polymarket":
                        cut = base + rng.uniform(-0.015, 0.015)
                        if mid == mar and 45.0 <= day < 45.2:
                            cut = base - 0.13  # a thin Polymarket book lags for a few hours
                    cut = min(0.98, max(0.01, cut))
                    hike = 0.01
                    hold = max(0.0, 1.0 - cut - hike)
                    q = large(mid, day)
                    dist = {
                        Bucket(-50, True): cut * q,
                        Bucket(-25): cut * (1 - q),
                        HOLD: hold,
                        Bucket(25): hike,
                    }
                    polled += dist_observations(venue, mid, t, dist, "demo")
            for venue in LIVE_VENUES:
                mine = [o for o in polled if o.series.startswith(f"{venue}.")]
                out += mine + path_observations(venue, mine)
            if h % 24 == 0 and at.weekday() < 5 and fomc.get(mar).is_open(at):  # type: ignore[union-attr]
                # a daily FedWatch point for March (stamped at 00:00 UTC of the trade date)
                fw = min(0.97, max(0.02, path(mar, day + 19 / 24) - 0.03))
                out.append(Observation(f"fedwatch.fomc.{mar}.cut", t, round(fw, 4), "demo"))
                out.append(Observation(f"fedwatch.fomc.{mar}.hold", t, round(1 - fw, 4), "demo"))
        return Demo(tuple(out))


SIGNAL = RateCut()
