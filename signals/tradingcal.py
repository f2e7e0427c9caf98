"""US trading days and market hours from the NYSE calendar (exchange_calendars)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

import pandas as pd

from storage.timeutil import NEW_YORK

# Cboe publishes the day's index history files in the evening; allow until the next morning.
PUBLISH_GRACE = timedelta(hours=14)


@cache
def _xnys() -> Any:
    import exchange_calendars as xcals

    return xcals.get_calendar("XNYS", start="2000-01-01")


def is_session(d: date) -> bool:
    cal = _xnys()
    ts = pd.Timestamp(d)
    return bool(cal.first_session <= ts <= cal.last_session and cal.is_session(ts))


def is_market_open(now: datetime) -> bool:
    """Whether ``now`` falls in a regular session (the open's minute in, the close's out).

    Read from the session's own open and close: the calendar's minute-by-minute index (every
    trading minute since 2000, about 40 MiB) is never built.
    """
    cal = _xnys()
    minute = pd.Timestamp(now).tz_convert("UTC").floor("min")
    day = pd.Timestamp(minute.tz_convert(NEW_YORK).date())
    if not (cal.first_session <= day <= cal.last_session and cal.is_session(day)):
        return False
    return bool(cal.session_open(day) <= minute < cal.session_close(day))


def sessions_between(start: date, end: date) -> list[date]:
    cal = _xnys()
    s = max(pd.Timestamp(start), cal.first_session)
    e = min(pd.Timestamp(end), cal.last_session)
    if s > e:
        return []
    return [x.date() for x in cal.sessions_in_range(s, e)]


def latest_published_close(now: datetime) -> date | None:
    """The most recent session whose daily close files should be published by ``now``."""
    local = now.astimezone(NEW_YORK)
    for back in range(0, 12):
        d = local.date() - timedelta(days=back)
        if not is_session(d):
            continue
        close = datetime.combine(d, datetime.min.time(), tzinfo=NEW_YORK) + timedelta(hours=16, minutes=15)
        if close + PUBLISH_GRACE <= local:
            return d
    return None


def add_sessions(d: date, n: int) -> date:
    """The session ``n`` trading days after (n > 0) or before (n < 0) date ``d``."""
    cal = _xnys()
    ts = pd.Timestamp(d)
    if n >= 0:
        base = cal.date_to_session(ts, direction="previous")
    else:
        base = cal.date_to_session(ts, direction="next")
    return cal.session_offset(base, n).date()


def session_close(d: date) -> datetime | None:
    """The regular close of session ``d`` (16:00 ET, 13:00 on early-close days) in UTC, or None
    when ``d`` is not an NYSE session the calendar knows."""
    if not is_session(d):
        return None
    close = _xnys().session_close(pd.Timestamp(d))
    return close.to_pydatetime()


def first_known_session() -> date:
    """The first session the calendar covers (gaps before it cannot be judged)."""
    return _xnys().first_session.date()


def missing_sessions(dates: list[date]) -> list[date]:
    """NYSE sessions from the first to the last of ``dates`` (sorted) that ``dates`` lacks,
    judged where the calendar covers them."""
    if not dates:
        return []
    have = set(dates)
    start = max(dates[0], first_known_session())
    return [d for d in sessions_between(start, dates[-1]) if d not in have]
