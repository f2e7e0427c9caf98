"""Clocks: the system clock live, a simulated clock in replay, demo and tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SimClock:
    """A clock that only moves when told to (never backwards)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("SimClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, t: datetime) -> None:
        t = t.astimezone(UTC)
        if t > self._now:
            self._now = t

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now
