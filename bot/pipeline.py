"""Live evaluation: stored series → signal → engine → outbox, on the database thread.

Used by ``flowwatch run`` after every poll (:meth:`Pipeline.evaluate`), and by the stream
services for readings made in memory (:meth:`Pipeline.apply`): both step the same engine and
write through the same commit. Data older than a signal's staleness rule never
reaches the engine; it raises a stale-data notice once (and a recovery notice later)
through the same engine and outbox, with ``kind='notice'``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

import pandas as pd
from sqlite_utils import Database

from bot.config import Settings
from bot.engine import Engine, Router, Rules, console_router, persist
from bot.engine import rules_for as engine_rules
from signals import registry
from signals.base import Level, Params, Reading
from signals.contract import (
    Signal,
    has,
    key_inputs_of,
    latest_of,
    loader_of,
    lookback_of,
    readings_since_of,
    source_notices_of,
    stale_reason_of,
    tables_of,
)
from storage import observations as obs_repo
from storage import state as state_repo
from storage.alerts import AlertEvent
from storage.state import KeyState
from storage.timeutil import from_epoch, to_epoch

log = logging.getLogger("flowwatch.pipeline")

NOTICE_PREFIX = "stale:"
#: the notice key of a signal's own readings going stale (``stale:data``)
DATA_NOTICE = "data"


def stale_subject(signal: str, key: str) -> str:
    """What a notice key says went stale: ``vix_term`` for ``stale:data`` (every key of the
    signal), ``vix_term/vix9d`` for ``stale:data.vix9d`` (one key while the others are current),
    else ``signal/feed``."""
    name = key.removeprefix(NOTICE_PREFIX)
    if name == DATA_NOTICE:
        return signal
    return f"{signal}/{name.removeprefix(DATA_NOTICE + '.')}"


def key_notice(key: str) -> str:
    """The notice name of one key's readings going stale while the signal's other keys are current."""
    return f"{DATA_NOTICE}.{key}"


def rules_for(sig: Signal, settings: Settings) -> Rules:
    return engine_rules(sig, settings.signal_params(sig.id))


def load_signal_inputs(
    db: Database, sig: Signal, now: datetime | None = None, scope: str = "live"
) -> obs_repo.Inputs:
    start = None
    lookback = lookback_of(sig)
    if lookback is not None and now is not None:
        start = to_epoch(now - lookback)
    end = to_epoch(now) if now is not None else None
    return with_tables(db, sig, read_inputs(db, sig, start, end, scope), end)


def read_inputs(
    db: Database, sig: Signal, start: int | None, end: int | None, scope: str = "live"
) -> obs_repo.Inputs:
    """A signal's series over ``[start, end]``, or what its own loader gives (reads by range)."""
    loader = loader_of(sig)
    if loader is not None:
        return loader(db, start, end, scope)
    return obs_repo.load_inputs(db, sig.inputs, start=start, end=end)


def with_tables(db: Database, sig: Signal, inputs: obs_repo.Inputs, end: int | None) -> obs_repo.Inputs:
    """``inputs`` plus the signal's declared table inputs, as known by ``end``."""
    tables = tables_of(sig)
    if not tables:
        return inputs
    return replace(inputs, tables={name: load(db, end) for name, load in tables.items()})


def lagging_inputs(sig: Signal, key: str, inputs: obs_repo.Inputs) -> str:
    """`` (VIX9D lags: its latest is 2026-07-22; VIX 2026-12-04)`` when one of the inputs a key
    needs is behind the others (empty when they agree or the signal does not say)."""
    latest: dict[str, str] = {}
    for name, series in key_inputs_of(sig).get(key, {}).items():
        values = inputs.series(series).dropna()
        if len(values.index):
            latest[name] = f"{pd.Timestamp(values.index[-1]):%Y-%m-%d}"
    if len(set(latest.values())) <= 1:
        return ""
    oldest = min(latest.values())
    behind = [n for n, d in latest.items() if d == oldest]
    others = [f"{n} {d}" for n, d in latest.items() if d != oldest]
    verb = "lags" if len(behind) == 1 else "lag"
    return f" ({' and '.join(behind)} {verb}: its latest is {oldest}; {', '.join(others)})"


@dataclass
class Applied:
    """What :meth:`Pipeline.apply` wrote, and the engine state of the keys it stepped."""

    events: list[tuple[int, AlertEvent]]
    states: dict[str, KeyState]


@dataclass
class Evaluation:
    readings: list[Reading]
    stale: dict[str, str]  # key -> reason
    events: list[tuple[int, AlertEvent]]


#: readings kept per key of a cached history (more than the live warm-up of 30)
HISTORY_TAIL = 64


