"""Where the liquidations come from (a frame, or a database read by range), and readings over it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Protocol

import numpy as np
import pandas as pd

from signals.base import Params, Reading
from signals.btc_liq._baselines import WindowHistory, window_histories
from signals.btc_liq._reading import step, warm_tracker
from signals.btc_liq._text import hhmm, usd
from signals.btc_liq._timeline import Episode, Timeline, build_timeline
from signals.btc_liq._tracker import Tracker
from signals.btc_liq._vocab import BUCKET_NAMES, CHUNK_OVERLAP_S, REPLAY_CHUNK_S, WARMUP_S
from storage.observations import Inputs
from storage.timeutil import to_epoch


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

    def timeline(self, a: int, b: int, res: int = 60, prices: bool = True) -> Timeline:
        """Buckets with start in ``[a, b)``: live data at ``res`` (60: the 1-minute rows where
        kept), imports where the live venues do not cover them; gaps, and prices unless
        ``prices`` is False, in range."""
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

    def timeline(self, a: int, b: int, res: int = 60, prices: bool = True) -> Timeline:
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


def history_of(inputs: Inputs, params: Params) -> History:
    """Where ``inputs`` keep the liquidations: a database reader (bounded reads) or a frame."""
    reader = getattr(inputs, "reader", None)
    if reader is not None:
        from signals.btc_liq._stored import StoredHistory

        return StoredHistory(reader, params)
    return MemoryHistory(inputs, params)


def latest_reading(h: History, params: Params, t_now: int, signal: str = "btc_liq") -> Reading | None:
    """The reading at ``t_now`` (or at the last data, when that is more than a day older),
    with the cascade state rebuilt from the two days before."""
    last_end = h.last_end(t_now + 1)
    if last_end is None:
        return None
    t = t_now if t_now - last_end <= 86400 else last_end
    tl = h.timeline(t - WARMUP_S - 86400, t + 1)
    if not len(tl):
        return None
    hists = h.histories(params, t - WARMUP_S, t)
    tracker, last = warm_tracker(params, tl, hists, tl.end, t)
    tracker.signal = signal
    r = last if last is not None and tracker.last_t == t else step(tracker, t, tl, hists)
    r.data["last_data"] = min(last_end, t_now)
    r.data["live"] = h.last_is_live()
    return r


def stream_readings(
    h: History, params: Params, start: datetime | None, end: datetime | None, signal: str = "btc_liq"
) -> Iterator[Reading]:
    first = h.first_start()
    end_s = to_epoch(end) if end is not None else None
    last = h.last_end(end_s + 1 if end_s is not None else None)
    if first is None or last is None:
        return
    if end_s is not None:
        last = min(last, end_s)
    begin = first if start is None else max(first, to_epoch(start) - WARMUP_S)
    if begin >= last:
        return
    hists = h.histories(params, begin, last)
    tracker = Tracker(params, signal)
    chunk = (last - begin + 1) if isinstance(h, MemoryHistory) else REPLAY_CHUNK_S
    c0 = begin - 1
    while c0 < last:
        c1 = min(c0 + chunk, last)
        tl = h.timeline(c0 - CHUNK_OVERLAP_S, c1)
        ends = tl.end
        for t in ends[(ends > c0) & (ends <= c1)].tolist():
            yield step(tracker, int(t), tl, hists)
        c0 = c1


def coverage_report(h: History, params: Params) -> str | None:
    """The import's measured share of the live all-venue total where both hold a bucket."""
    used = float(params["import_coverage"])
    overlap = import_overlap(h)
    if overlap is None:
        return None
    imp, live, n, a, b, res = overlap
    if n == 0 or live <= 0:
        return None
    measured = imp / live
    return (
        f"btc_liq import coverage: measured {measured:.0%} ({usd(imp)} imported vs {usd(live)} live over {n} "
        f"overlapping {BUCKET_NAMES.get(res, f'{res}s')} buckets, {hhmm(a)[:10]} to {hhmm(b)[:10]}); "
        f"levels use {used:.0%} (FLOWWATCH_BTC_LIQ_IMPORT_COVERAGE)"
    )


def import_overlap(h: History) -> tuple[float, float, int, int, int, int] | None:
    """(import USD, live USD, buckets, first, last, bucket length) where live minutes cover
    import buckets (>= 80 % of each): a stored database only."""
    reader = getattr(h, "r", None)
    if reader is None:
        return None
    span_ = reader.import_span()
    if span_ is None:
        return None
    a, b, _shortest = span_
    first_live = reader.first_total(3600, 48)
    if first_live is None or first_live >= b:
        return None
    a = max(a, first_live)
    imports = reader.imports(a, b).values
    if imports.empty:
        return None
    live = reader.totals(3600, a, b)
    live_ts, live_usd, live_min = live["ts"], live["usd"], live["minutes"]
    tot_imp = tot_live = 0.0
    n = 0
    first = last = None
    res = 0
    for name in imports.columns:
        parts = str(name).split(".")
        if len(parts) != 5 or parts[3] not in ("long_usd", "short_usd"):
            continue
        length = {"1h": 3600, "4h": 14400, "1d": 86400}.get(parts[4])
        if length is None:
            continue
        res = length
        col = imports[name].dropna()
        stamps = np.asarray(pd.DatetimeIndex(col.index).as_unit("s").asi8, dtype=np.int64)
        for ts, v in zip(stamps.tolist(), col.to_numpy(dtype=float).tolist(), strict=True):
            i, j = np.searchsorted(live_ts, ts), np.searchsorted(live_ts, ts + length)
            if live_min[i:j].sum() < 0.8 * length / 60:
                continue
            tot_imp += max(v, 0.0)
            if parts[3] == "long_usd":
                tot_live += float(live_usd[i:j].sum())
                n += 1
                first = ts if first is None else min(first, ts)
                last = ts if last is None else max(last, ts)
    if first is None or last is None:
        return None
    return tot_imp, tot_live, n, first, last, res
