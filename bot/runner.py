"""``flowwatch run``: live sources, the scheduler, the engine, the outbox and its sinks.

:class:`App` is the bot's main job without Discord. With no token it runs with the console
sink (and the webhook sink when a webhook URL is set); the Discord client starts the same
``App`` in its ``setup_hook``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal as os_signal
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.charts import Renderer
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.dispatcher import Dispatcher
from bot.engine import Router, console_router
from bot.pipeline import Pipeline
from bot.queries import alert_chart_data, chart_data
from bot.scheduler import build_scheduler
from bot.sinks import Sink
from bot.sinks.console import ConsoleSink
from bot.summary import summary_text
from signals import registry, sources
from signals.sources.base import Poll, SourceContext, SourceError
from storage import meta
from storage.alerts import StoredAlert
from storage.db import AsyncStore
from storage.memory import tune_allocator
from storage.timeutil import from_epoch, to_epoch

if TYPE_CHECKING:
    from sqlite_utils import Database

log = logging.getLogger("flowwatch.run")

USER_AGENT = "flowwatch/0.1 (+https://github.com/flowwatch/flowwatch)"


class App:
    def __init__(
        self,
        settings: Settings,
        clock: Clock | None = None,
        client: httpx.AsyncClient | None = None,
        sinks: Sequence[Sink] | None = None,
        router: Router = console_router,
        mode: str = "console",
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        tune_allocator()  # before the store, renderer and reader threads start (storage/memory.py)
        self.settings = settings
        self.clock = clock or SystemClock()
        #: the sources' backoff sleep (None: asyncio.sleep); tests inject one that returns at once
        self.sleep = sleep
        self.store = AsyncStore(settings.db_path)
        self.renderer = Renderer()
        self._own_client = client is None
        self.client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(settings.http_timeout, connect=min(10.0, settings.http_timeout)),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=True,
        )
        self.pipeline = Pipeline(settings, router=router)
        default_sink: Sink = ConsoleSink(
            tz=settings.timezone, chart_dir=settings.chart_dir, charts=self.chart_for_alert
        )
        self.sinks: list[Sink] = list(sinks) if sinks is not None else [default_sink]
        self.dispatcher = Dispatcher(self.store, self.sinks, self.clock)
        self.mode = mode
        self.scheduler: AsyncIOScheduler | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self.on_summary: list[Callable[[str], Any]] = []
        self.started = False

    def add_sink(self, sink: Sink) -> None:
        """Add a sink built after the app (one that needs ``app.store`` or ``app.chart_for_alert``)."""
        self.sinks.append(sink)
        self.dispatcher.sinks.append(sink)

    # -- lifecycle ------------------------------------------------------------------

    async def start(self, *, schedule: bool = True, initial_poll: bool = True) -> None:
        await self.store.open()
        await self.store.call(self.pipeline.load)
        self._tasks.append(asyncio.create_task(self.dispatcher.run(), name="dispatcher"))
        for svc in sources.services():
            factory = getattr(svc, "start", None)
            if callable(factory):
                self._tasks.append(asyncio.create_task(factory(self), name=f"service:{svc}"))
        if schedule:
            sched = build_scheduler(self)
            sched.start()
            self.scheduler = sched
        await self.heartbeat()
        self.started = True
        log.info(
            "flowwatch running (%s mode, database %s, %d signals, %d polls)",
            self.mode,
            self.settings.db_path,
            len(registry()),
            len(sources.polls()),
        )
        if initial_poll:
            self._tasks.append(asyncio.create_task(self._initial_polls(), name="initial-polls"))

    async def _initial_polls(self) -> None:
        """Poll every source once at start-up, concurrently (a slow provider delays no other);
        polls that share a fetch function (a retry schedule of the same job) run once."""
        now = self.clock.now()
        seen: set[object] = set()
        due = []
        for poll in sources.polls():
            if poll.run in seen or (poll.active is not None and not poll.active(now)):
                continue
            seen.add(poll.run)
            due.append(self.run_poll(poll))
        await asyncio.gather(*due)
        await self.evaluate_all()

    async def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        self.dispatcher.stop()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks.clear()
        for s in self.sinks:
            with contextlib.suppress(Exception):
                await s.close()
        if self._own_client:
            await self.client.aclose()
        with contextlib.suppress(Exception):
            await self.store.call(
                meta.put, "heartbeat", {"pid": os.getpid(), "mode": self.mode, "stopped": True}
            )
        await self.store.close()
        self.renderer.close()
        log.info("flowwatch stopped")

    # -- jobs -----------------------------------------------------------------------

    def source_context(self) -> SourceContext:
        return SourceContext(
            client=self.client, now=self.clock.now, settings=self.settings, sleep=self.sleep, store=self.store
        )

    async def run_poll(self, poll: Poll) -> None:
        now = self.clock.now()
        if poll.active is not None and not poll.active(now):
            return
        try:
            obs = await poll.run(self.source_context())
        except SourceError as exc:
            log.warning("%s", exc)
            await self.store.call(meta.record_poll, poll.name, False, 0, str(exc), to_epoch(now))
            obs = []
        except Exception as exc:  # a broken source must not take the bot down
            log.exception("poll %s crashed", poll.name)
            await self.store.call(meta.record_poll, poll.name, False, 0, repr(exc), to_epoch(now))
            obs = []
        else:
            await self.store.call(meta.record_poll, poll.name, True, len(obs), None, to_epoch(now))
        if obs:
            res = await self.store.call(self.pipeline.ingest, obs)
            log.info("%s: %d rows (%d new, %d updated)", poll.name, res.total, res.new, res.updated)
        await self.evaluate(poll.signals)

    async def ingest(self, observations: list[Any], signals: Sequence[str] = ()) -> None:
        await self.store.call(self.pipeline.ingest, observations)
        if signals:
            await self.evaluate(signals)

    async def evaluate(self, signal_ids: Sequence[str]) -> None:
        try:
            evals = await self.store.call(self.pipeline.evaluate, list(signal_ids), self.clock.now())
        except Exception:
            log.exception("evaluation of %s failed", ", ".join(signal_ids))
            return
        if any(e.events for e in evals.values()):
            self.dispatcher.kick()

    async def evaluate_all(self) -> None:
        await self.evaluate(list(registry()))

    async def prune(self) -> None:
        from bot.upkeep import minute_rule, prune, prune_minutes_step
        from storage.maintenance import checkpoint

        now = to_epoch(self.clock.now())
        removed = await self.store.call(prune, self.settings, now)
        # the minute retention a day at a time: each step is one short transaction, so the
        # alerts written meanwhile never wait behind the whole prune
        minutes = 0
        while n := await self.store.call(prune_minutes_step, self.settings, now):
            minutes += n
        if minutes:
            await self.store.call(checkpoint)
        removed[minute_rule(self.settings)] = minutes
        log.info("prune: %s", ", ".join(f"{k}: {v}" for k, v in removed.items() if v) or "nothing to remove")

    async def deadman_ping(self) -> None:
        """Call the dead-man URL only while healthy, so its silence means trouble."""
        from bot import health

        url = self.settings.deadman_url
        if not url:
            return
        rep = await self.store.call(health.check, self.clock.now())
        if not rep.ok:
            log.warning("dead-man ping withheld: %s", "; ".join(rep.problems))
            return
        try:
            resp = await self.client.get(url.get(), timeout=10.0)
            if resp.status_code >= 400:
                log.warning("dead-man ping answered HTTP %d", resp.status_code)
        except Exception as exc:
            log.warning("dead-man ping failed: %s", type(exc).__name__)

    async def heartbeat(self) -> None:
        await self.store.call(
            meta.put,
            "heartbeat",
            {"pid": os.getpid(), "mode": self.mode},
            to_epoch(self.clock.now()),
        )

    async def post_summary(self) -> None:
        text = await self.store.read(summary_text, self.settings, self.clock.now())
        if not self.on_summary:
            print(text, flush=True)
        for cb in self.on_summary:
            res = cb(text)
            if asyncio.iscoroutine(res):
                await res

    async def chart_for_alert(self, alert: StoredAlert, days: int | None = None) -> bytes | None:
        """The chart of an alert as of its market time, with the alert point marked."""
        if alert.kind != "alert":
            return None
        # on a read-only connection beside the database thread: the next alert's write (during a
        # cascade, moments later) never waits behind a chart
        data = await self.store.read(_alert_chart, self.settings, alert, days)
        return await self.renderer.render(data)


def _alert_chart(db: Database, settings: Settings, alert: StoredAlert, days: int | None) -> dict[str, Any]:
    """The signal's own chart of the alert, or its history chart as of the alert, marked."""
    if days is None:
        data = alert_chart_data(db, settings, alert)
        if data is not None:
            return data
        sig = registry().get(alert.signal)
        days = sig.alert_chart_days if sig else 180
    at = from_epoch(alert.ts) + timedelta(seconds=1)
    return chart_data(db, settings, alert.signal, at, days)


async def run_until_stopped(app: App, stop: asyncio.Event | None = None, initial_poll: bool = True) -> None:
    """Start ``app`` and run until SIGINT/SIGTERM (or ``stop`` is set), then shut down cleanly."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (os_signal.SIGINT, os_signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await app.start(initial_poll=initial_poll)
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        await app.stop()
