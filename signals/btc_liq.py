"""btc_liq: BTC futures liquidation cascades across venues.

Crypto is the front-line probe of liquidity, and forced selling shows first as liquidations.
This signal sums long and short liquidations (USD) from the live venues (Bybit, Binance, OKX:
1-minute buckets) or an imported aggregate (Coinglass: 4 h or 1 d buckets) over rolling
windows of 5 m, 1 h, 4 h and 24 h (windows shorter than the bucket are skipped).

A window **spikes** when its total reaches ``max(floor, k × its rolling median)``; ``watch``,
``alert`` and ``severe`` use the multiples ``k_watch``, ``k_alert``, ``k_severe`` (floors scale
with them). A window total that is the largest of its kind in at least ``record_days`` of the
series' own history waives the floor (a floor sized for an all-venue day must not hide a record
on a one-venue history) and, at ``k_alert`` or more, is severe.

One key, ``cascade``: a cascade is one lifecycle whose ``value`` is its running total in
millions of USD, so the engine emits ``updated`` events as it grows (``update_growth``) and the
resolve carries the final total and duration. The core lives in :mod:`signals.liquidations`;
the live stream service evaluates the same tracker in memory as frames arrive.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from signals.base import Level, Param, Params, Reading, Signal
from signals.liquidations import (
    BUCKET_NAMES,
    COLUMNS,
    LONG_COLS,
    NAMES,
    SHORT_COLS,
    WARMUP_S,
    Timeline,
    Tracker,
    build_timeline,
    gap_series,
    ladder,
    liq_series,
    price_series,
    span,
    venue_list,
    warm_tracker,
    window_histories,
)
from storage.observations import Inputs, Observation
from storage.timeutil import to_epoch

#: live data older than this is stale (the streams write a bucket every minute, quiet or not)
LIVE_STALE_S = 15 * 60
CHART_RESOLUTIONS = (60, 300, 900, 3600, 14400, 86400)
CHART_MAX_BARS = 2400
#: 1-minute resolution is kept this long before the first time a tracker is stepped from
FINE_MARGIN_S = WARMUP_S + 86400


def fine_from(inputs: Inputs, before: int) -> int:
    """Where full resolution must start for a tracker warmed up before ``before`` (or before
    the last stored bucket, when that is earlier): older 1-minute buckets may be compacted."""
    idx = inputs.values.index
    last = int(pd.Timestamp(idx[-1]).timestamp()) if len(idx) else before
    return min(before, last) - FINE_MARGIN_S


def _param(name: str, default: float, lo: float, hi: float, text: str, **kw: Any) -> Param:
    return Param(name, default, lo, hi, text, **kw)


class BtcLiq(Signal):
    id = "btc_liq"
    title = "BTC liquidations"
    description = (
        "BTC futures liquidations (USD, long vs short) from Bybit, Binance and OKX (or a Coinglass import): "
        "one alert per cascade that grows in place"
    )
    inputs = ("liq.btc.%", "btc.usd.close.%")
    keys: ClassVar[dict[str, str]] = {"cascade": "liquidation cascade (all venues)"}
    cooldown_param = "cooldown_hours"
    update_growth = 1.5
    value_format = "{:,.1f}"  # readings carry unit "M USD"

    def describe_peak(self, key: str, value: float) -> str | None:
        return f"{value:,.1f}M USD"

    alert_chart_days = 2
    lookback = timedelta(days=400)
    params = (
        _param("k_watch", 3, 1.5, 50, "multiple of a window's rolling median for a watch heads-up"),
        _param("k_alert", 5, 2, 100, "multiple of a window's rolling median for an alert"),
        _param("k_severe", 10, 2, 200, "multiple of a window's rolling median for severe"),
        _param("floor_5m", 20, 0.1, 100000, "USD a 5-minute window must reach to alert", unit="M USD"),
        _param("floor_1h", 75, 0.1, 100000, "USD a 1-hour window must reach to alert", unit="M USD"),
        _param("floor_4h", 150, 0.1, 100000, "USD a 4-hour window must reach to alert", unit="M USD"),
        _param("floor_24h", 400, 0.1, 100000, "USD a 24-hour window must reach to alert", unit="M USD"),
        _param(
            "baseline_days",
            28,
            7,
            365,
            "days of history in each window's rolling median",
            integer=True,
            unit="days",
        ),
        _param(
            "record_days",
            180,
            30,
            365,
            "a window total that is the largest in at least this many days is a record",
            integer=True,
            unit="days",
        ),
        _param(
            "exit_ratio",
            0.6,
            0.1,
            0.95,
            "a cascade ends when liquidations run below exit_ratio x k_watch x the normal rate",
        ),
        _param(
            "quiet_minutes",
            15,
            1,
            1440,
            "minutes at that calmer rate that end a cascade (at least one bucket)",
            integer=True,
            unit="minutes",
        ),
        _param(
            "cooldown_hours",
            1,
            0,
            72,
            "hours after a cascade resolves before a new one can fire",
            unit="hours",
        ),
    )

    def validate(self, params: Params) -> list[str]:
        p = params
        if not p["k_watch"] < p["k_alert"] < p["k_severe"]:
            return [
                f"multiples must rise: k_watch ({p['k_watch']:g}) < k_alert ({p['k_alert']:g}) "
                f"< k_severe ({p['k_severe']:g})"
            ]
        return []

    def cooldown_seconds(self, params: Params) -> int:
        return int(params["cooldown_hours"] * 3600)

    def classify(self, key: str, value: float, params: Params) -> Level:
        """A cascade total (millions of USD) against the 1-hour floors (per-guild filters)."""
        f = params["floor_1h"]
        k = (params["k_watch"], params["k_alert"], params["k_severe"])
        return ladder(value, [f * k[0] / k[1], f, f * k[2] / k[1]])

    # -- evaluation ------------------------------------------------------------------

    def history(self, inputs: Inputs, params: Params) -> list[Reading]:
        tl = build_timeline(inputs)
        if not len(tl):
            return []
        hists = window_histories(tl, params)
        tracker = Tracker(params, self.id)
        return [tracker.step(int(t), tl, hists) for t in tl.end.tolist()]

    def latest(self, inputs: Inputs, params: Params, now: datetime) -> list[Reading]:
        t_now = to_epoch(now)
        tl = build_timeline(inputs, end=t_now, fine_from=fine_from(inputs, t_now))
        if not len(tl):
            return []
        last_end = int(tl.end[-1])
        t = t_now if t_now - last_end <= 86400 else last_end
        hists = window_histories(tl, params)
        tracker, last = warm_tracker(params, tl, hists, tl.end, t)
        r = last if last is not None and tracker.last_t == t else tracker.step(t, tl, hists)
        r.data["last_data"] = min(last_end, t_now)
        r.data["live"] = bool(tl.length[-1] == 60)
        return [r]

    def readings_since(
        self, inputs: Inputs, params: Params, after: datetime | None, now: datetime, warmup: int = 30
    ) -> list[Reading]:
        """Live catch-up from the tail only: the tracker warmed up over the two days before
        ``after`` (as :meth:`latest` and the stream service do), then stepped to ``now``. The
        whole history would be one reading per stored bucket: a year of live 1-minute buckets
        is half a million readings (minutes and gigabytes)."""
        t_now = to_epoch(now)
        t_after = to_epoch(after) if after is not None else None
        tl = build_timeline(inputs, end=t_now, fine_from=fine_from(inputs, t_after or t_now))
        ends = tl.end[tl.end <= t_now]
        tail = ends[ends > t_after] if t_after is not None else ends[-warmup:]
        if not len(tail):
            return []
        hists = window_histories(tl, params)
        first = int(tail[0])
        tracker, _ = warm_tracker(params, tl, hists, ends[ends < first], first - 1)
        tracker.signal = self.id
        return [tracker.step(int(t), tl, hists) for t in tail.tolist()]

    def stale_reason(self, reading: Reading, now: datetime) -> str | None:
        """Live buckets are written every minute a stream is up, quiet or not: judge by those."""
        if not reading.data.get("live"):
            return None
        age = to_epoch(now) - int(reading.data.get("last_data", to_epoch(reading.ts)))
        if age > LIVE_STALE_S:
            return f"no live liquidation buckets for {span(age)} (are the venue streams connected?)"
        return None

    # -- presentation -----------------------------------------------------------------

    def chart_data(
        self,
        inputs: Inputs,
        params: Params,
        end: datetime,
        days: int,
        marks: Iterable[tuple[datetime, str, str]] = (),
    ) -> dict[str, Any]:
        end_s = to_epoch(end)
        tl = build_timeline(inputs, end=end_s, fine_from=fine_from(inputs, end_s - int(days * 86400)))
        if not len(tl):
            return {"signal": self.id, "title": "BTC liquidations", "x": np.array([], dtype="datetime64[s]")}
        x_end = min(end_s, int(tl.end[-1]))
        # at least 60 buckets of the data's resolution, so a short range of daily data still shows
        finest = tl.resolution(x_end)
        x_start = max(min(x_end - int(days * 86400), x_end - 60 * finest), int(tl.start[0]))
        return chart_range(tl, params, x_start, x_end, marks, self.id)

    # -- demo -------------------------------------------------------------------------

    def demo(self, start: datetime) -> list[Observation]:
        return demo_observations(start)


def _dt64(ts: np.ndarray | list[int]) -> np.ndarray:
    return np.asarray(ts, dtype="datetime64[s]")


def chart_range(
    tl: Timeline,
    params: Params,
    x_start: int,
    x_end: int,
    marks: Iterable[tuple[datetime, str, str]] = (),
    signal: str = "btc_liq",
) -> dict[str, Any]:
    """Chart data for ``[x_start, x_end)``: long/short per display bucket, price, cascades, gaps."""
    part = tl.slice(x_start, x_end)
    finest = int(part.length.max()) if len(part) else 60
    width = max(x_end - x_start, 60)
    res = next(
        (r for r in CHART_RESOLUTIONS if r >= finest and width / r <= CHART_MAX_BARS),
        CHART_RESOLUTIONS[-1],
    )
    g0 = (x_start // res) * res
    n = max(1, -(-(x_end - g0) // res))
    long: np.ndarray = np.zeros(n)
    short: np.ndarray = np.zeros(n)
    if len(part):
        idx = np.clip((part.start - g0) // res, 0, n - 1)
        long = np.bincount(idx, weights=part.vals[:, LONG_COLS].sum(axis=1), minlength=n)
        short = np.bincount(idx, weights=part.vals[:, SHORT_COLS].sum(axis=1), minlength=n)
    x = g0 + res * np.arange(n)
    keep = (tl.price_ts >= x_start) & (tl.price_ts <= x_end)
    pts, ppx = tl.price_ts[keep], tl.price_px[keep]
    if len(pts) > 3000:
        step = math.ceil(len(pts) / 3000)
        pts, ppx = pts[::step], ppx[::step]
    cascades = cascade_spans(tl, params, x_start, x_end)
    gaps = gap_spans(tl, x_start, x_end)
    cols = part.venues(x_start, x_end) if len(part) else []
    srcs = venue_list(cols, tl.sources)
    bucket = BUCKET_NAMES.get(res, f"{res}s")
    return {
        "signal": signal,
        "title": f"BTC liquidations per {bucket}: longs vs shorts",
        "x": _dt64(x),
        "res": res,
        "long": long / 1e6,
        "short": short / 1e6,
        "price_x": _dt64(pts),
        "price": ppx,
        "cascades": [(np.datetime64(a, "s"), np.datetime64(b, "s"), lv) for a, b, lv in cascades],
        "gaps": [(np.datetime64(a, "s"), np.datetime64(b, "s"), label) for a, b, label in gaps],
        "marks": [
            (np.datetime64(to_epoch(t), "s"), lv) for t, lv, _key in marks if x_start <= to_epoch(t) <= x_end
        ],
        "source": f"Source: {srcs}",
        "as_of": pd.Timestamp(x_end, unit="s", tz="UTC").to_pydatetime(),
    }


def cascade_spans(tl: Timeline, params: Params, x_start: int, x_end: int) -> list[tuple[int, int, str]]:
    """(start, end, peak level) of every cascade that overlaps the range."""
    hists = window_histories(tl, params)
    tr = Tracker(params)
    out: list[tuple[int, int, str]] = []
    ends = tl.end
    sel = ends[(ends > x_start - 2 * 86400) & (ends <= x_end)]
    for t in sel.tolist():
        run = tr.run
        tr.advance(int(t), tl, hists)
        if run is not None and tr.run is None and int(t) > x_start:
            out.append((max(run.start, x_start), int(t), run.peak.label))
    if tr.run is not None:
        out.append((max(tr.run.start, x_start), x_end, tr.run.peak.label))
    return out


def gap_spans(tl: Timeline, x_start: int, x_end: int, min_s: float = 30) -> list[tuple[int, int, str]]:
    """Stretches where a live venue's stream was down (merged across venues, at most 200)."""
    minutes: dict[int, set[str]] = {}
    for venue, (ts, g) in tl.gaps.items():
        sel = (ts >= x_start) & (ts < x_end) & (g >= min_s)
        for m in ts[sel].tolist():
            minutes.setdefault(int(m), set()).add(venue)
    out: list[tuple[int, int, set[str]]] = []
    for m in sorted(minutes):
        if out and m <= out[-1][1]:
            out[-1] = (out[-1][0], m + 60, out[-1][2] | minutes[m])
        else:
            out.append((m, m + 60, set(minutes[m])))
    if len(out) > 200:
        step = math.ceil(len(out) / 200)
        merged = []
        for i in range(0, len(out), step):
            chunk = out[i : i + step]
            merged.append((chunk[0][0], chunk[-1][1], set().union(*(c[2] for c in chunk))))
        out = merged
    return [(a, b, ", ".join(NAMES.get(v, v) for v in sorted(vs)) + " down") for a, b, vs in out]


