"""The pure core of ``btc_liq``: buckets, rolling windows, baselines, ranks and the cascade tracker.

Everything here is in memory and deterministic; the same code drives live evaluation (the
stream service feeds a :class:`LiveBook`), replay and tests (a :class:`Timeline` of stored
buckets). Stored history is read through a :class:`History`: :class:`MemoryHistory` over
every bucket of an :class:`~storage.observations.Inputs` frame (tests, small data), or
:class:`signals.liq_stored.StoredHistory`, which reads only the range it is asked for (the
1-minute rows of the last days, the roll-ups for baselines and ranks).

Vocabulary:

- A **bucket** is USD liquidated per venue and side over ``[start, start + length)``:
  1-minute buckets from the live venues (Bybit, Binance, OKX), their 5-minute, hourly and
  daily roll-ups, 1h/4h/1d buckets from an imported aggregate (Coinglass). Columns:
  ``COLUMNS`` × (long, short).
- A **timeline** is the de-duplicated sequence of buckets: live venues where they cover a
  bucket of an import, the import only where they do not; among resolutions, the finer one
  where it covers (so an imported aggregate and live venues never count the same bucket).
- **Coverage**: the share of the all-venue total a bucket's data carries. Live buckets count
  as 1; an import that does not list all three live venues (the Binance-only Coinglass
  history) counts as ``import_coverage``. Levels compare *normalised* totals (USD / coverage):
  a rank or a median never mixes a one-venue import with three live venues, and the USD
  floors apply to the data in all-venue terms. Messages report the USD as measured.
- A **window** (5 m, 1 h, 4 h, 24 h) is the total over ``[t - W, t)``; windows shorter than the
  bucket at ``t`` are skipped. Its **baseline** is the rolling median of that window's
  aligned, non-overlapping period totals over the past ``baseline_days``; its **rank** is its
  place among those periods over the trailing ``RANK_DAYS`` (365), by total and (windows of an
  hour or more) by multiple of the baseline.
- A **run** (a cascade) starts when a window reaches a level, grows while liquidations keep
  coming faster than normal, and ends when the last ``quiet_minutes`` ran below
  ``exit_ratio × k_watch ×`` the normal rate. Its total is everything liquidated from the
  triggering window's start to its end. After a run, windows count only buckets after its end
  (the *fence*), so the same liquidations never start a second cascade.

The level of a window (:meth:`Tracker._judge`), all in normalised USD:

- below the window's floor (``floor_<w>``): ``ok`` — the floor only guards against noise in a
  thin, quiet series;
- under ``k_watch`` × its median: ``ok``; at or above it and the largest of at least
  ``watch_days`` (a heads-up is news, not every 3× of a quiet median): ``watch``;
- the largest period total of the trailing 365 days (or, with less history, of the stored
  history once it spans ``record_days``): ``severe``;
- at or above ``k_alert`` × its median and in the top ``top_n`` of the trailing 365 days, by
  total or (windows of an hour or more) by multiple: ``alert``. With ``H`` < 365 days of
  history the rank ``r`` among them stands for ``1 + (r - 1) × 365 / H`` in a year;
- with too little history to rank (under ``365 / top_n`` days, or no baseline yet), an alert
  needs ``k_severe`` × the larger of its median and its floor.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
import pandas as pd

from signals.base import Level, Params, Reading, Threshold
from storage.observations import Inputs
from storage.series import (
    LIQ_BUCKET_NAMES,
    LIQ_BUCKETS,
    LIQ_COLUMNS,
    LIQ_IMPORTS,
    LIQ_NAMES,
    LIQ_VENUES,
)

VENUES = LIQ_VENUES
IMPORTS = LIQ_IMPORTS
COLUMNS = LIQ_COLUMNS
NCOL = 2 * len(COLUMNS)
VENUE_INDEX = {v: i for i, v in enumerate(COLUMNS)}
NAMES = LIQ_NAMES
BUCKETS = LIQ_BUCKETS
BUCKET_NAMES = LIQ_BUCKET_NAMES
WINDOWS: tuple[tuple[str, int], ...] = (("5m", 300), ("1h", 3600), ("4h", 14400), ("24h", 86400))
LONG, SHORT = 0, 1
LONG_COLS = np.arange(0, NCOL, 2)
SHORT_COLS = np.arange(1, NCOL, 2)
#: a coarser bucket gives way to finer data covering at least this share of it
COVER_SHARE = 0.8
#: the cascade state is rebuilt from this much history when evaluating "now"
WARMUP_S = 2 * 86400
#: ranks look this far back (the issue of every rank: "largest of the trailing year")
RANK_DAYS = 365
RANK_S = RANK_DAYS * 86400
#: rank texts name the place ("3rd-largest") up to this rank, then only "largest since"
RANK_TEXT_MAX = 20
#: windows whose multiples of the baseline are ranked too (a 5-minute year is 105,000 periods)
MULTIPLE_RANKED = ("1h", "4h", "24h")
BINANCE_NOTE = "Binance is a lower bound (it publishes at most one liquidation per symbol per second)"


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


def ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"


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


def coverage_of(source: str | None, import_coverage: float) -> float:
    """The share of the all-venue total an import carries: 1 when its source lists every live
    venue (``coinglass:binance,okx,bybit``), else ``import_coverage`` (a one-venue history, or
    one whose exchanges are unknown)."""
    detail = (source or "").split(":", 1)
    exch = {e.strip().lower() for e in detail[1].split(",")} if len(detail) == 2 else set()
    return 1.0 if set(VENUES) <= exch else float(import_coverage)


def coverage_text(cov: float, cols: Sequence[str], sources: Mapping[str, str] | None) -> str:
    """Which coverage the levels used, for every message."""
    if cov >= 0.999:
        return "live venues, 100% (full coverage)" if any(c in VENUES for c in cols) else "100% (all venues)"
    what = "import" if any(c in IMPORTS for c in cols) else "data"
    return (
        f"{cov:.0%} of the all-venue total ({venue_list([c for c in cols if c in IMPORTS] or cols, sources)} {what}, "
        "FLOWWATCH_BTC_LIQ_IMPORT_COVERAGE): floors and ranks in all-venue terms"
    )


# -- books: where window totals come from ------------------------------------------------


class Book(Protocol):
    """Bucket totals over time ranges; buckets count when their start is in ``[a, b)``."""

    def sums(self, a: int, b: int) -> np.ndarray: ...

    def sides(self, a: int, b: int) -> tuple[float, float]: ...

    def norm(self, a: int, b: int) -> float: ...

    def resolution(self, t: int) -> int: ...

    def venues(self, a: int, b: int) -> list[str]: ...

    def gap_seconds(self, a: int, b: int) -> dict[str, float]: ...

    def price_at(self, t: int) -> float | None: ...


@dataclass
class Timeline:
    """De-duplicated buckets (sorted, non-overlapping).

    ``cover``: seconds of the bucket that had data (a 1-minute bucket: 60; a roll-up: the
    minutes its best-covered venue had data; an import bucket: its length). ``scale``:
    1 / coverage (normalised USD = USD × scale).
    """

    start: np.ndarray  # int64
    length: np.ndarray  # int64
    vals: np.ndarray  # (n, NCOL) USD
    mask: np.ndarray  # (n,) bit i set = column i had data
    sources: dict[str, str] = field(default_factory=dict)
    gaps: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    price_ts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    price_px: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cover: np.ndarray | None = None
    scale: np.ndarray | None = None
    #: per venue, the length of the bucket each ``gaps`` entry covers (60 unless a roll-up)
    gap_len: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.start)
        if self.cover is None:
            self.cover = self.length.copy()
        if self.scale is None:
            self.scale = np.ones(n)
        self._starts: list[int] = self.start.tolist()
        # Running sums in whole cents (int64): a window's total is then exact, whatever range
        # of history the timeline was built from (float prefix sums would differ in the last
        # digits between an evaluation after a restart and one before it).
        cents = np.rint(self.vals * 100).astype(np.int64)
        self._prefix = np.zeros((n + 1, NCOL), dtype=np.int64)
        if n:
            np.cumsum(cents, axis=0, out=self._prefix[1:])
        self._cover_prefix = np.concatenate([[0], np.cumsum(self.cover)])
        self._long: list[int] = self._prefix[:, LONG_COLS].sum(axis=1).tolist()
        self._short: list[int] = self._prefix[:, SHORT_COLS].sum(axis=1).tolist()
        norm = np.rint(self.vals.sum(axis=1) * self.scale * 100).astype(np.int64)
        self._norm: list[int] = np.concatenate([[0], np.cumsum(norm)]).tolist()
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
        return (self._prefix[j] - self._prefix[i]) / 100.0

    def sides(self, a: int, b: int) -> tuple[float, float]:
        i = bisect.bisect_left(self._starts, a)
        j = bisect.bisect_left(self._starts, b)
        return (self._long[j] - self._long[i]) / 100.0, (self._short[j] - self._short[i]) / 100.0

    def norm(self, a: int, b: int) -> float:
        i = bisect.bisect_left(self._starts, a)
        j = bisect.bisect_left(self._starts, b)
        return (self._norm[j] - self._norm[i]) / 100.0

    def covered(self, a: int, b: int) -> int:
        i, j = self._idx(a, b)
        return int(self._cover_prefix[j] - self._cover_prefix[i])

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
        assert self.cover is not None and self.scale is not None
        return Timeline(
            self.start[i:j],
            self.length[i:j],
            self.vals[i:j],
            self.mask[i:j],
            self.sources,
            self.gaps,
            self.price_ts,
            self.price_px,
            self.cover[i:j],
            self.scale[i:j],
            self.gap_len,
        )


def _parse_name(name: str) -> tuple[str, str, str] | None:
    """``liq.btc.<venue>.<metric>.<bucket>`` -> (venue, metric, bucket)."""
    parts = name.split(".")
    if len(parts) != 5 or parts[0] != "liq" or parts[1] != "btc":
        return None
    return parts[2], parts[3], parts[4]


def build_timeline(inputs: Inputs, end: int | None = None, import_coverage: float = 1.0) -> Timeline:
    """Every liquidation bucket in ``inputs`` (starting before ``end``), de-duplicated (module
    docstring). Live series may come as 1-minute buckets or as roll-ups (``<bucket>`` 5m, 1h or
    1d, with a ``liq.btc.<venue>.minutes.<bucket>`` column of the minutes they hold); imports are
    scaled by their coverage (:func:`coverage_of` with ``import_coverage``)."""
    wide = inputs.values
    ts_all = _epochs(wide.index)
    keep_rows = ts_all < end if end is not None else np.ones(len(ts_all), dtype=bool)
    ts_all = ts_all[keep_rows]
    col_of = {str(c): i for i, c in enumerate(wide.columns)}
    # (rank, length) -> [(venue k, column, side)]
    by_layer: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
    minutes_of: dict[tuple[int, int], list[int]] = {}  # live roll-up layers: their minutes columns
    gap_parts: dict[str, list[tuple[np.ndarray, np.ndarray, int]]] = {}
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
        rank = 0 if venue in VENUES else 1
        if metric == "gap_s":
            g = column(i)
            ok = ~np.isnan(g) & (g > 0)
            if ok.any():
                gap_parts.setdefault(venue, []).append((ts_all[ok], g[ok], BUCKETS[bucket]))
            continue
        if metric == "minutes" and rank == 0:
            minutes_of.setdefault((rank, BUCKETS[bucket]), []).append(i)
            continue
        if metric not in ("long_usd", "short_usd"):
            continue
        by_layer.setdefault((rank, BUCKETS[bucket]), []).append(
            (VENUE_INDEX[venue], i, 0 if metric == "long_usd" else 1)
        )
        if venue in IMPORTS:
            sources[venue] = inputs.last_source.get(name, venue)
    gaps = {}
    gap_len = {}
    for v, parts in gap_parts.items():
        ts = np.concatenate([p[0] for p in parts])
        g = np.concatenate([p[1] for p in parts])
        ln = np.concatenate([np.full(len(p[0]), p[2], dtype=np.int64) for p in parts])
        order = np.argsort(ts, kind="stable")
        gaps[v] = (ts[order], g[order])
        gap_len[v] = ln[order]
    layers: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    for (rank, length), cols in sorted(by_layer.items()):
        present_any = np.zeros(len(ts_all), dtype=bool)
        for _k, i, _side in cols:
            present_any |= ~np.isnan(column(i))
        if not present_any.any():
            continue
        starts = ts_all[present_any]
        vals = np.zeros((len(starts), NCOL))
        mask = np.zeros(len(starts), dtype=np.int64)
        scale = np.ones(len(starts))
        for k, i, side in cols:
            c = column(i)[present_any]
            ok = ~np.isnan(c)
            vals[ok, 2 * k + side] = np.clip(c[ok], 0, None)
            mask[ok] |= 1 << k
            if rank == 1:
                scale[ok] = 1.0 / coverage_of(sources.get(COLUMNS[k]), import_coverage)
        cover = np.full(len(starts), length, dtype=np.int64)
        mins = minutes_of.get((rank, length))
        if mins:
            m = np.nanmax(np.stack([column(i)[present_any] for i in mins]), axis=0)
            cover = np.minimum(np.nan_to_num(m, nan=0.0).astype(np.int64) * 60, length)
        layers.append((length, starts, vals, mask, cover, scale))
    if not layers:
        return Timeline.empty()
    length, tl_start, tl_vals, tl_mask, tl_cover, tl_scale = layers[0]
    tl_len = np.full(len(tl_start), length, dtype=np.int64)
    for length, starts, vals, mask, cover, scale in layers[1:]:
        tl_start, tl_len, tl_vals, tl_mask, tl_cover, tl_scale = _merge_layer(
            (tl_start, tl_len, tl_vals, tl_mask, tl_cover, tl_scale), starts, length, vals, mask, cover, scale
        )
    price_ts, price_px = _price(inputs, end)
    return Timeline(tl_start, tl_len, tl_vals, tl_mask, sources, gaps, price_ts, price_px, tl_cover, tl_scale)


def _epochs(idx: pd.Index) -> np.ndarray:
    return np.asarray(pd.DatetimeIndex(idx).as_unit("s").asi8, dtype=np.int64)


_Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _merge_layer(
    sel: _Arrays,
    s1: np.ndarray,
    length: int,
    v1: np.ndarray,
    m1: np.ndarray,
    c1: np.ndarray,
    sc1: np.ndarray,
) -> _Arrays:
    """Add a coarser (or lower-priority) layer where the selected buckets do not cover it."""
    s0, l0, v0, m0, c0, sc0 = sel
    if len(s1) == 0:
        return sel
    pre = np.concatenate([[0], np.cumsum(c0)])
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
    cover = np.concatenate([c0[keep], c1[use]])
    scale = np.concatenate([sc0[keep], sc1[use]])
    order = np.argsort(start, kind="stable")
    return start[order], lens[order], vals[order], mask[order], cover[order], scale[order]


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


def min_periods(params: Params, length: int) -> int:
    """Periods a rolling median needs: a quarter of the baseline span (at least 3)."""
    return max(3, math.ceil(0.25 * int(params["baseline_days"]) * 86400 / length))


@dataclass
class WindowHistory:
    """Aligned period totals of one window length (normalised USD): rolling medians and ranks.

    ``ends``/``totals``: every period ending after ``dense_from``, and before it only those of at
    least ``cutoff`` (all that a rank of a window of at least ``cutoff`` needs: a bounded read
    of a year of 5-minute periods). ``m_ends``/``medians``: the rolling median as of each
    period's end (NaN with too few periods). ``mults``: each period's multiple of the median
    before it (NaN where none), for windows ranked by multiple too; None otherwise.
    ``first``: start of the first valid period of the history.
    """

    length: int
    ends: np.ndarray
    totals: np.ndarray
    m_ends: np.ndarray
    medians: np.ndarray
    first: int | None
    mults: np.ndarray | None = None
    dense_from: int = -(2**62)
    cutoff: float = 0.0
    #: the rank history, read when a rank is first asked for (a calm reading never needs it)
    lazy: Callable[[], WindowHistory] | None = None
    #: medians from three periods on (a new history's stand-in for its baseline)
    rough: np.ndarray | None = None

    def __post_init__(self) -> None:
        self._m_ends: list[int] = self.m_ends.tolist()
        self._medians: list[float] = self.medians.tolist()
        self._rough: list[float] = self.rough.tolist() if self.rough is not None else []

    def rough_before(self, t: int) -> float | None:
        """Like :meth:`median_before`, from as few as three periods (None with fewer)."""
        i = bisect.bisect_right(self._m_ends, t) - 1
        if i < 0 or i >= len(self._rough):
            return None
        m = self._rough[i]
        return None if m != m else m

    def load_ranks(self) -> None:
        """Read the rank history now (before the connection it reads through closes)."""
        self._load()

    def _load(self) -> None:
        if self.lazy is not None:
            full, self.lazy = self.lazy(), None
            self.ends, self.totals, self.mults = full.ends, full.totals, full.mults
            self.dense_from, self.cutoff = full.dense_from, full.cutoff

    def median_before(self, t: int) -> float | None:
        """The rolling median as of the last period ending at or before ``t``."""
        i = bisect.bisect_right(self._m_ends, t) - 1
        if i < 0:
            return None
        m = self._medians[i]
        return None if m != m else m

    def exact(self, value: float) -> bool:
        """Whether ranks of ``value`` are exact (every period at least as large is held)."""
        self._load()
        return value >= self.cutoff

    def _range(self, after: int, before: int) -> tuple[int, int]:
        self._load()
        i = int(np.searchsorted(self.ends, after, side="right"))
        j = int(np.searchsorted(self.ends, before, side="right"))
        return i, j

    def largest_since(self, before: int, value: float, after: int = -(2**62)) -> int | None:
        """End of the last period ending in ``(after, before]`` with a total >= ``value``."""
        i, j = self._range(after, before)
        hits = np.flatnonzero(self.totals[i:j] >= value)
        return int(self.ends[i + hits[-1]]) if len(hits) else None

    def count_at_least(self, after: int, before: int, value: float) -> int:
        i, j = self._range(after, before)
        return int(np.count_nonzero(self.totals[i:j] >= value))

    def count_multiple_at_least(self, after: int, before: int, multiple: float) -> int | None:
        if self.mults is None:
            return None
        i, j = self._range(after, before)
        return int(np.count_nonzero(self.mults[i:j] >= multiple))

    def kth_largest(self, after: int, before: int, k: int) -> float | None:
        """The ``k``-th largest total in ``(after, before]`` (None when fewer are held)."""
        i, j = self._range(after, before)
        part = self.totals[i:j]
        if len(part) < k:
            return None
        return float(np.partition(part, len(part) - k)[len(part) - k])

    def kth_multiple(self, after: int, before: int, k: int) -> float | None:
        if self.mults is None:
            return None
        i, j = self._range(after, before)
        part = self.mults[i:j]
        part = part[~np.isnan(part)]
        if len(part) < k:
            return None
        return float(np.partition(part, len(part) - k)[len(part) - k])


def period_totals(tl: Timeline, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Normalised totals of the aligned periods of ``length`` seconds that the buckets cover
    (>= 80 %): (period ends, totals)."""
    if len(tl) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    assert tl.cover is not None and tl.scale is not None
    p = (tl.start // length) * length
    fits = (tl.length <= length) & (tl.start - p + tl.length <= length)
    if not fits.any():
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    p, vals, cover = p[fits], (tl.vals[fits].sum(axis=1) * tl.scale[fits]), tl.cover[fits]
    keys, inv = np.unique(p, return_inverse=True)
    totals = np.bincount(inv, weights=vals)
    cov = np.bincount(inv, weights=cover)
    ok = cov >= COVER_SHARE * length
    return keys[ok] + length, totals[ok]


#: periods a rough median (the stand-in for a baseline still too short) needs
ROUGH_PERIODS = 3


def rolling_medians(
    ends: np.ndarray, totals: np.ndarray, params: Params, length: int
) -> tuple[np.ndarray, np.ndarray]:
    """(the rolling medians, NaN until a quarter of the baseline span is there; the rough ones,
    from three periods on)."""
    if not len(ends):
        return np.zeros(0), np.zeros(0)
    ser = pd.Series(totals, index=pd.to_datetime(ends, unit="s"))
    roll = ser.rolling(f"{int(params['baseline_days'])}D", min_periods=ROUGH_PERIODS)
    rough = np.asarray(roll.median().to_numpy())
    count = np.asarray(roll.count().to_numpy())
    strict = np.where(count >= min_periods(params, length), rough, np.nan)
    return strict, rough


def multiples_of(ends: np.ndarray, totals: np.ndarray, medians: np.ndarray, length: int) -> np.ndarray:
    """Each period's total over the median as of its start (the last median at or before it)."""
    out = np.full(len(ends), np.nan)
    if not len(ends):
        return out
    idx = np.searchsorted(ends, ends - length, side="right") - 1
    ok = idx >= 0
    med = np.full(len(ends), np.nan)
    med[ok] = medians[idx[ok]]
    good = ok & (med > 0)
    out[good] = totals[good] / med[good]
    return out


def make_history(
    name: str,
    length: int,
    ends: np.ndarray,
    totals: np.ndarray,
    params: Params,
    first: int | None,
    sparse: tuple[np.ndarray, np.ndarray] | None = None,
    dense_from: int = -(2**62),
    cutoff: float = 0.0,
) -> WindowHistory:
    """A window's history from its dense period totals (every valid period in a contiguous
    range) and, optionally, sparse ones before it (only those of at least ``cutoff``)."""
    medians, rough = rolling_medians(ends, totals, params, length)
    mults = multiples_of(ends, totals, medians, length) if name in MULTIPLE_RANKED else None
    all_ends, all_totals = ends, totals
    if sparse is not None and len(sparse[0]):
        all_ends = np.concatenate([sparse[0], ends])
        all_totals = np.concatenate([sparse[1], totals])
        if mults is not None:
            mults = np.concatenate([np.full(len(sparse[0]), np.nan), mults])
    return WindowHistory(
        length, all_ends, all_totals, ends, medians, first, mults, dense_from, cutoff, rough=rough
    )


def window_histories(tl: Timeline, params: Params) -> dict[str, WindowHistory]:
    """Every window's history from a whole timeline (every period held)."""
    out = {}
    for name, length in WINDOWS:
        ends, totals = period_totals(tl, length)
        first = int(ends[0] - length) if len(ends) else None
        out[name] = make_history(name, length, ends, totals, params, first)
    return out


# -- the cascade tracker -----------------------------------------------------------------


@dataclass(slots=True)
class WindowEval:
    name: str
    length: int
    total: float  # fresh total (since the fence), USD as measured
    long: float
    short: float
    raw: float  # whole-window total, fence ignored
    norm: float  # ``total`` in all-venue terms (/ coverage): what the levels judge
    median: float | None  # normalised
    floor: float  # normalised USD
    level: Level
    thresholds: tuple[float, float, float] = (0.0, 0.0, 0.0)  # watch, alert, severe (normalised USD)
    since: int | None = None  # "largest since": end of the last larger period
    history_from: int | None = None  # start of the history the rank was judged against
    history_days: float = 0.0  # days of that history inside the trailing year
    full_year: bool = False
    rank: int | None = None  # 1 + periods of the trailing year at least as large
    mult_rank: int | None = None  # the same among multiples of the baseline
    record: bool = False
    checked: bool = False  # whether the rank was looked up
    cold: bool = False  # too little history to rank: multiples and floors alone
    stand_in: float = 0.0  # without a baseline: what stands in for it (normalised USD)
    rough: float | None = None  # without a baseline: the median of the few periods there are
    burst_short: bool = False  # in the top by rank but under k_alert x its median

    @property
    def multiple(self) -> float | None:
        if self.median is None or self.median <= 0:
            return None
        return self.norm / self.median

    @property
    def coverage(self) -> float:
        return self.total / self.norm if self.norm > 0 else 1.0

    @property
    def pressure(self) -> float:
        return self.norm / self.thresholds[1] if self.thresholds[1] > 0 else 0.0


@dataclass
class Run:
    start: int  # first bucket start counted
    since: int  # time of the reading that started it
    window: str
    peak: Level
    acc_until: int
    acc: np.ndarray
    price0: float | None = None
    gaps: dict[str, float] = field(default_factory=dict)
    #: the strongest window seen in the run (level, then multiple): what its messages rank
    best: WindowEval | None = None


@dataclass
class Step:
    t: int
    res: int
    evals: list[WindowEval]
    top: WindowEval
    level: Level
    run: Run | None
    resolved: Run | None
    calm: bool = False


def _strength(e: WindowEval) -> tuple[Level, float]:
    return e.level, e.multiple or 0.0


def ladder(value: float, thresholds: Sequence[float]) -> Level:
    lvl = Level.OK
    for i, thr in enumerate(thresholds, start=1):
        if value >= thr:
            lvl = Level(i)
    return lvl


def floor_usd(p: Params, window: str) -> float:
    return float(p[f"floor_{window}"]) * 1e6


def year_rank(rank: int, history_days: float) -> float:
    """A rank among ``history_days`` of history, as a rank in a year."""
    return 1 + (rank - 1) * RANK_DAYS / max(history_days, 1e-9)


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
    top = year_rank(rank, days) <= top_n
    top_mult = mult_rank is not None and year_rank(int(mult_rank), days) <= top_n
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


class Tracker:
    """The cascade state machine. ``step`` is called in time order; one Reading per step."""

    def __init__(self, params: Params, signal: str = "btc_liq", key: str = "cascade") -> None:
        self.p = params
        self.signal = signal
        self.key = key
        self.fence = 0
        self.run: Run | None = None
        self.last_t: int | None = None
        self._ks = (float(params["k_watch"]), float(params["k_alert"]), float(params["k_severe"]))
        self._floors = {n: floor_usd(params, n) for n, _ in WINDOWS}
        self._top_n = int(params["top_n"])
        self._min_rank = min_rank_days(params)
        self._record = float(params["record_days"])
        self._watch_s = int(params["watch_days"]) * 86400

    # .. evaluation of one window ..

    def _window(self, t: int, name: str, length: int, book: Book, hist: WindowHistory) -> WindowEval:
        a = max(t - length, self.fence)
        long, short = book.sides(a, t)
        total = long + short
        norm = book.norm(a, t)
        raw = total if a == t - length else sum(book.sides(t - length, t))
        med = hist.median_before(t - length)
        ev = WindowEval(name, length, total, long, short, raw, norm, med, self._floors[name], Level.OK)
        ev.level = self._judge(ev, t, hist)
        return ev

    def _judge(self, ev: WindowEval, t: int, hist: WindowHistory) -> Level:
        kw, ka, ks = self._ks
        floor, norm, med = ev.floor, ev.norm, ev.median
        if med is None or med <= 0:
            # no baseline yet: the larger of the floor and the median of the few periods there
            # are stands in (a new install in a busy market is not "above normal" all week)
            ev.rough = hist.rough_before(t - ev.length)
            ev.stand_in = max(floor, ev.rough or 0.0)
        base = med if med is not None and med > 0 else ev.stand_in
        ev.thresholds = (max(kw * base, floor), max(ka * base, floor), max(ks * max(base, floor), floor))
        if norm < floor or norm < kw * base:
            return Level.OK
        if med is None or med <= 0:
            ev.cold = True
            return Level.ALERT if norm >= ks * base else Level.WATCH
        if not hist.exact(norm):
            return Level.OK  # (never: ranks are held for every total a watch can reach)
        self._rank(ev, t, hist)
        mult = norm / med
        # a heads-up: the largest of at least ``watch_days`` (not every 3x of a quiet median)
        watch = ev.since is None or t - ev.length - ev.since >= self._watch_s
        if ev.history_days < self._min_rank:
            ev.cold = True
            if mult >= ks and norm >= ks * floor:
                return Level.ALERT
            return Level.WATCH if watch else Level.OK
        assert ev.rank is not None
        if ev.rank == 1 and (ev.full_year or ev.history_days >= self._record):
            ev.record = True
            return Level.SEVERE
        top = year_rank(ev.rank, ev.history_days) <= self._top_n
        top_mult = ev.mult_rank is not None and year_rank(ev.mult_rank, ev.history_days) <= self._top_n
        if top or top_mult:
            if mult >= ka:
                return Level.ALERT
            ev.burst_short = True
            return Level.WATCH
        return Level.WATCH if watch else Level.OK

    def _rank(self, ev: WindowEval, t: int, hist: WindowHistory) -> None:
        before = t - ev.length
        after = t - RANK_S
        ev.checked = True
        first = hist.first
        ev.history_from = first if first is not None and first > after else after
        ev.full_year = first is not None and first <= after
        start = max(first, after) if first is not None else before
        ev.history_days = max(0.0, min(float(RANK_DAYS), (before - start) / 86400))
        ev.since = hist.largest_since(before, ev.norm, after)
        ev.rank = 1 + hist.count_at_least(after, before, ev.norm)
        mult = ev.multiple
        if mult is not None:
            n = hist.count_multiple_at_least(after, before, mult)
            ev.mult_rank = None if n is None else 1 + n

    def _thresholds_now(
        self, ev: WindowEval, t: int, hist: WindowHistory, level: Level
    ) -> tuple[float, float, float]:
        """Entry thresholds of the levels in normalised USD (for "distance to the next level").

        From ``ok`` the next level is a watch: the larger of ``k_watch`` × the median, the floor
        and the largest period of the last ``watch_days`` (all in the medians' weeks). Above it,
        the ranks (read when the window reached a watch) say what an alert and a record need."""
        _kw, ka, ks = self._ks
        watch, alert, _severe = ev.thresholds
        if ev.median is None or ev.median <= 0:
            return watch, alert, math.inf
        before = t - ev.length
        if level < Level.WATCH:
            m_ends = hist.m_ends
            i = int(np.searchsorted(m_ends, before - self._watch_s, side="right"))
            j = int(np.searchsorted(m_ends, before, side="right"))
            dense = hist.totals[len(hist.totals) - len(m_ends) :] if len(m_ends) else hist.totals[:0]
            recent = float(dense[i:j].max()) if j > i else 0.0
            return max(watch, recent), alert, math.inf
        after = t - RANK_S
        first = hist.first
        start = max(first, after) if first is not None else before
        days = max(0.0, min(float(RANK_DAYS), (before - start) / 86400))
        if days < self._min_rank:
            return watch, max(ks * max(ev.median, ev.floor), ev.floor), math.inf
        r_max = 1 + math.floor((self._top_n - 1) * days / RANK_DAYS)
        need = [v for v in (hist.kth_largest(after, before, r_max),) if v is not None]
        km = hist.kth_multiple(after, before, r_max)
        if km is not None:
            need.append(km * ev.median)
        rank_need = min(need) if need else 0.0
        alert = max(ka * ev.median, ev.floor, rank_need)
        big = hist.kth_largest(after, before, 1)
        record_ok = (first is not None and first <= after) or days >= self._record
        severe = max(big if big is not None else 0.0, watch) if record_ok else math.inf
        return watch, alert, max(severe, watch)

    def _run_total(self, run: Run, t: int, book: Book) -> np.ndarray:
        while t - run.acc_until > 40 * 3600:
            nxt = run.acc_until + 24 * 3600
            run.acc = run.acc + book.sums(run.acc_until, nxt)
            for v, s in book.gap_seconds(run.acc_until, nxt).items():
                run.gaps[v] = run.gaps.get(v, 0.0) + s
            run.acc_until = nxt
        return run.acc + book.sums(run.acc_until, t)

    def _run_gaps(self, run: Run, t: int, book: Book) -> dict[str, float]:
        out = dict(run.gaps)
        for v, s in book.gap_seconds(run.acc_until, t).items():
            out[v] = out.get(v, 0.0) + s
        return out

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
        recent = book.norm(t - quiet, t)
        normal = hold_w.median if hold_w.median and hold_w.median > 0 else (hold_w.stand_in or hold_w.floor)
        calm = recent < p["exit_ratio"] * p["k_watch"] * normal * quiet / hold_w.length
        level = Level.OK if calm else top.level

        resolved: Run | None = None
        if self.run is None and level > Level.OK:
            start = max(t - top.length, self.fence)
            self.run = Run(start, t, top.name, level, start, np.zeros(NCOL), book.price_at(start))
        elif self.run is not None and calm:
            resolved, self.run, self.fence = self.run, None, t
        elif self.run is not None:
            self.run.peak = max(self.run.peak, level)
        cur = self.run or resolved
        if cur is not None:
            cand = max((e for e in evals if e.checked), key=_strength, default=None)
            if cand is not None and (cur.best is None or _strength(cand) > _strength(cur.best)):
                cur.best = replace(cand)
        self.last_t = t
        return Step(t, res, evals, top, level, self.run, resolved, calm)

    def step(self, t: int, book: Book, hists: Mapping[str, WindowHistory]) -> Reading:
        st = self.advance(t, book, hists)
        return self._reading(t, book, hists, st.evals, st.top, st.level, st.run, st.resolved, st.res, st.calm)

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
        calm: bool = False,
    ) -> Reading:
        current = run or resolved
        sources = getattr(book, "sources", None)
        data: dict[str, Any] = {
            "resolution_s": res,
            "windows": {
                e.name: {
                    "usd": e.total,
                    "long_usd": e.long,
                    "short_usd": e.short,
                    "raw_usd": e.raw,
                    "norm_usd": e.norm,
                    "median_usd": e.median,
                    "multiple": e.multiple,
                    "level": e.level.label,
                    "rank": e.rank,
                    "multiple_rank": e.mult_rank,
                    # the rest of what the level was judged on (window_level regrades from them)
                    "length": e.length,
                    "rough_usd": e.rough,
                    "checked": e.checked,
                    "largest_for_s": None if e.since is None else t - e.length - e.since,
                    "history_days": e.history_days,
                    "full_year": e.full_year,
                }
                for e in evals
            },
            "calm": calm,
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
            summary, fields, lead = self._describe(
                t, book, hists, current, evals, top, total, long, short, cols, resolved, data
            )
            hold = Level.OK if resolved else current.peak
            if resolved:
                level = Level.OK
            nxt = self._next(lead, max(current.peak, level), t, hists, total)
        else:
            value = top.total / 1e6
            cols = book.venues(t - max(e.length for e in evals), t)
            summary = self._calm_summary(evals, cols, sources)
            hold = Level.OK
            fields = {"Windows": _windows_text(evals)}
            nxt = self._next(top, top.level, t, hists, top.total)
            cov = top.coverage
            data["coverage"] = cov
        data["venues"] = cols
        data["lower_bound"] = undercounts(cols, sources)
        src = venue_list(cols, sources)
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

    def _next(
        self, e: WindowEval, level: Level, t: int, hists: Mapping[str, WindowHistory], shown: float
    ) -> Threshold | None:
        """The next level's entry, in the reading's unit (M USD as measured): what the lead
        window's total must reach, shifted onto the value shown."""
        if level >= Level.SEVERE:
            return None
        thr = self._thresholds_now(e, t, hists[e.name], level)
        need = thr[int(level)]  # the next level up: thresholds are (watch, alert, severe)
        if not math.isfinite(need):
            return None
        gap = max(need - e.norm, 0.0) * e.coverage
        return Threshold(Level(int(level) + 1), (shown + gap) / 1e6)

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
    ) -> tuple[str, dict[str, str], WindowEval]:
        sources = getattr(book, "sources", None)
        share = long / total if total > 0 else 0.5
        if share >= 0.65:
            direction = f"longs {share:.0%}: longs flushed as price falls"
        elif share <= 0.35:
            direction = f"shorts {1 - share:.0%}: a short squeeze as price rises"
        else:
            direction = f"longs {share:.0%}, shorts {1 - share:.0%}"
        p0 = run.price0 if run.price0 is not None else book.price_at(run.start)
        p1 = book.price_at(t)
        price_txt = ""
        if p0 and p1:
            chg = p1 / p0 - 1
            price_txt = f"BTC {chg:+.1%} ({p0:,.0f} → {p1:,.0f})"
            data.update(price_start=p0, price_end=p1, price_change=chg)
        lead = run.best or max((e for e in evals if e.norm > 0), key=_strength, default=top)
        mult = (
            f" = {lead.multiple:.1f}× the {int(self.p['baseline_days'])}-day median" if lead.multiple else ""
        )
        rank = rank_text(lead, float(self.p["k_alert"]))
        cov = lead.coverage
        data.update(
            peak_window=lead.name,
            peak_window_usd=lead.total,
            multiple=lead.multiple,
            median_usd=lead.median * cov if lead.median else lead.median,
            largest_since=lead.since,
            rank=lead.rank,
            multiple_rank=lead.mult_rank,
            history_days=lead.history_days if lead.checked else None,
            record=lead.record,
            coverage=cov,
            floor_usd=lead.floor * cov,
        )
        gaps = {v: s for v, s in self._run_gaps(run, t, book).items() if s >= 60}
        gap_txt = ", ".join(f"{NAMES.get(v, v)} down {span(s)}" for v, s in sorted(gaps.items()))
        data["gaps_s"] = gaps
        where = venue_list(cols, sources)
        cov_txt = coverage_text(cov, cols, sources)
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
        parts.append(f"coverage: {cov:.0%}" + ("" if cov >= 0.999 else " (import, all-venue terms)"))
        if gap_txt:
            parts.append(f"gaps: {gap_txt}")
        median_txt = usd((lead.median or 0) * cov)
        fields = {
            "Cascade total": f"{usd(total)} since {hhmm(run.start)} UTC ({span(dur)})",
            "Longs / shorts": f"{usd(long)} / {usd(short)} ({direction})",
            f"{lead.name} window": f"{usd(lead.total)}{mult} ({median_txt})"
            if lead.multiple
            else usd(lead.total),
        }
        if rank:
            fields["Rank"] = rank
        fields["Windows"] = _windows_text(evals)
        if price_txt:
            fields["BTC price"] = price_txt
        fields["Venues"] = where + (f". {BINANCE_NOTE}" if undercounts(cols, sources) else "")
        fields["Coverage"] = cov_txt
        if gap_txt:
            fields["Gaps"] = gap_txt
        return "; ".join(parts), fields, lead

    def _calm_summary(
        self, evals: list[WindowEval], cols: list[str], sources: Mapping[str, str] | None
    ) -> str:
        parts = []
        for e in evals:
            m = f" ({e.multiple:.1f}× median)" if e.multiple is not None else ""
            parts.append(f"{e.name} {usd(e.total)}{m}")
        state = "elevated" if max(e.level for e in evals) > Level.OK else "no cascade"
        cov = max(evals, key=lambda e: e.length).coverage
        tail = "" if cov >= 0.999 else f"; coverage {cov:.0%} (import, all-venue terms)"
        return (
            f"BTC liquidations, {state}: "
            + ", ".join(parts)
            + f"; venues: {venue_list(cols, sources)}"
            + tail
        )


