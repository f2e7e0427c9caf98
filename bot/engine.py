"""The alert engine: one lifecycle per (signal, key), the same for every signal.

``ok`` → ``pending`` (the confirm rule counts consecutive readings) → ``firing`` →
``ok`` again, with events ``fired`` (leaves ok, at whatever level it enters),
``escalated`` / ``deescalated`` (the level moves while above ok), ``updated`` (same level,
new figures that matter, e.g. a cascade that grows) and ``resolved`` (back to ok; carries
duration and peak). Hysteresis comes from each reading's ``hold`` level; a cooldown after a
resolve stops the same key from firing again at once.

:class:`Engine` is pure and in memory. :func:`persist` writes changed states and their
events (with deliveries) in one SQLite transaction, so a restart neither repeats nor
forgets an alert: readings at or before a key's ``last_ts`` are skipped on restart, and
events carry a dedupe key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlite_utils import Database

from signals.base import Level, Params, Reading, Rules
from signals.contract import Signal, rules_of
from storage import alerts as alert_repo
from storage import state as state_repo
from storage.alerts import AlertEvent
from storage.state import KeyState
from storage.timeutil import human_duration, iso, to_epoch

#: (db, scope, event) -> (destinations to deliver now, destinations to hold)
Router = Callable[[Database, str, AlertEvent], tuple[list[str], list[str]]]


def console_router(db: Database, scope: str, event: AlertEvent) -> tuple[list[str], list[str]]:
    return ["console"], []


def rules_for(sig: Signal, params: Params) -> Rules:
    """The engine rules a signal asks for under ``params`` (live and replay alike)."""
    return rules_of(sig, params)


class Engine:
    def __init__(self, states: dict[tuple[str, str], KeyState] | None = None) -> None:
        self.states: dict[tuple[str, str], KeyState] = dict(states or {})
        self.dirty: set[tuple[str, str]] = set()

    def state(self, signal: str, key: str) -> KeyState:
        k = (signal, key)
        st = self.states.get(k)
        if st is None:
            st = self.states[k] = KeyState(signal=signal, key=key)
        return st

    def seed_pending(self, reading: Reading, streak: int, level: Level) -> None:
        """Count a streak of qualifying readings (at least ``level``) that ran before the
        engine started (replay ``--from``, or a key evaluated for the first time live)."""
        st = self.state(reading.signal, reading.key)
        if st.level == "ok" and streak > 0 and level > Level.OK:
            st.state = "pending"
            st.pending_count = min(streak, max(reading.confirm - 1, 0))
            st.pending_level = level.label
            self.dirty.add((reading.signal, reading.key))

    def step(self, r: Reading, rules: Rules, kind: str = "alert") -> list[AlertEvent]:
        st = self.state(r.signal, r.key)
        t = to_epoch(r.ts)
        if st.last_ts is not None and t <= st.last_ts:
            return []  # already evaluated (a restart, or the same data polled again)
        self.dirty.add((r.signal, r.key))
        cur = Level[st.level.upper()]
        new = max(r.level, min(cur, r.hold))
        events: list[AlertEvent] = []
        fmt = rules.value_format.format

        if new > cur:
            if cur == Level.OK and st.cooldown_until is not None and t < st.cooldown_until:
                st.state, st.pending_count, st.pending_level = "ok", 0, None
            else:
                target = new if st.pending_count == 0 else min(Level[(st.pending_level or "ok").upper()], new)
                st.pending_count += 1
                st.pending_level = target.label
                if cur == Level.OK:
                    st.state = "pending"
                if st.pending_count >= max(r.confirm, 1):
                    if cur == Level.OK:
                        st.state, st.since = "firing", t
                        st.episode = f"{r.signal}:{r.key}:{t}"
                        st.peak, st.peak_ts, st.peak_level = r.value, t, target.label
                        events.append(self._event(r, "fired", target, cur, st, r.summary, kind))
                    else:
                        events.append(self._event(r, "escalated", target, cur, st, r.summary, kind))
                    if r.level > target:
                        # the number is past a higher line than the confirm rule grants yet: the
                        # message says so, so the level never contradicts the words
                        events[-1].data["awaiting"] = {"level": r.level.label, "confirm": r.confirm}
                    st.reported_value = r.value
                    st.level, st.level_since = target.label, t
                    if r.level > target:
                        # this reading already counts toward the higher level it shows: the next
                        # qualifying reading is its second, as the confirm rule reads
                        st.pending_count, st.pending_level = 1, r.level.label
                    else:
                        st.pending_count, st.pending_level = 0, None
        else:
            st.pending_count, st.pending_level = 0, None
            if cur == Level.OK:
                st.state = "ok"
            elif new < cur:
                if new == Level.OK:
                    if st.peak is None or r.value > st.peak:
                        # the resolving reading counts toward the peak (a cascade's final total)
                        st.peak, st.peak_ts = r.value, t
                    duration = t - (st.since or t)
                    peak_txt = ""
                    if st.peak is not None and st.peak_ts is not None:
                        shown = rules.describe_peak(r.key, st.peak) if rules.describe_peak else fmt(st.peak)
                        if shown:
                            peak_txt = f" Peak {shown} on {iso(st.peak_ts)[:10]} ({st.peak_level})."
                    summary = f"Resolved after {human_duration(duration)}: {r.summary}.{peak_txt}"
                    ev = self._event(r, "resolved", Level.OK, cur, st, summary, kind)
                    ev.duration_s = duration
                    if st.peak_level:
                        ev.data["peak_level"] = st.peak_level
                    events.append(ev)
                    st.state, st.level, st.level_since = "ok", "ok", t
                    st.since, st.episode = None, None
                    st.peak = st.peak_ts = None
                    st.peak_level = st.reported_value = None
                    st.cooldown_until = t + rules.cooldown_s if rules.cooldown_s else None
                else:
                    events.append(self._event(r, "deescalated", new, cur, st, r.summary, kind))
                    st.level, st.level_since = new.label, t
            elif (
                rules.update_growth is not None
                and cur >= rules.update_min_level
                and st.reported_value is not None
                and st.reported_value > 0
                and r.value >= st.reported_value * rules.update_growth
            ):
                events.append(self._event(r, "updated", cur, cur, st, r.summary, kind))
                st.reported_value = r.value

        if st.state == "firing":
            if st.peak is None or r.value > st.peak:
                st.peak, st.peak_ts = r.value, t
            if Level[st.level.upper()] > Level[(st.peak_level or "ok").upper()]:
                st.peak_level = st.level
        st.last_ts, st.last_value = t, r.value
        return events

    @staticmethod
    def _event(
        r: Reading, event: str, level: Level, prev: Level, st: KeyState, summary: str, kind: str
    ) -> AlertEvent:
        t = to_epoch(r.ts)
        return AlertEvent(
            signal=r.signal,
            key=r.key,
            event=event,
            level=level.label,
            prev_level=prev.label,
            ts=t,
            summary=summary,
            value=r.value,
            peak=st.peak,
            fields=dict(r.fields),
            data=dict(r.data),
            source=r.source,
            as_of=t,
            episode=st.episode,
            kind=kind,
            duration_s=(t - st.since) if st.since is not None else None,
        )

    def take_dirty(self) -> list[KeyState]:
        out = [self.states[k] for k in sorted(self.dirty)]
        self.dirty.clear()
        return out

    def snapshot(self) -> dict[tuple[str, str], KeyState]:
        return {k: v.copy() for k, v in self.states.items()}

    def restore(self, snap: dict[tuple[str, str], KeyState]) -> None:
        self.states = snap
        self.dirty = set(snap)


def persist(
    db: Database,
    scope: str,
    states: Iterable[KeyState],
    events: Iterable[AlertEvent],
    router: Router = console_router,
    now: int | None = None,
) -> list[tuple[int, AlertEvent]]:
    """Write states and events (with their deliveries) in one transaction.

    Returns the events that were new (an event already in the outbox is not written again).
    """
    written = []
    with db.atomic():
        for ev in events:
            dests, held = router(db, scope, ev)
            alert_id = alert_repo.insert_event(db, scope, ev, dests, now=now, held=held)
            if alert_id is not None:
                written.append((alert_id, ev))
        state_repo.save_states(db, scope, list(states), now=now)
    return written
