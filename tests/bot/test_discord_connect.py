"""With a token set and Discord out of reach (no network, DNS, an outage), ``flowwatch run`` keeps
trying with backoff and says so once, instead of exiting with "Name or service not known".

The real discord.py client logs in first to a port where nothing listens (connection refused, as
without a network), then, once "the network is back", to the local fake Discord."""

from __future__ import annotations

import asyncio
import io
import logging
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import httpx
import pytest

from bot.clock import SimClock
from bot.discord_client import CONNECT_BACKOFF, login_with_retry
from storage import alerts as alert_repo
from storage.alerts import AlertEvent
from storage.db import open_db
from tests.bot.discord_harness import TestBot, bot_settings
from tests.fakediscord import Defaults, FakeDiscord


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_login_retries_with_backoff_until_discord_answers(
    fake_discord: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    up = discord.http.Route.BASE
    discord.http.Route.BASE = f"http://127.0.0.1:{_dead_port()}/api/v10"  # nothing listens there
    waits: list[float] = []

    async def sleep(delay: float) -> bool:
        waits.append(delay)
        if len(waits) == 4:
            discord.http.Route.BASE = up  # the network is back
        return False

    bot = TestBot(bot_settings(tmp_path), initial_poll=False, schedule=False)
    caplog.set_level(logging.DEBUG, logger="flowwatch.discord")
    try:
        async with bot:
            assert await login_with_retry(bot, fake_discord.token, sleep)
            assert bot.user is not None and bot.app is not None and bot.app.started  # setup_hook ran once
            await bot.close()
    finally:
        discord.http.Route.BASE = up
    assert waits == list(CONNECT_BACKOFF[:4])
    records = [r for r in caplog.records if r.name == "flowwatch.discord"]
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert (
        len(warnings) == 1 and warnings[0].startswith("cannot reach Discord (") and "retrying" in warnings[0]
    )
    assert sum("still unreachable" in r.getMessage() for r in records if r.levelno == logging.DEBUG) == 3
    assert any(r.getMessage() == "reached Discord after 5 attempt(s)" for r in records)


async def test_stop_while_waiting_and_a_bad_token_is_not_retried(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    up = discord.http.Route.BASE
    discord.http.Route.BASE = f"http://127.0.0.1:{_dead_port()}/api/v10"

    async def stop(delay: float) -> bool:
        return True  # Ctrl-C during the first wait

    bot = TestBot(bot_settings(tmp_path), initial_poll=False, schedule=False)
    try:
        async with bot:
            assert await login_with_retry(bot, fake_discord.token, stop) is False
            discord.http.Route.BASE = up
            with pytest.raises(discord.LoginFailure):
                await login_with_retry(bot, "not-the-token." + "x" * 40, stop)
    finally:
        discord.http.Route.BASE = up


async def until(cond: Callable[[], bool], limit: float = 30.0) -> None:
    """Yield to the other tasks until ``cond()`` holds (a safety limit, never a timed wait)."""
    async with asyncio.timeout(limit):
        while not cond():  # noqa: ASYNC110 - a condition other tasks make true
            await asyncio.sleep(0.01)


async def test_discord_unreachable_at_start_polls_report_and_the_webhook_go_on(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    """With a token and Discord's API out of reach, nothing polled, no report was printed and no
    alert went out on any sink until the login went through. Now the app starts at the first
    failed login: the start-up polls run, the report says Discord is unreachable, the webhook
    delivers; channel alerts wait (deferred, not failed) and go out once Discord answers."""
    fake = fake_discord
    hook = fake.add_webhook(Defaults.ALERTS_CHANNEL_ID)
    settings = bot_settings(tmp_path, DISCORD_WEBHOOK_URL=hook.url, FLOWWATCH_LIQ_VENUES="none")
    db = open_db(settings.db_path)
    ev = AlertEvent(
        "vix_term", "vix3m", "fired", "severe", 1_764_000_000, "Severe: VIX/VIX3M 1.214", value=1.214
    )
    alert_id = alert_repo.insert_event(db, "live", ev, ["webhook", f"discord:{Defaults.ALERTS_CHANNEL_ID}"])
    db.close()
    assert alert_id is not None
    fake.faults.disconnect("GET", "*users/@me", times=None)  # the login never gets an answer
    providers = httpx.AsyncClient(transport=httpx.MockTransport(lambda req: httpx.Response(503)))
    out = io.StringIO()
    clock = SimClock(datetime.now(UTC))

    async def no_wait(delay: float) -> None:  # the sources' backoff passes at once
        await asyncio.sleep(0)

    bot = TestBot(
        settings,
        initial_poll=True,
        schedule=False,
        report_stream=out,
        http_client=providers,
        clock=clock,
        sleep=no_wait,
    )
    seen: dict[str, Any] = {}

    async def sleep(delay: float) -> bool:
        if not seen:
            # the login has failed once: everything but Discord runs meanwhile
            await until(lambda: "Sources:" in out.getvalue())  # the start-up polls ran and reported
            await until(lambda: len(fake.messages(Defaults.ALERTS_CHANNEL_ID)) == 1)  # the webhook
            assert bot.user is None and bot.app is not None
            seen["report"] = out.getvalue()
            async with asyncio.timeout(30):  # the webhook's outcome is recorded (batched)
                while True:
                    seen["deliveries"] = await bot.app.store.call(alert_repo.deliveries_for, alert_id)
                    if any(d.status == "sent" for d in seen["deliveries"]):
                        break
                    await asyncio.sleep(0.01)
            fake.faults.clear()  # Discord answers again
        return False

    try:
        async with bot:
            assert await login_with_retry(bot, fake.token, sleep)
            app = bot.app
            assert app is not None and bot.user is not None
            clock.advance(timedelta(seconds=61))  # the channel delivery's deferral ends
            app.dispatcher.kick()
            # the channel alert, held while Discord was out of reach, goes out now
            await until(lambda: len(fake.messages(Defaults.ALERTS_CHANNEL_ID)) == 2)
            async with asyncio.timeout(30):
                while True:
                    after = await app.store.call(alert_repo.deliveries_for, alert_id)
                    if {d.status for d in after} == {"sent"}:
                        break
                    await asyncio.sleep(0.01)
            await bot.close()
    finally:
        await providers.aclose()
    report = seen["report"]
    assert "DISCORD IS UNREACHABLE" in report and "channel alerts wait" in report, report
    assert "NOTHING IS REACHABLE" in report  # the polls ran (and, offline here, failed)
    by_dest = {d.destination: d for d in seen["deliveries"]}
    assert by_dest["webhook"].status == "sent"
    held = by_dest[f"discord:{Defaults.ALERTS_CHANNEL_ID}"]
    assert held.status == "pending" and held.attempts == 0  # deferred, not a failed attempt
    assert {d.status for d in after} == {"sent"}