def rank_text(e: WindowEval, k_alert: float = 5.0) -> str:
    """Where the window stands in its own history, in words that agree with its level."""
    if e.cold and not e.checked:
        return f"no {e.name} baseline yet: judged against {usd(e.stand_in * e.coverage)} as normal"
    if not e.checked or e.rank is None:
        return ""
    if e.full_year:
        where = f"of the last {RANK_DAYS} days"
    else:
        where = f"in the stored history (since {day(e.history_from)})" if e.history_from is not None else ""
    since = f"largest since {day(e.since - e.length)}" if e.since is not None else ""
    if e.rank == 1:
        txt = f"largest {e.name} {where}".rstrip()
    elif e.rank <= RANK_TEXT_MAX:
        txt = f"{ordinal(e.rank)}-largest {e.name} {where}".rstrip() + (f" ({since})" if since else "")
    else:
        txt = f"{e.name} {since}" if since else ""
    if (
        e.mult_rank is not None
        and e.mult_rank <= RANK_TEXT_MAX
        and e.level >= Level.ALERT
        and not (e.record or e.cold)
    ):
        first = "sharpest" if e.mult_rank == 1 else f"{ordinal(e.mult_rank)}-sharpest"
        txt += f"; the {first} {e.name} burst against its median {where}".rstrip()
    if e.cold and e.checked:
        txt += f" (only {e.history_days:.0f} days of history: too few to rank, multiples decide)"
    if e.burst_short and e.multiple is not None:
        txt += f" (but only {e.multiple:.1f}× its median: an alert needs {k_alert:g}×)"
    return txt


