"""The cascade state machine: windows judged against their history, runs, resolves."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from signals.base import Level, Params, Threshold
from signals.btc_liq._baselines import WindowHistory
from signals.btc_liq._grade import floor_usd, min_rank_days, top_rank, year_rank
from signals.btc_liq._timeline import Book
from signals.btc_liq._vocab import (
    NCOL,
    RANK_DAYS,
    RANK_S,
    WINDOWS,
)


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


def strength(e: WindowEval) -> tuple[Level, float]:
    return e.level, e.multiple or 0.0


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
        top = year_rank(ev.rank, ev.history_days, ev.full_year) <= self._top_n
        top_mult = (
            ev.mult_rank is not None and year_rank(ev.mult_rank, ev.history_days, ev.full_year) <= self._top_n
        )
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
        r_max = top_rank(self._top_n, days, first is not None and first <= after)
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
            cand = max((e for e in evals if e.checked), key=strength, default=None)
            if cand is not None and (cur.best is None or strength(cand) > strength(cur.best)):
                cur.best = replace(cand)
        self.last_t = t
        return Step(t, res, evals, top, level, self.run, resolved, calm)

    # .. the reading ..

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
