"""The FOMC calendar: scheduled decision dates, kept in the project as data.

``signals/data/fomc_calendar.csv`` lists every scheduled meeting with its source (the header
comment). The statement comes out at 2:00 pm America/New_York on the decision date; the
prediction markets close then, and that is when the "next meeting" moves on.

Venues are matched to a meeting by the decision date (Kalshi's ``strike_date``, Polymarket's
``endDate``, a futures month), never by title text: :func:`match` finds the meeting nearest
to a venue's date within a tolerance.
"""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from importlib import resources

from storage.timeutil import NEW_YORK

STATEMENT_TIME = time(14, 0)  # America/New_York


@dataclass(frozen=True, order=True)
class Meeting:
    decision_date: date
    meeting_start: date
    sep: bool
    status: str

    @property
    def id(self) -> str:
        """The id used in series names: ``2025-12-10``."""
        return self.decision_date.isoformat()

    @property
    def statement_utc(self) -> datetime:
        """2:00 pm New York time on the decision date, in UTC (the markets close then)."""
        local = datetime.combine(self.decision_date, STATEMENT_TIME, tzinfo=NEW_YORK)
        return local.astimezone(UTC)

    @property
    def label(self) -> str:
        """``Dec 10, 2025``."""
        d = self.decision_date
        return f"{d:%b} {d.day}, {d.year}"

    def is_open(self, now: datetime) -> bool:
        return now < self.statement_utc


@cache
def meetings() -> tuple[Meeting, ...]:
    """Every meeting in the calendar file, in date order."""
    text = resources.files("signals.data").joinpath("fomc_calendar.csv").read_text(encoding="utf-8")
    return parse_calendar(text)


def parse_calendar(text: str) -> tuple[Meeting, ...]:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    out = []
    for row in csv.DictReader(io.StringIO("\n".join(lines))):
        out.append(
            Meeting(
                decision_date=date.fromisoformat(row["decision_date"].strip()),
                meeting_start=date.fromisoformat(row["meeting_start"].strip()),
                sep=row["sep"].strip().lower() == "true",
                status=row["status"].strip(),
            )
        )
    out.sort()
    for a, b in itertools.pairwise(out):
        if a.decision_date == b.decision_date:
            raise ValueError(f"FOMC calendar lists {a.id} twice")
    return tuple(out)


@cache
def by_id() -> dict[str, Meeting]:
    return {m.id: m for m in meetings()}


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
    """The first meeting whose statement comes after ``ts``."""
    return next((m for m in meetings() if m.statement_utc > ts), None)


def coverage() -> tuple[date, date]:
    ms = meetings()
    return ms[0].decision_date, ms[-1].decision_date


def et_date(ts: datetime) -> date:
    """The New York calendar date of a UTC time (Kalshi's strike dates are 2 pm ET)."""
    return ts.astimezone(NEW_YORK).date()


def decision_window(meeting: Meeting) -> tuple[datetime, datetime]:
    """From the previous meeting's statement to this one's: when markets price only this one next."""
    prev = previous(meeting)
    start = prev.statement_utc if prev else meeting.statement_utc - timedelta(days=60)
    return start, meeting.statement_utc
