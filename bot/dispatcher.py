"""The outbox dispatcher: sends due deliveries through the sinks, with retries.

Transient failures are retried with exponential backoff (honouring a sink's
``retry_after``); permanent ones are marked failed and handed to the sink's
``on_permanent_failure`` hook (Discord disables the subscription and tells the guild).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Sequence

from bot.clock import Clock, SystemClock
from bot.sinks import DeliveryDeferred, DeliveryError, Sink
from storage import alerts as alert_repo
from storage.db import AsyncStore
from storage.timeutil import to_epoch

log = logging.getLogger("flowwatch.dispatcher")

MAX_ATTEMPTS = 30
MAX_AGE_S = 24 * 3600


def backoff_seconds(attempts: int, retry_after: float | None = None) -> float:
    base = min(5.0 * 2 ** max(attempts, 0), 900.0)
    return max(base, retry_after or 0.0)


class Dispatcher:
    def __init__(
        self,
        store: AsyncStore,
        sinks: Sequence[Sink],
        clock: Clock | None = None,
        scope: str = "live",
        batch: int = 50,
    ) -> None:
        self.store = store
        self.sinks = list(sinks)
        self.clock = clock or SystemClock()
        self.scope = scope
        self.batch = batch
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()  # one drain at a time: a delivery is never sent twice
        self._stopping = False
        self.sent = 0
        self.failed = 0

    def kick(self) -> None:
        self._wake.set()

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
        done = 0
        while True:
            now = to_epoch(self.clock.now())
            due = await self.store.call(
                alert_repo.due_deliveries, self.scope, self._patterns(), now, self.batch
            )
            if not due:
                return done
            for delivery, alert in due:
                done += 1
                if await self._deliver(delivery, alert, now):
                    break  # a permanent failure may have skipped others in this batch: re-read

    async def _deliver(self, delivery: alert_repo.Delivery, alert: alert_repo.StoredAlert, now: int) -> bool:
        """Send one delivery; True after a permanent failure (the sink may have changed others)."""
        sink = self._sink_for(delivery.destination)
        if sink is None:
            return False
        try:
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
            await self.store.call(alert_repo.defer, delivery.id, max(later, now + 1), now)
        except DeliveryError as exc:
            too_old = now - alert.created_at > MAX_AGE_S
            if exc.transient and delivery.attempts + 1 < MAX_ATTEMPTS and not too_old:
                wait = backoff_seconds(delivery.attempts, exc.retry_after)
                log.warning(
                    "delivery %d of alert %d to %s failed (%s); retry in %.0f s",
                    delivery.id,
                    alert.id,
                    delivery.destination,
                    exc,
                    wait,
                )
                await self.store.call(alert_repo.mark_retry, delivery.id, str(exc), now + int(wait) + 1, now)
            else:
                why = "gave up after repeated failures" if exc.transient else "permanent failure"
                log.error(
                    "delivery %d of alert %d to %s: %s (%s)",
                    delivery.id,
                    alert.id,
                    delivery.destination,
                    exc,
                    why,
                )
                await self.store.call(alert_repo.mark_failed, delivery.id, str(exc), "failed", now)
                self.failed += 1
                hook = getattr(sink, "on_permanent_failure", None)
                if hook is not None and not exc.transient:
                    try:
                        await hook(delivery, alert, exc)
                    except Exception:
                        log.exception("the failure hook of %s crashed", delivery.destination)
                    return True
        except Exception as exc:  # a bug in a sink must not stop the dispatcher
            log.exception("delivery %d to %s crashed; will retry", delivery.id, delivery.destination)
            await self.store.call(
                alert_repo.mark_retry,
                delivery.id,
                f"internal error: {exc}",
                now + int(backoff_seconds(delivery.attempts)),
                now,
            )
        else:
            await self.store.call(alert_repo.mark_sent, delivery.id, external, now)
            self.sent += 1
        return False

    async def run(self) -> None:
        """Drain, then sleep until kicked or the next retry is due."""
        while not self._stopping:
            self._wake.clear()
            try:
                await self.drain_once()
            except Exception:
                log.exception("dispatcher pass failed")
            nxt = await self.store.call(alert_repo.next_due_at, self.scope, self._patterns())
            timeout = 60.0
            if nxt is not None:
                timeout = max(0.05, min(60.0, nxt - to_epoch(self.clock.now())))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
