"""Backtests: "how often would this have fired?" under other thresholds, against the current ones.

Discord-free and read-only: the stored history is read on a read-only SQLite connection, the
signal and the real alert engine run in memory (nothing is written: no replay scope, no
outbox), and the work checks a deadline between readings. ``/backtest`` (bot/commands/backtest.py)
runs it off the event loop; ``flowwatch replay --set`` shares its override parsing, so a bad name
or value gets the same message in both places.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlite_utils import Database

from bot.config import Settings
from bot.engine import Engine, rules_for
from bot.pipeline import with_tables
from bot.replay import _seed
from signals import get_signal
from signals.base import Level, Params, Reading
from signals.charts import ChartData
from signals.contract import Signal, chart_of, lookback_of, validate_of
from storage import observations as obs_repo
from storage.alerts import AlertEvent
from storage.timeutil import from_epoch, to_epoch


class OverrideError(ValueError):
    """A threshold override that cannot be used; the text says what is allowed. ``whole``: the
    overrides clash with each other (or the current values), not one of them alone."""

    def __init__(self, message: str, *, whole: bool = False) -> None:
        super().__init__(message)
        self.whole = whole


class BudgetExceeded(Exception):
    """The backtest ran past its time budget."""


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """``alert=1.05 confirm=3`` (spaces or commas between pairs) into ``[(key, value), ...]``."""
    pairs = []
    for part in text.replace(",", " ").split():
        if "=" not in part:
            raise OverrideError(f"{part!r}: use NAME=VALUE, e.g. alert=1.05")
        k, v = part.split("=", 1)
        if not k.strip():
            raise OverrideError(f"{part!r}: the name is empty")
        pairs.append((k.strip(), v.strip()))
    return pairs


def params_with_overrides(signal_id: str, settings: Settings, overrides: Sequence[tuple[str, str]]) -> Params:
    """The signal's current parameters with ``overrides`` applied and validated together.

    The messages are those of ``flowwatch replay --set`` (which prefixes them with ``--set``)."""
    sig = get_signal(signal_id)
    specs = {p.name: p for p in sig.params}
    allowed = ", ".join(specs)
    values: dict[str, float] = {}
    for k, v in overrides:
        k = k.removeprefix(f"{signal_id}.")
        if k not in specs:
            raise OverrideError(f"{k}: {signal_id} has no setting {k!r}; allowed: {allowed}")
        try:
            values[k] = specs[k].parse(v)
        except ValueError as exc:
            raise OverrideError(str(exc)) from None
    params = settings.signal_params(signal_id).with_overrides(values)
    problems = validate_of(sig, params)
    if problems:
        raise OverrideError("; ".join(problems), whole=True)
    return params


def open_readonly(path: Path) -> Database:
    """A read-only connection: a backtest can never write, and never waits behind the writer."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    conn.execute("PRAGMA query_only = ON")
    return Database(conn)


@dataclass(frozen=True)
class Lifecycle:
    key: str
    start: int
    end: int | None  # None: still open at the end of the data
    peak: float | None
    peak_level: str


@dataclass
class Run:
    lifecycles: list[Lifecycle] = field(default_factory=list)
    events: list[AlertEvent] = field(default_factory=list)

    def at_least(self, level: Level) -> int:
        return sum(Level.parse(c.peak_level) >= level for c in self.lifecycles)


@dataclass
class BacktestResult:
    signal: str
    start: datetime
    end: datetime
    overrides: dict[str, float]
    tested: Run
    current: Run
    seconds: float
    params: Params

    @property
    def years(self) -> float:
        return max((self.end - self.start).total_seconds() / (365.25 * 86400), 1 / 365.25)

    def per_year(self, run: Run) -> float:
        return len(run.lifecycles) / self.years


