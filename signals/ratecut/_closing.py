"""Readings of quiet moments (numbers and a short summary) and of a meeting's close."""

from __future__ import annotations

from datetime import datetime

from signals.base import Level, Params, Reading
from signals.ratecut._detect import _Calc
from signals.ratecut._vocab import KINDS, LIVE_VENUES, SIGNAL_ID, VENUE_NAMES, meeting_label, pct, utc


def quiet_readings(calc: _Calc, i: int, p: Params, ts: datetime, prim: str) -> list[Reading]:
    """Readings of a quiet moment (all ok, no episode open): numbers and a short summary."""
    m = calc.meeting
    x = float(calc.pnow[i])
    summary = f"{meeting_label(m.id)}: P(cut) {pct(x)} on {VENUE_NAMES[prim]}, quiet"
    data = {"meeting": m.id, "statement": int(m.closes_utc.timestamp()), "primary": prim, "p_cut": x}
    return [
        Reading(
            SIGNAL_ID,
            f"{m.id}.swing",
            ts,
            float(calc.mult[i]),
            Level.OK,
            Level.OK,
            summary,
            prim,
            confirm=int(p["confirm"]),
            data=data,
            unit="×",
        ),
        Reading(
            SIGNAL_ID, f"{m.id}.flip", ts, 0.0, Level.OK, Level.OK, summary, prim, data=data, unit=" flips"
        ),
        Reading(
            SIGNAL_ID,
            f"{m.id}.divergence",
            ts,
            float(calc.gap[i]) * 100,
            Level.OK,
            Level.OK,
            summary,
            prim,
            data=data,
            unit="pp",
        ),
        *(
            [
                Reading(
                    SIGNAL_ID,
                    f"{m.id}.size",
                    ts,
                    float(calc.size.mult[i]),
                    Level.OK,
                    Level.OK,
                    summary,
                    prim,
                    data=data,
                    unit="×",
                )
            ]
            if calc.size is not None
            else []
        ),
    ]


def closing_readings(calc: _Calc, p: Params) -> list[Reading]:
    """At the statement the markets close: every key of the meeting goes back to ok."""
    m = calc.meeting
    ts = m.closes_utc
    last = ""
    for name in LIVE_VENUES:
        v = calc.venues.get(name)
        if v is not None and len(v.ts):
            last = f"; last P(cut) {pct(float(v.p[-1]))} on {VENUE_NAMES[name]} at {utc(int(v.ts[-1])):%m-%d %H:%M} UTC"
            break
    summary = (
        f"{meeting_label(m.id)}: decision day, the markets closed at the {ts:%H:%M} UTC statement{last}; "
        "the next meeting is now the first"
    )
    return [
        Reading(
            signal=SIGNAL_ID,
            key=f"{m.id}.{kind}",
            ts=ts,
            value=0.0,
            level=Level.OK,
            hold=Level.OK,
            summary=summary,
            source="FOMC calendar",
            confirm=1,
            data={"meeting": m.id, "closed": True, "statement": int(ts.timestamp())},
            headline=summary,
        )
        for kind in KINDS
    ]
