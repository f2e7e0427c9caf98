"""The real engine over real history: FRED files from ``../shared/data`` loaded into a real SQLite
file through ``flowwatch backfill fred --file``, then ``bot.replay.run_replay`` (the code behind
``flowwatch replay``), with what each key did over a named stretch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.replay import run_replay
from signals import get_signal
from signals.contract import default_params
from storage.alerts import AlertEvent
from storage.db import open_db
from tests.conftest import DATA

LEVELS = {"ok": 0, "watch": 1, "alert": 2, "severe": 3}
OK, WATCH, ALERT, SEVERE = range(4)
NAMES = ("ok", "watch", "alert", "severe")


def load(tmp: Path, files: tuple[str, ...]) -> Path:
    """A SQLite file holding ``files`` (``fred_*.csv``), each through ``backfill fred --file``."""
    if not DATA.exists():
        pytest.skip(f"{DATA} is not available (the shared data folder lives beside the checkout in CI)")
    db = tmp / "history.db"
    for name in files:
        code = main(["backfill", "fred", "--file", str(DATA / name), "--db", str(db)])
        assert code == 0, f"backfill fred --file {name} failed"
    return db


@dataclass(frozen=True)
class Stretch:
    """A named stretch of history, the level a key must reach in it (an episode) or stay at or
    below (a calm stretch), and why."""

    name: str
    key: str
    start: str
    end: str
    level: int
    why: str

    def __str__(self) -> str:
        return f"{self.key}-{self.name}"

    @property
    def span(self) -> tuple[int, int]:
        a = datetime.fromisoformat(self.start).replace(tzinfo=UTC)
        b = datetime.fromisoformat(self.end).replace(tzinfo=UTC).replace(hour=23, minute=59)
        return int(a.timestamp()), int(b.timestamp())


class Replayed:
    """The alert events of one full replay of a signal, by key."""

    def __init__(self, db_path: Path, signal_id: str) -> None:
        sig = get_signal(signal_id)
        db = open_db(db_path)
        try:
            res = run_replay(db, [sig], {sig.id: default_params(sig)}, resume=False)
        finally:
            db.close()
        self.events: list[AlertEvent] = [e for e in res.events if e.kind == "alert"]
        self.readings = res.readings

    def of(self, key: str) -> list[AlertEvent]:
        return [e for e in self.events if e.key == key]

    def peak_in(self, key: str, s: Stretch) -> int:
        """The highest level the engine holds for ``key`` at any time inside the stretch."""
        a, b = s.span
        level, peak = OK, OK
        for e in self.of(key):
            if e.ts > b:
                break
            level = LEVELS[e.level]
            if e.ts >= a:
                peak = max(peak, level)
        before = [e for e in self.of(key) if e.ts < a]
        if before:  # the level carried into the stretch
            peak = max(peak, LEVELS[before[-1].level])
        return peak

    def first_at(self, key: str, s: Stretch, level: int) -> datetime | None:
        """When ``key`` first reached ``level`` (fired or escalated) inside the stretch."""
        a, b = s.span
        for e in self.of(key):
            if a <= e.ts <= b and e.event in ("fired", "escalated") and LEVELS[e.level] >= level:
                return datetime.fromtimestamp(e.ts, UTC)
        return None

    def lifecycles(self, key: str, min_level: int = WATCH) -> list[tuple[int, int]]:
        """(start ts, peak level) of every lifecycle of ``key`` reaching ``min_level``."""
        out: list[tuple[int, int]] = []
        start, peak = None, OK
        for e in self.of(key):
            if e.event == "fired":
                start, peak = e.ts, LEVELS[e.level]
            else:
                peak = max(peak, LEVELS[e.level])
            if e.event == "resolved" and start is not None:
                out.append((start, peak))
                start = None
        if start is not None:
            out.append((start, peak))
        return [x for x in out if x[1] >= min_level]

    def per_year(self, key: str, min_level: int, first: str, last: str) -> float:
        a = datetime.fromisoformat(first).replace(tzinfo=UTC)
        b = datetime.fromisoformat(last).replace(tzinfo=UTC)
        return len(self.lifecycles(key, min_level)) / ((b - a).days / 365.25)
