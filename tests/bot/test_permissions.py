"""No configuration path changes anything for a user without Manage Server, or from a DM.

Every configuration subcommand (``/alerts``, ``/thresholds``, ``/quiet``, ``/summary schedule``
and ``unschedule``) is dispatched as a real interaction by a member without Manage Server and by
an admin in a DM; each is refused with a message that says why, and the configuration tables are
byte-for-byte unchanged afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.clock import SimClock
from storage import subscriptions
from tests.bot.discord_harness import TestBot, after_close, bot_settings, running_bot
from tests.fakediscord import DEFAULT_ADMIN, DEFAULT_MEMBER, Defaults, FakeDiscord, option, subcommand

pytestmark = pytest.mark.e2e

CONFIG_TABLES = ("subscriptions", "guild_settings", "guild_snoozes", "digests")


@pytest_asyncio.fixture
async def bot(fake_discord: FakeDiscord, tmp_path: Path) -> AsyncIterator[TestBot]:
    async with running_bot(
        fake_discord, bot_settings(tmp_path), clock=SimClock(after_close(date(2024, 3, 15)))
    ) as b:
        assert b.app is not None
        # some configuration exists, so removals are tested too
        await b.app.store.call(
            subscriptions.subscribe, Defaults.GUILD_ID, Defaults.ALERTS_CHANNEL_ID, "vix_term"
        )
        yield b


def _snapshot(db: Any) -> dict[str, list[tuple[Any, ...]]]:
    names = set(db.table_names())
    return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in CONFIG_TABLES if t in names}


def paths(fake: FakeDiscord) -> list[tuple[str, str, list[dict[str, Any]]]]:
    ch = fake.channel("alerts")
    return [
        (
            "alerts",
            "subscribe",
            [option("signal", "vix_term"), option("channel", ch), option("min_level", "watch")],
        ),
        ("alerts", "unsubscribe", [option("signal", "vix_term")]),
        ("alerts", "snooze", [option("signal", "vix_term"), option("duration", "2h")]),
        ("alerts", "unsnooze", []),
        ("alerts", "admin-channel", [option("channel", ch)]),
        ("alerts", "list", []),
        ("thresholds", "set", [option("signal", "vix_term"), option("key", "alert"), option("value", 1.2)]),
        ("thresholds", "reset", [option("signal", "vix_term")]),
        ("thresholds", "show", []),
        (
            "quiet",
            "set",
            [option("start", "22:00"), option("end", "07:00"), option("timezone", "Europe/London")],
        ),
        ("quiet", "off", []),
        ("summary", "schedule", [option("time", "08:30"), option("timezone", "UTC"), option("channel", ch)]),
        ("summary", "unschedule", []),
    ]


WHO: dict[str, Callable[[], dict[str, Any]]] = {
    "member without Manage Server": lambda: {"user": DEFAULT_MEMBER},
    "admin in a DM": lambda: {"user": DEFAULT_ADMIN, "dm": True},
}


@pytest.mark.parametrize("who", list(WHO))
async def test_every_configuration_path_is_refused(fake_discord: FakeDiscord, bot: TestBot, who: str) -> None:
    assert bot.app is not None
    before = await bot.app.store.call(_snapshot)
    for group, sub, opts in paths(fake_discord):
        rec = await fake_discord.invoke_slash_command(group, subcommand(sub, *opts), **WHO[who]())
        await fake_discord.wait_for_interaction_response(rec, timeout=10)
        msg = fake_discord.original_response(rec)
        assert msg is not None and msg.ephemeral, f"/{group} {sub}: the refusal must be private"
        text = msg.content
        if who.startswith("member"):
            assert "Manage Server" in text, f"/{group} {sub} ({who}): {text!r}"
        else:  # refused as a DM, or (a guild channel option in a DM) as an invalid channel
            assert "DM" in text or "server" in text or "not a valid channel" in text, (
                f"/{group} {sub}: {text!r}"
            )
        after = await bot.app.store.call(_snapshot)
        assert after == before, f"/{group} {sub} ({who}) changed the configuration"


async def test_summary_now_stays_open_to_everyone(fake_discord: FakeDiscord, bot: TestBot) -> None:
    rec = await fake_discord.invoke_slash_command("summary", subcommand("now"), user=DEFAULT_MEMBER)
    await fake_discord.wait_for_interaction_response(rec, timeout=10)
    assert [cb.type for cb in rec.callbacks] == [5]  # deferred: it is drawing, not refusing


def test_configuration_commands_default_to_manage_server() -> None:
    from bot.commands import build_commands

    perms = {c.name: c.default_permissions for c in build_commands()}
    for name in ("alerts", "thresholds", "quiet"):
        assert perms[name] is not None and perms[name].manage_guild, name
    assert perms["summary"] is None  # /summary now is for everyone; schedule is checked by the bot
