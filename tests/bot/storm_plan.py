"""The storm: the built-in demo scenarios of every signal, arranged as one live run.

A :class:`Storm` is a deterministic list of :class:`Step` s on a simulated clock. Each step
ingests the observations that have become available by its time (Fed-odds quotes, VIX closes,
BTC price candles every five minutes, as the polls would), evaluates signals through the live
pipeline, and, inside a BTC window, feeds one minute of liquidations to the live
``btc_liq`` stream service (:class:`bot.streams.StreamService`) as the streams would.

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

``size="small"`` is the first BTC window, the first Fed-odds flip, the first weeks of the
buyback calendar and a few days of the vol shock: every signal, in a few seconds.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache

from bot.demo import START
from signals import registry
from signals.sources._wsclient import Event
from storage.observations import Observation
from storage.series import gap_series, liq_series, price_series
from storage.timeutil import to_epoch

VENUES = ("bybit", "binance", "okx")
SYMBOL = {"bybit": "BTCUSDT", "binance": "BTCUSDT", "okx": "BTC-USDT-SWAP"}
SIDES = ("long_usd", "short_usd")  # side 0: a long was liquidated, 1: a short

DAY = 86400
T0 = to_epoch(START)
#: the first BTC window: the demo cascade starts at 13:30 on the second day
BTC_WINDOW = (T0 + DAY + 13 * 3600, 270)  # (start, minutes)
BTC_REPEAT = 8 * 3600  # the full storm repeats the window this much later, twice
#: btc_liq baselines are computed from the history before this (see storm_harness)
PIN = BTC_WINDOW[0]
#: VIX closes are stamped 00:00 UTC of their date and known after the 16:15 ET close
VIX_KNOWN_AFTER = 22 * 3600
EVAL_AT = 22 * 3600 + 300  # daily steps at 22:05 UTC
#: the close of 2026-05-20 is published only at 20:00 UTC the next day; a step at 12:05 UTC
#: (08:05 in New York, past the publication grace) finds it missing
LATE_VIX_CLOSE = T0 + 135 * DAY
LATE_VIX_KNOWN = LATE_VIX_CLOSE + DAY + 20 * 3600

SIGNAL_ENV = {
    # A quote counts seven hours, so a step every six hours steps every hourly reading.
    "FLOWWATCH_RATECUT_STALE_MINUTES": "420",
}


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

    def frame_text(self, venue: str, events: list[Event]) -> str:
        """The raw frame kept for an audit (``liq_raw``): the venue's liquidations as JSON."""
        return json.dumps({"venue": venue, "data": events}, separators=(",", ":"))


def _split(value: float, n: int) -> list[float]:
    """``value`` in ``n`` liquidations of different sizes that add up to it (cents)."""
    weights = [1.0, 2.0, 3.0][:n]
    parts = [round(value * w / sum(weights), 2) for w in weights[:-1]]
    return [*parts, round(value - sum(parts), 2)]


def _btc_window(
    storm: Storm, src: dict[tuple[str, int], float], k: int, start: int, minutes: int
) -> list[tuple[int, list[Observation]]]:
    """Frames, outages and price candles of BTC window ``k``; returns (minute, price obs) per minute."""
    first = BTC_WINDOW[0]
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


@cache
def build_storm(size: str = "full") -> Storm:
    if size not in ("full", "small"):
        raise ValueError(f"storm size {size!r}: use 'full' or 'small'")
    sigs = registry()
    btc = sigs["btc_liq"].demo(START).observations
    src = {(o.series, o.ts): o.value for o in btc}
    storm = Storm(size, [], [], [o for o in btc if o.ts < BTC_WINDOW[0]], {}, {})

    # what becomes available when: (available at, observation)
    later: list[tuple[int, Observation]] = []
    for o in sigs["ratecut"].demo(START).observations:
        later.append((o.ts, o))
    for o in sigs["vix_term"].demo(START).observations:
        # one close comes late: a stale-data notice to the admin channel, then its recovery
        known = LATE_VIX_KNOWN if o.ts == LATE_VIX_CLOSE else o.ts + VIX_KNOWN_AFTER
        later.append((known, o))
    later.sort(key=lambda x: (x[0], x[1].series))

    # (time, signals to evaluate) of the non-BTC steps
    plan: dict[int, set[str]] = defaultdict(set)

    def day(d: int, at: int = EVAL_AT) -> int:
        return T0 + d * DAY + at

    small = size == "small"
    plan[day(0)] |= {"buyback", "ratecut"}
    # the Fed-odds whipsaw: a flip on Jan 13; swings, flips and a divergence from Feb 8 to 19
    ratecut_spans = [(day(8, 12 * 3600), day(10, 6 * 3600))]
    if not small:
        ratecut_spans.append((day(34, 12 * 3600), day(45, 18 * 3600)))
    for a, b in ratecut_spans:
        for t in range(a, b + 1, 6 * 3600):
            plan[t + 300].add("ratecut")
    # the buyback calendar, weekly (Fridays)
    last_week = 6 if small else 24
    for w in range(last_week + 1):
        plan[day(4 + 7 * w)].add("buyback")
    # the vol shock: every day from May 11 (small: May 18 to 22)
    vix_days = range(133, 140) if small else range(126, 159)
    for d in vix_days:
        plan[day(d)].add("vix_term")
    plan[day(136, 12 * 3600 + 300)].add("vix_term")
    # the next morning: quiet hours are over, the last digest goes out
    last_day = max((t - T0) // DAY for t in plan)
    plan[day(last_day + 1, 7 * 3600 + 300)] = set()

    windows = 1 if small else 3
    btc_steps: list[tuple[int, int, int, list[Observation]]] = []  # (t, window, minute, price obs)
    for k in range(windows):
        start = BTC_WINDOW[0] + k * BTC_REPEAT
        for m, price in _btc_window(storm, src, k, start, BTC_WINDOW[1]):
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
        f"{BTC_WINDOW[1]} minutes, {n_eval} signal evaluations, {len(storm.obs)} observations ingested"
    )
