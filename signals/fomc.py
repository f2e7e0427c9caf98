"""The FOMC calendar: scheduled decision dates, kept in the project as data.

``signals/data/fomc_calendar.csv`` lists every scheduled meeting with its source (the header
comment), and the unscheduled decisions that changed the target range. The statement comes out
at 2:00 pm America/New_York on the decision date; the prediction markets close then, and that is
when the "next meeting" moves on.

:func:`meetings` are the scheduled meetings, the ones markets price. An unscheduled decision
(:func:`unscheduled`) that ``replaces`` a scheduled meeting ends that meeting's pricing at its
own statement (2020-03-15 took the place of 2020-03-18): :attr:`Meeting.closes_utc`.

Venues are matched to a meeting by the decision date (Kalshi's ``strike_date``, Polymarket's
``endDate``, a futures month), never by title text: :func:`match` finds the meeting nearest
to a venue's date within a tolerance.
"""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from importlib import resources

from storage.timeutil import NEW_YORK

STATEMENT_TIME = time(14, 0)  # America/New_York
STATUSES = ("scheduled", "tentative", "unscheduled")


@dataclass(frozen=True, order=True)
class Meeting:
    decision_date: date
    meeting_start: date
    sep: bool
    status: str
    #: when the statement came out, New York time (2:00 pm for every scheduled meeting)
    statement_time: time = STATEMENT_TIME
    #: unscheduled decisions: the scheduled meeting this one took the place of
    replaces: date | None = None
    #: scheduled meetings: the unscheduled decision that took this one's place
    replaced_by: date | None = None

    @property
    def scheduled(self) -> bool:
        return self.status != "unscheduled"

    @property
    def id(self) -> str:
        """The id used in series names: ``2025-12-10``."""
        return self.decision_date.isoformat()

    @property
    def statement_utc(self) -> datetime:
        """2:00 pm New York time on the decision date, in UTC (the markets close then)."""
        local = datetime.combine(self.decision_date, self.statement_time, tzinfo=NEW_YORK)
        return local.astimezone(UTC)

    @property
    def closes_utc(self) -> datetime:
        """When this meeting stops being priced: its statement, or the statement of the
        unscheduled decision that replaced it."""
        if self.replaced_by is not None:
            other = _all_by_id().get(self.replaced_by.isoformat())
            if other is not None:
                return min(other.statement_utc, self.statement_utc)
        return self.statement_utc

    @property
    def label(self) -> str:
        """``Dec 10, 2025``."""
        d = self.decision_date
        return f"{d:%b} {d.day}, {d.year}"

    def is_open(self, now: datetime) -> bool:
        return now < self.closes_utc

    def priced_on(self, trade_date: date) -> bool:
        """Whether futures settled on ``trade_date`` price this meeting: it is still ahead and
        no unscheduled decision has taken its place by then."""
        if self.decision_date <= trade_date:
            return False
        return self.replaced_by is None or self.replaced_by > trade_date


@cache
def calendar() -> tuple[Meeting, ...]:
    """Every row of the calendar file (scheduled and unscheduled), in date order."""
    text = resources.files("signals.data").joinpath("fomc_calendar.csv").read_text(encoding="utf-8")
    return parse_calendar(text)


@cache
def meetings() -> tuple[Meeting, ...]:
    """The scheduled meetings (the ones markets price), in date order."""
    return tuple(m for m in calendar() if m.scheduled)


@cache
def unscheduled() -> tuple[Meeting, ...]:
    """The unscheduled decisions that changed the target range, in date order."""
    return tuple(m for m in calendar() if not m.scheduled)


def _opt(row: dict[str, str | None], name: str) -> str:
    return (row.get(name) or "").strip()


