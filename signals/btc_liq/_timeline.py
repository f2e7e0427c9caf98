"""Buckets de-duplicated across live venues, imports and resolutions: the :class:`Timeline`."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from signals.btc_liq._text import coverage_of
from signals.btc_liq._vocab import (
    BUCKETS,
    COLUMNS,
    COVER_SHARE,
    IMPORTS,
    LONG_COLS,
    NCOL,
    SHORT_COLS,
    VENUE_INDEX,
    VENUES,
)
from storage.observations import Inputs


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


@dataclass(frozen=True)
class Episode:
    """A cascade as the alert engine recorded it: (start, end, peak level); end None = open."""

    start: int
    end: int | None
    level: str
