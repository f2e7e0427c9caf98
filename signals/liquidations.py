"""The pure core of ``btc_liq``: buckets, rolling windows, baselines and the cascade tracker.

Everything here is in memory and deterministic; the same code drives live evaluation (the
stream service feeds a :class:`LiveBook`), replay and tests (a :class:`Timeline` built from
stored series).

Vocabulary:

- A **bucket** is USD liquidated per venue and side over ``[start, start + length)``:
  1-minute buckets from the live venues (Bybit, Binance, OKX), 1h/4h/1d buckets from an
  imported aggregate (Coinglass). Columns: ``COLUMNS`` × (long, short).
- A **timeline** is the de-duplicated sequence of buckets: live venues where they cover a
  bucket of an import, the import only where they do not; among resolutions, the finer one
  where it covers (so an imported aggregate and live venues never count the same bucket).
- A **window** (5 m, 1 h, 4 h, 24 h) is the total over ``[t - W, t)``; windows shorter than the
  bucket at ``t`` are skipped. Its **baseline** is the rolling median of that window's
  aligned, non-overlapping period totals over the past ``baseline_days``.
- A **run** (a cascade) starts when a window reaches a level, grows while liquidations keep
  coming faster than normal, and ends when the last ``quiet_minutes`` ran below
  ``exit_ratio × k_watch ×`` the normal rate. Its total is everything liquidated from the
  triggering window's start to its end. After a run, windows count only buckets after its end
  (the *fence*), so the same liquidations never start a second cascade.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
import pandas as pd

from signals.base import Level, Params, Reading, Threshold
from storage.observations import Inputs

VENUES = ("bybit", "binance", "okx")
IMPORTS = ("coinglass",)
COLUMNS = (*VENUES, *IMPORTS)
NCOL = 2 * len(COLUMNS)
VENUE_INDEX = {v: i for i, v in enumerate(COLUMNS)}
NAMES = {"bybit": "Bybit", "binance": "Binance", "okx": "OKX", "coinglass": "Coinglass"}
BUCKETS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14400, "1d": 86400}
BUCKET_NAMES = {v: k for k, v in BUCKETS.items()}
WINDOWS: tuple[tuple[str, int], ...] = (("5m", 300), ("1h", 3600), ("4h", 14400), ("24h", 86400))
LONG, SHORT = 0, 1
LONG_COLS = np.arange(0, NCOL, 2)
SHORT_COLS = np.arange(1, NCOL, 2)
#: a coarser bucket gives way to finer data covering at least this share of it
COVER_SHARE = 0.8
#: the cascade state is rebuilt from this much history when evaluating "now"
WARMUP_S = 2 * 86400
BINANCE_NOTE = "Binance is a lower bound (it publishes at most one liquidation per symbol per second)"


def liq_series(venue: str, side: str, bucket: str) -> str:
    """``liq.btc.<venue>.<long|short>_usd.<bucket>`` (stable series ids)."""
    return f"liq.btc.{venue}.{side}_usd.{bucket}"


def gap_series(venue: str) -> str:
    """Seconds of each minute a live venue's stream was down while flowwatch ran."""
    return f"liq.btc.{venue}.gap_s.1m"


def price_series(bucket: str) -> str:
    return f"btc.usd.close.{bucket}"


# -- formatting --------------------------------------------------------------------------


def usd(x: float) -> str:
    """``$1.23B``, ``$412.3M``, ``$12.3k``, ``$120``."""
    a = abs(x)
    sign = "-" if x < 0 else ""
    if a >= 1e9:
        return f"{sign}${a / 1e9:.2f}B"
    if a >= 1e6:
        return f"{sign}${a / 1e6:.1f}M"
    if a >= 1e3:
        return f"{sign}${a / 1e3:.1f}k"
    return f"{sign}${a:.0f}"


