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
from signals.btc_liq._baselines import WindowHistory
from signals.btc_liq._grade import floor_usd
from signals.btc_liq._history import History
from signals.btc_liq._text import hhmm, span, usd, venue_list
from signals.btc_liq._timeline import Episode, Timeline
from signals.btc_liq._tracker import Tracker
from signals.btc_liq._vocab import (
    BUCKET_NAMES,
    CHART_MAX_BARS,
    CHART_RESOLUTIONS,
    CHUNK_OVERLAP_S,
    LONG_COLS,
    NAMES,
    SHORT_COLS,
    WINDOWS,
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
    cascades = cascade_spans(h, params, x_start, x_end, episodes)
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
    params: Params,
    x_start: int,
    x_end: int,
    episodes: Sequence[Episode] | None = None,
) -> list[tuple[int, int, str]]:
    """(start, end, peak level) of every cascade that overlaps the range: the lifecycles the
    alert engine recorded; wherever the range has liquidations but no lifecycle (imported
    history, a database whose alert history was pruned or came from elsewhere), those
    :func:`fallback_spans` finds in the roll-ups."""
    eps = list(episodes) if episodes is not None else (h.episodes(x_start, x_end) or [])
    out = [(max(e.start, x_start), min(e.end if e.end is not None else x_end, x_end), e.level) for e in eps]
    covered = [(e.start, e.end if e.end is not None else x_end) for e in eps]
    return sorted(out + fallback_spans(h, params, x_start, x_end, covered))


#: charts up to this long look for cascades without a lifecycle in the 5-minute roll-ups,
#: longer ones in the hourly roll-ups (imports in their own buckets)
FALLBACK_FINE_S = 4 * 86400


def fallback_res(x_start: int, x_end: int) -> int:
    return 300 if x_end - x_start <= FALLBACK_FINE_S else 3600


