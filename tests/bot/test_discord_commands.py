"""Slash commands through the real CommandTree: real INTERACTION_CREATE payloads from the fake.

Option parsing, our own validation (Discord does not enforce ``Range`` or choices), the
Manage Server checks, the cooldown and the one error handler.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.clock import SimClock
from signals import registry
from storage import guild_settings, guild_state, subscriptions
from tests.bot.discord_harness import (
    ALERT_RATIO,
    TestBot,
    after_close,
    bot_settings,
    running_bot,
    sessions,
    vix_history,
)
from tests.fakediscord import (
    DEFAULT_ADMIN,
    DEFAULT_MEMBER,
    Defaults,
    FakeDiscord,
    InteractionRecord,
    option,
    subcommand,
)

pytestmark = pytest.mark.e2e

PNG = b"\x89PNG\r\n\x1a\n"
END = date(2024, 3, 15)
DEFERRED, MESSAGE = 5, 4
EPHEMERAL = 1 << 6


@pytest_asyncio.fixture
async def bot(fake_discord: FakeDiscord, tmp_path: Path) -> AsyncIterator[TestBot]:
    clock = SimClock(after_close(END))
    async with running_bot(fake_discord, bot_settings(tmp_path), clock=clock, schedule=True) as b:
        assert b.app is not None
        await b.app.ingest(vix_history(sessions(END, 400), [ALERT_RATIO] * 3))
        yield b


async def run(fake: FakeDiscord, name: str, *options: dict[str, Any], **kw: Any) -> InteractionRecord:
    """Invoke and wait for the answer: the reply itself, or the defer and its first follow-up
    (which replaces the "thinking…" message: ``answer`` reads it there)."""
    rec = await fake.invoke_slash_command(name, *options, **kw)
    await fake.wait_for_interaction_response(rec, timeout=10)
    if rec.callbacks and rec.callbacks[0].type == DEFERRED:
        await fake.wait_for_followup(rec, timeout=10)
    return rec


def kinds(rec: InteractionRecord) -> list[int]:
    """The interaction's responses: ``[MESSAGE]`` answered at once, ``[DEFERRED]`` "thinking…"."""
    return [cb.type for cb in rec.callbacks]


def answer(fake: FakeDiscord, rec: InteractionRecord) -> tuple[str, bool]:
    msg = fake.original_response(rec)
    assert msg is not None
    return msg.content, msg.ephemeral


async def db(bot: TestBot, fn: Any, *args: Any) -> Any:
    assert bot.app is not None
    return await bot.app.store.call(fn, *args)


# --- charts -----------------------------------------------------------------------------------


async def test_vix_defers_then_follows_up_with_the_chart(fake_discord: FakeDiscord, bot: TestBot) -> None:
    rec = await run(fake_discord, "vix", option("days", 365), user=DEFAULT_MEMBER)
    followup = await fake_discord.wait_for_followup(rec, timeout=10)
    assert [cb.type for cb in rec.callbacks] == [DEFERRED]
    assert followup.id == rec.original_message_id and not followup.loading and not followup.ephemeral
    png = followup.attachment("vix_term-365d.png")
    assert png.data.startswith(PNG) and png.width == 1000
    embed = followup.embed
    assert embed is not None and embed["title"] == "🟠 VIX term structure · last 365 days"
    assert embed["image"]["url"].endswith("/vix_term-365d.png")
    assert "1.053" in embed["fields"][0]["value"]


async def test_chart_any_signal_and_default_days(fake_discord: FakeDiscord, bot: TestBot) -> None:
    rec = await run(fake_discord, "chart", option("signal", "vix_term"))
    followup = await fake_discord.wait_for_followup(rec, timeout=10)
    assert followup.attachment("vix_term-365d.png").data.startswith(PNG)


