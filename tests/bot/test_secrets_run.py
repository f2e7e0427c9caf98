"""The token and the webhook URL never appear in logs, error messages or ``/status`` output.

A whole run with a fake token and webhook: start-up with logging set up as ``flowwatch run``
does, alerts delivered to a channel and to the webhook, a failing webhook (5xx, then 404),
``/status``, ``/alerts list``, an internal error in a command. Every captured log line, every
message the fake received and every interaction answer is searched for the secrets.
"""

from __future__ import annotations

import io
import logging
import sys
from datetime import date
from pathlib import Path

import pytest

from bot.clock import SimClock
from bot.logs import add_secrets, setup_logging
from storage import subscriptions
from tests.bot.discord_harness import (
    ALERT_RATIO,
    after_close,
    bot_settings,
    running_bot,
    sessions,
    vix_history,
)
from tests.fakediscord import DEFAULT_ADMIN, DEFAULT_MEMBER, Defaults, FakeDiscord, subcommand

pytestmark = pytest.mark.e2e

END = date(2024, 3, 15)


async def test_whole_run_never_shows_the_token_or_webhook(
    fake_discord: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = fake_discord.add_webhook(Defaults.ALERTS_CHANNEL_ID)
    token, url = fake_discord.token, hook.url
    webhook_token = url.rsplit("/", 1)[-1]
    settings = bot_settings(tmp_path, DISCORD_TOKEN=token, DISCORD_WEBHOOK_URL=url)
    buf = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buf)
    setup_logging("DEBUG", [])  # as `flowwatch run` starts: before settings are read ...
    add_secrets(settings.secrets())  # ... then every secret from the settings
    log = logging.getLogger("flowwatch.test")
    try:
        async with running_bot(fake_discord, settings, clock=SimClock(after_close(END))) as bot:
            assert bot.app is not None
            await bot.app.store.call(
                subscriptions.subscribe, Defaults.GUILD_ID, Defaults.ALERTS_CHANNEL_ID, "vix_term", "watch"
            )
            fake_discord.faults.server_error("POST", "/webhooks/*", times=1)
            await bot.app.ingest(vix_history(sessions(END, 200), [ALERT_RATIO] * 3), ["vix_term"])
            await bot.app.dispatcher.drain_once()
            await fake_discord.wait_until(
                lambda: len(fake_discord.messages(Defaults.ALERTS_CHANNEL_ID)) >= 1, timeout=10
            )
            for name, sub in (("status", None), ("alerts", "list")):
                opts = [subcommand(sub)] if sub else []
                rec = await fake_discord.invoke_slash_command(name, *opts, user=DEFAULT_ADMIN)
                await fake_discord.wait_for_interaction_response(rec, timeout=10)
            # an internal error inside a command: the message is short, the log has the traceback
            boom = RuntimeError(
                f"could not reach https://discord.com/api/webhooks/1/{webhook_token} with {token}"
            )

            def broken(*_a: object) -> None:
                raise boom

            monkeypatch.setattr("bot.commands.status.status", broken, raising=False)
            rec = await fake_discord.invoke_slash_command("status", user=DEFAULT_MEMBER)
            await fake_discord.wait_for_interaction_response(rec, timeout=10)
            log.error("a log line that quotes the secrets: %s %s", token, url)
            # the webhook is deleted: the sink gives up (its error names the webhook, not its token)
            fake_discord.faults.not_found("POST", "/webhooks/*", times=5)
            later = date(2024, 3, 28)
            bot.app.clock.set(after_close(later))  # type: ignore[attr-defined]
            await bot.app.ingest(vix_history(sessions(later, 210), [(14.0, 20.0)] * 8), ["vix_term"])
            await bot.app.dispatcher.drain_once()
    finally:
        for h in list(logging.getLogger().handlers):
            if getattr(h, "_flowwatch", False):
                logging.getLogger().removeHandler(h)
    logs = buf.getvalue()
    assert "ERROR" in logs and "***" in logs  # the run did log errors, redacted
    texts = [logs]
    for ch in fake_discord.channels:
        for m in fake_discord.messages(ch):
            texts.append(repr(m.content) + repr(m.embeds))
    for rec in fake_discord.interactions.values():
        m = fake_discord.original_response(rec)
        if m is not None:
            texts.append(repr(m.content) + repr(m.embeds))
    blob = "\n".join(texts)
    assert token not in blob
    assert webhook_token not in blob
    assert token.split(".")[0] not in blob  # not even the token's first segment (the bot id in base64)
