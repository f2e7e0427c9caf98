"""btc_liq's charts: the history of liquidations and price with cascades and gaps, and one alert's cascade."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from signals.base import Params
from signals.btc_liq._history import History
from signals.btc_liq._text import hhmm, span, usd, venue_list
from signals.btc_liq._timeline import Episode, Timeline
from signals.btc_liq._tracker import Tracker
from signals.btc_liq._vocab import (
    BUCKET_NAMES,
    CHART_MAX_BARS,
    CHART_RESOLUTIONS,
    CHUNK_OVERLAP_S,
    IMPORTS,
    LONG_COLS,
    NAMES,
    SHORT_COLS,
    VENUE_INDEX,
)
from signals.charts import ChartData
from storage.timeutil import to_epoch

_EMPTY = np.array([], dtype="datetime64[s]")


@dataclass(frozen=True, kw_only=True)
class BtcLiqChart(ChartData):
    """Liquidations per display bucket (longs up, shorts down), BTC price, cascades and stream
    gaps shaded, alerts marked."""

    renderer: ClassVar[str] = "btc_liq"
    kind: ClassVar[str] = "history"

    x: np.ndarray = field(default_factory=lambda: _EMPTY)
    res: int = 60
    long: np.ndarray = field(default_factory=lambda: np.array([]))
    short: np.ndarray = field(default_factory=lambda: np.array([]))
    price_x: np.ndarray = field(default_factory=lambda: _EMPTY)
    price: np.ndarray = field(default_factory=lambda: np.array([]))
    cascades: list[tuple[Any, Any, str]] = field(default_factory=list)
    gaps: list[tuple[Any, Any, str]] = field(default_factory=list)
    marks: list[tuple[np.datetime64, str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return len(self.x) == 0


@dataclass(frozen=True, kw_only=True)
class CascadeChart(BtcLiqChart):
    """One cascade alert: cumulative USD since it began (the headline figure on it), longs and
    shorts per bucket, BTC with its move; its level colours it."""

    kind: ClassVar[str] = "cascade"

    headline: str = ""
    split: str = ""
    level: str = "alert"
    start: np.datetime64 | None = None
    cum_long: np.ndarray = field(default_factory=lambda: np.array([]))
    cum_short: np.ndarray = field(default_factory=lambda: np.array([]))
    price_move: str = ""


def chart_resolution(width: int, finest: int = 60) -> int:
    return next(
        (r for r in CHART_RESOLUTIONS if r >= finest and width / r <= CHART_MAX_BARS),
        CHART_RESOLUTIONS[-1],
    )


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
) -> BtcLiqChart:
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
    return BtcLiqChart(
        signal=signal,
        title=f"BTC liquidations per {per}: longs vs shorts",
        x=_dt64(x),
        res=res,
        long=long / 1e6,
        short=short / 1e6,
        price_x=_dt64(pts),
        price=ppx,
        cascades=[
            (np.datetime64(a, "s"), np.datetime64(b, "s"), lv) for a, b, lv in whole_bars(cascades, res)
        ],
        gaps=[(np.datetime64(a, "s"), np.datetime64(b, "s"), label) for a, b, label in gaps],
        marks=[
            (np.datetime64(to_epoch(t), "s"), lv) for t, lv, _key in marks if x_start <= to_epoch(t) <= x_end
        ],
        source=f"Source: {srcs}",
        as_of=pd.Timestamp(x_end, unit="s", tz="UTC").to_pydatetime(),
    )


def whole_bars(spans: Iterable[tuple[int, int, str]], res: int) -> list[tuple[int, int, str]]:
    """Spans shorter than a bar widened to the bars they touch: a 4-hour cascade on a year of
    daily bars shades its day, not a sliver a reader cannot see (longer spans keep their times)."""
    out = []
    for a, b, lv in spans:
        if b - a < res:
            a, b = a // res * res, max(-(-b // res) * res, a // res * res + res)
        out.append((a, b, lv))
    return out


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


def cascade_chart(h: History, alert: Mapping[str, Any], signal: str = "btc_liq") -> CascadeChart:
    """Chart data of one cascade alert (see :meth:`BtcLiq.alert_chart`)."""
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
    return CascadeChart(
        signal=signal,
        title=f"{peak.upper()} · BTC liquidation cascade {what}: {usd(total)} since {hhmm(start)} UTC",
        headline=headline,
        split=f"longs {usd(t_long)} ({share:.0%}) · shorts {usd(t_short)} ({1 - share:.0%})",
        level=peak,
        start=np.datetime64(start, "s"),
        x=_dt64(x),
        res=res,
        long=long / 1e6,
        short=short / 1e6,
        cum_long=cum_long / 1e6,
        cum_short=cum_short / 1e6,
        price_x=_dt64(pts),
        price=ppx,
        price_move=(
            f"BTC {float(p1) / float(p0) - 1:+.1%} ({float(p0):,.0f} → {float(p1):,.0f})" if p0 and p1 else ""
        ),
        gaps=[(np.datetime64(g0, "s"), np.datetime64(g1, "s"), lab) for g0, g1, lab in gap_spans(tl, a, b)],
        source=f"Source: {venue_list(cols, tl.sources)}",
        as_of=pd.Timestamp(b, unit="s", tz="UTC").to_pydatetime(),
    )
