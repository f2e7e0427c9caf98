"""Live streams as an app-layer service: frames → a signal's model in memory → the engine → outbox.

A source declares its streams (``signals.sources.base.Stream``: it makes the clients); the signal
it names evaluates them in memory (``signals.contract.LiveModel``: pure). The runner starts one
:class:`StreamService` per declared stream when the clock is the wall clock and the stream is
enabled, and leaves that signal out of its polled evaluations while the service runs.

The service uses of the app only a narrow :class:`LiveHost` (apply readings, the store, the
clock). It owns the clients; every frame goes to the model (the ingest hot path), and an
evaluator asks the model for a reading on frame arrival (coalesced: one evaluation in flight, the
next one sees every frame that arrived meanwhile) and on a short tick, so windows roll and
cascades resolve in quiet markets. Only a reading that can change the lifecycle (a level or hold
change, growth past the engine's ``update_growth``, or a once-a-minute heartbeat) is applied:
:meth:`bot.pipeline.Pipeline.apply` steps the engine and writes state, events and deliveries in one
transaction, the only SQLite work between a frame and its alert. The model's rows (buckets, stream
gaps, raw frames) and the streams' health are written in batches every few seconds (and on
shutdown), off that path, one transaction per batch. Baselines come from stored history through a
read-only connection and are refreshed hourly.

A stream that stays down raises a stale notice (kind ``notice``, key ``stale:<venue>``) and a
recovery notice later; a venue that refuses the handshake (geo-blocked) is reported once and left
out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlite_utils import Database

from bot.clock import Clock
from bot.config import Settings
from bot.pipeline import Applied
from signals.base import Level, Reading
from signals.contract import LiveModel
from signals.sources._wsclient import StreamClient
from signals.sources.base import SourceContext, Stream
from storage import batches, liq_raw, meta
from storage import observations as obs_repo
from storage.batches import Batch
from storage.db import AsyncStore
from storage.memory import release_free_memory
from storage.series import LiqEvent
from storage.state import KeyState

log = logging.getLogger("flowwatch.streams")

LATENCY_SAMPLES = 10_000
#: seconds between reminders of a periodic job that keeps failing
REMIND_S = 60.0


class LiveHost(Protocol):
    """All a stream service may use of the app."""

    @property
    def clock(self) -> Clock: ...
    @property
    def store(self) -> AsyncStore: ...
    @property
    def settings(self) -> Settings: ...

    def storage_failed(self, exc: BaseException, what: str) -> None:
        """A write failed for want of storage (a full disk): said once, then once a minute."""

    def storage_ok(self) -> None:
        """Writes work (again)."""

    async def apply(
        self, signal_id: str, readings: Sequence[Reading], now: datetime, notices: Sequence[Reading] = ()
    ) -> Applied:
        """Step readings computed in memory through the engine; write and dispatch their events."""
        ...

    async def key_states(self, signal_id: str) -> dict[str, KeyState]:
        """The engine's state of every key of a signal (a restart continues its lifecycle)."""
        ...

    def source_context(self) -> SourceContext: ...


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=UTC)


