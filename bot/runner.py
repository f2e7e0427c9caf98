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
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TextIO

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.alert_text import alert_chart
from bot.backfills import described
from bot.charts import Renderer
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.dispatcher import Dispatcher
from bot.engine import Router, console_router
from bot.pipeline import Applied, Pipeline
from bot.queries import alert_chart_data, chart_data
from bot.scheduler import build_scheduler
from bot.sink_filters import console_router_for
from bot.sinks import Sink
from bot.sinks.console import ConsoleSink
from bot.startup_report import PollOutcome
from bot.streams import StreamService, service_for
from bot.summary import summary_text
from signals import registry, sources
from signals.base import Reading
from signals.charts import ChartData
from signals.contract import alert_chart_days_of
from signals.sources.base import Poll, SourceContext, SourceError, Stream
from storage import batches, meta
from storage.alerts import StoredAlert
from storage.batches import Batch, Written
from storage.db import AsyncStore
from storage.memory import tune_allocator
from storage.state import KeyState
from storage.timeutil import from_epoch, human_duration, to_epoch

if TYPE_CHECKING:
    from sqlite_utils import Database

log = logging.getLogger("flowwatch.run")

#: how long a stop waits for the delivery pass in flight to finish and be recorded
STOP_GRACE_S = 5.0
#: after a failed write, this long with no other failure and a written heartbeat: writable again
HEALED_AFTER_S = 600.0