@pytest.mark.parametrize(
    ("name", "options", "needle"),
    [
        ("vix", [option("days", 5000)], "`days` must be from 7 to 3650 days (you gave 5000)"),
        ("vix", [option("days", 3)], "`days` must be from 7 to 3650 days (you gave 3)"),
        ("vix", [option("days", "lots", type=4)], "`days` must be a whole number from 7 to 3650 days"),
        ("chart", [option("signal", "gold")], "Unknown signal `gold`; available: "),
        ("history", [option("days", 0)], "`days` must be from 1 to 365 days"),
    ],
)
async def test_bad_options_get_a_message_that_says_what_is_allowed(
    fake_discord: FakeDiscord, bot: TestBot, name: str, options: list[dict[str, Any]], needle: str
) -> None:
    rec = await run(fake_discord, name, *options)
    content, ephemeral = answer(fake_discord, rec)
    assert [cb.type for cb in rec.callbacks] == [MESSAGE]  # refused before deferring
    assert needle in content and ephemeral
    if "Unknown signal" in needle:
        assert all(f"`{s}`" in content for s in registry())


async def test_chart_cooldown_per_user(fake_discord: FakeDiscord, bot: TestBot) -> None:
    first = await run(fake_discord, "vix", option("days", 30), user=DEFAULT_MEMBER)
    await fake_discord.wait_for_followup(first, timeout=10)
    second = await run(fake_discord, "vix", option("days", 30), user=DEFAULT_MEMBER)
    content, ephemeral = answer(fake_discord, second)
    assert content.startswith("Slow down") and ephemeral
    other = await run(fake_discord, "vix", option("days", 30), user=DEFAULT_ADMIN)  # another user is fine
    assert [cb.type for cb in other.callbacks] == [DEFERRED]
    await fake_discord.wait_for_followup(other, timeout=10)


async def test_status_and_history(fake_discord: FakeDiscord, bot: TestBot) -> None:
    rec = await run(fake_discord, "status", user=DEFAULT_MEMBER)
    msg = await fake_discord.wait_for_followup(rec, timeout=10)
    assert [cb.type for cb in rec.callbacks] == [DEFERRED]  # answered before any database work
    assert msg.id == rec.original_message_id and msg.embed is not None
    field = next(f for f in msg.embed["fields"] if "VIX / VIX3M" in f["name"])
    assert field["name"] == "🟠 VIX term structure · VIX / VIX3M"
    assert "**1.053** (Alert)" in field["value"] and "to Severe" in field["value"] and "<t:" in field["value"]
    rec = await run(fake_discord, "history", option("days", 30))
    msg = await fake_discord.wait_for_followup(rec, timeout=10)
    assert [cb.type for cb in rec.callbacks] == [DEFERRED]
    assert msg.embed is not None and msg.embed["title"].startswith("Alert history")


async def test_unexpected_error_short_message_for_user_traceback_in_log(
    fake_discord: FakeDiscord, bot: TestBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any) -> Any:
        raise RuntimeError("database on fire")

    monkeypatch.setattr("bot.commands.status.status", broken)
    with caplog.at_level(logging.ERROR, logger="flowwatch.commands"):
        rec = await run(fake_discord, "status")
        # /status defers before reading: the short message follows up the deferred answer
        msg = await fake_discord.wait_for_followup(rec, timeout=10)
    content = msg.content
    assert content.startswith("Something went wrong on our side")
    assert "database on fire" not in content
    assert any("database on fire" in (r.exc_text or "") for r in caplog.records)


# --- configuration and permissions ---------------------------------------------------------------


async def test_non_admin_subscribe_is_refused_and_changes_nothing(
    fake_discord: FakeDiscord, bot: TestBot
) -> None:
    rec = await run(
        fake_discord,
        "alerts",
        subcommand(
            "subscribe", option("signal", "vix_term"), option("channel", fake_discord.channel("alerts"))
        ),
        user=DEFAULT_MEMBER,
    )
    content, ephemeral = answer(fake_discord, rec)
    assert ephemeral and "Manage Server" in content and "nothing was changed" in content
    assert kinds(rec) == [MESSAGE]  # refused before any defer
    assert await db(bot, subscriptions.list_subscriptions) == []


async def test_configuration_in_dms_is_refused(fake_discord: FakeDiscord, bot: TestBot) -> None:
    rec = await run(fake_discord, "alerts", subcommand("list"), dm=True, user=DEFAULT_ADMIN)
    content, _ = answer(fake_discord, rec)
    assert "server" in content and "DM" in content


