"""ratecut's chart: a meeting's P(cut) per venue with the decision, references and alert marks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

import numpy as np

from signals import fomc
from signals.base import Params
from signals.charts import ChartData
from signals.ratecut._size import SizeVenue, size_windows
from signals.ratecut._size_text import size_chart_series
from signals.ratecut._venues import load_venue, meetings_in
from signals.ratecut._vocab import (
    SIGNAL_ID,
    SOURCE_NAMES,
    VENUE_NAMES,
    VENUES,
    VenueLine,
    meeting_label,
    split_key,
    swing_windows,
    utc,
)
from storage.observations import Inputs


@dataclass(frozen=True, kw_only=True)
class RateCutChart(ChartData):
    """One meeting: P(cut) per venue, the decision, 1M/1W/1D-ago references and the alerts; the
    expected move or path per venue when a venue publishes sizes."""

    renderer: ClassVar[str] = "ratecut"

    meeting: str
    x: np.ndarray
    series: list[VenueLine]
    decision: np.datetime64
    decision_label: str
    show_decision: bool
    refs: list[tuple[np.datetime64, float, str]]
    marks: list[tuple[np.datetime64, float, str, str]]
    size_series: list[VenueLine]
    size_label: str

    @property
    def empty(self) -> bool:
        return len(self.x) == 0


def chart_data(
    inputs: Inputs,
    params: Params,
    end: datetime,
    days: int,
    marks: Iterable[tuple[datetime, str, str]] = (),
) -> RateCutChart:
    """The meeting of the alert being charted (a mark at ``end``), else the next one with data."""
    marks = list(marks)
    meeting = None
    recent = [mk for mk in marks if end - timedelta(minutes=2) <= mk[0] <= end]
    if recent:
        meeting = fomc.get(split_key(max(recent, key=lambda mk: mk[0])[2])[0])
    if meeting is None:
        have = meetings_in(inputs)
        upcoming = [m for m in have if m.is_open(end)]
        meeting = upcoming[0] if upcoming else (have[-1] if have else fomc.meeting_after(end))
    assert meeting is not None
    return chart_for(inputs, params, meeting, end, days, marks)


def chart_for(
    inputs: Inputs,
    params: Params,
    meeting: fomc.Meeting,
    end: datetime,
    days: int,
    marks: Iterable[tuple[datetime, str, str]] = (),
) -> RateCutChart:
    t_end = int(end.timestamp())
    t_start = t_end - days * 86400
    series: list[VenueLine] = []
    xs = []
    sources = []
    primary = None
    for name in VENUES:
        v = load_venue(inputs, name, meeting, params, analyse=False)
        if v is None:
            continue
        sel = (v.ts <= t_end) & (v.ts >= t_start)
        if not sel.any():
            continue
        x = v.ts[sel].astype("datetime64[s]").astype("datetime64[ns]")
        series.append(VenueLine(name, VENUE_NAMES[name], x, v.p[sel] * 100))
        xs.append(x)
        sources.append(SOURCE_NAMES.get(v.source, v.source))
        if primary is None:
            primary = v
    allx = np.unique(np.concatenate(xs)) if xs else np.array([], dtype="datetime64[ns]")
    first_x = int(allx[0].astype("datetime64[s]").astype(np.int64)) if len(allx) else t_start
    refs = []
    if primary is not None:
        last = int(primary.ts[primary.ts <= t_end][-1]) if (primary.ts <= t_end).any() else None
        if last is not None:
            for label, lag in (("1M", 30 * 86400), ("1W", 7 * 86400), ("1D", 86400), ("now", 0)):
                k = int(np.searchsorted(primary.ts, last - lag, side="right")) - 1
                if (
                    k >= 0
                    and int(primary.ts[k]) >= t_start
                    and (last - lag) - int(primary.ts[k]) <= max(3600, lag // 4)
                ):
                    refs.append(
                        (
                            np.datetime64(int(primary.ts[k]), "s").astype("datetime64[ns]"),
                            float(primary.p[k] * 100),
                            label,
                        )
                    )
    size_series, size_primary = size_chart_series(
        inputs,
        meeting,
        params,
        size_windows(params, swing_windows(params)),
        VENUES,
        VENUE_NAMES,
        t_start,
        t_end,
    )
    mark_pts = []
    for when, level, key in marks:
        mid, kind = split_key(key)
        on = size_primary if kind == "size" else primary
        if mid != meeting.id or on is None:
            continue
        t = int(when.timestamp())
        ts_on = on.ts
        k = int(np.searchsorted(ts_on, t, side="right")) - 1
        if k >= 0 and t_start <= t <= t_end:
            y = float(on.path[k]) if isinstance(on, SizeVenue) else float(on.p[k] * 100)
            mark_pts.append((np.datetime64(t, "s").astype("datetime64[ns]"), y, level, kind))
    statement = meeting.statement_utc
    return RateCutChart(
        signal=SIGNAL_ID,
        title=f"{meeting_label(meeting.id)} · market-implied probability of a cut",
        meeting=meeting.id,
        x=allx,
        series=series,
        decision=np.datetime64(int(statement.timestamp()), "s").astype("datetime64[ns]"),
        decision_label=f"decision {meeting.label}",
        show_decision=bool(len(allx))
        and statement.timestamp() <= t_end + max(3 * 86400, 0.35 * (t_end - max(t_start, first_x))),
        refs=refs,
        marks=mark_pts,
        size_series=size_series,
        size_label="expected move, bp"
        if size_primary is not None and not size_primary.on_path
        else "expected path to it, bp",
        source="Source: " + ", ".join(dict.fromkeys(sources)) if sources else "Source: none",
        as_of=utc(int(allx[-1].astype("datetime64[s]").astype(np.int64))) if len(allx) else None,
    )