def _lifecycles(events: list[AlertEvent]) -> list[Lifecycle]:
    open_: dict[str, tuple[int, str, float | None]] = {}
    out: list[Lifecycle] = []
    for ev in events:
        if ev.event == "fired":
            open_[ev.key] = (ev.ts, ev.level, ev.value)
        elif ev.key in open_:
            start, lvl, peak = open_[ev.key]
            if ev.event in ("escalated", "updated") and Level.parse(ev.level) > Level.parse(lvl):
                lvl = ev.level
            if ev.value is not None and (peak is None or ev.value > peak):
                peak = ev.value
            if ev.event == "resolved":
                out.append(Lifecycle(ev.key, start, ev.ts, ev.peak if ev.peak is not None else peak, lvl))
                del open_[ev.key]
            else:
                open_[ev.key] = (start, lvl, peak)
    for key, (start, lvl, peak) in open_.items():
        out.append(Lifecycle(key, start, None, peak, lvl))
    return sorted(out, key=lambda c: c.start)


def _replay(sig: Signal, readings: list[Reading], params: Params, start: datetime, deadline: float) -> Run:
    engine = Engine()
    rules = rules_for(sig, params)
    pre = [r for r in readings if r.ts < start]
    if pre:
        _seed(engine, pre)
    run = Run()
    for i, r in enumerate(sorted((r for r in readings if r.ts >= start), key=lambda x: x.ts)):
        if i % 256 == 0 and time.monotonic() > deadline:
            raise BudgetExceeded
        run.events += engine.step(r, rules)
    run.lifecycles = _lifecycles(run.events)
    return run


def run_backtest(
    db: Database,
    settings: Settings,
    signal_id: str,
    params: Params,
    start: datetime | None,
    deadline: float,
) -> BacktestResult:
    """Replay ``signal_id`` from ``start`` under ``params`` and under the current thresholds."""
    t0 = time.monotonic()
    sig = get_signal(signal_id)
    inputs = with_tables(db, sig, obs_repo.load_inputs(db, sig.inputs), None)
    current_params = settings.signal_params(signal_id)
    tested_readings = sig.history(inputs, params)
    if time.monotonic() > deadline:
        raise BudgetExceeded
    same = params.as_dict() == current_params.as_dict()
    current_readings = tested_readings if same else sig.history(inputs, current_params)
    if not tested_readings:
        raise OverrideError(
            f"no stored history for {signal_id} to test; the operator loads it with flowwatch backfill"
        )
    first, last = tested_readings[0].ts, tested_readings[-1].ts
    begin = max(start, first) if start is not None else first
    if begin > last:
        raise OverrideError(
            f"the stored history of {signal_id} ends {last:%Y-%m-%d}; choose an earlier start"
        )
    tested = _replay(sig, tested_readings, params, begin, deadline)
    current = tested if same else _replay(sig, current_readings, current_params, begin, deadline)
    changed = {k: v for k, v in params.as_dict().items() if current_params.as_dict().get(k) != v}
    return BacktestResult(signal_id, begin, last, changed, tested, current, time.monotonic() - t0, params)


def backtest_chart_data(db: Database, settings: Settings, result: BacktestResult) -> ChartData:
    """The signal's chart over the tested range, with the tested thresholds and their alerts."""
    sig = get_signal(result.signal)
    days = max(2, min(3650 * 2, (result.end - result.start).days + 2))
    end = result.end + timedelta(seconds=1)
    lookback = lookback_of(sig)
    start = None if lookback is None else to_epoch(end - timedelta(days=days) - lookback)
    inputs = with_tables(
        db, sig, obs_repo.load_inputs(db, sig.inputs, start=start, end=to_epoch(end)), to_epoch(end)
    )
    marks = [
        (from_epoch(e.ts), e.level, e.key) for e in result.tested.events if e.event in ("fired", "escalated")
    ]
    data = chart_of(sig, inputs, result.params, end, days, marks)
    over = ", ".join(f"{k}={v:g}" for k, v in result.overrides.items()) or "current thresholds"
    return data.titled(f"Backtest of {sig.title} since {result.start:%Y-%m-%d}: {over}")