def coarsen(tl: Timeline, res: int) -> Timeline:
    """Buckets shorter than ``res`` summed into the aligned periods of ``res`` they fall in (the
    shape of the roll-ups); longer buckets (imports, coarser roll-ups) as they are."""
    short = tl.length < res
    if not short.any():
        return tl
    assert tl.cover is not None and tl.scale is not None
    keys, inv = np.unique(tl.start[short] // res * res, return_inverse=True)
    vals = np.zeros((len(keys), tl.vals.shape[1]))
    np.add.at(vals, inv, tl.vals[short])
    mask = np.zeros(len(keys), dtype=np.int64)
    np.bitwise_or.at(mask, inv, tl.mask[short])
    cover = np.minimum(np.bincount(inv, weights=tl.cover[short]).astype(np.int64), res)
    tot = vals.sum(axis=1)
    weighted = np.bincount(inv, weights=tl.vals[short].sum(axis=1) * tl.scale[short], minlength=len(keys))
    scale = np.where(tot > 0, weighted / np.where(tot > 0, tot, 1.0), 1.0)
    long_ = ~short
    start = np.concatenate([tl.start[long_], keys])
    order = np.argsort(start, kind="stable")
    return Timeline(
        start[order],
        np.concatenate([tl.length[long_], np.full(len(keys), res, dtype=np.int64)])[order],
        np.concatenate([tl.vals[long_], vals])[order],
        np.concatenate([tl.mask[long_], mask])[order],
        tl.sources,
        tl.gaps,
        tl.price_ts,
        tl.price_px,
        np.concatenate([tl.cover[long_], cover])[order],
        np.concatenate([tl.scale[long_], scale])[order],
        tl.gap_len,
    )


def fallback_spans(
    h: History,
    params: Params,
    x_start: int,
    x_end: int,
    covered: Sequence[tuple[int, int]] = (),
) -> list[tuple[int, int, str]]:
    """Cascades in ``[x_start, x_end)`` outside the recorded lifecycles ``covered``, from the
    roll-ups: the tracker over 5-minute periods (charts of up to :data:`FALLBACK_FINE_S`) or
    hourly ones (longer charts; imports in their own 4-hour or daily buckets), never over
    every minute.

    The tracker steps only where it can change state: while no cascade is open, only at the
    periods where some window reaches its floor and ``k_watch`` × its median (a vectorised
    test, with the tracker's fence, that every step it would turn into a watch passes), then
    every period until the cascade ends. So the cost is a few
    array passes over the range plus a step per period of cascade, whatever the history
    stored. Periods that overlap a lifecycle are the engine's: a cascade still open when one
    begins is that lifecycle's (dropped, never drawn twice), and windows after it count only
    what came after it (its fence)."""
    res = fallback_res(x_start, x_end)
    a = x_start - CHUNK_OVERLAP_S  # a cascade in progress at x_start is found from its start
    tl = coarsen(h.timeline(a - 86400, x_end, res, prices=False), res)
    if not len(tl):
        return []
    ends = tl.end
    idx = np.flatnonzero((ends > a) & (ends <= x_end))
    if not len(idx):
        return []
    life1 = np.full(len(tl), np.iinfo(np.int64).min, dtype=np.int64)
    for c0, c1 in covered:
        hit = (tl.start < c1) & (ends > c0)
        life1 = np.where(hit, np.maximum(life1, c1), life1)
    in_life = life1 > np.iinfo(np.int64).min
    if in_life[idx].all():
        return []
    shortest = int(tl.length[idx][~in_life[idx]].min())
    windows = tuple(n for n, w in WINDOWS if w >= shortest) or ("24h",)
    hists = h.histories(params, int(ends[idx[0]]), int(ends[idx[-1]]), windows)
    tr = Tracker(params)
    out: list[tuple[int, int, str]] = []
    pos, n = 0, len(idx)
    wake, fence = np.zeros(0, dtype=np.int64), None
    while pos < n:
        if tr.run is None:  # nothing open: on to the next period where a cascade can start
            if fence != tr.fence:  # (again after each cascade: its fence lowers the totals)
                fence = tr.fence
                rest = idx[pos:]
                wake = pos + np.flatnonzero(_may_start(tl, rest, params, hists, fence) | in_life[rest])
            q = int(np.searchsorted(wake, pos))
            if q == len(wake):
                break
            pos = int(wake[q])
        i = int(idx[pos])
        t = int(ends[i])
        pos += 1
        if in_life[i]:
            # a cascade running into a lifecycle is that lifecycle's, seen a little earlier at
            # this coarser resolution: the engine's account of it stands alone
            tr.run = None
            tr.fence = max(tr.fence, int(life1[i]))
            continue
        run = tr.run
        tr.advance(t, tl, hists)
        if run is not None and tr.run is None and t > x_start:
            out.append((max(run.start, x_start), t, run.peak.label))
    if tr.run is not None:
        out.append((max(tr.run.start, x_start), x_end, tr.run.peak.label))
    return out


def _may_start(
    tl: Timeline, idx: np.ndarray, params: Params, hists: Mapping[str, WindowHistory], fence: int = 0
) -> np.ndarray:
    """Of the steps at the ends of buckets ``idx``: where an idle tracker with ``fence`` can open a
    cascade (the same tests as :meth:`Tracker._judge` and :meth:`Tracker.advance`, necessary ones):
    some window it judges there is at or above its floor and ``k_watch`` × its base (its median;
    without one, the larger of the floor and the rough median), and the last quiet period is
    not calm against the hold window's normal rate."""
    assert tl.scale is not None
    kw = float(params["k_watch"])
    cents = np.rint(tl.vals.sum(axis=1) * tl.scale * 100).astype(np.int64)
    prefix = np.concatenate([[0], np.cumsum(cents)])
    t = tl.end[idx]
    res = tl.length[idx]  # the resolution at t: buckets do not overlap
    tol = 1 - 1e-9

    def total(a: np.ndarray) -> np.ndarray:
        i0 = np.searchsorted(tl.start, a, side="left")
        return (prefix[np.searchsorted(tl.start, t, side="left")] - prefix[i0]) / 100.0

    above = np.zeros(len(idx), dtype=bool)
    normal = np.zeros(len(idx))  # the hold window's normal rate (per its length)
    hold_len = np.zeros(len(idx), dtype=np.int64)
    for name, w in WINDOWS:
        judged = (res <= w) | ((res > 86400) & (name == "24h"))
        if not judged.any():
            continue
        floor = floor_usd(params, name)
        hist = hists[name]
        med = np.full(len(t), np.nan)
        rough = np.full(len(t), np.nan)
        if len(hist.m_ends):
            k = np.searchsorted(hist.m_ends, t - w, side="right") - 1
            at = np.clip(k, 0, None)
            med = np.where(k >= 0, hist.medians[at], np.nan)
            if hist.rough is not None and len(hist.rough):
                r_at = np.clip(at, 0, len(hist.rough) - 1)
                rough = np.where((k >= 0) & (k < len(hist.rough)), hist.rough[r_at], np.nan)
        base = np.where(med > 0, med, np.maximum(floor, np.nan_to_num(rough, nan=0.0)))
        norm = total(np.maximum(t - w, fence))
        above |= judged & (norm >= floor * tol) & (norm >= kw * base * tol)
        # the hold window: the first judged one of at least max(1 hour, the resolution)
        hold = judged & (hold_len == 0) & ((w >= np.maximum(3600, res)) | (name == "24h"))
        normal = np.where(hold, base, normal)
        hold_len = np.where(hold, w, hold_len)
    quiet = np.maximum(int(params["quiet_minutes"]) * 60, res)
    calm = total(t - quiet) < float(params["exit_ratio"]) * kw * normal * quiet / hold_len * tol
    return above & ~calm


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
