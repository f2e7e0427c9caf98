"""The schedule, declared in code: source polls, re-evaluation, heartbeat, summary.

APScheduler 3.x ``AsyncIOScheduler`` with ``coalesce=True, max_instances=1`` and a 60 s
misfire grace time; job errors and misses are logged, never fatal.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from signals import sources

if TYPE_CHECKING:
    from bot.runner import App

log = logging.getLogger("flowwatch.scheduler")

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 60}


def _on_job_event(event: JobExecutionEvent) -> None:
    if event.code == EVENT_JOB_MISSED:
        log.warning("job %s missed its run time %s", event.job_id, event.scheduled_run_time)
    elif event.exception is not None:
        log.error("job %s failed: %r", event.job_id, event.exception)


def _stops_quietly(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """A job that a stop (Ctrl-C, SIGTERM) cancels mid-run ends quietly: APScheduler would log the
    cancellation as "Job ... raised an exception" with a traceback, and the listener as a failure."""

    @functools.wraps(fn)
    async def job(*args: Any) -> Any:
        try:
            return await fn(*args)
        except asyncio.CancelledError:
            log.debug("job %s stopped by the shutdown", getattr(fn, "__name__", fn))
            return None

    return job


def build_scheduler(app: App) -> AsyncIOScheduler:
    sched = AsyncIOScheduler(job_defaults=JOB_DEFAULTS, timezone="UTC")
    sched.add_listener(_on_job_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    for poll in sources.polls():
        kwargs = dict(poll.trigger)
        trigger = kwargs.pop("trigger")
        sched.add_job(
            _stops_quietly(app.run_poll),
            trigger,
            args=[poll],
            id=f"poll:{poll.name}",
            name=poll.description or poll.name,
            **kwargs,
        )
    sched.add_job(
        _stops_quietly(app.evaluate_all),
        "interval",
        minutes=15,
        id="evaluate",
        name="re-evaluate every signal",
    )
    sched.add_job(_stops_quietly(app.heartbeat), "interval", seconds=60, id="heartbeat", name="heartbeat")
    sched.add_job(_stops_quietly(app.prune), "cron", hour=4, minute=17, id="prune", name="retention pruning")
    sched.add_job(
        _stops_quietly(app.integrity_check),
        "cron",
        hour=4,
        minute=47,
        id="integrity",
        name="database integrity check",
    )
    if app.settings.deadman_url:
        sched.add_job(
            _stops_quietly(app.deadman_ping),
            "interval",
            minutes=app.settings.deadman_minutes,
            id="deadman",
            name="dead-man ping",
        )
    if app.settings.summary_time is not None:
        t = app.settings.summary_time
        sched.add_job(
            _stops_quietly(app.post_summary),
            "cron",
            hour=t.hour,
            minute=t.minute,
            timezone=app.settings.timezone,
            id="summary",
            name="daily summary",
        )
    return sched