def _windows_text(evals: list[WindowEval]) -> str:
    out = []
    for e in evals:
        m = f" ({e.multiple:.1f}×)" if e.multiple is not None else ""
        out.append(f"{e.name} {usd(e.total)}{m}")
    return " · ".join(out)


# -- live: the in-memory book -------------------------------------------------------------


class LiveBook:
    """The last 48 hours of 1-minute buckets per live venue and side, in memory.

    ``add`` is the ingest hot path (one call per liquidation); ``sums`` serves the windows.
    Live buckets are full coverage: ``norm`` is their total.
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
        """In whole cents per bucket, as the buckets are stored (so live and stored readings agree)."""
        if self.pending:
            self.fold()
        out = np.zeros(NCOL, dtype=np.int64)
        for s in self._range(a, b):
            out += np.rint(self.vals[s] * 100).astype(np.int64).sum(axis=0)
        return out / 100.0

    def sides(self, a: int, b: int) -> tuple[float, float]:
        v = self.sums(a, b)
        return float(v[LONG_COLS].sum()), float(v[SHORT_COLS].sum())

    def norm(self, a: int, b: int) -> float:
        return float(self.sums(a, b).sum())

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


# -- stored history: where evaluations, replays and charts read ------------------------------


@dataclass(frozen=True)
class Episode:
    """A cascade as the alert engine recorded it: (start, end, peak level); end None = open."""

    start: int
    end: int | None
    level: str


class History(Protocol):
    """Stored liquidation history, read by range (so a year costs what a week does)."""

    sources: dict[str, str]

    def last_end(self, until: int | None = None) -> int | None:
        """End of the newest bucket starting before ``until`` (None: no data)."""
        ...

    def last_is_live(self) -> bool: ...

    def first_start(self) -> int | None:
        """Start of the oldest stored bucket (None: no data)."""
        ...

    def timeline(self, a: int, b: int, res: int = 60) -> Timeline:
        """Buckets with start in ``[a, b)``: live data at ``res`` (60: the 1-minute rows where
        kept), imports where the live venues do not cover them; prices and gaps in range."""
        ...

    def histories(
        self, params: Params, t0: int, t1: int, windows: tuple[str, ...] | None = None
    ) -> dict[str, WindowHistory]:
        """Every window's history (or only ``windows``) for readings at times in ``[t0, t1]``."""
        ...

    def episodes(self, a: int, b: int) -> list[Episode] | None:
        """Recorded cascades overlapping ``[a, b)`` (None: none recorded for this data)."""
        ...