def hhmm(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M")


def day(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d")


def span(seconds: float) -> str:
    s = round(seconds)
    if s < 3600:
        return f"{max(s // 60, 1)} min"
    if s < 86400:
        h, m = divmod(s // 60, 60)
        return f"{h}h {m:02d}m" if m else f"{h}h"
    d, rest = divmod(s, 86400)
    return f"{d}d {rest // 3600}h" if rest // 3600 else f"{d}d"


def venue_list(cols: Sequence[str], sources: Mapping[str, str] | None = None) -> str:
    """``Bybit, Binance (lower bound), OKX`` or ``Coinglass (Binance only, lower bound)``."""
    out = []
    for c in cols:
        if c == "binance":
            out.append("Binance (lower bound)")
        elif c == "coinglass":
            detail = (sources or {}).get("coinglass", "coinglass")
            exch = detail.split(":", 1)[1] if ":" in detail else ""
            if exch:
                names = [NAMES.get(e.strip().lower(), e.strip()) for e in exch.split(",")]
                lb = ", lower bound" if "Binance" in names else ""
                only = " only" if len(names) == 1 else ""
                out.append(f"Coinglass ({'+'.join(names)}{only}{lb})")
            else:
                out.append("Coinglass import")
        else:
            out.append(NAMES.get(c, c))
    return ", ".join(out) if out else "no venue"


def undercounts(cols: Sequence[str], sources: Mapping[str, str] | None = None) -> bool:
    if "binance" in cols:
        return True
    return "coinglass" in cols and "binance" in (sources or {}).get("coinglass", "").lower()


# -- books: where window totals come from ------------------------------------------------


class Book(Protocol):
    """Bucket totals over time ranges; buckets count when their start is in ``[a, b)``."""

    def sums(self, a: int, b: int) -> np.ndarray: ...

    def sides(self, a: int, b: int) -> tuple[float, float]: ...

    def resolution(self, t: int) -> int: ...

    def venues(self, a: int, b: int) -> list[str]: ...

    def gap_seconds(self, a: int, b: int) -> dict[str, float]: ...

    def price_at(self, t: int) -> float | None: ...


@dataclass
class Timeline:
    """De-duplicated buckets from stored series (sorted, non-overlapping)."""

    start: np.ndarray  # int64
    length: np.ndarray  # int64
    vals: np.ndarray  # (n, NCOL) USD
    mask: np.ndarray  # (n,) bit i set = column i had data
    sources: dict[str, str] = field(default_factory=dict)
    gaps: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    price_ts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    price_px: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        n = len(self.start)
        self._starts: list[int] = self.start.tolist()
        self._prefix = np.zeros((n + 1, NCOL))
        if n:
            np.cumsum(self.vals, axis=0, out=self._prefix[1:])
        self._len_prefix = np.concatenate([[0], np.cumsum(self.length)])
        self._long: list[float] = self._prefix[:, LONG_COLS].sum(axis=1).tolist()
        self._short: list[float] = self._prefix[:, SHORT_COLS].sum(axis=1).tolist()
        self._lengths: list[int] = self.length.tolist()
        bits = np.zeros((n + 1, len(COLUMNS)), dtype=np.int64)
        for i in range(len(COLUMNS)):
            bits[1:, i] = np.cumsum((self.mask >> i) & 1)
        self._bits = bits
        self._gap_prefix = {
            v: (ts.tolist(), np.concatenate([[0.0], np.cumsum(g)])) for v, (ts, g) in self.gaps.items()
        }

    def __len__(self) -> int:
        return len(self.start)

    @classmethod
    def empty(cls) -> Timeline:
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z.copy(), np.zeros((0, NCOL)), z.copy())

    @property
    def end(self) -> np.ndarray:
        return self.start + self.length

    def _idx(self, a: int, b: int) -> tuple[int, int]:
        return bisect.bisect_left(self._starts, a), bisect.bisect_left(self._starts, b)

    def sums(self, a: int, b: int) -> np.ndarray:
        i, j = self._idx(a, b)
        return self._prefix[j] - self._prefix[i]

    def sides(self, a: int, b: int) -> tuple[float, float]:
        i = bisect.bisect_left(self._starts, a)
        j = bisect.bisect_left(self._starts, b)
        return self._long[j] - self._long[i], self._short[j] - self._short[i]

    def covered(self, a: int, b: int) -> int:
        i, j = self._idx(a, b)
        return int(self._len_prefix[j] - self._len_prefix[i])

    def resolution(self, t: int) -> int:
        i = bisect.bisect_left(self._starts, t) - 1
        return self._lengths[i] if i >= 0 else 60

    def venues(self, a: int, b: int) -> list[str]:
        i, j = self._idx(a, b)
        have = self._bits[j] - self._bits[i]
        return [c for k, c in enumerate(COLUMNS) if have[k] > 0]

    def gap_seconds(self, a: int, b: int) -> dict[str, float]:
        out = {}
        for v, (ts, pre) in self._gap_prefix.items():
            i, j = bisect.bisect_left(ts, a), bisect.bisect_left(ts, b)
            g = float(pre[j] - pre[i])
            if g > 0:
                out[v] = g
        return out

    def price_at(self, t: int) -> float | None:
        i = int(np.searchsorted(self.price_ts, t, side="right")) - 1
        return float(self.price_px[i]) if i >= 0 else None

    def slice(self, a: int, b: int) -> Timeline:
        """Buckets with start in ``[a, b)`` (gaps and prices kept whole)."""
        i, j = self._idx(a, b)
        return Timeline(
            self.start[i:j],
            self.length[i:j],
            self.vals[i:j],
            self.mask[i:j],
            self.sources,
            self.gaps,
            self.price_ts,
            self.price_px,
        )


def _parse_name(name: str) -> tuple[str, str, str] | None:
    """``liq.btc.<venue>.<metric>.<bucket>`` -> (venue, metric, bucket)."""
    parts = name.split(".")
    if len(parts) != 5 or parts[0] != "liq" or parts[1] != "btc":
        return None
    return parts[2], parts[3], parts[4]


def build_timeline(inputs: Inputs, end: int | None = None, fine_from: int | None = None) -> Timeline:
    """Every stored liquidation bucket (starting before ``end``), de-duplicated (module docstring).

    ``fine_from``: live 1-minute buckets before it are merged into their aligned 5-minute
    period wherever all five minutes are there (see :func:`compact`): the baselines and ranks
    stay the same and the timeline is five times smaller. Evaluations "now" and charts step the
    tracker only over the last days, so they pass a time a margin before those.
    """
    wide = inputs.values
    ts_all = _epochs(wide.index)
    keep_rows = ts_all < end if end is not None else np.ones(len(ts_all), dtype=bool)
    ts_all = ts_all[keep_rows]
    col_of = {str(c): i for i, c in enumerate(wide.columns)}
    by_layer: dict[tuple[int, int], list[tuple[int, int, int]]] = {}  # -> (venue k, column, side)
    gaps: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    sources: dict[str, str] = {}
    matrix: np.ndarray | None = None

    def column(i: int) -> np.ndarray:
        nonlocal matrix
        if matrix is None:
            matrix = wide.to_numpy(dtype=float)[keep_rows]
        return matrix[:, i]

    for name, i in col_of.items():
        parsed = _parse_name(name)
        if parsed is None:
            continue
        venue, metric, bucket = parsed
        if venue not in VENUE_INDEX or bucket not in BUCKETS:
            continue
        if metric == "gap_s":
            g = column(i)
            ok = ~np.isnan(g)
            if ok.any():
                gaps[venue] = (ts_all[ok], g[ok])
            continue
        if metric not in ("long_usd", "short_usd"):
            continue
        rank = 0 if venue in VENUES else 1
        by_layer.setdefault((rank, BUCKETS[bucket]), []).append(
            (VENUE_INDEX[venue], i, 0 if metric == "long_usd" else 1)
        )
        if venue in IMPORTS:
            sources[venue] = inputs.last_source.get(name, venue)
    layers: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []  # (len, start, vals, mask)
    for (_rank, length), cols in sorted(by_layer.items()):
        present_any = np.zeros(len(ts_all), dtype=bool)
        for _k, i, _side in cols:
            present_any |= ~np.isnan(column(i))
        if not present_any.any():
            continue
        starts = ts_all[present_any]
        vals = np.zeros((len(starts), NCOL))
        mask = np.zeros(len(starts), dtype=np.int64)
        for k, i, side in cols:
            c = column(i)[present_any]
            ok = ~np.isnan(c)
            vals[ok, 2 * k + side] = np.clip(c[ok], 0, None)
            mask[ok] |= 1 << k
        layers.append((length, starts, vals, mask))
    if not layers:
        return Timeline.empty()
    length, tl_start, tl_vals, tl_mask = layers[0]
    tl_len = np.full(len(tl_start), length, dtype=np.int64)
    if fine_from is not None and length == 60:
        tl_start, tl_len, tl_vals, tl_mask = compact(tl_start, tl_vals, tl_mask, fine_from)
    for length, starts, vals, mask in layers[1:]:
        tl_start, tl_len, tl_vals, tl_mask = _merge_layer(
            tl_start, tl_len, tl_vals, tl_mask, starts, length, vals, mask
        )
    price_ts, price_px = _price(inputs, end)
    return Timeline(tl_start, tl_len, tl_vals, tl_mask, sources, gaps, price_ts, price_px)


def _epochs(idx: pd.Index) -> np.ndarray:
    return np.asarray(pd.DatetimeIndex(idx).as_unit("s").asi8, dtype=np.int64)


#: the shortest window: 1-minute buckets can be merged up to it without changing any window total
COMPACT_S = min(length for _name, length in WINDOWS)


def compact(
    start: np.ndarray, vals: np.ndarray, mask: np.ndarray, before: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """1-minute buckets of aligned 5-minute periods that end by ``before`` and are complete (all
    five minutes present) become one 5-minute bucket: (start, length, vals, mask), sorted.

    Every window is at least 5 minutes long and its periods are aligned, so each period total
    (the baselines, the ranks) and each coverage sum is unchanged; incomplete periods keep
    their minutes, so the 80 % coverage rule sees exactly what it saw.
    """
    n = len(start)
    period = start // COMPACT_S * COMPACT_S
    old = period + COMPACT_S <= before
    if not old.any():
        return start, np.full(n, 60, dtype=np.int64), vals, mask
    keys, inv, counts = np.unique(period[old], return_inverse=True, return_counts=True)
    full = counts == COMPACT_S // 60
    merge = np.zeros(n, dtype=bool)
    merge[np.flatnonzero(old)[full[inv]]] = True
    gvals = np.zeros((len(keys), vals.shape[1]))
    np.add.at(gvals, inv, vals[old])
    gmask = np.zeros(len(keys), dtype=np.int64)
    np.bitwise_or.at(gmask, inv, mask[old])
    keep = ~merge
    out_start = np.concatenate([start[keep], keys[full]])
    out_len = np.concatenate(
        [np.full(int(keep.sum()), 60, dtype=np.int64), np.full(int(full.sum()), COMPACT_S, dtype=np.int64)]
    )
    out_vals = np.concatenate([vals[keep], gvals[full]])
    out_mask = np.concatenate([mask[keep], gmask[full]])
    order = np.argsort(out_start, kind="stable")
    return out_start[order], out_len[order], out_vals[order], out_mask[order]


def _merge_layer(
    s0: np.ndarray,
    l0: np.ndarray,
    v0: np.ndarray,
    m0: np.ndarray,
    s1: np.ndarray,
    length: int,
    v1: np.ndarray,
    m1: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Add a coarser (or lower-priority) layer where the selected buckets do not cover it."""
    if len(s1) == 0:
        return s0, l0, v0, m0
    pre = np.concatenate([[0], np.cumsum(l0)])
    i0 = np.searchsorted(s0, s1, side="left")
    i1 = np.searchsorted(s0, s1 + length, side="left")
    covered = pre[i1] - pre[i0]
    use = covered < COVER_SHARE * length
    drop = np.zeros(len(s0) + 1, dtype=np.int64)
    np.add.at(drop, i0[use], 1)
    np.add.at(drop, i1[use], -1)
    keep = np.cumsum(drop)[:-1] == 0
    start = np.concatenate([s0[keep], s1[use]])
    lens = np.concatenate([l0[keep], np.full(int(use.sum()), length, dtype=np.int64)])
    vals = np.concatenate([v0[keep], v1[use]])
    mask = np.concatenate([m0[keep], m1[use]])
    order = np.argsort(start, kind="stable")
    return start[order], lens[order], vals[order], mask[order]


def _price(inputs: Inputs, end: int | None) -> tuple[np.ndarray, np.ndarray]:
    """The finest stored ``btc.usd.close.<bucket>`` series, extended by coarser ones before it."""
    parts: list[tuple[int, pd.Series]] = []
    for name in inputs.values.columns:
        n = str(name)
        if n.startswith("btc.usd.close."):
            b = n.rsplit(".", 1)[1]
            if b in BUCKETS:
                s = inputs.series(n)
                if end is not None:
                    s = s[s.index < pd.Timestamp(end, unit="s", tz="UTC")]
                if not s.empty:
                    # a close belongs to the end of its bucket
                    parts.append((BUCKETS[b], s))
    if not parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    parts.sort(key=lambda p: p[0])
    ts_all: list[np.ndarray] = []
    px_all: list[np.ndarray] = []
    first: int | None = None
    for length, s in parts:
        ts = _epochs(s.index) + length
        px = s.to_numpy(dtype=float)
        if first is not None:
            keep = ts < first
            ts, px = ts[keep], px[keep]
        if len(ts):
            ts_all.append(ts)
            px_all.append(px)
            first = int(ts.min()) if first is None else min(first, int(ts.min()))
    ts_cat = np.concatenate(ts_all)
    order = np.argsort(ts_cat, kind="stable")
    return ts_cat[order], np.concatenate(px_all)[order]


# -- baselines and ranks -----------------------------------------------------------------


@dataclass
class WindowHistory:
    """Aligned, non-overlapping period totals of one window length, with rolling medians."""

    length: int
    ends: np.ndarray  # int64, sorted, valid periods only
    totals: np.ndarray
    medians: np.ndarray  # NaN where the baseline has too few periods
    first: int | None  # start of the first valid period

    def __post_init__(self) -> None:
        self._ends: list[int] = self.ends.tolist()
        self._medians: list[float] = self.medians.tolist()

    def median_before(self, t: int) -> float | None:
        """The rolling median as of the last period ending at or before ``t``."""
        i = bisect.bisect_right(self._ends, t) - 1
        if i < 0:
            return None
        m = self._medians[i]
        return None if m != m else m

    def largest_since(self, before: int, value: float) -> int | None:
        """End of the last period ending at or before ``before`` with a total >= ``value``."""
        k = int(np.searchsorted(self.ends, before, side="right"))
        hits = np.flatnonzero(self.totals[:k] >= value)
        return int(self.ends[hits[-1]]) if len(hits) else None


def period_totals(tl: Timeline, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Totals of the aligned periods of ``length`` seconds that the buckets cover (>= 80 %)."""
    if len(tl) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    p = (tl.start // length) * length
    fits = (tl.length <= length) & (tl.start - p + tl.length <= length)
    if not fits.any():
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    p, vals, lens = p[fits], tl.vals[fits].sum(axis=1), tl.length[fits]
    keys, inv = np.unique(p, return_inverse=True)
    totals = np.bincount(inv, weights=vals)
    cover = np.bincount(inv, weights=lens)
    ok = cover >= COVER_SHARE * length
    return keys[ok] + length, totals[ok]


def window_histories(tl: Timeline, params: Params) -> dict[str, WindowHistory]:
    days = int(params["baseline_days"])
    out = {}
    for name, length in WINDOWS:
        ends, totals = period_totals(tl, length)
        min_n = max(3, math.ceil(0.25 * days * 86400 / length))
        if len(ends):
            ser = pd.Series(totals, index=pd.to_datetime(ends, unit="s"))
            med = ser.rolling(f"{days}D", min_periods=min_n).median().to_numpy()
            first = int(ends[0] - length)
        else:
            med, first = np.zeros(0), None
        out[name] = WindowHistory(length, ends, totals, med, first)
    return out


# -- the cascade tracker -----------------------------------------------------------------


@dataclass(slots=True)
class WindowEval:
    name: str
    length: int
    total: float  # fresh total (since the fence)
    long: float
    short: float
    raw: float  # whole-window total, fence ignored
    median: float | None
    thresholds: tuple[float, float, float]  # watch, alert, severe (USD)
    level: Level
    since: int | None = None  # "largest since" (end of the last larger period)
    history_from: int | None = None  # start of the history the rank was judged against
    record: bool = False
    checked: bool = False  # whether the rank was looked up

    @property
    def multiple(self) -> float | None:
        if self.median is None or self.median <= 0:
            return None
        return self.total / self.median

    @property
    def pressure(self) -> float:
        return self.total / self.thresholds[1] if self.thresholds[1] > 0 else 0.0


@dataclass
class Run:
    start: int  # first bucket start counted
    since: int  # time of the reading that started it
    window: str
    peak: Level
    acc_until: int
    acc: np.ndarray


@dataclass
class Step:
    t: int
    res: int
    evals: list[WindowEval]
    top: WindowEval
    level: Level
    run: Run | None
    resolved: Run | None


def ladder(value: float, thresholds: Sequence[float]) -> Level:
    lvl = Level.OK
    for i, thr in enumerate(thresholds, start=1):
        if value >= thr:
            lvl = Level(i)
    return lvl


def multiples(p: Params) -> tuple[float, float, float]:
    return (p["k_watch"], p["k_alert"], p["k_severe"])


def thresholds(
    median: float | None, floor: float, ks: tuple[float, float, float]
) -> tuple[float, float, float]:
    """Entry thresholds (USD): ``max(k × median, floor × k / k_alert)`` per level.

    Without a baseline (too little history) the floor alone decides.
    """
    kw, ka, ks_ = ks
    m = median if median is not None and median > 0 else floor / ka
    return (max(kw * m, floor * kw / ka), max(ka * m, floor), max(ks_ * m, floor * ks_ / ka))


def _ladder3(value: float, thr: tuple[float, float, float]) -> Level:
    if value >= thr[2]:
        return Level.SEVERE
    if value >= thr[1]:
        return Level.ALERT
    if value >= thr[0]:
        return Level.WATCH
    return Level.OK


def floor_usd(p: Params, window: str) -> float:
    return float(p[f"floor_{window}"]) * 1e6


class Tracker:
    """The cascade state machine. ``step`` is called in time order; one Reading per step."""

    def __init__(self, params: Params, signal: str = "btc_liq", key: str = "cascade") -> None:
        self.p = params
        self.signal = signal
        self.key = key
        self.fence = 0
        self.run: Run | None = None
        self.last_t: int | None = None
        self._ks = multiples(params)
        self._floors = {n: floor_usd(params, n) for n, _ in WINDOWS}

    # .. evaluation of one window ..

    def _window(self, t: int, name: str, length: int, book: Book, hist: WindowHistory) -> WindowEval:
        a = max(t - length, self.fence)
        long, short = book.sides(a, t)
        total = long + short
        raw = total if a == t - length else sum(book.sides(t - length, t))
        med = hist.median_before(t - length)
        thr = thresholds(med, self._floors[name], self._ks)
        ev = WindowEval(name, length, total, long, short, raw, med, thr, _ladder3(total, thr))
        if med is not None and med > 0 and total >= self._ks[0] * med:
            self._rank(ev, t, hist)
            if ev.record:
                ks = self._ks
                by_multiple = _ladder3(total, (ks[0] * med, ks[1] * med, ks[2] * med))
                if by_multiple >= Level.ALERT:
                    by_multiple = Level.SEVERE  # a record cascade is the signal's extreme
                ev.level = max(ev.level, by_multiple)
        return ev

    def _rank(self, ev: WindowEval, t: int, hist: WindowHistory) -> None:
        before = t - ev.length
        ev.checked = True
        ev.history_from = hist.first
        ev.since = hist.largest_since(before, ev.total)
        need = self.p["record_days"] * 86400
        if ev.since is None:
            ev.record = hist.first is not None and before - hist.first >= need
        else:
            ev.record = t - ev.since >= need

    def _run_total(self, run: Run, t: int, book: Book) -> np.ndarray:
        while t - run.acc_until > 40 * 3600:
            nxt = run.acc_until + 24 * 3600
            run.acc = run.acc + book.sums(run.acc_until, nxt)
            run.acc_until = nxt
        return run.acc + book.sums(run.acc_until, t)

    # .. one step ..

    def advance(self, t: int, book: Book, hists: Mapping[str, WindowHistory]) -> Step:
        """Move the state machine to ``t`` (no text: what charts and warm-ups need)."""
        p = self.p
        res = book.resolution(t)
        evals = [self._window(t, n, w, book, hists[n]) for n, w in WINDOWS if w >= res]
        if not evals:  # coarser than a day: judge it as a day
            evals = [self._window(t, "24h", 86400, book, hists["24h"])]
        top = max(evals, key=lambda e: (e.level, e.pressure))
        # Calm: the last quiet period ran below exit_ratio × k_watch × the normal rate.
        hold_w = next((e for e in evals if e.length >= max(3600, res)), evals[-1])
        quiet = max(int(p["quiet_minutes"]) * 60, res)
        recent = sum(book.sides(t - quiet, t))
        normal = (
            hold_w.median if hold_w.median and hold_w.median > 0 else floor_usd(p, hold_w.name) / p["k_alert"]
        )
        calm = recent < p["exit_ratio"] * p["k_watch"] * normal * quiet / hold_w.length
        level = Level.OK if calm else top.level

        resolved: Run | None = None
        if self.run is None and level > Level.OK:
            start = max(t - top.length, self.fence)
            self.run = Run(start, t, top.name, level, start, np.zeros(NCOL))
        elif self.run is not None and calm:
            resolved, self.run, self.fence = self.run, None, t
        elif self.run is not None:
            self.run.peak = max(self.run.peak, level)
        self.last_t = t
        return Step(t, res, evals, top, level, self.run, resolved)

    def step(self, t: int, book: Book, hists: Mapping[str, WindowHistory]) -> Reading:
        st = self.advance(t, book, hists)
        return self._reading(t, book, hists, st.evals, st.top, st.level, st.run, st.resolved, st.res)

    # .. the reading ..

    def _reading(
        self,
        t: int,
        book: Book,
        hists: Mapping[str, WindowHistory],
        evals: list[WindowEval],
        top: WindowEval,
        level: Level,
        run: Run | None,
        resolved: Run | None,
        res: int,
    ) -> Reading:
        current = run or resolved
        data: dict[str, Any] = {
            "resolution_s": res,
            "windows": {
                e.name: {
                    "usd": e.total,
                    "long_usd": e.long,
                    "short_usd": e.short,
                    "raw_usd": e.raw,
                    "median_usd": e.median,
                    "multiple": e.multiple,
                    "level": e.level.label,
                    "alert_usd": e.thresholds[1],
                }
                for e in evals
            },
            "window": top.name,
            "in_cascade": run is not None,
        }
        fields: dict[str, str] = {}
        if current is not None:
            tot = self._run_total(current, t, book)
            long, short = float(tot[LONG_COLS].sum()), float(tot[SHORT_COLS].sum())
            total = long + short
            value = total / 1e6
            a = current.start
            cols = book.venues(a, t)
            data.update(
                total_usd=total,
                long_usd=long,
                short_usd=short,
                start=a,
                started_at=current.since,
                by_venue={c: float(tot[2 * VENUE_INDEX[c]] + tot[2 * VENUE_INDEX[c] + 1]) for c in cols},
            )
            summary, fields = self._describe(
                t, book, hists, current, evals, top, total, long, short, cols, resolved, data
            )
            nxt = _next_threshold(top, max(current.peak, level))
            hold = Level.OK if resolved else current.peak
            if resolved:
                level = Level.OK
        else:
            value = top.total / 1e6
            cols = book.venues(t - max(e.length for e in evals), t)
            summary = self._calm_summary(evals, cols, book)
            nxt = _next_threshold(top, top.level)
            hold = Level.OK
            fields = {"Windows": _windows_text(evals)}
        data["venues"] = cols
        data["lower_bound"] = undercounts(cols, getattr(book, "sources", None))
        src = venue_list(cols, getattr(book, "sources", None))
        return Reading(
            signal=self.signal,
            key=self.key,
            ts=datetime.fromtimestamp(t, tz=UTC),
            value=value,
            level=level,
            hold=hold,
            summary=summary,
            source=src,
            confirm=1,
            fields=fields,
            data=data,
            next_threshold=nxt,
            unit="M USD",
        )

    def _describe(
        self,
        t: int,
        book: Book,
        hists: Mapping[str, WindowHistory],
        run: Run,
        evals: list[WindowEval],
        top: WindowEval,
        total: float,
        long: float,
        short: float,
        cols: list[str],
        resolved: Run | None,
        data: dict[str, Any],
    ) -> tuple[str, dict[str, str]]:
        share = long / total if total > 0 else 0.5
        if share >= 0.65:
            direction = f"longs {share:.0%}: longs flushed as price falls"
        elif share <= 0.35:
            direction = f"shorts {1 - share:.0%}: a short squeeze as price rises"
        else:
            direction = f"longs {share:.0%}, shorts {1 - share:.0%}"
        p0, p1 = book.price_at(run.start), book.price_at(t)
        price_txt = ""
        if p0 and p1:
            chg = p1 / p0 - 1
            price_txt = f"BTC {chg:+.1%} ({p0:,.0f} → {p1:,.0f})"
            data.update(price_start=p0, price_end=p1, price_change=chg)
        lead = max(
            (e for e in evals if e.total > 0),
            key=lambda e: (e.level, e.multiple or 0.0),
            default=top,
        )
        if not lead.checked and lead.median:
            self._rank(lead, t, hists[lead.name])
        mult = (
            f" = {lead.multiple:.1f}× the {int(self.p['baseline_days'])}-day median" if lead.multiple else ""
        )
        rank = _rank_text(lead)
        data.update(
            peak_window=lead.name,
            peak_window_usd=lead.total,
            multiple=lead.multiple,
            median_usd=lead.median,
            largest_since=lead.since,
            record=lead.record,
        )
        gaps = {v: s for v, s in book.gap_seconds(run.start, t).items() if s >= 60}
        gap_txt = ", ".join(f"{NAMES.get(v, v)} down {span(s)}" for v, s in sorted(gaps.items()))
        data["gaps_s"] = gaps
        where = venue_list(cols, getattr(book, "sources", None))
        dur = t - run.start
        if resolved is not None:
            head = f"Cascade over: {usd(total)} liquidated from {hhmm(run.start)} to {hhmm(t)} UTC ({span(dur)}; {direction})"
        else:
            head = f"BTC liquidation cascade: {usd(total)} liquidated since {hhmm(run.start)} UTC ({span(dur)}; {direction})"
        parts = [head]
        if price_txt:
            parts.append(price_txt)
        parts.append(f"{lead.name} {usd(lead.total)}{mult}" + (f", {rank}" if rank else ""))
        parts.append(f"venues: {where}")
        if gap_txt:
            parts.append(f"gaps: {gap_txt}")
        fields = {
            "Cascade total": f"{usd(total)} since {hhmm(run.start)} UTC ({span(dur)})",
            "Longs / shorts": f"{usd(long)} / {usd(short)} ({direction})",
            f"{lead.name} window": f"{usd(lead.total)}{mult} ({usd(lead.median or 0)})"
            if lead.multiple
            else usd(lead.total),
        }
        if rank:
            fields["Rank"] = rank
        fields["Windows"] = _windows_text(evals)
        if price_txt:
            fields["BTC price"] = price_txt
        fields["Venues"] = where + (
            f". {BINANCE_NOTE}" if undercounts(cols, getattr(book, "sources", None)) else ""
        )
        if gap_txt:
            fields["Gaps"] = gap_txt
        return "; ".join(parts), fields

    def _calm_summary(self, evals: list[WindowEval], cols: list[str], book: Book) -> str:
        parts = []
        for e in evals:
            m = f" ({e.multiple:.1f}× median)" if e.multiple is not None else ""
            parts.append(f"{e.name} {usd(e.total)}{m}")
        state = "elevated" if max(e.level for e in evals) > Level.OK else "no cascade"
        return (
            f"BTC liquidations, {state}: "
            + ", ".join(parts)
            + f"; venues: {venue_list(cols, getattr(book, 'sources', None))}"
        )


def _rank_text(e: WindowEval) -> str:
    if not e.checked:
        return ""
    if e.since is not None:
        return f"largest {e.name} since {day(e.since)}"
    if e.history_from is None:
        return ""
    return f"largest {e.name} in the stored history (since {day(e.history_from)})"


def _windows_text(evals: list[WindowEval]) -> str:
    out = []
    for e in evals:
        m = f" ({e.multiple:.1f}×)" if e.multiple is not None else ""
        out.append(f"{e.name} {usd(e.total)}{m}")
    return " · ".join(out)


def _next_threshold(e: WindowEval, level: Level) -> Threshold | None:
    if level >= Level.SEVERE:
        return None
    nxt = Level(int(level) + 1)
    return Threshold(nxt, e.thresholds[int(nxt) - 1] / 1e6)


# -- live: the in-memory book -------------------------------------------------------------


class LiveBook:
    """The last 48 hours of 1-minute buckets per live venue and side, in memory.

    ``add`` is the ingest hot path (one call per liquidation); ``sums`` serves the windows.
    """

    RING = 2880 + 120

    def __init__(self) -> None:
        self.vals = np.zeros((self.RING, NCOL))
        self.mask = np.zeros(self.RING, dtype=np.int64)
        self.gap = np.zeros((self.RING, len(COLUMNS)))
        self.head: int | None = None  # newest minute number (epoch // 60)
        self.price_ts: list[int] = []
        self.price_px: list[float] = []
        self.sources: dict[str, str] = {}
        self.dropped_old = 0
        #: the ingest hot path adds here, ``{(minute number, column): usd}``; folded in on read
        self.pending: dict[tuple[int, int], float] = {}
        #: minute starts changed by folds since the owner last looked (for rewriting buckets)
        self.touched: set[int] = set()

    def fold(self) -> None:
        """Move pending additions into the ring."""
        if self.pending:
            acc, self.pending = self.pending, {}
            lo = self.add_many(acc)
            if lo is not None:
                self.touched.update(m * 60 for m, _c in acc)

    def _advance(self, m: int) -> None:
        head = self.head
        if head is None:
            self.head = m
            return
        if m <= head:
            return
        n = m - head
        if n >= self.RING:
            self.vals[:] = 0
            self.mask[:] = 0
            self.gap[:] = 0
        else:
            idx = np.arange(head + 1, m + 1) % self.RING
            self.vals[idx] = 0
            self.mask[idx] = 0
            self.gap[idx] = 0
        self.head = m

    def slot(self, minute: int) -> int | None:
        """Ring index of the minute starting at ``minute`` (epoch s), advancing the ring; None if too old."""
        m = minute // 60
        if self.head is None or m > self.head:
            self._advance(m)
        assert self.head is not None
        if m <= self.head - self.RING:
            self.dropped_old += 1
            return None
        return m % self.RING

    def add(self, ts_s: int, col: int, amount: float) -> bool:
        m = ts_s // 60
        head = self.head
        if head is None or m > head:
            self._advance(m)
            head = self.head
            assert head is not None
        elif m <= head - self.RING:
            self.dropped_old += 1
            return False
        self.vals[m % self.RING, col] += amount
        return True

    def add_many(self, acc: Mapping[tuple[int, int], float]) -> int | None:
        """Add ``{(minute number, column): usd}``; returns the oldest minute start taken (or None)."""
        vals, ring = self.vals, self.RING
        lo: int | None = None
        for (m, col), amount in acc.items():
            head = self.head
            if head is None or m > head:
                self._advance(m)
            elif m <= head - ring:
                self.dropped_old += 1
                continue
            vals[m % ring, col] += amount
            if lo is None or m < lo:
                lo = m
        return None if lo is None else lo * 60

    def mark(self, venue: str, minute: int) -> None:
        i = self.slot(minute)
        if i is not None:
            self.mask[i] |= 1 << VENUE_INDEX[venue]

    def set_gap(self, venue: str, minute: int, seconds: float) -> None:
        i = self.slot(minute)
        if i is not None:
            self.gap[i, VENUE_INDEX[venue]] = seconds

    def note_price(self, ts_s: int, price: float) -> None:
        if self.price_ts and ts_s <= self.price_ts[-1]:
            if ts_s == self.price_ts[-1]:
                self.price_px[-1] = price
            return
        self.price_ts.append(ts_s)
        self.price_px.append(price)
        if len(self.price_ts) > 6000:
            del self.price_ts[:3000]
            del self.price_px[:3000]

    def row(self, minute: int) -> np.ndarray:
        if self.pending:
            self.fold()
        i = self.slot(minute)
        return self.vals[i].copy() if i is not None else np.zeros(NCOL)

    def venues_at(self, minute: int) -> int:
        i = self.slot(minute)
        return int(self.mask[i]) if i is not None else 0

    def gap_at(self, minute: int) -> np.ndarray:
        i = self.slot(minute)
        return self.gap[i].copy() if i is not None else np.zeros(len(COLUMNS))

    def _range(self, a: int, b: int) -> list[slice]:
        """Ring slices of minutes whose start lies in ``[a, b)``."""
        if self.head is None:
            return []
        m0 = -(-a // 60)
        m1 = -(-b // 60) - 1
        m0 = max(m0, self.head - self.RING + 1)
        m1 = min(m1, self.head)
        if m1 < m0:
            return []
        i0, i1 = m0 % self.RING, m1 % self.RING
        if i0 <= i1:
            return [slice(i0, i1 + 1)]
        return [slice(i0, self.RING), slice(0, i1 + 1)]

    def sums(self, a: int, b: int) -> np.ndarray:
        if self.pending:
            self.fold()
        out = np.zeros(NCOL)
        for s in self._range(a, b):
            out += self.vals[s].sum(axis=0)
        return out

    def sides(self, a: int, b: int) -> tuple[float, float]:
        v = self.sums(a, b)
        return float(v[LONG_COLS].sum()), float(v[SHORT_COLS].sum())

    def resolution(self, t: int) -> int:
        return 60

    def venues(self, a: int, b: int) -> list[str]:
        bits = 0
        for s in self._range(a, b):
            bits |= int(np.bitwise_or.reduce(self.mask[s])) if s.stop > s.start else 0
        return [c for k, c in enumerate(COLUMNS) if bits >> k & 1]

    def gap_seconds(self, a: int, b: int) -> dict[str, float]:
        g = np.zeros(len(COLUMNS))
        for s in self._range(a, b):
            g += self.gap[s].sum(axis=0)
        return {c: float(g[k]) for k, c in enumerate(COLUMNS) if g[k] > 0}

    def price_at(self, t: int) -> float | None:
        i = bisect.bisect_right(self.price_ts, t) - 1
        return self.price_px[i] if i >= 0 else None

    def load(self, tl: Timeline) -> None:
        """Fill the ring from stored 1-minute live buckets (a restart keeps its windows)."""
        ok = tl.length == 60
        for s, v, m in zip(tl.start[ok].tolist(), tl.vals[ok], tl.mask[ok].tolist(), strict=True):
            i = self.slot(int(s))
            if i is not None:
                self.vals[i] = v
                self.mask[i] = m
        for venue, (ts, g) in tl.gaps.items():
            for s, sec in zip(ts.tolist(), g.tolist(), strict=True):
                if self.head is not None and s // 60 > self.head - self.RING:
                    self.set_gap(venue, int(s), float(sec))
        if len(tl.price_ts):
            head = (self.head or 0) * 60
            keep = tl.price_ts > head - self.RING * 60
            self.price_ts = tl.price_ts[keep].tolist()
            self.price_px = tl.price_px[keep].tolist()


def warm_tracker(
    params: Params, tl: Book, hists: Mapping[str, WindowHistory], ends: np.ndarray, until: int
) -> tuple[Tracker, Reading | None]:
    """A tracker stepped over the bucket ends of the last two days up to ``until``.

    Returns it with the reading at ``until`` when ``until`` is one of those ends.
    """
    tr = Tracker(params)
    sel = ends[(ends > until - WARMUP_S) & (ends <= until)].tolist()
    for t in sel[:-1]:
        tr.advance(int(t), tl, hists)
    last = tr.step(int(sel[-1]), tl, hists) if sel else None
    return tr, last