async def test_admin_subscribes_with_role_and_lists(fake_discord: FakeDiscord, bot: TestBot) -> None:
    trader = fake_discord.guild.role_named("Trader")
    rec = await run(
        fake_discord,
        "alerts",
        subcommand(
            "subscribe",
            option("signal", "vix_term"),
            option("channel", fake_discord.channel("alerts")),
            option("min_level", "watch"),
            option("role", trader),
        ),
        user=DEFAULT_ADMIN,
    )
    content, ephemeral = answer(fake_discord, rec)
    assert kinds(rec) == [DEFERRED]  # answered before the write (3-second deadline)
    assert ephemeral and content.startswith("✅ VIX term structure alerts from **watch** up")
    assert "not mentionable" in content  # the Trader role cannot be pinged as configured
    subs = await db(bot, subscriptions.list_subscriptions, Defaults.GUILD_ID)
    assert [(s.channel_id, s.signal, s.min_level, s.role_id) for s in subs] == [
        (Defaults.ALERTS_CHANNEL_ID, "vix_term", "watch", trader.id)
    ]
    rec = await run(fake_discord, "alerts", subcommand("list"), user=DEFAULT_ADMIN)
    msg = await fake_discord.wait_for_followup(rec, timeout=10)
    assert [cb.type for cb in rec.callbacks] == [DEFERRED]  # before its reads (3-second deadline)
    assert msg.ephemeral and msg.embed is not None
    assert f"<#{Defaults.ALERTS_CHANNEL_ID}>" in msg.embed["description"]


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ([option("signal", "gold"), option("channel", "alerts")], "Unknown signal `gold`"),
        (
            [option("signal", "vix_term"), option("channel", "alerts"), option("min_level", "panic")],
            "Unknown level",
        ),
        ([option("signal", "vix_term"), option("channel", "readonly")], "I am missing Send Messages"),
    ],
)
async def test_subscribe_validates_every_option(
    fake_discord: FakeDiscord, bot: TestBot, options: list[dict[str, Any]], needle: str
) -> None:
    opts = [
        option("channel", fake_discord.channel(o["value"])) if o["name"] == "channel" else o for o in options
    ]
    rec = await run(fake_discord, "alerts", subcommand("subscribe", *opts), user=DEFAULT_ADMIN)
    content, ephemeral = answer(fake_discord, rec)
    assert needle in content and ephemeral and kinds(rec) == [MESSAGE]  # at once, no "thinking…"
    if "Unknown signal" in needle:
        assert all(f"`{s}`" in content for s in registry())
    assert await db(bot, subscriptions.list_subscriptions) == []


async def test_snooze_and_unsnooze(fake_discord: FakeDiscord, bot: TestBot) -> None:
    bad = await run(
        fake_discord,
        "alerts",
        subcommand("snooze", option("signal", "vix_term"), option("duration", "forever")),
    )
    assert "is not a duration" in answer(fake_discord, bad)[0] and kinds(bad) == [MESSAGE]
    rec = await run(
        fake_discord, "alerts", subcommand("snooze", option("signal", "vix_term"), option("duration", "90m"))
    )
    assert answer(fake_discord, rec)[0].startswith(
        "🔕 VIX term structure is snoozed in this server for 90 min"
    )
    assert kinds(rec) == [DEFERRED] and answer(fake_discord, rec)[1]
    now = int(bot.now().timestamp())
    assert await db(bot, guild_state.active_snoozes, Defaults.GUILD_ID, now) == {"vix_term": now + 5400}
    rec = await run(fake_discord, "alerts", subcommand("unsnooze"))
    assert "on again" in answer(fake_discord, rec)[0]
    assert kinds(rec) == [DEFERRED] and answer(fake_discord, rec)[1]
    assert await db(bot, guild_state.active_snoozes, Defaults.GUILD_ID, now) == {}