# -- demo ---------------------------------------------------------------------------------


def demo_observations(start: datetime) -> list[Observation]:
    """Eight calm days, then a long-squeeze cascade (about $1.4B in 90 minutes, with a short
    OKX outage), then two calm days. 1-minute buckets per venue, as the live streams write them."""
    rng = random.Random(11)
    t0 = to_epoch(start) - 8 * 86400
    minutes = 11 * 86400 // 60
    crash = to_epoch(start) + 86400 + 13 * 3600 + 30 * 60
    weight = {"bybit": 0.45, "binance": 0.3, "okx": 0.25}
    out: list[Observation] = []
    price = 96000.0
    for i in range(minutes):
        ts = t0 + 60 * i
        k = (ts - crash) // 60
        surge = 0.0
        if 0 <= k < 90:
            surge = 40e6 * math.exp(-((k - 25) ** 2) / 300.0) + 2e6
        elif 90 <= k < 240:
            surge = 1.2e6 * math.exp(-(k - 90) / 60.0)
        drift = -0.0012 if 0 <= k < 60 else 0.0
        price *= 1 + drift + rng.gauss(0, 0.0006)
        out.append(Observation(price_series("1m"), ts, round(price, 2), "demo"))
        okx_down = 20 <= k < 24
        for venue, w in weight.items():
            if venue == "okx" and okx_down:
                out.append(Observation(gap_series("okx"), ts, 60.0, "demo"))
                continue
            base_long = rng.expovariate(1 / 60e3) if rng.random() < 0.7 else 0.0
            base_short = rng.expovariate(1 / 50e3) if rng.random() < 0.7 else 0.0
            long = base_long * w / 0.35 + surge * w * 0.88 * rng.uniform(0.7, 1.3)
            short = base_short * w / 0.35 + surge * w * 0.12 * rng.uniform(0.7, 1.3)
            out.append(Observation(liq_series(venue, "long", "1m"), ts, round(long, 2), "demo"))
            out.append(Observation(liq_series(venue, "short", "1m"), ts, round(short, 2), "demo"))
    return out


_ = COLUMNS  # re-exported names used by the chart module

SIGNAL = BtcLiq()
