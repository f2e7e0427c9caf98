"""Replay: drive signals and the engine over stored history with a simulated clock.

Event-driven: every reading (one per stored observation time) advances the clock to its
own timestamp, so recorded data is never stale. History before ``--from`` feeds baselines
and percentiles; the engine starts at ``ok`` at ``--from`` (a condition already true then
counts its streak, so it fires at the first evaluation that completes the confirm rule).

Replays write to the ``replay`` scope of the outbox, never the live one. A replay killed
part-way and started again with the same arguments resumes from its last commit: events
already written are not repeated and undelivered ones are delivered first. Printing an event and
marking it printed are one step that SIGINT and SIGTERM wait for, so the two runs' outputs
together hold each event once.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import json
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from bot.engine import Engine, Rules, persist, rules_for
from bot.pipeline import read_inputs, with_tables
from signals.base import Level, Params, Reading
from signals.contract import Signal, stream_of
from storage import alerts as alert_repo
from storage import state as state_repo
from storage.alerts import AlertEvent
from storage.timeutil import iso, to_epoch

SCOPE = "replay"
CHECKPOINT_EVERY = 2000

Emit = Callable[[int, AlertEvent], None]


@dataclass
class ReplayResult:
    events: list[AlertEvent] = field(default_factory=list)
    readings: int = 0
    resumed: bool = False
    reemitted: int = 0
    seconds: float = 0.0


def _args_hash(
    signals: Sequence[Signal],
    params: dict[str, Params],
    start: datetime | None,
    end: datetime | None,
) -> str:
    blob = json.dumps(
        {
            "signals": [s.id for s in signals],
            "params": {k: v.as_dict() for k, v in sorted(params.items())},
            "start": iso(start) if start else None,
            "end": iso(end) if end else None,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _no_deliveries(db: Database, scope: str, event: AlertEvent) -> tuple[list[str], list[str]]:
    """A replay prints its events; it delivers nothing, so it writes no delivery rows."""
    return [], []


def _emitted(db: Database, run_key: str, alert_id: int) -> None:
    """Note that the replay printed its events through ``alert_id`` (a killed one resumes after)."""
    db.execute("UPDATE replay_runs SET emitted_through = ? WHERE signal = ?", [alert_id, run_key])


class _Steps:
    """SIGINT and SIGTERM (Ctrl-C, ``kill``, ``timeout``, a service stop) wait for the step in
    progress: an event's line printed and its console delivery marked sent happen together, so a
    resumed replay prints each event exactly once (one stopped between the two was printed again).
    A signal outside a step, or pending at a step's end, takes effect at once with its own
    disposition. Only the main thread can install handlers; elsewhere steps are plain blocks."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.inside = False
        self.pending: list[int] = []
        self.old: dict[int, Any] = {}

    def __enter__(self) -> _Steps:
        if threading.current_thread() is threading.main_thread():
            self.old = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc: object) -> None:
        self._restore()

    def _restore(self) -> None:
        for s, h in self.old.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)
        self.old = {}

    def _handle(self, signum: int, _frame: object) -> None:
        if self.inside:
            self.pending.append(signum)
        else:
            self._fire(signum)

    def _fire(self, signum: int) -> None:
        self._restore()
        signal.raise_signal(signum)

    @contextlib.contextmanager
    def step(self) -> Iterator[None]:
        self.inside = True
        try:
            yield
        finally:
            self.inside = False
            if self.pending:
                signum = self.pending[0]
                self.pending.clear()
                self._fire(signum)


def compute_readings(
    db: Database,
    sig: Signal,
    params: Params,
    end: datetime | None,
    start: datetime | None = None,
    scope: str = SCOPE,
) -> Iterable[Reading]:
    """The signal's readings for a replay to ``end`` (from the warm-up before ``start``), in
    time order; a signal that reads by range yields them as it goes."""
    end_ts = to_epoch(end) if end else None
    inputs = with_tables(db, sig, read_inputs(db, sig, None, end_ts, scope), end_ts)
    return stream_of(sig, inputs, params, start, end)


def run_replay(
    db: Database,
    signals: Sequence[Signal],
    params: dict[str, Params],
    start: datetime | None = None,
    end: datetime | None = None,
    emit: Emit | None = None,
    progress: Callable[[int], None] | None = None,
    resume: bool = True,
    readings: dict[str, list[Reading]] | None = None,
) -> ReplayResult:
    """Replay ``signals`` over stored history (see the module docstring); SIGINT and SIGTERM wait
    for the event being printed and marked (:class:`_Steps`)."""
    with _Steps() as steps:
        return _run(db, signals, params, start, end, emit, progress, resume, readings, steps)