class StreamService:
    """One declared stream's clients and its signal's model, run until cancelled."""

    def __init__(
        self,
        host: LiveHost,
        model: LiveModel,
        streams: Sequence[StreamClient],
        *,
        growth: float = 0.0,
        clock: Callable[[], float] | None = None,
        flush_every: float = 5.0,
        tick: float = 5.0,
        refresh_every: float = 3600.0,
        stale_after: float = 300.0,
        retention_days: float = 7.0,
        on_start: Callable[[SourceContext, datetime, Sequence[str]], Awaitable[Batch]] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.host = host
        self.model = model
        self.signal = model.signal
        self.key = model.key
        self.growth = growth
        self.sleep = sleep  # the periodic helpers wait with it (tests pass a simulated one)
        self.clock = clock or (lambda: host.clock.now().timestamp())
        self.streams = list(streams)
        self.primary: dict[str, StreamClient] = {}
        for s in self.streams:
            self.primary.setdefault(s.venue, s)
        self.retention_s = retention_days * 86400
        model.keep_raw = retention_days > 0
        self.flush_every = flush_every
        self.tick = tick
        self.refresh_every = refresh_every
        self.stale_after = stale_after
        self.on_start = on_start
        self._kick = asyncio.Event()
        self._pending_arrival: float | None = None
        self._sent: tuple[Level, Level, float, int] | None = None
        self._state: KeyState | None = None
        self._last_ts = 0
        self._notices: dict[str, bool] = {}
        self._started_at = 0.0
        self._last_summary = 0.0
        #: frame-to-outbox seconds of the latest alert writes (a bounded sample)
        self.latencies: deque[float] = deque(maxlen=LATENCY_SAMPLES)
        self.evaluations = 0
        self.sends = 0
        #: what keeps failing: (first failure, last said, failures), by job
        self._failing: dict[str, tuple[float, float, int]] = {}

    # -- ingest: the hot path -----------------------------------------------------------------

    def on_events(self, events: Sequence[LiqEvent], arrival: float, frame: str | bytes = "") -> None:
        """One frame's events into the model; an evaluation is due."""
        self.model.on_events(events, frame)
        if self._pending_arrival is None:
            self._pending_arrival = arrival
        self._kick.set()

    # -- evaluation ------------------------------------------------------------------------------

    def _health(self) -> dict[str, Any]:
        return {venue: s.health for venue, s in self.primary.items()}

    def _notice_readings(self, now: float) -> list[Reading]:
        out = []
        for venue, s in self.primary.items():
            h = s.health
            if h.unavailable:
                continue
            down = h.down_since
            stale = not h.connected and down is not None and now - down >= self.stale_after
            if stale == self._notices.get(venue, False):
                continue
            self._notices[venue] = stale
            out.append(self.model.notice(venue, stale, now, h))
        return out

    def _worth(self, r: Reading, t: int) -> bool:
        """Could this reading change the lifecycle? (Otherwise it stays in memory.)"""
        if self._sent is None:
            return True
        level, hold, _value, t_sent = self._sent
        if r.level != level or r.hold != hold:
            return True
        st = self._state
        if st is not None:
            if st.state == "pending":
                return True
            if (
                st.state == "firing"
                and self.growth
                and st.reported_value
                and r.value >= st.reported_value * self.growth
            ):
                return True
            if r.level > Level[st.level.upper()] and t - t_sent >= 5:
                return True  # e.g. the cooldown may have ended
        return t - t_sent >= 60

    async def evaluate(self) -> list[Any]:
        """One evaluation now; returns the events written (if any)."""
        now = self.clock()
        t = int(now)
        arrival, self._pending_arrival = self._pending_arrival, None
        connected = [venue for venue, s in self.primary.items() if s.health.connected]
        r = self.model.step(now, connected)
        self.evaluations += 1
        notices = self._notice_readings(now)
        if not notices and not self._worth(r, t):
            return []
        if t <= self._last_ts:
            # The engine keeps one reading per second; a second change within it goes next second.
            r = replace(r, ts=_dt(self._last_ts + 1))
        applied = await self.host.apply(self.signal, [r], _dt(now), notices)
        self.sends += 1
        self._last_ts = int(r.ts.timestamp())
        self._sent = (r.level, r.hold, r.value, t)
        self._state = applied.states.get(self.key, self._state)
        if applied.events and arrival is not None and any(ev.kind == "alert" for _id, ev in applied.events):
            self.latencies.append(time.perf_counter() - arrival)
        return applied.events

    def _failed(self, exc: BaseException, what: str) -> None:
        """A periodic job failed. A full disk goes to the host (said once, then once a minute, as
        every other write of the bot); anything else is logged with its traceback the first time,
        then as a one-line reminder at most once a minute while it keeps failing."""
        from bot.dbwatch import is_storage_failure

        if is_storage_failure(exc):
            self.host.storage_failed(exc, f"{what} ({self.signal} stream)")
            return
        now = self.clock()
        first, last, count = self._failing.get(what, (now, -1e18, 0))
        count += 1
        if count == 1:
            log.error("%s %s failed; will retry", self.signal, what, exc_info=exc)
            last = now
        elif now - last >= REMIND_S:
            log.error(
                "%s %s still failing (%d times in %.0f s): %r", self.signal, what, count, now - first, exc
            )
            last = now
        self._failing[what] = (first, last, count)

    def _succeeded(self, what: str) -> None:
        failing = self._failing.pop(what, None)
        if failing is not None:
            log.warning("%s %s works again (after %d failures)", self.signal, what, failing[2])

    async def _evaluator(self) -> None:
        while True:
            await self._kick.wait()
            self._kick.clear()
            try:
                await self.evaluate()
            except Exception as exc:
                self._failed(exc, "live evaluation")
                await self.sleep(1.0)
            else:
                self._succeeded("live evaluation")

    async def _ticker(self) -> None:
        """Evaluate every ``tick`` seconds without frames too: windows roll, quiet cascades resolve."""
        while True:
            await self.sleep(self.tick)
            self._kick.set()

    # -- persistence, batched ------------------------------------------------------------------

    @staticmethod
    def _write(
        db: Database,
        rows: list[tuple[str, int, float, str]],
        health: dict[str, Any],
        now: int,
        raw: liq_raw.RawBatch | None = None,
    ) -> None:
        """Rows, stream health and the batch's raw frames in one transaction: a crash keeps all of
        a batch or none of it (never buckets whose frames are missing from the audit)."""
        with db.atomic():
            obs_repo.write_many(db, rows)
            for name, h in health.items():
                meta.put(db, f"source:{name}", h, now)
            if raw is not None:
                liq_raw.insert_batch(db, raw)

    async def flush(self, final: bool = False) -> int:
        """Write the rows of every minute since the last flush (and late ones); returns rows."""
        now = self.clock()
        rows, raw, cur = self.model.rows_due(now, self._started_at, self._health())
        health = {s.name: s.health.as_dict(s.stats) for s in self.streams}
        await self.host.store.call(self._write, rows, health, int(now), raw)
        self.host.storage_ok()
        self.model.flushed(cur)
        if now - self._last_summary >= 60 or final:
            self._last_summary = now
            for s in self.streams:
                s.stats.log_summary(s.name)
        return len(rows)

    async def _flusher(self) -> None:
        while True:
            await self.sleep(self.flush_every)
            try:
                await self.flush()
            except Exception as exc:
                self._failed(exc, "writing stream rows")  # kept in memory, written by the next flush
            else:
                self._succeeded("writing stream rows")

    async def fill_at_start(self) -> int:
        """What the stream's ``on_start`` fetches of the time before this start (the minutes a
        stream missed while flowwatch was down), written and handed to the model."""
        if self.on_start is None:
            return 0
        clock = self.clock
        ctx = replace(self.host.source_context(), now=lambda: _dt(clock()))
        on_start, started, primary = self.on_start, _dt(self._started_at), list(self.primary)
        batch = await ctx.run(lambda c: on_start(c, started, primary))
        if not batch:
            return 0
        written = await self.host.store.call(batches.write, batch, live=True)
        n = self.model.absorb(batch, written)
        for line in batch.describe(written).splitlines():
            log.info("%s", line)
        return n

    async def prune(self) -> int:
        return await self.host.store.call(liq_raw.prune, int((self.clock() - self.retention_s) * 1000))

    async def refresh(self) -> None:
        """Baselines and ranks from stored history (a read-only connection, off the store thread)."""
        now = self.clock()
        loaded = await self.host.store.read(self.model.load, now, now + self.refresh_every + 600, False)
        self.model.refresh(loaded)
        release_free_memory()

    async def _refresher(self) -> None:
        while True:
            await self.sleep(self.refresh_every)
            try:
                await self.refresh()
                n = await self.prune()
                if n:
                    log.info("pruned %d raw stream frames older than the retention", n)
            except Exception as exc:
                self._failed(exc, "refreshing baselines")
            else:
                self._succeeded("refreshing baselines")

    # -- lifecycle -------------------------------------------------------------------------------

    async def warm(self) -> None:
        """The model from what is stored, and the engine's state of the signal (a restart continues)."""
        now = self.clock()
        loaded = await self.host.store.read(self.model.load, now, now + self.refresh_every + 600)
        self.model.warm(loaded, now)
        del loaded
        release_free_memory()
        known = await self.host.key_states(self.signal)
        self._state = known.get(self.key)
        if self._state is not None and self._state.last_ts:
            self._last_ts = self._state.last_ts
        for venue in self.primary:
            st = known.get(f"stale:{venue}")
            self._notices[venue] = st is not None and st.level != "ok"

    def start_clock(self) -> None:
        """Coverage and batches begin now (the minute the service starts)."""
        self._started_at = self.clock()
        self._kick = asyncio.Event()
        self.model.start(self._started_at)

    async def run(self) -> None:
        if not self.streams:
            return
        self.start_clock()
        await self.warm()
        names = ", ".join(s.name for s in self.streams)
        log.info(
            "%s live: streams %s; evaluated in memory, rows written every %.0f s",
            self.signal,
            names,
            self.flush_every,
        )
        stream_tasks = [asyncio.create_task(s.run(), name=f"stream:{s.name}") for s in self.streams]
        helpers: list[asyncio.Task[Any]] = [
            asyncio.create_task(self._evaluator(), name=f"{self.signal}:evaluate"),
            asyncio.create_task(self._ticker(), name=f"{self.signal}:tick"),
            asyncio.create_task(self._flusher(), name=f"{self.signal}:flush"),
            asyncio.create_task(self._refresher(), name=f"{self.signal}:refresh"),
        ]
        if self.on_start is not None:
            helpers.append(asyncio.create_task(self.fill_at_start(), name=f"{self.signal}:on-start"))
        try:
            results = await asyncio.gather(*stream_tasks, return_exceptions=True)
            for s, res in zip(self.streams, results, strict=True):
                if isinstance(res, BaseException):
                    log.error("%s: stream task failed: %r", s.name, res)
            log.warning("%s live: no stream is left running; stored history only", self.signal)
        finally:
            for s in self.streams:
                s.stop()
            for t in [*stream_tasks, *helpers]:
                t.cancel()
            for t in [*stream_tasks, *helpers]:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            with contextlib.suppress(Exception):
                await self.flush(final=True)


def service_for(
    host: LiveHost,
    stream: Stream,
    *,
    streams: Sequence[StreamClient] | None = None,
    clock: Callable[[], float] | None = None,
    retention_days: float | None = None,
    fill_at_start: bool = True,
    client_kwargs: Mapping[str, Any] | None = None,
    **kw: Any,
) -> StreamService:
    """The service of a declared ``stream``: its signal's model under the app's params, the
    clients the stream makes from the settings (``client_kwargs``: venues, URL overrides, client
    options; or given ``streams``), the engine's growth rule, the raw frames' retention."""
    from signals import registry
    from signals.contract import live_model_of, rules_of

    sig = registry()[stream.signal]
    params = host.settings.signal_params(sig.id)
    if retention_days is None:
        retention_days = stream.raw_retention_days(host.settings)
    svc = StreamService(
        host,
        live_model_of(sig, params),
        [],
        growth=rules_of(sig, params).update_growth or 0.0,
        clock=clock,
        retention_days=retention_days,
        on_start=stream.on_start if fill_at_start else None,
        **kw,
    )
    if streams is None:
        kwargs = dict(client_kwargs or {})
        kwargs.setdefault("clock", svc.clock)
        streams = stream.make(host.settings, svc.on_events, **kwargs)
    svc.streams = list(streams)
    for s in svc.streams:
        svc.primary.setdefault(s.venue, s)
    return svc


def service_of(
    host: LiveHost,
    signal_id: str,
    *,
    venues: Sequence[str] | None = None,
    urls: Mapping[str, str] | None = None,
    stream_kwargs: Mapping[str, Any] | None = None,
    fill_at_start: bool = False,
    **kw: Any,
) -> StreamService:
    """The service of the stream a source declares for ``signal_id`` (harnesses, tests, the bench):
    ``venues`` / ``urls`` / ``stream_kwargs`` go to the clients it makes; ``kw`` to the service."""
    from signals import sources

    stream = next(s for s in sources.streams() if s.signal == signal_id)
    client_kwargs = dict(stream_kwargs or {})
    if venues is not None:
        client_kwargs["venues"] = venues
    if urls is not None:
        client_kwargs["urls"] = urls
    return service_for(host, stream, client_kwargs=client_kwargs, fill_at_start=fill_at_start, **kw)
