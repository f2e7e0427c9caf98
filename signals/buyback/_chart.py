"""buyback's chart: the share in blackout (count- and cap-weighted) with its projection and alerts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from signals.base import Params
from signals.buyback._daily import daily, session_on_or_before, window_crossings
from signals.buyback._model import evaluate, model_of, source_label, weekly_reports
from signals.buyback._vocab import DAY_S, KEY, SIGNAL_ID, dt64, from_day
from signals.charts import ChartData
from storage.observations import Inputs


@dataclass(frozen=True, kw_only=True)
class BuybackChart(ChartData):
    """The share in blackout (history solid, projection dashed, today marked, the window's
    closings and reopenings, alerts) and the earnings reports per week (known and estimated).
    Only ``x`` when no calendar was known at the chart's time."""

    renderer: ClassVar[str] = "buyback"

    x: np.ndarray
    share: np.ndarray | None = None
    share_cap: np.ndarray | None = None
    px: np.ndarray | None = None
    pshare: np.ndarray | None = None
    pshare_cap: np.ndarray | None = None
    today: np.datetime64 | None = None
    thresholds: Mapping[str, float] = field(default_factory=dict)
    alert_exit: float | None = None
    crossings: list[tuple[Any, str, bool]] = field(default_factory=list)
    marks: list[tuple[np.datetime64, str]] = field(default_factory=list)
    weeks: np.ndarray | None = None
    reports: np.ndarray | None = None
    reports_est: np.ndarray | None = None
    universe: int = 0
    universe_kind: str = ""

    @property
    def empty(self) -> bool:
        return len(self.x) == 0


def chart_data(
    inputs: Inputs,
    params: Params,
    end: datetime,
    days: int,
    marks: Iterable[tuple[datetime, str, str]] = (),
) -> BuybackChart:
    p = params
    m = model_of(inputs, p)
    base = BuybackChart(
        signal=SIGNAL_ID,
        title="Buyback blackout: estimated share of companies in their window",
        x=np.array([], dtype="datetime64[ns]"),
        source="Source: earnings calendar · estimate",
    )
    if m is None:
        return base
    end_day = session_on_or_before(m, end - timedelta(seconds=1))
    if end_day is None:
        return base
    know = end.timestamp()
    # each past day as it was known then; today (and ahead) with the calendar as of `end`
    hist = daily(m, p, first=end_day - days, last=end_day - 1)
    if hist and hist[-1].day < end_day - 30:
        # the calendar ends earlier: draw as of its last usable day
        end_day, know = hist[-1].day, hist[-1].know + DAY_S - 1
        hist = hist[:-1]
    i = int(np.searchsorted(m.sessions, end_day, "left"))
    last_known = int(m.date[~m.estimated].max()) if (~m.estimated).any() else end_day
    reach = min(end_day + int(p["horizon_days"]), last_known + 7)
    j = int(np.searchsorted(m.sessions, reach, "right"))
    px = m.sessions[i : max(j, i + 1)]
    proj = evaluate(m, know, px)
    x = np.array([d.day for d in hist], dtype=np.int64)
    share = np.array([float(d.stats.share[0]) for d in hist])
    share_cap = np.array([float(d.stats.share_cap[0]) for d in hist])
    if proj.usable:
        x = np.append(x, px[0])
        share = np.append(share, proj.share[0])
        share_cap = np.append(share_cap, proj.share_cap[0])
    else:
        px = px[:0]
    crossings = window_crossings(x, share, p) + window_crossings(px, proj.share, p, projected=True)
    lo = int(x[0]) if len(x) else end_day
    weeks, known, est = weekly_reports(m, know, lo, int(px[-1]) if len(px) else end_day)
    return BuybackChart(
        signal=SIGNAL_ID,
        title="Buyback blackout: estimated share of companies in their window",
        x=dt64(x),
        share=share,
        share_cap=share_cap,
        px=dt64(px),
        pshare=proj.share[: len(px)],
        pshare_cap=proj.share_cap[: len(px)],
        today=dt64(np.array([end_day]))[0],
        thresholds={"alert": p["alert"], "severe": p["severe"]},
        alert_exit=p["alert_exit"],
        crossings=crossings,
        marks=[
            (pd.Timestamp(t).tz_convert("UTC").tz_localize(None).to_datetime64(), lv)
            for t, lv, key in marks
            if key == KEY
        ],
        weeks=dt64(weeks),
        reports=known,
        reports_est=est,
        universe=proj.universe,
        universe_kind="S&P 500 list" if m.has_list else "every company in the calendar",
        source=f"Source: {source_label(m)} · an estimate, not company disclosures",
        as_of=datetime.combine(from_day(end_day), datetime.min.time(), tzinfo=UTC),
    )