@dataclass(frozen=True)
class _Tail:
    """The last ``HISTORY_TAIL`` readings per key of one history, in time order, and the time of
    the latest reading left out (None: nothing was)."""

    key: bytes
    readings: list[Reading]
    dropped_until: datetime | None

    @classmethod
    def of(cls, key: bytes, history: Iterable[Reading]) -> _Tail:
        rows = list(history)
        left: dict[str, int] = {}
        for r in rows:
            left[r.key] = left.get(r.key, 0) + 1
        kept, dropped_until = [], None
        for r in rows:
            if left[r.key] > HISTORY_TAIL:
                dropped_until = r.ts if dropped_until is None else max(dropped_until, r.ts)
            else:
                kept.append(r)
            left[r.key] -= 1
        return cls(key, kept, dropped_until)

    def covers(self, after: datetime | None) -> bool:
        """Whether every reading a catch-up from ``after`` steps is here (None: the warm-up)."""
        return after is None or self.dropped_until is None or after >= self.dropped_until


class Pipeline:
    """Holds the live engine; every method runs on the database owner thread."""

    def __init__(self, settings: Settings, router: Router = console_router, scope: str = "live") -> None:
        self.settings = settings
        self.router = router
        self.scope = scope
        self.engine: Engine | None = None
        #: per signal without an incremental live path: the tail of its last history
        self._histories: dict[str, _Tail] = {}

    def load(self, db: Database) -> None:
        self.engine = Engine(state_repo.load_states(db, self.scope))

    def evaluate(self, db: Database, signal_ids: Iterable[str], now: datetime) -> dict[str, Evaluation]:
        if self.engine is None:
            self.load(db)
        assert self.engine is not None
        out = {}
        for sid in signal_ids:
            sig = registry().get(sid)
            if sig is None:
                continue
            out[sid] = self._evaluate_one(db, sig, now)
        return out

    def _history(
        self, sig: Signal, inputs: obs_repo.Inputs, params: Params, after: datetime | None
    ) -> list[Reading] | None:
        """What the live step needs of ``sig.history`` for a signal without an incremental live
        path: computed again only when its inputs or parameters changed (a daily series is
        evaluated every few minutes, changes once a day, and its history is decades long), and kept
        as the last ``HISTORY_TAIL`` readings per key (a whole history is tens of MiB). A catch-up
        from before that tail computes it again. None: the signal builds its own tail."""
        if has(sig, "incremental"):
            return None
        key = inputs.digest() + repr(sorted(params.items())).encode()
        cached = self._histories.get(sig.id)
        if cached is not None and cached.key == key and cached.covers(after):
            return cached.readings
        history = list(sig.history(inputs, params))
        self._histories[sig.id] = _Tail.of(key, history)
        return history

    def _evaluate_one(self, db: Database, sig: Signal, now: datetime) -> Evaluation:
        """Step every reading that arrived since each key's last evaluation (catch-up after
        downtime or a batch of late data), then the stale-data notice of the latest reading."""
        engine = self.engine
        assert engine is not None
        params = self.settings.signal_params(sig.id)
        inputs = load_signal_inputs(db, sig, now)
        states = {
            k: st for (s, k), st in engine.states.items() if s == sig.id and not k.startswith(NOTICE_PREFIX)
        }
        known = [st.last_ts for st in states.values() if st.last_ts is not None]
        after = None
        if known:
            # keys evaluated in the last few days are the active ones; catch up from the oldest
            active = [t for t in known if t >= max(known) - 3 * 86400]
            after = from_epoch(min(active))
        history = self._history(sig, inputs, params, after)
        readings = readings_since_of(sig, inputs, params, after, now, history=history)
        rules = rules_for(sig, self.settings)
        snapshot = engine.snapshot()
        events: list[AlertEvent] = []
        stale: dict[str, str] = {}
        by_key: dict[str, list[Reading]] = {}
        for r in readings:
            by_key.setdefault(r.key, []).append(r)
        for key, rs in by_key.items():
            st = states.get(key)
            if st is None or st.last_ts is None:
                # never evaluated: start at ok now, counting a streak already running (as replay does)
                streak, low = 0, Level.SEVERE
                for r in rs[:-1]:
                    streak, low = (streak + 1, min(low, r.level)) if r.level > Level.OK else (0, Level.SEVERE)
                engine.seed_pending(rs[-1], streak, low)
                rs = rs[-1:]
            # a catch-up steps every reading since the last evaluation, as replay does, when the
            # key's latest is fresh; a stale latest steps nothing (no alert from stale data)
            if stale_reason_of(sig, rs[-1], now) is None:
                for r in rs:
                    events += engine.step(r, rules)
        # staleness is judged on each key's current reading, new or not (silence is the fault), and
        # gates only that key: one notice for the signal when every key is stale, else one per
        # stale key saying which input lags and which keys still alert (a lagging VIX9D never
        # casts doubt on a current VIX/VIX3M alert); one per feed of a multi-feed signal
        # (Signal.source_notices)
        latest = latest_of(sig, inputs, params, now, history=history)
        for r in latest:
            reason = stale_reason_of(sig, r, now)
            if reason:
                stale[r.key] = reason
        if latest:
            whole = all(r.key in stale for r in latest)
            reasons = list(dict.fromkeys(stale[r.key] for r in latest if r.key in stale))
            as_of = max(r.ts for r in latest)
            events += engine.step(
                self._notice(sig.id, DATA_NOTICE, "; ".join(reasons) if whole else None, now, as_of, engine),
                Rules(),
                kind="notice",
            )
            if not whole:  # while the whole signal is stale, its notice speaks for every key
                events += self._key_notices(sig, latest, stale, inputs, now, engine)
        for name, reason in source_notices_of(sig, latest, now).items():
            if reason:
                stale[name] = reason
            events += engine.step(
                self._notice(sig.id, name, reason, now, now, engine), Rules(), kind="notice"
            )
        return Evaluation(latest, stale, self._commit(db, snapshot, events, now))

    def apply(
        self,
        db: Database,
        signal_id: str,
        readings: Iterable[Reading],
        now: datetime,
        notices: Iterable[Reading] = (),
    ) -> Applied:
        """Step readings computed elsewhere (a stream evaluated in memory) through the engine.

        ``notices`` go through the same engine with ``kind='notice'``. States, events and
        deliveries are written in one transaction, as in :meth:`evaluate`.
        """
        if self.engine is None:
            self.load(db)
        engine = self.engine
        assert engine is not None
        rules = rules_for(registry()[signal_id], self.settings)
        snapshot = engine.snapshot()
        events: list[AlertEvent] = []
        stepped: set[str] = set()
        for n in notices:
            events += engine.step(n, Rules(), kind="notice")
            stepped.add(n.key)
        for r in readings:
            events += engine.step(r, rules)
            stepped.add(r.key)
        written = self._commit(db, snapshot, events, now)
        return Applied(written, {k: engine.state(signal_id, k).copy() for k in stepped})

    def _commit(
        self,
        db: Database,
        snapshot: dict[tuple[str, str], KeyState],
        events: list[AlertEvent],
        now: datetime,
    ) -> list[tuple[int, AlertEvent]]:
        """The states the engine changed and their events, with deliveries, in one transaction
        (polled and streamed signals alike); on failure the engine goes back to ``snapshot``."""
        engine = self.engine
        assert engine is not None
        try:
            written = persist(db, self.scope, engine.take_dirty(), events, self.router, now=to_epoch(now))
        except Exception:
            engine.restore(snapshot)  # keep memory equal to what is stored
            raise
        for _id, ev in written:
            log.info("%s %s/%s %s: %s", ev.kind, ev.signal, ev.key, ev.event, ev.summary)
        return written

    def key_states(self, db: Database, signal_id: str) -> dict[str, KeyState]:
        """A copy of the engine's state of every key of a signal."""
        if self.engine is None:
            self.load(db)
        assert self.engine is not None
        return {k: st.copy() for (sig, k), st in self.engine.states.items() if sig == signal_id}

    def _key_notices(
        self,
        sig: Signal,
        latest: list[Reading],
        stale: dict[str, str],
        inputs: obs_repo.Inputs,
        now: datetime,
        engine: Engine,
    ) -> list[AlertEvent]:
        """A notice per stale key (and its recovery), naming what still alerts."""
        events: list[AlertEvent] = []
        labels = getattr(sig, "keys", {}) or {}
        for r in latest:
            name = key_notice(r.key)
            reason = stale.get(r.key)
            st = engine.states.get((sig.id, NOTICE_PREFIX + name))
            if reason is None and (st is None or st.state != "firing"):
                continue  # nothing to raise or to recover: no notice state for a healthy key
            if reason is not None:
                reason += lagging_inputs(sig, r.key, inputs)
                current = [
                    f"{labels.get(o.key, o.key)} (as of {o.ts:%Y-%m-%d %H:%M} UTC)"
                    for o in latest
                    if o.key not in stale
                ]
                what = labels.get(r.key, r.key)
                reason = f"{reason}; no {what} alerts until it is fresh. Still alerting: " + ", ".join(
                    current
                )
            events += engine.step(
                self._notice(sig.id, name, reason, now, r.ts, engine, whole=False), Rules(), kind="notice"
            )
        return events

    @staticmethod
    def _notice(
        signal: str,
        name: str,
        reason: str | None,
        now: datetime,
        as_of: datetime,
        engine: Engine,
        *,
        whole: bool = True,
    ) -> Reading:
        """A stale-data notice (or its recovery) as a reading for the engine, ``kind='notice'``.

        ``name`` is :data:`DATA_NOTICE` for the signal's own readings, or a feed's name.
        Notices are judged at wall time; their clock is kept strictly increasing per key.
        """
        key = NOTICE_PREFIX + name
        what = stale_subject(signal, key)
        if reason and not whole:
            summary = f"Stale data for {what}: {reason}"
        elif reason:
            summary = f"Stale data for {what}: {reason}; no alerts from it until fresh data arrives"
        else:
            summary = f"Fresh data for {what} again (as of {as_of:%Y-%m-%d %H:%M} UTC)"
        lvl = Level.WATCH if reason else Level.OK
        prev = engine.state(signal, key).last_ts
        ts = now if prev is None or to_epoch(now) > prev else from_epoch(prev + 1)
        return Reading(
            signal=signal,
            key=key,
            ts=ts,
            value=max((now - as_of).total_seconds() / 3600.0, 0.0),
            level=lvl,
            hold=lvl,
            summary=summary,
            source=name,
            confirm=1,
        )
