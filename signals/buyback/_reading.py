"""The reading of a session: the share, where the window stands, and the texts (an estimate)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np

from signals.base import Level, Params, Reading, Threshold
from signals.buyback._daily import Day, daily, session_on_or_before, sessions_between, severe_lines, step_day
from signals.buyback._model import Model, evaluate, source_label
from signals.buyback._vocab import (
    CALENDAR_MAX_AGE,
    DAY_S,
    HOLD_SLACK,
    KEY,
    MIN_SEASONS,
    MODEL_NOTE,
    RECALL_SESSIONS,
    SEASON_SLACK_DAYS,
    SIGNAL_ID,
    from_day,
    p_ahead,
)
from storage.timeutil import from_epoch


def live_days(m: Model, p: Params, now: datetime, after: datetime | None) -> tuple[list[Day], Day | None]:
    """The past sessions (each as known that day; from far enough back to know the current
    closed run) and today's session evaluated with everything known at ``now``."""
    today = session_on_or_before(m, now)
    if today is None:
        return [], None
    first = today - 150
    if after is not None:
        first = min(first, int(after.timestamp() // DAY_S) - 150)
    # the seasons before: a blackout is severe only when unusually deep for its season
    history = daily(m, p, first=first - int(p["season_years"]) * 366 - SEASON_SLACK_DAYS, last=today - 1)
    past = [d for d in history if d.day >= first]
    know = now.timestamp()
    i = int(np.searchsorted(m.sessions, today, "left"))
    st = evaluate(m, know, m.sessions[i : i + 1 + p_ahead(p)])
    if not st.usable:
        return past, None
    return past, step_day(today, know, st, p, history[-1] if history else None)


def reading_of(m: Model, d: Day, p: Params, outlook: dict[str, Any] | None = None) -> Reading:
    st = d.stats
    s = d.value
    share, share_cap = float(st.share[0]), float(st.share_cap[0])
    basis = "market-cap-weighted" if p["weight_by_cap"] and not math.isnan(share_cap) else "count-weighted"
    today = from_day(d.day)
    uni = f"{st.universe} {'S&P 500 companies' if m.has_list else 'companies in the calendar'}"
    other = ""
    if basis == "count-weighted" and not math.isnan(share_cap):
        other = f" (cap-weighted {share_cap:.1f}%)"
    elif basis != "count-weighted":
        other = f" (count-weighted {share:.1f}%)"
    est_n = int(st.estimated[0])
    est_txt = f"; {est_n} on estimated dates" if est_n else ""
    head = f"{s:.1f}% of {uni} in their buyback blackout window{other}{est_txt}"
    level, hold = d.level, d.hold
    crossing_day = (
        from_day(int(st.days[d.crossing])) if d.crossing is not None and d.crossing < len(st.days) else None
    )
    lines = severe_lines(d.season_high, p)
    if level >= Level.ALERT or (hold >= Level.ALERT and d.closed_since is not None):
        if level == Level.SEVERE:
            peak = "blackout unusually deep for the season"
        elif s >= p["severe"]:
            peak = "peak blackout"
        else:
            peak = "window closed"
        since = from_day(d.closed_since) if d.closed_since is not None else today
        summary = (
            f"Buyback {peak} (estimate): {head}; closed since {since.isoformat()} "
            f"({d.closed_sessions} trading day{'s' if d.closed_sessions != 1 else ''})"
        )
        if level == Level.SEVERE and d.season_high is not None:
            summary += (
                f"; the season's highest peak of the last {int(p['season_years'])} years was "
                f"{d.season_high:.1f}%"
            )
    elif (level == Level.WATCH or hold == Level.WATCH) and d.crossing is not None:
        summary = (
            f"Buyback window closes in about {d.crossing} trading day{'s' if d.crossing != 1 else ''} "
            f"(estimate): {head}; projected above {p['alert']:g}% on "
            f"{crossing_day.isoformat() if crossing_day else 'the next sessions'}"
        )
    else:
        recent = d.last_run is not None and sessions_between(m, d.last_run[1], d.day) <= RECALL_SESSIONS
        if recent and d.last_run is not None:
            a, b, n = d.last_run
            summary = (
                f"Buyback window reopening (estimate): {head}, below {p['alert_exit']:g}%; it was closed "
                f"{n} trading day{'s' if n != 1 else ''} ({from_day(a).isoformat()} to {from_day(b).isoformat()})"
            )
        else:
            summary = f"Buyback window open (estimate): {head}"
    if outlook and outlook.get("next_close") and level < Level.ALERT and "closes in" not in summary:
        summary += f"; next closing projected around {outlook['next_close']}"
    fields = {
        "In blackout": f"{share:.1f}% of {uni} ({int(st.in_blackout[0])})",
        "Cap-weighted": "n/a (market caps missing)" if math.isnan(share_cap) else f"{share_cap:.1f}%",
        "Estimated dates": f"{est_n} compan{'y' if est_n == 1 else 'ies'} on last year's date + 364 d",
        "Calendar coverage": f"{st.coverage * 100:.0f}% of the universe has a known date",
        "Model": (
            f"blackout from {int(p['pre_days'])} days before the report (or {int(p['fqe_days'])} days "
            f"before quarter end) to {int(p['reopen_sessions'])} trading days after; {MODEL_NOTE}"
        ),
    }
    if d.closed_since is not None:
        fields["Window"] = (
            f"closed since {from_day(d.closed_since).isoformat()} ({d.closed_sessions} sessions)"
        )
        fields["Severe"] = (
            f"from {lines[0]:.1f}%: the season's highest peak of the last {int(p['season_years'])} years "
            f"({d.season_high:.1f}%) + {p['severe_margin']:g} pp"
            if lines is not None and d.season_high is not None
            else f"not judged: fewer than {MIN_SEASONS} earlier seasons to compare with"
        )
    elif crossing_day is not None:
        fields["Window"] = f"closes in about {d.crossing} trading days ({crossing_day.isoformat()})"
    data: dict[str, Any] = {
        "share": share,
        "share_cap": None if math.isnan(share_cap) else share_cap,
        "basis": basis,
        "in_blackout": int(st.in_blackout[0]),
        "estimated": est_n,
        "universe": st.universe,
        "universe_kind": "sp500" if m.has_list else "calendar",
        "coverage": st.coverage,
        "crossing_date": crossing_day.isoformat() if crossing_day else None,
        "sessions_to_crossing": d.crossing,
        "closed_since": from_day(d.closed_since).isoformat() if d.closed_since is not None else None,
        "sessions_closed": d.closed_sessions,
        "calendar_as_of": m.frontier,
        # severe: past the floor and this season's highest peak of the last years by the margin
        "season_high": d.season_high,
        "severe_line": None if lines is None else lines[0],
    }
    if outlook:
        data.update(outlook)
        if outlook.get("peak") is not None:
            fields["Projected peak"] = f"{outlook['peak']:.0f}% around {outlook['peak_date']}"
        if outlook.get("next_open"):
            fields["Projected reopening"] = str(outlook["next_open"])
    nxt = None
    if level < Level.ALERT:
        nxt = Threshold(Level.ALERT, p["alert"])
    elif level < Level.SEVERE and lines is not None:
        nxt = Threshold(Level.SEVERE, lines[0])
    # the /status and summary line: the share and where the window stands (an estimate)
    if d.closed_since is not None:
        where = f"window closed since {from_day(d.closed_since):%m-%d} ({d.closed_sessions} trading days)"
        if outlook and outlook.get("next_open"):
            where += f", reopening around {outlook['next_open'][5:]}"
    elif (
        crossing_day is not None
        and d.crossing is not None
        and d.crossing <= int(p["headsup_days"]) + HOLD_SLACK
    ):
        where = f"window closes in about {d.crossing} trading days ({crossing_day:%m-%d})"
    elif outlook and outlook.get("next_close"):
        where = f"window open, next closing around {outlook['next_close'][5:]}"
    else:
        where = "window open"
    headline = f"{s:.1f}% of {st.universe} companies (estimate); {where}"
    return Reading(
        signal=SIGNAL_ID,
        key=KEY,
        ts=datetime.combine(today, datetime.min.time(), tzinfo=UTC),
        value=round(s, 4),
        level=level,
        hold=hold,
        summary=summary,
        source=source_label(m),
        confirm=int(p["confirm"]),
        fields=fields,
        data=data,
        next_threshold=nxt,
        unit="%",
        headline=headline,
    )


def stale_reason(reading: Reading, now: datetime) -> str | None:
    as_of = reading.data.get("calendar_as_of")
    if not as_of:
        return None
    age = now - from_epoch(float(as_of))
    if age > CALENDAR_MAX_AGE:
        return (
            f"the earnings calendar was last refreshed {age.days} days ago "
            f"({from_epoch(float(as_of)):%Y-%m-%d}); run flowwatch backfill earnings"
        )
    return None
