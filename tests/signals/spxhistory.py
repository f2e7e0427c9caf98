"""The real S&P 500 history through the real pipeline, for the flow signals' regression tests.

``sp500_index_daily.csv`` (``../shared/data``) is loaded into a real SQLite file with
``flowwatch backfill spx --file`` (the refusal rules included: no gap, no zero close), and each
signal is replayed over all of it by :func:`bot.replay.run_replay` (the alert engine, its
hysteresis, confirm rule and cooldowns) with its default parameters. The tests then read the
engine's events: the level the lifecycle of a key stood at on each day. The stretches
(:class:`tests.signals.flowdata.Stretch`) are the ones the models' own tests judge.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

import pytest

from bot.cli import main
from bot.replay import run_replay
from signals import get_signal
from signals.base import Level
from signals.contract import default_params
from storage.alerts import AlertEvent
from storage.db import open_db
from tests.conftest import DATA
from tests.signals.flowdata import Stretch

FILE = DATA / "sp500_index_daily.csv"


def need_data() -> None:
    if not FILE.exists():
        pytest.skip(f"{FILE} is not available (the shared data folder lives beside the checkout in CI)")


@cache
def history_db() -> Path:
    """A SQLite file holding the shared S&P 500 history, loaded as a user would load it."""
    need_data()
    path = Path(tempfile.mkdtemp(prefix="flowwatch-spx-")) / "history.db"
    code = main(["backfill", "spx", "--file", str(FILE), "--db", str(path)])
    assert code == 0, "backfill spx --file refused the shared history"
    return path


@cache
def replay(signal_id: str) -> tuple[AlertEvent, ...]:
    """Every alert event of the signal's replay over the whole history (default parameters)."""
    sig = get_signal(signal_id)
    db = open_db(history_db())
    try:
        res = run_replay(db, [sig], {signal_id: default_params(sig)}, None, None, resume=False)
    finally:
        db.close()
    return tuple(res.events)


def day_of(ts: int) -> date:
    return datetime.fromtimestamp(ts, UTC).date()


def key_events(signal_id: str, key: str) -> list[AlertEvent]:
    return [e for e in replay(signal_id) if e.key == key]


def peak_in(signal_id: str, key: str, s: Stretch) -> Level:
    """The highest level the key's lifecycle stood at on any day of the stretch (a lifecycle
    already running when it starts counts)."""
    a, b = date.fromisoformat(s.start), date.fromisoformat(s.end)
    level = Level.OK
    peak = Level.OK
    for e in key_events(signal_id, key):
        d = day_of(e.ts)
        if d > b:
            break
        level = Level.parse(e.level)
        if d < a:
            continue
        peak = max(peak, level)
    # the level carried into the stretch
    before = [e for e in key_events(signal_id, key) if day_of(e.ts) < a]
    carried = Level.parse(before[-1].level) if before else Level.OK
    return max(peak, carried)


def fired_in(signal_id: str, key: str, s: Stretch, level: Level) -> list[AlertEvent]:
    """Events that took the key to ``level`` or above inside the stretch (fired or escalated)."""
    a, b = date.fromisoformat(s.start), date.fromisoformat(s.end)
    return [
        e
        for e in key_events(signal_id, key)
        if a <= day_of(e.ts) <= b and e.event in ("fired", "escalated") and Level.parse(e.level) >= level
    ]


def lifecycles(
    signal_id: str, key: str, min_level: Level = Level.WATCH
) -> list[tuple[date, date | None, Level]]:
    """(fired, resolved or None, peak level) of each lifecycle of the key."""
    out: list[tuple[date, date | None, Level]] = []
    start: date | None = None
    peak = Level.OK
    for e in key_events(signal_id, key):
        lv = Level.parse(e.level)
        if e.event == "fired":
            start, peak = day_of(e.ts), lv
        elif e.event == "resolved" and start is not None:
            out.append((start, day_of(e.ts), peak))
            start = None
        else:
            peak = max(peak, lv)
    if start is not None:
        out.append((start, None, peak))
    return [c for c in out if c[2] >= min_level]


def per_year(signal_id: str, key: str, min_level: Level) -> float:
    """Lifecycles reaching ``min_level`` per year of history with readings."""
    events = replay(signal_id)
    first, last = day_of(events[0].ts), day_of(events[-1].ts)
    years = (last - first).days / 365.25
    return len(lifecycles(signal_id, key, min_level)) / years