def parse_calendar(text: str) -> tuple[Meeting, ...]:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    rows = []
    for n, row in enumerate(csv.DictReader(io.StringIO("\n".join(lines))), start=2):
        try:
            at = _opt(row, "statement_et")
            rep = _opt(row, "replaces")
            status = _opt(row, "status")
            if status not in STATUSES:
                raise ValueError(f"status {status!r} is not one of {', '.join(STATUSES)}")
            rows.append(
                Meeting(
                    decision_date=date.fromisoformat(_opt(row, "decision_date")),
                    meeting_start=date.fromisoformat(_opt(row, "meeting_start")),
                    sep=_opt(row, "sep").lower() == "true",
                    status=status,
                    statement_time=time.fromisoformat(at) if at else STATEMENT_TIME,
                    replaces=date.fromisoformat(rep) if rep else None,
                )
            )
        except (ValueError, TypeError) as exc:
            raise ValueError(f"FOMC calendar row {n}: {exc}") from None
    rows.sort()
    for a, b in itertools.pairwise(rows):
        if a.decision_date == b.decision_date:
            raise ValueError(f"FOMC calendar lists {a.id} twice")
    by_date = {m.decision_date: m for m in rows}
    replaced: dict[date, date] = {}
    for m in rows:
        if m.replaces is None:
            continue
        target = by_date.get(m.replaces)
        if m.scheduled or target is None or not target.scheduled:
            raise ValueError(
                f"FOMC calendar: {m.id} replaces {m.replaces}, which must be a scheduled meeting "
                "(and only an unscheduled decision replaces one)"
            )
        replaced[m.replaces] = m.decision_date
    out = tuple(
        replace(m, replaced_by=replaced[m.decision_date]) if m.decision_date in replaced else m for m in rows
    )
    months = [(m.decision_date.year, m.decision_date.month) for m in out if m.scheduled]
    dup = {ym for ym in months if months.count(ym) > 1}
    if dup:
        y, mo = min(dup)
        raise ValueError(
            f"FOMC calendar: two scheduled meetings in {y}-{mo:02d} (the method allows one a month)"
        )
    return out


@cache
def by_id() -> dict[str, Meeting]:
    return {m.id: m for m in meetings()}


@cache
def _all_by_id() -> dict[str, Meeting]:
    return {m.id: m for m in calendar()}


def get(meeting_id: str) -> Meeting | None:
    return by_id().get(meeting_id)


def upcoming(now: datetime, n: int = 2) -> list[Meeting]:
    """The next ``n`` meetings whose statement is still ahead of ``now``."""
    return [m for m in meetings() if m.is_open(now)][:n]


def previous(meeting: Meeting, k: int = 1) -> Meeting | None:
    """The meeting ``k`` places before ``meeting`` in the calendar."""
    ms = meetings()
    i = ms.index(meeting)
    return ms[i - k] if i - k >= 0 else None


def match(d: date, tolerance_days: int = 0) -> Meeting | None:
    """The meeting whose decision date is ``d`` (or the nearest within the tolerance)."""
    exact = by_id().get(d.isoformat())
    if exact is not None or tolerance_days <= 0:
        return exact
    best = min(meetings(), key=lambda m: abs((m.decision_date - d).days))
    return best if abs((best.decision_date - d).days) <= tolerance_days else None


def meeting_after(ts: datetime) -> Meeting | None:
    """The first meeting still priced after ``ts`` (its statement comes after ``ts``)."""
    return next((m for m in meetings() if m.closes_utc > ts), None)


def priced_on(trade_date: date) -> list[Meeting]:
    """The scheduled meetings futures settled on ``trade_date`` price, in date order."""
    return [m for m in meetings() if m.priced_on(trade_date)]


def coverage() -> tuple[date, date]:
    ms = meetings()
    return ms[0].decision_date, ms[-1].decision_date


def et_date(ts: datetime) -> date:
    """The New York calendar date of a UTC time (Kalshi's strike dates are 2 pm ET)."""
    return ts.astimezone(NEW_YORK).date()


def decision_window(meeting: Meeting) -> tuple[datetime, datetime]:
    """From the previous meeting's statement to this one's: when markets price only this one next."""
    prev = previous(meeting)
    start = prev.closes_utc if prev else meeting.statement_utc - timedelta(days=60)
    return start, meeting.closes_utc
