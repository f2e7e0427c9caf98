"""The outbox dispatcher: sends due deliveries through the sinks, with retries.

* Concurrency: the due deliveries of one pass are grouped by destination into lanes; a lane
  sends in order, one request in flight per destination, and at most ``concurrency`` lanes
  send at once (a few dozen), under a global request rate (:class:`RateGate`, below Discord's
  50 requests/s per bot).
* Bookkeeping: outcomes are written in batches (one transaction, one trip to the database
  thread) a few times a second, and before a lane sends its next delivery (an update edits
  the message its predecessor posted, so that must be on record first).
* Budget: every delivery has an attempt budget (:data:`MAX_ATTEMPTS`) and an age budget
  (:data:`MAX_AGE_S`) whatever goes wrong, crashes of a sink included; past either it is
  marked failed and logged.
* Transient failures are retried with exponential backoff (honouring a sink's ``retry_after``);
  permanent ones are marked failed and handed to the sink's ``on_permanent_failure`` hook
  (Discord disables the subscription and tells the guild).
* Ambiguous failures (the request went out, no answer came back: the message may be posted):
  never re-sent blind. That includes an attempt the process did not live to see the end of: a
  sink whose requests cannot be repeated safely (the webhook) commits a mark before each one
  (``attempt_started_at``), every outcome clears it, so a delivery read with the mark still set
  was in flight when an earlier process died (the run lock excludes a second bot, and a pass
  reads the outbox only after the outcomes of the previous one are written). A sink that ``can_verify`` looks for the message before a resend
  (:data:`MAX_AMBIGUOUS` times at most); any other is marked ``unsure``, a possible loss,
  logged with the event so the operator can look (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from bot.clock import Clock, SystemClock
from bot.sinks import DeliveryDeferred, DeliveryError, Sink
from storage import alerts as alert_repo
from storage.alerts import Outcome
from storage.db import AsyncStore
from storage.timeutil import iso, to_epoch

log = logging.getLogger("flowwatch.dispatcher")

MAX_ATTEMPTS = 30
MAX_AGE_S = 24 * 3600
#: ambiguous attempts after which a verifying sink gives up too (marks the delivery unsure)
MAX_AMBIGUOUS = 3
#: lanes (destinations) sending at once
CONCURRENCY = 16
#: requests per second over all destinations (Discord allows 50 per bot)
GLOBAL_RATE = 45.0
#: seconds between bookkeeping flushes while a pass runs
FLUSH_EVERY = 0.25


def backoff_seconds(attempts: int, retry_after: float | None = None) -> float:
    base = min(5.0 * 2 ** max(attempts, 0), 900.0)
    return max(base, retry_after or 0.0)


class RateGate:
    """A token bucket: at most ``burst + rate`` requests in any second, ``rate`` sustained."""

    def __init__(
        self,
        rate: float = GLOBAL_RATE,
        burst: int = 5,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._monotonic = monotonic
        self._sleep = sleep
        self._last = monotonic()
        self._lock = asyncio.Lock()

    async def take(self) -> None:
        async with self._lock:
            while True:
                now = self._monotonic()
                self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1.0 - 1e-9:  # (a float a hair short of a whole token is one)
                    self._tokens = max(self._tokens - 1.0, 0.0)
                    return
                await self._sleep((1.0 - self._tokens) / self.rate)


@dataclass
class _Result:
    outcome: Outcome | None
    stop_lane: bool = False  # the rest of this destination's lane waits for the next pass
    hook: Callable[[], Awaitable[None]] | None = None  # after the outcomes are written


class _Books:
    """Delivery outcomes waiting to be written, flushed in one transaction.

    A flush that fails (a full disk) keeps its outcomes and sets :attr:`failed`: nothing more is
    sent while what was sent cannot be recorded (a webhook resend would post a copy).
    """

    def __init__(self, store: AsyncStore, now: int) -> None:
        self.store = store
        self.now = now
        self.pending: list[Outcome] = []
        self.failed: BaseException | None = None
        self._lock = asyncio.Lock()

    def add(self, outcome: Outcome) -> None:
        self.pending.append(outcome)

    async def flush(self) -> bool:
        async with self._lock:
            if not self.pending:
                return self.failed is None
            batch = list(self.pending)
            try:
                await self.store.call(alert_repo.record_outcomes, batch, self.now)
            except Exception as exc:
                self.failed = exc
                return False
            del self.pending[: len(batch)]
            return True


class Dispatcher:
    def __init__(
        self,
        store: AsyncStore,
        sinks: Sequence[Sink],
        clock: Clock | None = None,
        scope: str = "live",
        batch: int = 2000,
        concurrency: int = CONCURRENCY,
        gate: RateGate | None = None,
    ) -> None:
        self.store = store
        self.sinks = list(sinks)
        self.clock = clock or SystemClock()
        self.scope = scope
        self.batch = batch
        self.concurrency = concurrency
        self.gate = gate if gate is not None else RateGate()
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()  # one drain at a time: a delivery is never sent twice
        self._stopping = False
        self.sent = 0
        self.failed = 0
        self.unsure = 0
        #: outcomes of sends that could not be recorded yet (written before anything else is sent)
        self._unwritten: list[Outcome] = []

    def kick(self) -> None:
        self._wake.set()

    async def _lane_of(self, destination: str) -> str:
        """The lane a destination's deliveries go through: where its messages land, when its sink
        can say (a guild's admin channel may also be an alert channel: one lane keeps the two
        in the order they were written, a notice never overtaking the alert before it)."""
        sink = self._sink_for(destination)
        where = getattr(sink, "lane", None)
        if where is None:
            return destination
        try:
            return str(await where(destination))
        except Exception:
            return destination

    def _sink_for(self, destination: str) -> Sink | None:
        for sink in self.sinks:
            for pat in sink.patterns:
                if (pat.endswith("%") and destination.startswith(pat[:-1])) or destination == pat:
                    return sink
        return None

    def _patterns(self) -> list[str]:
        return [p for s in self.sinks for p in s.patterns]

    async def drain_once(self) -> int:
        """Send everything due now; returns how many deliveries were attempted."""
        async with self._lock:
            return await self._drain()

    async def _drain(self) -> int:
        if self._unwritten:
            try:
                await self.store.call(alert_repo.record_outcomes, self._unwritten, to_epoch(self.clock.now()))
            except Exception as exc:
                log.error(
                    "cannot record %d delivery outcome(s) (%s); sending nothing until they are written",
                    len(self._unwritten),
                    exc,
                )
                return 0
            self._unwritten.clear()
        done = 0
        while not (self._stopping and done):
            now = to_epoch(self.clock.now())
            due = await self.store.call(
                alert_repo.due_deliveries, self.scope, self._patterns(), now, self.batch
            )
            if not due:
                return done
            attempted = await self._pass(due, now)
            done += attempted
            if attempted == 0 or self._unwritten:
                return done
            # read again: what a lane left for later, what a hook changed, what came due meanwhile
        return done

    async def _pass(self, due: list[tuple[alert_repo.Delivery, alert_repo.StoredAlert]], now: int) -> int:
        """Send one batch of due deliveries in lanes; returns how many were attempted."""
        lanes: dict[str, list[tuple[alert_repo.Delivery, alert_repo.StoredAlert]]] = {}
        keys: dict[str, str] = {}
        for delivery, alert in due:
            dest = delivery.destination
            if dest not in keys:
                keys[dest] = await self._lane_of(dest)
            lanes.setdefault(keys[dest], []).append((delivery, alert))
        books = _Books(self.store, now)
        hooks: list[Callable[[], Awaitable[None]]] = []
        sem = asyncio.Semaphore(self.concurrency)
        attempted = 0

        async def lane(items: list[tuple[alert_repo.Delivery, alert_repo.StoredAlert]]) -> None:
            nonlocal attempted
            for i, (delivery, alert) in enumerate(items):
                if i and self._stopping:  # a stop lets the send in flight finish, starts no other
                    return
                if i and not await books.flush():  # the next one may edit the message this one posted
                    return
                if books.failed is not None:
                    return
                async with sem:
                    res = await self._deliver(delivery, alert, now)
                attempted += 1
                if res.outcome is not None:
                    books.add(res.outcome)
                if res.hook is not None:
                    hooks.append(res.hook)
                if res.stop_lane:
                    return

        async def flusher() -> None:
            ok = True
            while ok:
                await asyncio.sleep(FLUSH_EVERY)
                ok = await books.flush()

        ticker = asyncio.create_task(flusher())
        try:
            await asyncio.gather(*(lane(items) for items in lanes.values()))
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            recorded = await books.flush()
        if not recorded:
            self._unwritten.extend(books.pending)
            log.error(
                "cannot record %d delivery outcome(s) (%s); kept in memory, written before anything else is sent",
                len(books.pending),
                books.failed,
            )
            return attempted
        for hook in hooks:
            try:
                await hook()
            except Exception:
                log.exception("a delivery failure hook crashed")
        return attempted

    async def _deliver(
        self, delivery: alert_repo.Delivery, alert: alert_repo.StoredAlert, now: int
    ) -> _Result:
        """One attempt at one delivery; the outcome to record."""
        sink = self._sink_for(delivery.destination)
        if sink is None:
            return _Result(None)
        if now - alert.created_at > MAX_AGE_S:
            log.error(
                "delivery %d of alert %d to %s: gave up, the event is %s old (last error: %s)",
                delivery.id,
                alert.id,
                delivery.destination,
                f"{(now - alert.created_at) / 3600:.0f} h",
                delivery.last_error or "none",
            )
            self.failed += 1
            return _Result(
                Outcome(delivery.id, "failed", error=f"expired: {delivery.last_error or 'not sent'}")
            )
        if delivery.attempt_started_at is not None:
            interrupted = DeliveryError(
                f"the attempt started at {iso(delivery.attempt_started_at)} never got its answer recorded "
                "(the bot stopped mid-request)",
                transient=True,
                ambiguous=True,
            )
            return self._failed(sink, delivery, alert, interrupted, now)
        try:
            if self.gate is not None:
                await self.gate.take()
            external = await sink.send(alert, delivery)
        except DeliveryDeferred as exc:
            later = math.ceil(self.clock.now().timestamp() + max(exc.retry_after, 0.0))
            log.debug(
                "delivery %d to %s deferred %.2f s (%s)",
                delivery.id,
                delivery.destination,
                exc.retry_after,
                exc,
            )
            return _Result(Outcome(delivery.id, "defer", next_attempt_at=max(later, now + 1)), stop_lane=True)
        except DeliveryError as exc:
            return self._failed(sink, delivery, alert, exc, now)
        except Exception as exc:  # a bug in a sink must not stop the dispatcher, nor loop for ever
            log.exception("delivery %d to %s crashed", delivery.id, delivery.destination)
            err = DeliveryError(f"internal error: {exc!r}"[:300], transient=True)
            return self._failed(sink, delivery, alert, err, now)
        chart_sha = getattr(sink, "last_chart_sha", {}).pop(delivery.id, None)
        self.sent += 1
        return _Result(Outcome(delivery.id, "sent", external_id=external, chart_sha=chart_sha))

    def _failed(
        self,
        sink: Sink,
        delivery: alert_repo.Delivery,
        alert: alert_repo.StoredAlert,
        exc: DeliveryError,
        now: int,
    ) -> _Result:
        if exc.ambiguous:
            verify = bool(getattr(sink, "can_verify", False))
            if not verify or delivery.ambiguous + 1 >= MAX_AMBIGUOUS:
                log.warning(
                    "delivery %d of alert %d to %s: %s; the message may or may not have been posted. "
                    "Not sending it again (a webhook takes no nonce: a resend could post a copy). "
                    "Possibly lost: %s %s/%s %s",
                    delivery.id,
                    alert.id,
                    delivery.destination,
                    exc,
                    alert.signal,
                    alert.key,
                    alert.event,
                    alert.summary[:120],
                )
                self.unsure += 1
                return _Result(Outcome(delivery.id, "unsure", error=f"possibly not delivered: {exc}"))
            wait = backoff_seconds(delivery.attempts, exc.retry_after)
            log.warning(
                "delivery %d of alert %d to %s: %s; will look for the message before any resend (in %.0f s)",
                delivery.id,
                alert.id,
                delivery.destination,
                exc,
                wait,
            )
            return _Result(
                Outcome(delivery.id, "ambiguous", error=str(exc), next_attempt_at=now + int(wait) + 1),
                stop_lane=True,
            )
        if exc.transient and delivery.attempts + 1 < MAX_ATTEMPTS:
            wait = backoff_seconds(delivery.attempts, exc.retry_after)
            log.warning(
                "delivery %d of alert %d to %s failed (%s); retry in %.0f s",
                delivery.id,
                alert.id,
                delivery.destination,
                exc,
                wait,
            )
            return _Result(
                Outcome(delivery.id, "retry", error=str(exc), next_attempt_at=now + int(wait) + 1),
                stop_lane=True,
            )
        why = f"gave up after {delivery.attempts + 1} attempts" if exc.transient else "permanent failure"
        log.error(
            "delivery %d of alert %d to %s: %s (%s)", delivery.id, alert.id, delivery.destination, exc, why
        )
        self.failed += 1
        hook = getattr(sink, "on_permanent_failure", None)
        run_hook = None
        if hook is not None and not exc.transient:

            async def run_hook() -> None:
                await hook(delivery, alert, exc)

        return _Result(Outcome(delivery.id, "failed", error=str(exc)), stop_lane=True, hook=run_hook)

    async def run(self) -> None:
        """Drain, then sleep until kicked or the next retry is due."""
        while not self._stopping:
            self._wake.clear()
            try:
                await self.drain_once()
            except Exception:
                log.exception("dispatcher pass failed")
            try:
                nxt = await self.store.call(alert_repo.next_due_at, self.scope, self._patterns())
            except Exception:
                log.exception("dispatcher could not read the outbox")
                nxt = None
            timeout = 60.0
            if nxt is not None:
                timeout = max(0.05, min(60.0, nxt - to_epoch(self.clock.now())))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
