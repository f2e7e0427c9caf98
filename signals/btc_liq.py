"""btc_liq: BTC futures liquidation cascades across venues.

Crypto is the front-line probe of liquidity, and forced selling shows first as liquidations.
This signal sums long and short liquidations (USD) from the live venues (Bybit, Binance, OKX:
1-minute buckets) or an imported aggregate (Coinglass: 1 h, 4 h or 1 d buckets) over rolling
windows of 5 m, 1 h, 4 h and 24 h (windows shorter than the bucket are skipped).

Severity comes from the series' own history, so it holds on any venue mix (the rule is in
:mod:`signals.liquidations`): a window ``k_watch`` × its rolling median is a heads-up; at
``k_alert`` × and in the top ``top_n`` of its trailing 365 days (by total, or by multiple of
the median) it is an alert; the largest of the trailing 365 days is severe. The USD floors
only guard against noise in a thin, quiet series, in all-venue terms: an import that carries
a fraction of the all-venue total (``import_coverage``) is judged on that fraction.

One key, ``cascade``: a cascade is one lifecycle whose ``value`` is its running total in
millions of USD, so the engine emits ``updated`` events as it grows (``update_growth``) and the
resolve carries the final total and duration. Stored history is read by range
(:mod:`signals.liq_stored` over :mod:`storage.liq_reads`): the 1-minute rows of the last days,
the roll-ups for baselines and ranks; the live stream service evaluates the same tracker in
memory as frames arrive.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from signals.base import Demo, InputLoader, Level, Param, Params, Reading, Rules
from signals.liquidations import (
    BUCKET_NAMES,
    COLUMNS,
    IMPORTS,
    LONG_COLS,
    NAMES,
    SHORT_COLS,
    VENUE_INDEX,
    WARMUP_S,
    Episode,
    History,
    MemoryHistory,
    Timeline,
    Tracker,
    hhmm,
    ladder,
    reading_level,
    span,
    usd,
    venue_list,
    warm_tracker,
)
from storage import liq_reads
from storage.observations import Inputs, Observation
from storage.series import gap_series, liq_series, price_series
from storage.timeutil import to_epoch

#: live data older than this is stale (the streams write a bucket every minute, quiet or not)
LIVE_STALE_S = 15 * 60
CHART_RESOLUTIONS = (60, 300, 900, 3600, 14400, 86400)
#: at most this many bars: a year is drawn as days, two days as 5 minutes (bars a reader can see)
CHART_MAX_BARS = 800
#: a replay reads 1-minute rows this many days at a time
REPLAY_CHUNK_S = 7 * 86400
#: the tracker's windows and the run totals reach this far back from a chunk's first step
CHUNK_OVERLAP_S = 2 * 86400


def _param(name: str, default: float, lo: float, hi: float, text: str, **kw: Any) -> Param:
    return Param(name, default, lo, hi, text, **kw)


def history_of(inputs: Inputs, params: Params) -> History:
    """Where ``inputs`` keep the liquidations: a database reader (bounded reads) or a frame."""
    reader = getattr(inputs, "reader", None)
    if reader is not None:
        from signals.liq_stored import StoredHistory

        return StoredHistory(reader, params)
    return MemoryHistory(inputs, params)


class BtcLiq:
    id = "btc_liq"
    title = "BTC liquidations"
    description = (
        "BTC futures liquidations (USD, long vs short) from Bybit, Binance and OKX (or a Coinglass import): "
        "one alert per cascade that grows in place"
    )
    inputs = ("liq.btc.%", "btc.usd.close.%")
    keys: ClassVar[dict[str, str]] = {"cascade": "liquidation cascade (all venues)"}
    alert_chart_days = 2
    lookback = timedelta(days=400)
    params = (
        _param(
            "k_watch", 3, 1.5, 50, "multiple of a window's rolling median for a watch heads-up", guild=True
        ),
        _param(
            "k_alert",
            5,
            2,
            100,
            "multiple of a window's rolling median that an alert needs, with a top-N rank of its year",
            guild=True,
        ),
        _param(
            "k_severe",
            10,
            2,
            200,
            "multiple of a window's median (at least its floor) that alerts while it has too little history to rank",
            guild=True,
        ),
        _param(
            "watch_days",
            30,
            1,
            365,
            "a heads-up (watch) needs the window to be the largest of at least this many days",
            integer=True,
            unit="days",
        ),
        _param(
            "top_n",
            5,
            1,
            50,
            "a window in the top N of its trailing 365 days (by total, or by multiple of its median) is an alert",
            integer=True,
            guild=True,
        ),
        _param(
            "floor_5m",
            2,
            0.01,
            100000,
            "USD (all venues) below which a 5-minute window is noise, whatever its rank",
            unit="M USD",
            guild=True,
        ),
        _param(
            "floor_1h",
            5,
            0.01,
            100000,
            "USD (all venues) below which a 1-hour window is noise",
            unit="M USD",
            guild=True,
        ),
        _param(
            "floor_4h",
            10,
            0.01,
            100000,
            "USD (all venues) below which a 4-hour window is noise",
            unit="M USD",
            guild=True,
        ),
        _param(
            "floor_24h",
            25,
            0.01,
            100000,
            "USD (all venues) below which a 24-hour window is noise",
            unit="M USD",
            guild=True,
        ),
        _param(
            "import_coverage",
            0.35,
            0.01,
            1,
            "share of the all-venue total an import of fewer venues carries (the Binance-only Coinglass history)",
        ),
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
            "with less than a year of history, the largest of at least this many days is severe",
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

    def inputs_loader(self) -> InputLoader:
        """Read by range through the roll-ups, not by loading ``inputs`` over the lookback."""
        return liq_reads.load_inputs

    def validate(self, params: Params) -> list[str]:
        p = params
        if not p["k_watch"] < p["k_alert"] < p["k_severe"]:
            return [
                f"multiples must rise: k_watch ({p['k_watch']:g}) < k_alert ({p['k_alert']:g}) "
                f"< k_severe ({p['k_severe']:g})"
            ]
        return []

    def rules(self, params: Params) -> Rules:
        return Rules(
            cooldown_s=int(params["cooldown_hours"] * 3600),
            update_growth=1.5,
            value_format="{:,.1f}",  # readings carry unit "M USD"
            describe_peak=lambda key, value: f"{value:,.1f}M USD",
        )

    def grade(self, key: str, value: float, figures: Mapping[str, Any], params: Params) -> Level:
        """The level the reading's window figures give under ``params`` (multiples of each
        window's median, its rank in the trailing year, the floors): a guild's ``/thresholds
        set top_n 2`` or ``floor_1h 75`` regrades a cascade by its own rule. An event recorded
        without window figures falls back to its total against the 1-hour floor × the multiples."""
        lvl = reading_level(figures, params)
        if lvl is not None:
            return lvl
        f = params["floor_1h"]
        k = (params["k_watch"], params["k_alert"], params["k_severe"])
        return ladder(value, [f * k[0] / k[1], f, f * k[2] / k[1]])

    # -- evaluation ------------------------------------------------------------------

    def history(self, inputs: Inputs, params: Params) -> list[Reading]:
        return list(self.stream(inputs, params))

    def stream(
        self, inputs: Inputs, params: Params, start: datetime | None = None, end: datetime | None = None
    ) -> Iterator[Reading]:
        """Every reading in time order, from the warm-up before ``start`` (or the first data)
        to ``end``, made a chunk of days at a time: a replay holds a week of minutes, not the
        history (the readings before ``start`` seed the engine's streaks)."""
        h = history_of(inputs, params)
        yield from stream_readings(h, params, start, end, self.id)

    def latest(self, inputs: Inputs, params: Params, now: datetime) -> list[Reading]:
        h = history_of(inputs, params)
        r = latest_reading(h, params, to_epoch(now), self.id)
        return [r] if r is not None else []

    def readings_since(
        self, inputs: Inputs, params: Params, after: datetime | None, now: datetime, warmup: int = 30
    ) -> list[Reading]:
        """Live catch-up from the tail only: the tracker warmed up over the two days before
        ``after`` (as :meth:`latest` and the stream service do), then stepped to ``now``."""
        h = history_of(inputs, params)
        t_now = to_epoch(now)
        last = h.last_end(t_now + 1)
        if last is None:
            return []
        t_after = to_epoch(after) if after is not None else None
        a = (t_after if t_after is not None else min(last, t_now)) - WARMUP_S - 86400
        tl = h.timeline(a, t_now + 1)
        ends = tl.end[tl.end <= t_now]
        tail = ends[ends > t_after] if t_after is not None else ends[-warmup:]
        if not len(tail):
            return []
        first = int(tail[0])
        hists = h.histories(params, first - WARMUP_S, int(tail[-1]))
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
        *,
        episodes: Sequence[Episode] | None = None,
    ) -> dict[str, Any]:
        h = history_of(inputs, params)
        end_s = to_epoch(end)
        last = h.last_end(end_s)
        if last is None:
            return {"signal": self.id, "title": "BTC liquidations", "x": np.array([], dtype="datetime64[s]")}
        x_end = min(end_s, last)
        first = h.first_start()
        x_start = x_end - int(days * 86400)
        if first is not None:
            x_start = max(x_start, first)  # the range there is data for: its bars, its resolution
        tl = h.timeline(x_start, x_end, chart_resolution(x_end - x_start))
        if len(tl):
            # at least 60 buckets of the data's resolution, so a short range of daily data shows
            finest = tl.resolution(x_end)
            if x_end - 60 * finest < x_start:
                x_start = x_end - 60 * finest
                if first is not None:
                    x_start = max(x_start, first)
                tl = h.timeline(x_start, x_end, chart_resolution(x_end - x_start, finest))
        return chart_range(h, tl, params, x_start, x_end, marks, self.id, episodes=episodes)

    def alert_chart_data(self, inputs: Inputs, params: Params, alert: Mapping[str, Any]) -> dict[str, Any]:
        """The chart of one cascade alert (``alert``: its ``ts``, ``event``, ``level``, ``value``
        and ``data``): from a little before the cascade started to the alert, the cumulative USD
        liquidated, longs and shorts, with the headline figure on it, and the BTC move."""
        return cascade_chart(history_of(inputs, params), alert, self.id)

    def coverage_report(self, inputs: Inputs, params: Params) -> str | None:
        """Where live buckets overlap an import: the import's measured share of the live total
        next to the ``import_coverage`` in use (``flowwatch check``)."""
        return coverage_report(history_of(inputs, params), params)

    # -- demo -------------------------------------------------------------------------

    def demo(self, start: datetime) -> Demo:
        return Demo(tuple(demo_observations(start)))


