"""The storm: the built-in demo scenarios of every signal, arranged as one live run.

A :class:`Storm` is a deterministic list of :class:`Step` s on a simulated clock, derived from
what each signal's demo declares (:class:`signals.base.LiveRun`: when its observations are
published, when it is evaluated, the settings it needs, the minutes fed through its stream).
Each step ingests the observations that have become available by its time (Fed-odds quotes, VIX
closes, BTC price candles every five minutes, as the polls would), evaluates signals through the
live pipeline, and, inside a BTC window, feeds one minute of liquidations to the live
``btc_liq`` stream service (:class:`bot.streams.StreamService`) as the streams would. A demo
that declares no live run is evaluated every evening around each alert its own replay fires
(:func:`derived_run`), so a new signal is in the storm with no edit here.

What the demos declare today:

* ``btc_liq``: the demo cascade (about $1.4B in 90 minutes, with a four-minute OKX outage),
  fed minute by minute; the full storm repeats it in three windows eight hours apart, so the
  cascades fire, escalate, grow in place (``updated`` edits) and resolve three times. The
  eight days of calm history before the first window are stored up front (what earlier runs
  would have written).
* ``ratecut``: the demo's Fed-odds whipsaw, every six hours around its flips, swings and the
  venue divergence (quotes count for seven hours: ``FLOWWATCH_RATECUT_STALE_MINUTES``, so each
  step steps every hourly reading since the last).
* ``buyback``: the demo earnings calendar (stored up front, dated), evaluated weekly: the
  blackout window closes, peaks and reopens twice.
* ``vix_term``: the demo vol shock, one step per day while it inverts the curve and recovers;
  the close of May 20 comes late (a stale-data notice to the admin channel, then its
  recovery).

``size="small"`` keeps the evaluations each demo marks ``short`` and the first BTC window: the
first Fed-odds flip, the first weeks of the buyback calendar and a few days of the vol shock:
every signal, in a few seconds.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

from bot.demo import START
from signals import registry
from signals.base import Evaluations, LiveRun
from signals.contract import Signal, default_params
from signals.sources._wsclient import Event
from storage.batches import TableWrite
from storage.observations import Observation
from storage.series import gap_series, liq_series, price_series
from storage.timeutil import from_epoch, to_epoch

VENUES = ("bybit", "binance", "okx")
SYMBOL = {"bybit": "BTCUSDT", "binance": "BTCUSDT", "okx": "BTC-USDT-SWAP"}
SIDES = ("long_usd", "short_usd")  # side 0: a long was liquidated, 1: a short
#: the signal whose stream the storm feeds (liquidation frames per venue)
STREAMED = "btc_liq"

DAY = 86400
BTC_REPEAT = 8 * 3600  # the full storm repeats the stream window this much later, twice
#: evaluations of a derived run: every evening (22:05 UTC)
EVENING = timedelta(hours=22, minutes=5)


@dataclass(frozen=True)
class Step:
    """One move of the simulated clock."""

    t: int  # the clock (epoch s) while the step runs
    obs: tuple[int, int]  # slice of Storm.obs ingested by this step
    evaluate: tuple[str, ...] = ()  # signals evaluated through the live pipeline
    window: int | None = None  # BTC window number (the live liquidation service runs)
    minute: int | None = None  # BTC: the minute whose liquidations are fed (t = minute + 60)


@dataclass
class Storm:
    size: str
    steps: list[Step]
    obs: list[Observation]  # in the order the steps ingest them
    pre: list[Observation]  # stored before the run
    frames: dict[int, list[tuple[str, list[Event]]]]  # BTC minute -> (venue, events) per frame
    down: dict[int, frozenset[str]]  # BTC minute -> venues whose stream is down
    buckets: dict[tuple[str, int], float] = field(default_factory=dict)  # fed USD per bucket
    rows: list[TableWrite] = field(default_factory=list)  # table rows stored before the run
    env: dict[str, str] = field(default_factory=dict)  # the settings the demos' runs need
    #: the first stream window: (start epoch s, minutes); btc_liq's baselines are pinned before it
    window: tuple[int, int] = (0, 0)

    @property
    def pin(self) -> int:
        return self.window[0]

    def frame_text(self, venue: str, events: list[Event]) -> str:
        """The raw frame kept for an audit (``liq_raw``): the venue's liquidations as JSON."""
        return json.dumps({"venue": venue, "data": events}, separators=(",", ":"))


