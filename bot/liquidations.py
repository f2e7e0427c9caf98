"""``/liquidations [hours]``: what was liquidated, per venue and side, plus the chart.

Pure read-only queries and text, shared by the Discord command and the CLI-style callers:

- :func:`validate_hours` checks the option (Discord's range is only a hint);
- :func:`liquidations_report` (``db`` first, so ``store.call`` can run it) gathers totals per
  venue and side, the biggest buckets, the current ``btc_liq`` reading, stream health and gaps,
  and the recent cascade alerts;
- :func:`liquidations_text` renders it; :func:`liquidations_chart` gives the chart data for
  ``bot.charts.render_png``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlite_utils import Database

from bot.config import Settings
from bot.formatting import EVENT_WORDS, when
from bot.pipeline import load_signal_inputs
from signals import get_signal
from signals.base import Reading
from signals.btc_liq import (
    BINANCE_NOTE,
    COLUMNS,
    NAMES,
    VENUE_INDEX,
    BtcLiqChart,
    chart_range,
    chart_resolution,
    history_of,
    latest_reading,
    span,
    undercounts,
    usd,
    venue_list,
)
from storage import alerts as alert_repo
from storage import meta
from storage.alerts import StoredAlert
from storage.timeutil import to_epoch

SIGNAL_ID = "btc_liq"
MIN_HOURS, MAX_HOURS, DEFAULT_HOURS = 1, 720, 24


def validate_hours(value: Any) -> int:
    """The ``hours`` option: a whole number from 1 to 720 (30 days)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"hours must be a whole number from {MIN_HOURS} to {MAX_HOURS}, not {value!r}"
        ) from None
    if not math.isfinite(v) or v != int(v) or not MIN_HOURS <= v <= MAX_HOURS:
        raise ValueError(f"hours must be a whole number from {MIN_HOURS} to {MAX_HOURS} (got {value!r})")
    return int(v)


@dataclass
class Bucket:
    start: datetime
    seconds: int
    long_usd: float
    short_usd: float

    @property
    def total(self) -> float:
        return self.long_usd + self.short_usd


@dataclass
class LiquidationReport:
    start: datetime
    end: datetime
    hours: int
    long_usd: float = 0.0
    short_usd: float = 0.0
    by_venue: dict[str, tuple[float, float]] = field(default_factory=dict)
    largest: list[Bucket] = field(default_factory=list)
    covered_s: int = 0
    gaps_s: dict[str, float] = field(default_factory=dict)
    reading: Reading | None = None
    streams: dict[str, dict[str, Any]] = field(default_factory=dict)
    alerts: list[StoredAlert] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return self.long_usd + self.short_usd

    @property
    def venues(self) -> list[str]:
        return [v for v in COLUMNS if v in self.by_venue]


def liquidations_report(
    db: Database, settings: Settings, now: datetime, hours: int = DEFAULT_HOURS
) -> LiquidationReport:
    hours = validate_hours(hours)
    sig = get_signal(SIGNAL_ID)
    params = settings.signal_params(SIGNAL_ID)
    h = history_of(load_signal_inputs(db, sig, now), params)
    end = to_epoch(now)
    a = end - hours * 3600
    # the range at minutes for a day (the largest 1-minute buckets), at 5 minutes beyond
    res = 60 if hours <= 24 else 300
    tl = h.timeline(a, end, res)
    rep = LiquidationReport(start=now - timedelta(hours=hours), end=now, hours=hours, sources=tl.sources)
    if len(tl):
        part = tl.slice(a, end)
        if len(part):
            v = part.vals.sum(axis=0)
            for c in part.venues(a, end):
                k = VENUE_INDEX[c]
                rep.by_venue[c] = (float(v[2 * k]), float(v[2 * k + 1]))
            rep.long_usd = float(v[0::2].sum())
            rep.short_usd = float(v[1::2].sum())
            rep.covered_s = part.covered(a, end)
            totals = part.vals.sum(axis=1)
            for i in np.argsort(-totals)[:3].tolist():
                if totals[i] <= 0:
                    break
                rep.largest.append(
                    Bucket(
                        datetime.fromtimestamp(int(part.start[i]), tz=now.tzinfo),
                        int(part.length[i]),
                        float(part.vals[i, 0::2].sum()),
                        float(part.vals[i, 1::2].sum()),
                    )
                )
        rep.gaps_s = {k: s for k, s in tl.gap_seconds(a, end).items() if s >= 60}
    rep.reading = latest_reading(h, params, end, SIGNAL_ID)
    rep.streams = {
        k.removeprefix("source:"): v for k, (v, _t) in meta.items(db, "source:").items() if _is_stream(v)
    }
    rep.alerts = alert_repo.list_alerts(db, "live", SIGNAL_ID, since=a, until=end)
    return rep