async def test_thresholds_set_validates_per_key(fake_discord: FakeDiscord, bot: TestBot) -> None:
    seen: list[int] = []

    async def set_(key: str, value: float) -> str:
        rec = await run(
            fake_discord,
            "thresholds",
            subcommand("set", option("signal", "vix_term"), option("key", key), option("value", value)),
        )
        content, ephemeral = answer(fake_discord, rec)
        assert ephemeral
        seen[:] = kinds(rec)
        return content

    assert (
        "no per-server threshold `confirm`; allowed: `watch`, `alert`, `severe`, `front_watch`"
        in await set_("confirm", 3.0)
    )
    assert seen == [MESSAGE]  # a bad key or value needs no database: refused at once
    assert "out of range (allowed 0.5 to 2)" in await set_("alert", 9.0)
    assert seen == [MESSAGE]
    assert "Levels must rise" in await set_("alert", 1.2)  # above severe (1.1)
    assert seen == [DEFERRED]  # that rule needs the server's other overrides: read after the defer
    assert (await set_("alert", 1.05)).startswith(
        "✅ VIX term structure `alert` is 1.05 in this server (global 1)"
    )
    stored = await db(bot, guild_settings.get_value, Defaults.GUILD_ID, "thresholds:vix_term")
    assert stored == {"alert": 1.05}
    rec = await run(fake_discord, "thresholds", subcommand("show", option("signal", "vix_term")))
    msg = await fake_discord.wait_for_followup(rec, timeout=10)
    assert [cb.type for cb in rec.callbacks] == [DEFERRED]  # before its read (3-second deadline)
    assert msg.ephemeral and msg.embed is not None
    assert "`alert` 1 → **1.05** here" in msg.embed["fields"][0]["value"]
    assert "`confirm` 2 *(global only)*" in msg.embed["fields"][0]["value"]
    rec = await run(fake_discord, "thresholds", subcommand("reset", option("signal", "vix_term")))
    assert "Removed 1 override" in answer(fake_discord, rec)[0]
    assert kinds(rec) == [DEFERRED] and answer(fake_discord, rec)[1]


async def test_thresholds_key_autocomplete_follows_the_signal(
    fake_discord: FakeDiscord, bot: TestBot
) -> None:
    payload = fake_discord.build_autocomplete(
        "thresholds", subcommand("set", option("signal", "vix_term"), option("key", "al", focused=True))
    )
    rec = await fake_discord.dispatch_interaction(payload)
    await fake_discord.wait_for_interaction_response(rec, timeout=10)
    assert [c["value"] for c in rec.autocomplete_choices] == ["alert"]
    assert rec.autocomplete_choices[0]["name"] == "alert (allowed 0.5 to 2)"


async def test_quiet_hours_commands(fake_discord: FakeDiscord, bot: TestBot) -> None:
    bad = await run(fake_discord, "quiet", subcommand("set", option("start", "10pm"), option("end", "07:00")))
    assert "use HH:MM" in answer(fake_discord, bad)[0] and kinds(bad) == [MESSAGE]
    tz_bad = await run(
        fake_discord,
        "quiet",
        subcommand("set", option("start", "22:00"), option("end", "07:00"), option("timezone", "Mars/Base")),
    )
    assert "Unknown timezone 'Mars/Base'" in answer(fake_discord, tz_bad)[0] and kinds(tz_bad) == [MESSAGE]
    rec = await run(
        fake_discord,
        "quiet",
        subcommand(
            "set", option("start", "22:00"), option("end", "07:00"), option("timezone", "Europe/London")
        ),
    )
    assert answer(fake_discord, rec)[0].startswith("🌙 Quiet hours 22:00–07:00 Europe/London")
    assert kinds(rec) == [DEFERRED] and answer(fake_discord, rec)[1]
    stored = await db(bot, guild_settings.get_value, Defaults.GUILD_ID, "quiet")
    assert stored == {"start": "22:00", "end": "07:00", "tz": "Europe/London"}

    async def show() -> str:
        rec = await run(fake_discord, "quiet", subcommand("show"))
        msg = await fake_discord.wait_for_followup(rec, timeout=10)
        assert [cb.type for cb in rec.callbacks] == [DEFERRED] and msg.ephemeral
        return msg.content

    assert (await show()).startswith("Quiet hours: 22:00–07:00 Europe/London")
    rec = await run(fake_discord, "quiet", subcommand("off"))
    assert answer(fake_discord, rec) == ("Quiet hours are off; anything held is posted now.", True)
    assert kinds(rec) == [DEFERRED]
    assert await db(bot, guild_settings.get_value, Defaults.GUILD_ID, "quiet") is None
    assert await show() == "Quiet hours are off."