def _split(value: float, n: int) -> list[float]:
    """``value`` in ``n`` liquidations of different sizes that add up to it (cents)."""
    weights = [1.0, 2.0, 3.0][:n]
    parts = [round(value * w / sum(weights), 2) for w in weights[:-1]]
    return [*parts, round(value - sum(parts), 2)]


def _btc_window(
    storm: Storm, src: dict[tuple[str, int], float], start: int, minutes: int
) -> list[tuple[int, list[Observation]]]:
    """Frames, outages and price candles of a BTC window; returns (minute, price obs) per minute."""
    first = storm.window[0]
    out = []
    for j in range(minutes):
        m = start + 60 * j
        s = first + 60 * j  # the demo minute this one repeats
        price = src[(price_series("1m"), s)]
        down = frozenset(v for v in VENUES if (gap_series(v), s) in src)
        frames: list[tuple[str, list[Event]]] = []
        for venue in VENUES:
            if venue in down:
                continue
            events: list[Event] = []
            for side, name in enumerate(SIDES):
                series = liq_series(venue, name.removesuffix("_usd"), "1m")
                value = src.get((series, s), 0.0)
                if value <= 0:
                    continue
                n = 1 + (j + side + VENUES.index(venue)) % 3
                for i, usd in enumerate(_split(value, n)):
                    ts_ms = (m + 4 + 17 * i + 5 * side) * 1000
                    events.append((ts_ms, venue, SYMBOL[venue], side, usd / price, price, usd))
                storm.buckets[(series, m)] = round(storm.buckets.get((series, m), 0.0) + value, 2)
            if events:
                events.sort()
                frames.append((venue, events))
        storm.frames[m] = frames
        storm.down[m] = down
        out.append((m, [Observation(price_series("1m"), m, price, "coinbase")]))
    return out


def derived_run(
    sig: Signal, observations: tuple[Observation, ...], rows: tuple[TableWrite, ...], start: datetime
) -> LiveRun:
    """The live run of a demo that declares none: observations are out as they are stamped, and
    the signal is evaluated every evening from the day before each alert its demo's replay
    fires to the day after it resolves (the short run: the first alert)."""
    from bot.replay import run_replay
    from storage import batches
    from storage.batches import Batch
    from storage.db import open_db

    db = open_db(":memory:")
    try:
        batches.write(db, Batch(observations, rows), live=False)
        events = run_replay(db, [sig], {sig.id: default_params(sig)}, resume=False).events
    finally:
        db.close()
    spans: list[tuple[int, int]] = []
    open_at: dict[str, int] = {}
    for ev in events:
        if ev.event == "fired":
            open_at[ev.key] = ev.ts
        elif ev.event == "resolved" and ev.key in open_at:
            spans.append((open_at.pop(ev.key), ev.ts))
    spans += [(t, max(e.ts for e in events)) for t in open_at.values()]
    day = timedelta(days=1)
    evaluations = []
    for i, (a, b) in enumerate(sorted(spans)):
        first = (
            datetime.combine((from_epoch(a) - day).date(), datetime.min.time(), from_epoch(a).tzinfo)
            + EVENING
        )
        last = (
            datetime.combine((from_epoch(b) + day).date(), datetime.min.time(), from_epoch(b).tzinfo)
            + EVENING
        )
        evaluations.append(Evaluations(first, last, short=i == 0))
    return LiveRun(evaluations=tuple(evaluations))


def live_runs(
    sigs: Mapping[str, Signal], start: datetime
) -> dict[str, tuple[LiveRun, tuple[Observation, ...], tuple[TableWrite, ...]]]:
    """Each signal's live run (declared, or derived from its demo's alerts) with its demo."""
    out = {}
    for sid, sig in sigs.items():
        demo = sig.demo(start)
        run = demo.live or derived_run(sig, demo.observations, demo.rows, start)
        out[sid] = (run, demo.observations, demo.rows)
    return out


