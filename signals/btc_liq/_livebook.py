"""The live book: 1-minute buckets in memory, fed by the streams as frames arrive."""

from __future__ import annotations

import bisect
from collections.abc import Mapping

import numpy as np

from signals.btc_liq._timeline import Timeline
from signals.btc_liq._vocab import COLUMNS, LONG_COLS, NCOL, SHORT_COLS, VENUE_INDEX


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