async def test_summary_now_for_everyone_with_dashboard(fake_discord: FakeDiscord, bot: TestBot) -> None:
    rec = await run(fake_discord, "summary", subcommand("now"), user=DEFAULT_MEMBER)
    followup = await fake_discord.wait_for_followup(rec, timeout=10)
    assert [cb.type for cb in rec.callbacks] == [DEFERRED]
    embed = followup.embed
    assert embed is not None and embed["title"].startswith("flowwatch daily summary")
    assert "🟠 **VIX term structure · VIX / VIX3M**" in embed["description"]
    assert followup.attachment("dashboard.png").data.startswith(PNG)


async def test_summary_schedule_needs_manage_server_and_builds_a_job(
    fake_discord: FakeDiscord, bot: TestBot
) -> None:
    opts = subcommand(
        "schedule",
        option("time", "08:30"),
        option("timezone", "Europe/London"),
        option("channel", fake_discord.channel("general")),
    )
    refused = await run(fake_discord, "summary", opts, user=DEFAULT_MEMBER)
    assert "Manage Server" in answer(fake_discord, refused)[0] and kinds(refused) == [MESSAGE]
    assert await db(bot, guild_settings.get_value, Defaults.GUILD_ID, "summary") is None
    rec = await run(fake_discord, "summary", opts, user=DEFAULT_ADMIN)
    content, ephemeral = answer(fake_discord, rec)
    assert kinds(rec) == [DEFERRED] and ephemeral
    # 2024-03-15 after the close: next 08:30 London is 2024-03-16 08:30 GMT
    assert content.startswith("🗓️ Daily summary at 08:30 Europe/London") and "<t:1710577800:F>" in content
    assert bot.app is not None and bot.app.scheduler is not None
    job = bot.app.scheduler.get_job(f"guild-summary:{Defaults.GUILD_ID}")
    assert job is not None and str(job.trigger.timezone) == "Europe/London"
    rec = await run(fake_discord, "summary", subcommand("unschedule"), user=DEFAULT_ADMIN)
    assert answer(fake_discord, rec) == ("The daily summary is off for this server.", True)
    assert bot.app.scheduler.get_job(f"guild-summary:{Defaults.GUILD_ID}") is None


async def test_scheduled_summary_posts_text_and_dashboard(fake_discord: FakeDiscord, bot: TestBot) -> None:
    await db(
        bot,
        guild_settings.set_value,
        Defaults.GUILD_ID,
        "summary",
        {"time": "08:30", "tz": "UTC", "channel": Defaults.GENERAL_CHANNEL_ID},
    )
    await db(bot, guild_state.snooze, Defaults.GUILD_ID, "vix_term", int(bot.now().timestamp()) + 3600, 1, 0)
    msg_id = await bot.post_guild_summary(Defaults.GUILD_ID)
    msg = fake_discord.get_message(int(msg_id or 0))
    assert msg.channel_id == Defaults.GENERAL_CHANNEL_ID and msg.embed is not None
    names = [f["name"] for f in msg.embed["fields"]]
    assert names[:2] == ["Alerts in the last 24 h", "Snoozed in this server"]
    assert msg.attachment("dashboard.png").data.startswith(PNG)


def test_dates() -> None:
    assert datetime(2024, 3, 16, 8, 30, tzinfo=UTC).timestamp() == 1710577800


async def test_a_signal_command_is_one_factory_call(fake_discord: FakeDiscord, bot: TestBot) -> None:
    from bot.commands._charts import signal_chart_command

    bot.tree.add_command(signal_chart_command("term", "vix_term", "The VIX term structure", default_days=90))
    rec = await run(fake_discord, "term", user=DEFAULT_MEMBER)
    followup = await fake_discord.wait_for_followup(rec, timeout=10)
    assert followup.attachment("vix_term-90d.png").data.startswith(PNG)
    bad = await run(fake_discord, "term", option("days", 1), user=DEFAULT_ADMIN)
    assert "`days` must be from 7 to 3650 days" in answer(fake_discord, bad)[0]