def _is_stream(v: Any) -> bool:
    return isinstance(v, dict) and "venue" in v and v.get("venue") in VENUE_INDEX


def liquidations_text(rep: LiquidationReport, tz: ZoneInfo | None = None) -> str:
    lines = [f"BTC liquidations, last {rep.hours} h (to {when(rep.end, tz)})"]
    if not rep.by_venue:
        lines.append("No liquidation data in this range (streams not connected yet, or no history loaded).")
    else:
        share = rep.long_usd / rep.total if rep.total > 0 else 0.0
        lines.append(
            f"Total {usd(rep.total)}: longs {usd(rep.long_usd)} ({share:.0%}), shorts {usd(rep.short_usd)} "
            f"({1 - share:.0%})"
        )
        for v in rep.venues:
            lo, sh = rep.by_venue[v]
            lines.append(f"  {NAMES.get(v, v)}: {usd(lo + sh)} (longs {usd(lo)}, shorts {usd(sh)})")
        if rep.largest:
            big = ", ".join(f"{when(b.start, tz)} {usd(b.total)} ({span(b.seconds)})" for b in rep.largest)
            lines.append(f"Largest buckets: {big}")
        covered = rep.covered_s / (rep.hours * 3600)
        if covered < 0.95:
            lines.append(f"Data covers {covered:.0%} of the range.")
    if rep.reading is not None:
        lines.append(f"Now: {rep.reading.summary}")
    if rep.gaps_s:
        lines.append(
            "Stream gaps: " + ", ".join(f"{NAMES.get(v, v)} {span(s)}" for v, s in sorted(rep.gaps_s.items()))
        )
    if rep.streams:
        parts = []
        for name, h in sorted(rep.streams.items()):
            if h.get("unavailable"):
                parts.append(f"{name} unavailable")
            elif h.get("connected"):
                parts.append(f"{name} live")
            else:
                parts.append(f"{name} down")
        lines.append("Streams: " + ", ".join(parts))
    for a in rep.alerts[-5:]:
        lines.append(f"  {when(a.ts, tz)} {EVENT_WORDS.get(a.event, a.event)} [{a.level}] {a.summary[:160]}")
    if rep.by_venue:
        lines.append(f"Sources: {venue_list(rep.venues, rep.sources)}.")
        if undercounts(rep.venues, rep.sources):
            lines.append(BINANCE_NOTE + ".")
    return "\n".join(lines)


def liquidations_chart(
    db: Database, settings: Settings, now: datetime, hours: int = DEFAULT_HOURS
) -> BtcLiqChart:
    """Chart data for the same range (``render_png(data)``), alert points and cascades marked."""
    hours = validate_hours(hours)
    sig = get_signal(SIGNAL_ID)
    params = settings.signal_params(SIGNAL_ID)
    h = history_of(load_signal_inputs(db, sig, now), params)
    end = to_epoch(now)
    a = end - hours * 3600
    marks = [
        (datetime.fromtimestamp(al.ts, tz=now.tzinfo), al.level, al.key)
        for al in alert_repo.list_alerts(db, "live", SIGNAL_ID, since=a, until=end)
        if al.event in ("fired", "escalated")
    ]
    tl = h.timeline(a, end, chart_resolution(end - a))
    if not len(tl):
        return BtcLiqChart(signal=SIGNAL_ID, title="BTC liquidations")
    return chart_range(h, tl, params, max(a, int(tl.start[0])), end, marks)
