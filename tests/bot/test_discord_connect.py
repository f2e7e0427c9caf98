"""With a token set and Discord out of reach (no network, DNS, an outage), ``flowwatch run`` keeps
trying with backoff and says so once, instead of exiting with "Name or service not known".

The real discord.py client logs in first to a port where nothing listens (connection refused, as
without a network), then, once "the network is back", to the local fake Discord."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import discord
import pytest

from bot.discord_client import CONNECT_BACKOFF, login_with_retry
from tests.bot.discord_harness import TestBot, bot_settings
from tests.fakediscord import FakeDiscord


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