#: Signals that stop ``run`` cleanly. SIGHUP too: a closed terminal or ``systemctl reload`` by
#: habit must not kill the bot without its shutdown (heartbeat marked stopped, lock released).
STOP_SIGNALS = (os_signal.SIGINT, os_signal.SIGTERM, os_signal.SIGHUP)

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
        #: the sources' backoff sleep and the start-up evaluation's retry (None: asyncio.sleep);
        #: tests inject one that returns at once
        self.sleep = sleep
        self.store = AsyncStore(settings.db_path)
        self.renderer = Renderer(processes=settings.chart_process)
        self._own_client = client is None
        self.client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(settings.http_timeout, connect=min(10.0, settings.http_timeout)),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=True,
        )
        if router is console_router:  # the console shows what FLOWWATCH_CONSOLE_* let through
            router = console_router_for(settings.sink_filter("console"))
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
        self._chart_tasks: OrderedDict[int, asyncio.Future[bytes | None]] = OrderedDict()
        from bot.dbwatch import StorageWatch

        # "once a minute" on the app's clock when it is simulated (tests), else on the monotonic one
        self.storage = StorageWatch(
            settings.db_path,
            time.monotonic if isinstance(self.clock, SystemClock) else (lambda: self.clock.now().timestamp()),
        )
        self.started = False
        #: where the start-up report goes (None: not printed; ``flowwatch run`` prints it on stdout)
        self.report_stream: TextIO | None = None
        #: lines added at the end of the start-up report (Discord unreachable at start)
        self.report_notes: list[str] = []
        #: this run's start-up poll outcomes, for the start-up report
        self.poll_outcomes: dict[str, PollOutcome] = {}
        #: sources in an outage (name -> since): one WARNING per outage, the repeats at DEBUG
        self.down_since: dict[str, datetime] = {}
        #: signals a running stream service evaluates in memory: polled evaluation leaves them alone
        self.streaming: set[str] = set()
        self.started_at = to_epoch(self.clock.now())

    def add_sink(self, sink: Sink) -> None:
        """Add a sink built after the app (one that needs ``app.store`` or ``app.chart_for_alert``)."""
        self.sinks.append(sink)
        self.dispatcher.sinks.append(sink)

    # -- lifecycle ------------------------------------------------------------------

    async def start(self, *, schedule: bool = True, initial_poll: bool = True) -> None:
        await self.store.open()
        await self.store.call(self.pipeline.load)
        self._tasks.append(asyncio.create_task(self.dispatcher.run(), name="dispatcher"))
        for stream in sources.streams():
            self.start_stream(stream)
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
        else:
            self._tasks.append(asyncio.create_task(self.report_startup(), name="startup-report"))

    def start_stream(self, stream: Stream) -> StreamService | None:
        """Start the service of a declared stream (wall clock only; when the stream is enabled)."""
        if not isinstance(self.clock, SystemClock):
            log.info("%s streams not started: they need the wall clock (simulated clock in use)", stream.name)
            return None
        if not stream.enabled(self.settings):
            log.info("%s streams off by their settings", stream.name)
            return None
        svc = service_for(self, stream, fill_at_start=True)
        self._tasks.append(asyncio.create_task(self.run_stream(svc), name=f"stream-service:{stream.name}"))
        return svc

    async def run_stream(self, svc: StreamService) -> None:
        """Run a stream service; its signal is evaluated by it (not polled) while it runs."""
        self.streaming.add(svc.signal)
        try:
            await svc.run()
        finally:
            self.streaming.discard(svc.signal)

    async def apply(
        self, signal_id: str, readings: Sequence[Reading], now: datetime, notices: Sequence[Reading] = ()
    ) -> Applied:
        """Step readings computed in memory (a stream service) through the engine; events written
        with their deliveries in one transaction, then sent."""
        applied = await self.store.call(self.pipeline.apply, signal_id, readings, now, notices)
        if applied.events:
            self.dispatcher.kick()
        return applied

    async def key_states(self, signal_id: str) -> dict[str, KeyState]:
        """The engine's state of every key of a signal (a copy)."""
        return await self.store.call(self.pipeline.key_states, signal_id)

    async def _initial_polls(self) -> None:
        """Poll every source once at start-up, concurrently (a slow provider delays no other);
        polls that share a fetch function (a retry schedule of the same job) run once."""
        now = self.clock.now()
        seen: dict[object, str] = {}
        due = []
        for poll in sources.polls():
            if poll.run in seen:
                self.poll_outcomes[poll.name] = PollOutcome(None, note=f"same fetch as {seen[poll.run]}")
                continue
            if poll.active is not None and not poll.active(now):
                self.poll_outcomes[poll.name] = PollOutcome(None, note="not due now (runs in market hours)")
                continue
            seen[poll.run] = poll.name
            due.append(self.run_poll(poll))
        await asyncio.gather(*due, return_exceptions=True)
        # the start-up evaluation must not be skipped in silence: while the database cannot be
        # written (a full disk) it is retried every minute until it runs
        while not await self.evaluate(list(registry())):
            if self.storage.failing_since is None:
                break  # a bug in a signal, logged; the 15-minute re-evaluation goes on
            await (self.sleep or asyncio.sleep)(60.0)
        await self.report_startup()

    async def report_startup(self) -> None:
        """Print the start-up report (signals as /status, sources reached, the next poll)."""
        if self.report_stream is None:
            return
        from bot.startup_report import build_report

        try:
            rep = await self.store.read(
                build_report,
                self.settings,
                self.clock.now(),
                mode=self.mode,
                outcomes=dict(self.poll_outcomes),
                started_at=self.started_at,
                next_runs=self.next_poll_times(),
            )
            rep.notes += self.report_notes
            self.report_stream.write(rep.text(self.settings.timezone) + "\n")
            self.report_stream.flush()
        except Exception:  # the report must never stop the bot
            log.exception("the start-up report failed")

    def next_poll_times(self) -> list[tuple[str, datetime]]:
        if self.scheduler is None:
            return []
        return [
            (job.id.removeprefix("poll:"), job.next_run_time)
            for job in self.scheduler.get_jobs()
            if job.id.startswith("poll:") and job.next_run_time is not None
        ]

    async def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        self.dispatcher.stop()
        # the pass in flight finishes and records its outcomes (a message posted and then
        # forgotten would be called possibly lost at the next start); a hung request does not
        # hold the stop past the grace
        sending = [t for t in self._tasks if t.get_name() == "dispatcher" and not t.done()]
        if sending:
            await asyncio.wait(sending, timeout=STOP_GRACE_S)
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks.clear()
        for task in self._chart_tasks.values():
            task.cancel()
        self._chart_tasks.clear()
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
            client=self.client,
            now=self.clock.now,
            settings=self.settings,
            reader=self.store,
            sleep=self.sleep,
        )

    async def run_poll(self, poll: Poll) -> None:
        now = self.clock.now()
        if poll.active is not None and not poll.active(now):
            return
        batch = Batch()
        try:
            batch = await self.source_context().run(poll.run)
        except SourceError as exc:
            self._poll_failed(poll.name, str(exc), now)
            await self._record_poll(poll.name, False, 0, str(exc), now)
        except Exception as exc:  # a broken source must not take the bot down
            log.exception("poll %s crashed", poll.name)
            self.down_since.setdefault(poll.name, now)
            self.poll_outcomes.setdefault(poll.name, PollOutcome(False, error=f"crashed: {exc!r}"))
            await self._record_poll(poll.name, False, 0, repr(exc), now)
        else:
            rows = len(batch.observations)
            self._poll_ok(poll.name, rows, now)
            await self._record_poll(poll.name, True, rows, None, now)
        if batch:
            await self.store_batch(poll.name, batch)
        await self.evaluate(poll.signals)

    async def _record_poll(self, name: str, ok: bool, rows: int, error: str | None, now: datetime) -> None:
        """The poll's outcome for ``health``; a database that cannot be written (a full disk) is
        said by the storage watch, and the poll's rows and evaluation are still attempted."""
        try:
            await self.store.call(meta.record_poll, name, ok, rows, error, to_epoch(now))
        except Exception as exc:
            self._write_failed(exc, f"recording the outcome of {name}")

    async def store_batch(self, name: str, batch: Batch) -> Written | None:
        """Write a poll's batch (an implausible live row is dropped with its reason) and say what
        it wrote; None when the database refused the write (logged; a full disk is watched)."""
        try:
            written = await self.store.call(batches.write, batch, live=True)
        except Exception as exc:
            self._write_failed(exc, f"storing {len(batch.observations) or len(batch.rows)} rows of {name}")
            return None
        self.storage.ok()
        res = written.observations
        if batch.observations:
            log.info("%s: %d rows (%d new, %d updated)", name, res.total, res.new, res.updated)
        for line in described(batch, written, log).splitlines():
            log.info("%s", line)
        return written

    def _poll_failed(self, name: str, error: str, now: datetime) -> None:
        """One WARNING when a source goes down; its further failures at DEBUG until it recovers."""
        self.poll_outcomes.setdefault(name, PollOutcome(False, error=error))
        if name in self.down_since:
            log.debug("%s (still failing)", error)
            return
        self.down_since[name] = now
        log.warning("%s", error)  # the repeats of this outage go to DEBUG, the recovery to INFO

    def _poll_ok(self, name: str, rows: int, now: datetime) -> None:
        self.poll_outcomes.setdefault(name, PollOutcome(True, rows=rows))
        since = self.down_since.pop(name, None)
        if since is not None:
            log.info("%s: reachable again after %s", name, human_duration((now - since).total_seconds()))

    async def ingest(self, observations: list[Any], signals: Sequence[str] = ()) -> None:
        await self.store.call(batches.write, Batch(tuple(observations)), live=True)
        self.storage.ok()
        if signals:
            await self.evaluate(signals)

    def storage_failed(self, exc: BaseException, what: str) -> None:
        """(:class:`bot.streams.LiveHost`) a write failed for want of storage: said once a minute."""
        self.storage.failed(exc, what)

    def storage_ok(self) -> None:
        self.storage.ok()

    def _write_failed(self, exc: Exception, what: str) -> None:
        from bot.dbwatch import is_storage_failure

        if is_storage_failure(exc):
            self.storage.failed(exc, what)
        else:
            log.error("%s failed: %r", what, exc, exc_info=exc)

    async def evaluate(self, signal_ids: Sequence[str]) -> bool:
        """Evaluate now; False when it could not run (logged; a storage failure is retried)."""
        signal_ids = [s for s in signal_ids if s not in self.streaming]
        try:
            evals = await self.store.call(self.pipeline.evaluate, list(signal_ids), self.clock.now())
        except Exception as exc:
            self._write_failed(exc, f"evaluation of {', '.join(signal_ids)}")
            return False
        # (not storage.ok(): an evaluation with nothing new writes little or nothing and proves
        # nothing; a stored batch says when the database can be written again)
        if any(e.events for e in evals.values()):
            self.dispatcher.kick()
        return True

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
        """Every minute: the proof of life ``health`` reads, and the canary of a failing disk."""
        try:
            await self.store.call(
                meta.put,
                "heartbeat",
                {"pid": os.getpid(), "mode": self.mode},
                to_epoch(self.clock.now()),
            )
        except Exception as exc:
            self._write_failed(exc, "the heartbeat")
            return
        # a small write proves little on a full disk (it may fit where a poll's batch does not);
        # written while no other write failed for a while, it says the trouble is over (quiet
        # days bring no batch that would say so)
        if self.storage.failing_since is not None and self.storage.quiet_for(HEALED_AFTER_S):
            self.storage.ok()

    async def integrity_check(self) -> bool:
        """The daily ``quick_check`` on a read-only connection beside the writer; True when sound."""
        from bot.dbwatch import damaged_text, record, run_check

        result = await self.store.read(run_check)
        with contextlib.suppress(Exception):
            await self.store.call(record, result, to_epoch(self.clock.now()))
        if result["ok"]:
            log.info("integrity check: ok (%.1f s)", result["seconds"])
        else:
            log.error("%s", damaged_text(self.settings.db_path, result["problems"]))
        return bool(result["ok"])

    async def post_summary(self) -> None:
        text = await self.store.read(summary_text, self.settings, self.clock.now())
        if not self.on_summary:
            print(text, flush=True)
        for cb in self.on_summary:
            res = cb(text)
            if asyncio.iscoroutine(res):
                await res

    async def chart_for_alert(self, alert: StoredAlert, days: int | None = None) -> bytes | None:
        """The chart of an alert as of its market time, with the alert point marked.

        Rendered once per event: every sink and channel that sends it at once shares one render.
        """
        if alert.kind != "alert":
            return None
        if days is None:
            task = self._chart_tasks.get(alert.id)
            if task is None:
                task = asyncio.ensure_future(self._chart_for_alert(alert))
                self._chart_tasks[alert.id] = task
                while len(self._chart_tasks) > 16:
                    self._chart_tasks.popitem(last=False)
            return await asyncio.shield(task)
        return await self._chart_for_alert(alert, days)

    async def _chart_for_alert(self, alert: StoredAlert, days: int | None = None) -> bytes | None:
        # on a read-only connection beside the database thread: the next alert's write (during a
        # cascade, moments later) never waits behind a chart
        data = await self.store.read(_alert_chart, self.settings, alert, days)
        return await self.renderer.render(data)


def _alert_chart(db: Database, settings: Settings, alert: StoredAlert, days: int | None) -> ChartData:
    """The signal's own chart of the alert, or its history chart as of the alert, marked."""
    if days is None:
        data = alert_chart_data(db, settings, alert)
        if data is not None:
            return data
        sig = registry().get(alert.signal)
        days = alert_chart_days_of(sig) if sig else 180
    at = from_epoch(alert.ts) + timedelta(seconds=1)
    return alert_chart(chart_data(db, settings, alert.signal, at, days), alert)


async def run_until_stopped(app: App, stop: asyncio.Event | None = None, initial_poll: bool = True) -> None:
    """Start ``app`` and run until SIGINT/SIGTERM/SIGHUP (or ``stop`` is set), then shut down cleanly."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await app.start(initial_poll=initial_poll)
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        await app.stop()