@cache
def build_storm(size: str = "full") -> Storm:
    return plan_storm(registry(), START, size)


def plan_storm(sigs: Mapping[str, Signal], start: datetime, size: str = "full") -> Storm:
    if size not in ("full", "small"):
        raise ValueError(f"storm size {size!r}: use 'full' or 'small'")
    small = size == "small"
    t0 = to_epoch(start)
    runs = live_runs(sigs, start)
    streamed = [sid for sid, (run, *_) in runs.items() if run.stream is not None]
    if streamed not in ([], [STREAMED]):
        raise ValueError(f"the storm feeds the liquidation streams of {STREAMED} only, not {streamed}")
    storm = Storm(size, [], [], [], {}, {})
    for run, _observations, rows in runs.values():
        storm.env.update(run.env)
        storm.rows += rows

    # what becomes available when: (available at, observation)
    later: list[tuple[int, Observation]] = []
    # (time, signals to evaluate) of the non-stream steps
    plan: dict[int, set[str]] = defaultdict(set)
    src: dict[tuple[str, int], float] = {}
    for sid, (run, observations, _rows) in runs.items():
        if run.stream is not None:
            storm.window = (to_epoch(run.stream[0]), run.stream[1])
            src = {(o.series, o.ts): o.value for o in observations}
            storm.pre = [o for o in observations if o.ts < storm.window[0]]
            continue
        late = {to_epoch(k): to_epoch(v) for k, v in run.late.items()}
        after = int(run.published_after.total_seconds())
        for o in observations:
            # a late one: a stale-data notice to the admin channel, then its recovery
            later.append((late.get(o.ts, o.ts + after), o))
        for ev in run.evaluations:
            if ev.short or not small:
                for t in ev.times():
                    plan[to_epoch(t)].add(sid)
    later.sort(key=lambda x: (x[0], x[1].series))

    # the next morning: quiet hours are over, the last digest goes out
    last_day = max((t - t0) // DAY for t in plan)
    plan[t0 + (last_day + 1) * DAY + 7 * 3600 + 300] = set()

    btc_steps: list[tuple[int, int, int, list[Observation]]] = []  # (t, window, minute, price obs)
    if streamed:
        for k in range(1 if small else 3):
            for m, price in _btc_window(storm, src, storm.window[0] + k * BTC_REPEAT, storm.window[1]):
                btc_steps.append((m + 60, k, m, price))

    times = sorted(set(plan) | {t for t, *_ in btc_steps})
    btc_at = {t: (k, m, p) for t, k, m, p in btc_steps}
    pending_price: list[Observation] = []
    li = 0
    for t in times:
        lo = len(storm.obs)
        if t in btc_at:
            k, m, price = btc_at[t]
            pending_price += price
            if t % 300 == 0:  # the price poll: complete candles, every five minutes
                storm.obs += [o for o in pending_price if o.ts <= t - 60]
                pending_price = [o for o in pending_price if o.ts > t - 60]
            storm.steps.append(Step(t, (lo, len(storm.obs)), (), k, m))
            continue
        while li < len(later) and later[li][0] <= t:
            storm.obs.append(later[li][1])
            li += 1
        storm.steps.append(Step(t, (lo, len(storm.obs)), tuple(sorted(plan[t]))))
    return storm


def windows_of(storm: Storm) -> dict[int, tuple[int, int]]:
    """BTC window -> (first step index, last step index)."""
    out: dict[int, tuple[int, int]] = {}
    for i, s in enumerate(storm.steps):
        if s.window is not None:
            a, _ = out.get(s.window, (i, i))
            out[s.window] = (a, i)
    return out


def describe(storm: Storm) -> str:
    w = windows_of(storm)
    n_eval = sum(len(s.evaluate) for s in storm.steps)
    span = timedelta(seconds=storm.steps[-1].t - storm.steps[0].t)
    return (
        f"{len(storm.steps)} steps over {span.days} days of market time: {len(w)} BTC window(s) of "
        f"{storm.window[1]} minutes, {n_eval} signal evaluations, {len(storm.obs)} observations ingested"
    )
