"""Live evaluation: stored series → signal → engine → outbox, on the database thread.

Used by ``flowwatch run`` after every poll. Data older than a signal's staleness rule never
reaches the engine; it raises a stale-data notice once (and a recovery notice later)
through the same engine and outbox, with ``kind='notice'``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from bot.config import Settings
from bot.engine import Engine, Router, Rules, console_router, persist
from signals import registry
from signals.base import Level, Reading, Signal
from storage import observations as obs_repo
from storage import state as state_repo
from storage.alerts import AlertEvent
from storage.observations import Observation, UpsertResult
from storage.state import KeyState
from storage.timeutil import to_epoch

log = logging.getLogger("flowwatch.pipeline")

NOTICE_PREFIX = "stale:"


def rules_for(sig: Signal, settings: Settings) -> Rules:
    params = settings.signal_params(sig.id)
    return Rules(
        cooldown_s=sig.cooldown_seconds(params),
        update_growth=sig.update_growth,
        value_format=sig.value_format,
    )


def load_signal_inputs(db: Database, sig: Signal, now: datetime | None = None) -> obs_repo.Inputs:
    start = None
    if sig.lookback is not None and now is not None:
        start = to_epoch(now - sig.lookback)
    end = to_epoch(now) if now is not None else None
    return obs_repo.load_inputs(db, sig.inputs, start=start, end=end)


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


class Pipeline:
    """Holds the live engine; every method runs on the database owner thread."""

    def __init__(self, settings: Settings, router: Router = console_router, scope: str = "live") -> None:
        self.settings = settings
        self.router = router
        self.scope = scope
        self.engine: Engine | None = None
        #: signals a running service evaluates in memory (streams); evaluate() leaves them alone
        self.owned: set[str] = set()

    def load(self, db: Database) -> None:
        self.engine = Engine(state_repo.load_states(db, self.scope))

    def ingest(self, db: Database, observations: Iterable[Observation]) -> UpsertResult:
        return obs_repo.upsert(db, observations)

    def evaluate(self, db: Database, signal_ids: Iterable[str], now: datetime) -> dict[str, Evaluation]:
        if self.engine is None:
            self.load(db)
        assert self.engine is not None
        out = {}
        for sid in signal_ids:
            sig = registry().get(sid)
            if sig is None or sid in self.owned:
                continue
            out[sid] = self._evaluate_one(db, sig, now)
        return out

    def _evaluate_one(self, db: Database, sig: Signal, now: datetime) -> Evaluation:
        engine = self.engine
        assert engine is not None
        params = self.settings.signal_params(sig.id)
        readings = sig.latest(load_signal_inputs(db, sig, now), params, now)
        rules = rules_for(sig, self.settings)
        snapshot = engine.snapshot()
        events: list[AlertEvent] = []
        stale: dict[str, str] = {}
        for r in readings:
            reason = sig.stale_reason(r, now)
            if reason:
                stale[r.key] = reason
            events += engine.step(self._notice(r, now, reason), Rules(), kind="notice")
            if reason is None:
                events += engine.step(r, rules)
        try:
            written = persist(db, self.scope, engine.take_dirty(), events, self.router, now=to_epoch(now))
        except Exception:
            engine.restore(snapshot)  # keep memory equal to what is stored
            raise
        for _id, ev in written:
            log.info("%s %s/%s %s: %s", ev.kind, ev.signal, ev.key, ev.event, ev.summary)
        return Evaluation(readings, stale, written)

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
        try:
            written = persist(db, self.scope, engine.take_dirty(), events, self.router, now=to_epoch(now))
        except Exception:
            engine.restore(snapshot)
            raise
        for _id, ev in written:
            log.info("%s %s/%s %s: %s", ev.kind, ev.signal, ev.key, ev.event, ev.summary)
        return Applied(written, {k: engine.state(signal_id, k).copy() for k in stepped})

    @staticmethod
    def _notice(r: Reading, now: datetime, reason: str | None) -> Reading:
        if reason:
            summary = (
                f"Stale data for {r.signal}/{r.key}: {reason}; no alerts from it until fresh data arrives"
            )
        else:
            summary = f"Fresh data for {r.signal}/{r.key} again (as of {r.ts:%Y-%m-%d %H:%M} UTC)"
        lvl = Level.WATCH if reason else Level.OK
        return Reading(
            signal=r.signal,
            key=NOTICE_PREFIX + r.key,
            ts=now,
            value=(now - r.ts).total_seconds() / 3600.0,
            level=lvl,
            hold=lvl,
            summary=summary,
            source=r.source,
            confirm=1,
        )