# -- readings ------------------------------------------------------------------------------


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
    r = last if last is not None and tracker.last_t == t else tracker.step(t, tl, hists)
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
            yield tracker.step(int(t), tl, hists)
        c0 = c1


def chart_resolution(width: int, finest: int = 60) -> int:
    return next(
        (r for r in CHART_RESOLUTIONS if r >= finest and width / r <= CHART_MAX_BARS),
        CHART_RESOLUTIONS[-1],
    )


# -- charts --------------------------------------------------------------------------------


def _dt64(ts: np.ndarray | list[int]) -> np.ndarray:
    return np.asarray(ts, dtype="datetime64[s]")


def bars(tl: Timeline, x_start: int, x_end: int, res: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Long and short USD per display bucket of ``res`` seconds over ``[x_start, x_end)``."""
    part = tl.slice(x_start, x_end)
    g0 = (x_start // res) * res
    n = max(1, -(-(x_end - g0) // res))
    long: np.ndarray = np.zeros(n)
    short: np.ndarray = np.zeros(n)
    if len(part):
        idx = np.clip((part.start - g0) // res, 0, n - 1)
        long = np.bincount(idx, weights=part.vals[:, LONG_COLS].sum(axis=1), minlength=n)
        short = np.bincount(idx, weights=part.vals[:, SHORT_COLS].sum(axis=1), minlength=n)
    return g0 + res * np.arange(n), long, short


def chart_range(
    h: History,
    tl: Timeline,
    params: Params,
    x_start: int,
    x_end: int,
    marks: Iterable[tuple[datetime, str, str]] = (),
    signal: str = "btc_liq",
    *,
    episodes: Sequence[Episode] | None = None,
) -> dict[str, Any]:
    """Chart data for ``[x_start, x_end)``: long/short per display bucket, price, cascades, gaps."""
    part = tl.slice(x_start, x_end)
    finest = int(part.length.max()) if len(part) else 60
    res = chart_resolution(max(x_end - x_start, 60), finest)
    x, long, short = bars(tl, x_start, x_end, res)
    keep = (tl.price_ts >= x_start) & (tl.price_ts <= x_end)
    pts, ppx = tl.price_ts[keep], tl.price_px[keep]
    if len(pts) > 3000:
        step = math.ceil(len(pts) / 3000)
        pts, ppx = pts[::step], ppx[::step]
    cascades = cascade_spans(h, tl, params, x_start, x_end, episodes)
    gaps = gap_spans(tl, x_start, x_end, res=res)
    cols = part.venues(x_start, x_end) if len(part) else []
    srcs = venue_list(cols, tl.sources)
    bucket = BUCKET_NAMES.get(res, f"{res}s")
    per = {"1d": "day", "1h": "hour"}.get(bucket, bucket)
    return {
        "signal": signal,
        "title": f"BTC liquidations per {per}: longs vs shorts",
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


def cascade_spans(
    h: History,
    tl: Timeline,
    params: Params,
    x_start: int,
    x_end: int,
    episodes: Sequence[Episode] | None = None,
) -> list[tuple[int, int, str]]:
    """(start, end, peak level) of every cascade that overlaps the range: the lifecycles the
    alert engine recorded; for imported history it has none of, the tracker over the import's
    own buckets (a few per day), never over every minute."""
    eps = list(episodes) if episodes is not None else (h.episodes(x_start, x_end) or [])
    out = [(max(e.start, x_start), min(e.end if e.end is not None else x_end, x_end), e.level) for e in eps]
    covered = [(e.start, e.end if e.end is not None else x_end) for e in eps]
    imp_bit = 1 << VENUE_INDEX[IMPORTS[0]]
    part = tl.slice(x_start - CHUNK_OVERLAP_S, x_end)
    is_imp = (part.mask & imp_bit) > 0
    if not is_imp.any():
        return sorted(out)
    ends = part.end[is_imp]
    ends = ends[(ends > x_start - CHUNK_OVERLAP_S) & (ends <= x_end)]
    if covered:
        inside = np.zeros(len(ends), dtype=bool)
        for a, b in covered:
            inside |= (ends > a) & (ends <= b)
        ends = ends[~inside]
    if not len(ends):
        return sorted(out)
    shortest = int(part.length[is_imp].min())
    windows = tuple(n for n, w in (("1h", 3600), ("4h", 14400), ("24h", 86400)) if w >= shortest)
    hists = h.histories(params, int(ends[0]), int(ends[-1]), windows)
    tr = Tracker(params)
    for t in ends.tolist():
        run = tr.run
        tr.advance(int(t), part, hists)
        if run is not None and tr.run is None and int(t) > x_start:
            out.append((max(run.start, x_start), int(t), run.peak.label))
    if tr.run is not None:
        out.append((max(tr.run.start, x_start), x_end, tr.run.peak.label))
    return sorted(out)


def gap_spans(
    tl: Timeline, x_start: int, x_end: int, min_s: float = 30, res: int = 60
) -> list[tuple[int, int, str]]:
    """Stretches where a live venue's stream was down (merged across venues, at most 200).

    From 1-minute gap rows, or from the roll-ups' seconds down per period on long charts (a
    period counts when its venue was down for at least a twelfth of it)."""
    minutes: dict[int, tuple[int, set[str]]] = {}
    for venue, (ts, g) in tl.gaps.items():
        lens = tl.gap_len.get(venue, np.full(len(ts), 60, dtype=np.int64))
        sel = (ts >= x_start) & (ts < x_end)
        for m, sec, length in zip(ts[sel].tolist(), g[sel].tolist(), lens[sel].tolist(), strict=True):
            if sec < max(min_s, length / 12):
                continue
            end, names = minutes.get(int(m), (int(m) + length, set()))
            names.add(venue)
            minutes[int(m)] = (max(end, int(m) + length), names)
    out: list[tuple[int, int, set[str]]] = []
    for m in sorted(minutes):
        end, names = minutes[m]
        if out and m <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end), out[-1][2] | names)
        else:
            out.append((m, end, set(names)))
    if len(out) > 200:
        step = math.ceil(len(out) / 200)
        merged = []
        for i in range(0, len(out), step):
            chunk = out[i : i + step]
            merged.append((chunk[0][0], chunk[-1][1], set().union(*(c[2] for c in chunk))))
        out = merged
    return [(a, b, ", ".join(NAMES.get(v, v) for v in sorted(vs)) + " down") for a, b, vs in out]


def cascade_chart(h: History, alert: Mapping[str, Any], signal: str = "btc_liq") -> dict[str, Any]:
    """Chart data of one cascade alert (see :meth:`BtcLiq.alert_chart_data`)."""
    data = dict(alert.get("data") or {})
    t_alert = int(alert["ts"])
    start = int(data.get("start") or t_alert - 3600)
    start = min(start, t_alert - 60)
    dur = t_alert - start
    lead_in = max(1800, dur // 4)
    a = start - lead_in
    b = t_alert
    width = b - a
    res = 60 if width <= 12 * 3600 else 300 if width <= 4 * 86400 else 3600
    tl = h.timeline(a, b + 1, res)
    if len(tl):
        res = max(res, int(tl.length.max()))
    x, long, short = bars(tl, a, b, res)
    after = x >= start
    cum_long = np.cumsum(np.where(after, long, 0.0))
    cum_short = np.cumsum(np.where(after, short, 0.0))
    total = float(data.get("total_usd") or (cum_long[-1] + cum_short[-1] if len(x) else 0.0))
    t_long = float(data.get("long_usd") or (cum_long[-1] if len(x) else 0.0))
    t_short = float(data.get("short_usd") or (cum_short[-1] if len(x) else 0.0))
    keep = (tl.price_ts >= a) & (tl.price_ts <= b)
    pts, ppx = tl.price_ts[keep], tl.price_px[keep]
    p0, p1 = data.get("price_start"), data.get("price_end")
    level = str(alert.get("level") or "alert")
    event = str(alert.get("event") or "fired")
    resolved = event == "resolved"
    what = {
        "fired": "fired",
        "escalated": "escalated",
        "deescalated": "eased",
        "updated": "growing",
        "resolved": "over",
    }.get(event, event)
    peak = str(alert.get("prev_level") or level) if resolved else level
    share = t_long / total if total > 0 else 0.5
    headline = f"{usd(total)} liquidated in {span(dur)}"
    cols = tl.venues(a, b) if len(tl) else []
    return {
        "signal": signal,
        "kind": "cascade",
        "title": f"{peak.upper()} · BTC liquidation cascade {what}: {usd(total)} since {hhmm(start)} UTC",
        "headline": headline,
        "split": f"longs {usd(t_long)} ({share:.0%}) · shorts {usd(t_short)} ({1 - share:.0%})",
        "level": peak,
        "start": np.datetime64(start, "s"),
        "x": _dt64(x),
        "res": res,
        "long": long / 1e6,
        "short": short / 1e6,
        "cum_long": cum_long / 1e6,
        "cum_short": cum_short / 1e6,
        "price_x": _dt64(pts),
        "price": ppx,
        "price_move": (
            f"BTC {float(p1) / float(p0) - 1:+.1%} ({float(p0):,.0f} → {float(p1):,.0f})" if p0 and p1 else ""
        ),
        "gaps": [
            (np.datetime64(g0, "s"), np.datetime64(g1, "s"), lab) for g0, g1, lab in gap_spans(tl, a, b)
        ],
        "source": f"Source: {venue_list(cols, tl.sources)}",
        "as_of": pd.Timestamp(b, unit="s", tz="UTC").to_pydatetime(),
    }


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
