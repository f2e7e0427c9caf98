"""Helpers for tests of the Discord layer: the real bot against the local fake Discord.

``running_bot(fake, settings)`` starts :class:`bot.discord_client.FlowwatchBot` (its App, the
channel sink, the router) against a started :class:`tests.fakediscord.FakeDiscord`;
``vix_history`` builds Cboe-like closes whose last days invert the curve, so the real signal
and engine fire real alerts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.clock import SimClock
from bot.config import Settings, load_settings
from bot.discord_client import FlowwatchBot
from signals import tradingcal
from storage.alerts import AlertEvent
from storage.observations import Observation
from storage.timeutil import NEW_YORK, day_epoch
from tests.fakediscord import FAST_GUILD_READY_TIMEOUT, FakeDiscord, running_client

ALERT_RATIO = (20.0, 19.0)  # VIX/VIX3M 1.053: alert
SEVERE_RATIO = (22.0, 19.0)  # 1.158: severe
CALM_RATIO = (15.0, 17.0)  # 0.882: ok


class TestBot(FlowwatchBot):
    """The real bot; only discord.py's 5 s pause before a repeated IDENTIFY is skipped."""

    __test__ = False

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


def bot_settings(tmp_path: Path, **env: str) -> Settings:
    return load_settings(env={"FLOWWATCH_DB": str(tmp_path / "bot.db"), **env}, dotenv=None)


@asynccontextmanager
async def running_bot(fake: FakeDiscord, settings: Settings, **kwargs: Any) -> AsyncIterator[TestBot]:
    kwargs.setdefault("initial_poll", False)
    kwargs.setdefault("schedule", False)
    bot = TestBot(settings, guild_ready_timeout=FAST_GUILD_READY_TIMEOUT, **kwargs)
    async with running_client(bot, fake):
        yield bot


def sessions(end: date, n: int) -> list[date]:
    days = tradingcal.sessions_between(end - timedelta(days=n * 2 + 10), end)
    return days[-n:]


def after_close(d: date) -> datetime:
    """17:30 New York on ``d``: the day's Cboe close is out, so the data is fresh."""
    return (
        datetime.combine(d, datetime.min.time(), tzinfo=NEW_YORK).replace(hour=17, minute=30).astimezone(UTC)
    )


def vix_history(days: Sequence[date], ratios: Sequence[tuple[float, float]]) -> list[Observation]:
    """Closes for each day (VIX, VIX3M); ``ratios`` aligns with the last days, calm before."""
    out = []
    pad = [CALM_RATIO] * (len(days) - len(ratios)) + list(ratios)
    for d, (vix, vix3m) in zip(days, pad, strict=True):
        ts = day_epoch(d)
        out += [
            Observation("cboe.vix.close", ts, vix, "cboe"),
            Observation("cboe.vix3m.close", ts, vix3m, "cboe"),
        ]
    return out


async def fire_vix(
    bot: FlowwatchBot, clock: SimClock, end: date, ratios: Sequence[tuple[float, float]]
) -> None:
    """Store closes ending at ``end`` and evaluate live after each of the last ``len(ratios)`` closes.

    Live evaluation steps one reading per evaluation, as after each daily poll, so the
    confirm rule (two closes) needs two evaluations to fire.
    """
    assert bot.app is not None
    days = sessions(end, 40)
    await bot.app.ingest(vix_history(days, ratios))
    for d in days[-len(ratios) :]:
        clock.set(after_close(d))
        await bot.app.evaluate(["vix_term"])


def event(
    i: int, *, level: str = "alert", ev: str = "fired", key: str = "vix3m", ts: int | None = None
) -> AlertEvent:
    """A hand-made outbox event (for sink tests that need many at once)."""
    t = ts if ts is not None else 1_700_000_000 + i * 60
    return AlertEvent(
        signal="vix_term",
        key=key,
        event=ev,
        level=level,
        prev_level="ok",
        ts=t,
        summary=f"test event {i}",
        value=1.0 + i / 1000,
        fields={"VIX / VIX3M": f"{1.0 + i / 1000:.3f}"},
        source="Cboe daily close",
        as_of=t,
        episode=f"vix_term:{key}:{t}",
    )


async def settle(bot: FlowwatchBot) -> None:
    """Wait for the dispatcher's drain in progress (it holds a lock), then drain what is due."""
    assert bot.app is not None
    await bot.app.dispatcher.drain_once()


async def subscribe(
    bot: FlowwatchBot,
    channel_id: int,
    *,
    min_level: str = "alert",
    role: int | None = None,
    guild_id: int | None = None,
) -> None:
    """A subscription written straight to the database (as ``/alerts subscribe`` would)."""
    from storage import subscriptions
    from tests.fakediscord import Defaults

    assert bot.app is not None
    await bot.app.store.call(
        subscriptions.subscribe, guild_id or Defaults.GUILD_ID, channel_id, "vix_term", min_level, role, None
    )


async def insert_events(
    bot: FlowwatchBot,
    events: Sequence[AlertEvent],
    destinations: Sequence[str] | None,
    *,
    router: Any = None,
) -> list[int]:
    """Write events to the outbox (to ``destinations``, or where ``router`` sends them), then kick."""
    from storage import alerts as alert_repo
    from storage.timeutil import to_epoch

    assert bot.app is not None
    now = to_epoch(bot.now())

    def write(db: Any) -> list[int]:
        ids = []
        with db.atomic():
            for ev in events:
                dests, held = router(db, "live", ev) if router is not None else (list(destinations or []), [])
                alert_id = alert_repo.insert_event(db, "live", ev, dests, now=now, held=held)
                assert alert_id is not None
                ids.append(alert_id)
        return ids

    ids = await bot.app.store.call(write)
    bot.app.dispatcher.kick()
    return ids