class MemoryHistory:
    """Every bucket of an :class:`Inputs` frame in memory (tests, demos, small data)."""

    def __init__(self, inputs: Inputs, params: Params, episodes: Iterable[Episode] | None = None) -> None:
        self.tl = build_timeline(inputs, import_coverage=float(params["import_coverage"]))
        self.sources = self.tl.sources
        self._hists: dict[str, WindowHistory] | None = None
        self._params = params
        self._episodes = list(episodes) if episodes is not None else None

    def last_end(self, until: int | None = None) -> int | None:
        if not len(self.tl):
            return None
        ends = self.tl.end if until is None else self.tl.end[self.tl.start < until]
        return int(ends.max()) if len(ends) else None

    def last_is_live(self) -> bool:
        return bool(len(self.tl) and self.tl.length[-1] == 60)

    def first_start(self) -> int | None:
        return int(self.tl.start[0]) if len(self.tl) else None

    def timeline(self, a: int, b: int, res: int = 60) -> Timeline:
        return self.tl.slice(a, b)

    def histories(
        self, params: Params, t0: int, t1: int, windows: tuple[str, ...] | None = None
    ) -> dict[str, WindowHistory]:
        if self._hists is None or params is not self._params:
            self._hists, self._params = window_histories(self.tl, params), params
        return self._hists

    def episodes(self, a: int, b: int) -> list[Episode] | None:
        if self._episodes is None:
            return None
        return [e for e in self._episodes if e.start < b and (e.end is None or e.end > a)]


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
