"""Each window's history: aligned period totals, rolling medians and the ranks of the trailing year."""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from signals.base import Params
from signals.btc_liq._timeline import Timeline
from signals.btc_liq._vocab import COVER_SHARE, MULTIPLE_RANKED, WINDOWS


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
