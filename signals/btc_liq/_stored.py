"""``btc_liq`` over a database, reading only the range it is asked for (:class:`StoredHistory`).

The same answers as :class:`signals.btc_liq._history.MemoryHistory` over every bucket, from bounded
reads (:class:`storage.liq_reads.LiqReader`):

- timelines: the 1-minute rows of the range (5-minute roll-ups where the minutes were pruned), or
  roll-ups at the resolution a chart shows; imports where the live venues do not cover them;
- window histories: the all-venue period totals of the roll-ups (``liq_total``) for the rolling
  medians (a few weeks) and the ranks (a year of hourly, 4-hour and daily periods; of 5-minute
  periods only those as large as a window a watch can reach), merged with the imported
  aggregates at hourly resolution wherever imports lie.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from signals.base import Params
from signals.btc_liq._baselines import WindowHistory, make_history, period_totals
from signals.btc_liq._timeline import Episode, Timeline, build_timeline
from signals.btc_liq._vocab import COVER_SHARE, IMPORTS, RANK_S, VENUE_INDEX, WINDOWS
from storage.liq_reads import LiqReader

DAY = 86400


#: above this many minutes a chart's prices are sampled at its resolution, not read row by row
PRICE_ROWS_MAX = 20000


class StoredHistory:
    def __init__(self, reader: LiqReader, params: Params) -> None:
        from storage.liq_reads import merge_inputs

        self.r = reader
        self._merge = merge_inputs
        self.cov = float(params["import_coverage"])
        self.sources = reader.import_sources()
        self._span = reader.import_span()
        self._import_firsts = reader.import_firsts() if self._span is not None else {}
        self._last: dict[int | None, tuple[int, bool] | None] = {}
        self._hist_cache: dict[tuple[object, ...], dict[str, WindowHistory]] = {}

    # .. the History protocol ..

    def last_end(self, until: int | None = None) -> int | None:
        got = self._last_end(until)
        return got[0] if got else None

    def _last_end(self, until: int | None) -> tuple[int, bool] | None:
        if until not in self._last:
            self._last[until] = self.r.last_end(until)
        return self._last[until]

    def last_is_live(self) -> bool:
        got = self._last_end(None)
        return bool(got and got[1])

    def first_start(self) -> int | None:
        return self.r.first_start()

    def episodes(self, a: int, b: int) -> list[Episode] | None:
        return [Episode(s, e, lv) for s, e, lv in self.r.episodes(a, b)]

    def timeline(self, a: int, b: int, res: int = 60, prices: bool = True) -> Timeline:
        parts = []
        imp_a = a
        if self._span is not None and self._span[0] < b and self._span[1] > a:
            imports = self.r.imports(a - DAY, b)
            parts.append(imports)
            if len(imports.values.index):
                imp_a = min(a, int(imports.values.index[0].timestamp()))
            res = min(res, 3600) if res > 60 else res  # live buckets must nest inside import buckets
        lo = imp_a
        if res == 60:
            fm = self.r.first_minute()
            # roll-ups only where the minutes were pruned (the prune keeps whole days)
            cut = b if fm is None else max(lo, min(b, fm // 300 * 300))
            if cut > lo:
                parts.append(self.r.rollup_frame(300, lo // 300 * 300, cut))
            if cut < b:
                parts.append(self.r.minutes(cut, b))
        else:
            res = 300 if res < 3600 else 3600 if res < 86400 else 86400
            parts.append(self.r.rollup_frame(res, lo // res * res, b))
        n_minutes = (b - a) // 60
        if prices and n_minutes <= PRICE_ROWS_MAX:
            parts.append(self.r.prices(a - 3600, b))
        tl = build_timeline(self._merge(parts), end=b, import_coverage=self.cov)
        if prices and n_minutes > PRICE_ROWS_MAX:
            step = max(res, (b - a) // 3000)
            ts, px = self.r.price_samples(np.arange(a // step * step + step, b + step, step))
            tl.price_ts, tl.price_px = ts, px
        if imp_a < a:
            tl = tl.slice(a, b)
        return tl

    def histories(
        self, params: Params, t0: int, t1: int, windows: tuple[str, ...] | None = None
    ) -> dict[str, WindowHistory]:
        key = (id(params), t0, t1, windows)
        if key not in self._hist_cache:
            self._hist_cache = {key: self._histories(params, t0, t1, windows)}
        return self._hist_cache[key]

    # .. window histories ..

    def _histories(
        self, params: Params, t0: int, t1: int, windows: tuple[str, ...] | None
    ) -> dict[str, WindowHistory]:
        base_s = int(params["baseline_days"]) * DAY
        kw = float(params["k_watch"])
        watch_s = int(params["watch_days"]) * DAY
        out: dict[str, WindowHistory] = {}
        for name, length in WINDOWS:
            if windows is not None and name not in windows:
                out[name] = make_history(name, length, np.zeros(0, dtype=np.int64), np.zeros(0), params, None)
                continue
            need_min = math.ceil(COVER_SHARE * length / 60)
            # the medians of the readings in [t0, t1] (and the largest of the last watch_days):
            # a few weeks of periods
            dense_a = (t0 - 2 * length - max(base_s, watch_s) - DAY) // length * length
            ends, totals = self._periods(length, dense_a, t1, need_min)
            first = self._first(length, need_min)
            hist = make_history(name, length, ends, totals, params, first)
            hist.lazy = functools.partial(
                self._rank_history, name, length, params, t0, t1, need_min, first, ends, totals, hist, kw
            )
            out[name] = hist
        return out

    def _rank_history(
        self,
        name: str,
        length: int,
        params: Params,
        t0: int,
        t1: int,
        need_min: int,
        first: int | None,
        ends: np.ndarray,
        totals: np.ndarray,
        dense: WindowHistory,
        kw: float,
    ) -> WindowHistory:
        """The trailing year a rank looks at. Windows of an hour or more: every period (their
        multiples need the medians before them). 5 minutes: only periods at least as large as
        the smallest window a rank is asked about (k_watch × the lowest median of the readings)."""
        base_s = int(params["baseline_days"]) * DAY
        rank_a = t0 - RANK_S - length
        dense_a = int(ends[0] - length) if len(ends) else t1
        if name == "5m":
            cutoff = self._cutoff(dense, kw, t0, t1, length)
            lo = max(rank_a, first if first is not None else rank_a) // length * length
            sparse = self._periods(length, lo, dense_a, need_min, cutoff) if lo < dense_a else None
            return make_history(
                name, length, ends, totals, params, first, sparse=sparse, dense_from=dense_a, cutoff=cutoff
            )
        lo = (rank_a - base_s - DAY) // length * length
        if lo < dense_a:
            e0, v0 = self._periods(length, lo, dense_a, need_min)
            ends, totals = np.concatenate([e0, ends]), np.concatenate([v0, totals])
        return make_history(name, length, ends, totals, params, first)

    @staticmethod
    def _cutoff(hist: WindowHistory, kw: float, t0: int, t1: int, length: int) -> float:
        """The smallest total a rank will be asked about: k_watch × the lowest median of the
        readings in ``[t0, t1]`` (ranks are looked up only at or above it)."""
        m_ends, med = hist.m_ends, hist.medians
        if not len(m_ends):
            return math.inf
        i = max(int(np.searchsorted(m_ends, t0 - length, side="right")) - 1, 0)
        j = int(np.searchsorted(m_ends, t1 - length, side="right"))
        part = med[i:j]
        part = part[~np.isnan(part) & (part > 0)]
        return kw * float(part.min()) if len(part) else math.inf

    def _first(self, length: int, need_min: int) -> int | None:
        first = self.r.first_total(length, need_min)
        for bucket, start in self._import_firsts.items():
            if bucket <= length:  # an import of this bucket makes periods of this window
                first = start if first is None else min(first, start)
        return first

    def _periods(
        self, length: int, a: int, b: int, need_min: int, min_usd: float | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Normalised totals of the periods of ``length`` starting in ``[a, b)`` (ends, totals):
        the live all-venue totals, and where imports lie, the hourly merge of both."""
        rows = self.r.totals(length, a, b, min_usd)
        ok = rows["minutes"] >= need_min
        ts, usd = rows["ts"][ok], rows["usd"][ok]
        span = self._span
        if span is None or span[0] >= b or span[1] <= a:
            return ts + length, usd
        # where imports lie: periods from the de-duplicated hourly timeline of both
        s0 = max(a, span[0] // DAY * DAY - DAY)
        s1 = min(b, -(-span[1] // DAY) * DAY + DAY)
        merged = build_timeline(
            self._merge([self.r.imports(s0 - DAY, s1), self.r.rollup_frame(3600, s0, s1)]),
            end=s1,
            import_coverage=self.cov,
        )
        merged = merged.slice(s0, s1)
        outside = (ts < s0) | (ts + length > s1)
        if length < 3600:
            # 5-minute periods: the live ones, except inside an import bucket that replaced them
            used = (merged.mask & (1 << VENUE_INDEX[IMPORTS[0]])) > 0
            starts, stops = merged.start[used], merged.end[used]
            inside = np.zeros(len(ts), dtype=bool)
            if len(starts):
                i = np.searchsorted(starts, ts, side="right") - 1
                inside = (i >= 0) & (ts < stops[np.clip(i, 0, None)])
            keep = outside | ~inside
            e, v = ts[keep] + length, usd[keep]
        else:
            e_in, v_in = period_totals(merged, length)
            sel = (e_in - length >= s0) & (e_in <= s1)
            e_in, v_in = e_in[sel], v_in[sel]
            if min_usd is not None:
                keep_in = v_in >= min_usd
                e_in, v_in = e_in[keep_in], v_in[keep_in]
            e = np.concatenate([ts[outside] + length, e_in])
            v = np.concatenate([usd[outside], v_in])
        order = np.argsort(e, kind="stable")
        return e[order], v[order]