def _run(
    db: Database,
    signals: Sequence[Signal],
    params: dict[str, Params],
    start: datetime | None,
    end: datetime | None,
    emit: Emit | None,
    progress: Callable[[int], None] | None,
    resume: bool,
    readings: dict[str, list[Reading]] | None,
    steps: _Steps,
) -> ReplayResult:
    t0 = time.perf_counter()
    result = ReplayResult()
    run_key = ",".join(sorted(s.id for s in signals))
    h = _args_hash(signals, params, start, end)
    row = db.execute("SELECT args_hash, completed_at FROM replay_runs WHERE signal = ?", [run_key]).fetchone()
    ids = [s.id for s in signals]

    if resume and row is not None and row[0] == h and row[1] is None:
        result.resumed = True
        states = {k: v for k, v in state_repo.load_states(db, SCOPE).items() if k[0] in ids}
        engine = Engine(states)
        # Print what a killed run wrote but did not print.
        through = db.execute("SELECT emitted_through FROM replay_runs WHERE signal = ?", [run_key]).fetchone()
        for alert in sorted(alert_repo.list_alerts(db, SCOPE, kind=None), key=lambda a: a.id):
            if alert.signal in ids and alert.id > int(through[0] or 0):
                with steps.step():
                    if emit:
                        emit(alert.id, alert)
                    _emitted(db, run_key, alert.id)
                result.reemitted += 1
    else:
        with db.atomic():
            for sid in ids:
                state_repo.delete_scope(db, SCOPE, sid)
                alert_repo.delete_scope(db, SCOPE, sid)
            db.execute(
                "INSERT INTO replay_runs (signal, args_hash, started_at, completed_at, emitted_through) "
                "VALUES (?, ?, ?, NULL, 0) ON CONFLICT (signal) DO UPDATE SET args_hash = excluded.args_hash, "
                "started_at = excluded.started_at, completed_at = NULL, emitted_through = 0",
                [run_key, h, int(time.time())],
            )
        engine = Engine()

    streams: list[Iterator[Reading]] = []
    rules: dict[str, Rules] = {}
    for sig in signals:
        p = params[sig.id]
        rules[sig.id] = rules_for(sig, p)
        hist = (
            readings[sig.id] if readings and sig.id in readings else compute_readings(db, sig, p, end, start)
        )
        run = _split(iter(hist), start, end, engine if not result.resumed else None)
        streams.append(run)

    since_checkpoint = 0
    for r in heapq.merge(*streams, key=lambda x: x.ts):
        result.readings += 1
        since_checkpoint += 1
        events = engine.step(r, rules[r.signal])
        if events:
            written = persist(db, SCOPE, engine.take_dirty(), events, _no_deliveries)
            for alert_id, ev in written:
                result.events.append(ev)
                with steps.step():
                    if emit:
                        emit(alert_id, ev)
                    _emitted(db, run_key, alert_id)
            since_checkpoint = 0
        elif since_checkpoint >= CHECKPOINT_EVERY:
            persist(db, SCOPE, engine.take_dirty(), [], _no_deliveries)
            since_checkpoint = 0
        if progress and result.readings % 500 == 0:
            progress(500)
    with db.atomic():
        persist(db, SCOPE, engine.take_dirty(), [], _no_deliveries)
        db.execute("UPDATE replay_runs SET completed_at = ? WHERE signal = ?", [int(time.time()), run_key])
    if progress:
        progress(result.readings % 500)
    result.seconds = time.perf_counter() - t0
    return result


def _split(
    hist: Iterator[Reading], start: datetime | None, end: datetime | None, engine: Engine | None
) -> Iterator[Reading]:
    """The readings from ``start`` to ``end``, lazily; those before ``start`` seed ``engine``
    (each key's running streak) before the first is handed on."""
    seed = _Seed()
    first: Reading | None = None
    for r in hist:
        if start is not None and r.ts < start:
            seed.add(r)
            continue
        first = r
        break
    if engine is not None:
        seed.apply(engine)
    if first is None or (end is not None and first.ts > end):
        return iter(())
    return _until(first, hist, end)


def _until(first: Reading, rest: Iterator[Reading], end: datetime | None) -> Iterator[Reading]:
    yield first
    for r in rest:
        if end is not None and r.ts > end:
            continue
        yield r


class _Seed:
    """Streaks of qualifying readings per key before ``--from`` (kept as they pass by)."""

    def __init__(self) -> None:
        self.last: dict[tuple[str, str], Reading] = {}
        self.streak: dict[tuple[str, str], int] = {}
        self.low: dict[tuple[str, str], Level] = {}

    def add(self, r: Reading) -> None:
        k = (r.signal, r.key)
        if r.level > Level.OK:
            self.streak[k] = self.streak.get(k, 0) + 1
            self.low[k] = min(self.low.get(k, Level.SEVERE), r.level)
        else:
            self.streak[k], self.low[k] = 0, Level.SEVERE
        self.last[k] = r

    def apply(self, engine: Engine) -> None:
        for k, r in self.last.items():
            engine.seed_pending(r, self.streak[k], self.low[k])


def _seed(engine: Engine, pre: list[Reading]) -> None:
    """Streak of qualifying readings per key right before ``--from``."""
    seed = _Seed()
    for r in pre:
        seed.add(r)
    seed.apply(engine)
