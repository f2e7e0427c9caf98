"""Alert buttons as persistent dynamic items: clicks on a message from a previous run still work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.clock import SimClock
from bot.discord_embeds import alert_embed
from bot.discord_views import alert_view
from storage import alerts as alert_repo
from storage import guild_state
from storage.timeutil import to_epoch
from tests.bot.discord_harness import (
    ALERT_RATIO,
    TestBot,
    after_close,
    bot_settings,
    event,
    running_bot,
    sessions,
    vix_history,
)
from tests.fakediscord import DEFAULT_ADMIN, DEFAULT_MEMBER, Defaults, FakeDiscord, StoredMessage

pytestmark = pytest.mark.e2e

END = date(2024, 3, 15)
PNG = b"\x89PNG\r\n\x1a\n"
DEFERRED_UPDATE = 6  # the component defer: the clicked message stays as it is


@pytest_asyncio.fixture
async def bot(fake_discord: FakeDiscord, tmp_path: Path) -> AsyncIterator[TestBot]:
    clock = SimClock(after_close(END))
    async with running_bot(fake_discord, bot_settings(tmp_path), clock=clock) as b:
        assert b.app is not None
        await b.app.ingest(vix_history(sessions(END, 200), [ALERT_RATIO] * 3))
        yield b


async def old_alert_message(fake: FakeDiscord, bot: TestBot) -> tuple[int, StoredMessage]:
    """An alert and its message as a previous run of the bot left them (no view in memory)."""
    assert bot.app is not None
    ev = event(1)
    alert_id = await bot.app.store.call(lambda db: alert_repo.insert_event(db, "live", ev, [], now=ev.ts))
    stored = await bot.app.store.call(alert_repo.get_alert, alert_id)
    msg = await fake.seed_bot_message(
        Defaults.ALERTS_CHANNEL_ID,
        embeds=[alert_embed(stored).to_dict()],
        components=alert_view(alert_id).to_components(),
    )
    return alert_id, msg


async def click(fake: FakeDiscord, msg: StoredMessage, custom_id: str, user: Any) -> Any:
    rec = await fake.click_button(msg, custom_id, user=user)
    await fake.wait_for_interaction_response(rec, timeout=10)
    return rec


async def test_acknowledge_records_who_and_when_and_shows_it(fake_discord: FakeDiscord, bot: TestBot) -> None:
    alert_id, msg = await old_alert_message(fake_discord, bot)
    rec = await click(fake_discord, msg, f"fw:ack:{alert_id}", DEFAULT_MEMBER)
    assert rec.response_type == DEFERRED_UPDATE  # answered first; the message stays as it is
    await fake_discord.wait_for_edit(msg.id, timeout=10)  # then the clicked message itself is updated
    assert msg.embed is not None
    field = msg.embed["fields"][-1]
    now = to_epoch(bot.now())
    assert field == {
        "name": "Acknowledged",
        "value": f"by <@{DEFAULT_MEMBER.id}> <t:{now}:R>",
        "inline": False,
    }
    assert msg.components and len(msg.edits) == 1  # buttons kept
    assert bot.app is not None
    ack = await bot.app.store.call(guild_state.get_ack, str(msg.id))
    assert ack is not None and (ack.user_id, ack.alert_id, ack.guild_id) == (
        DEFAULT_MEMBER.id,
        alert_id,
        Defaults.GUILD_ID,
    )
    again = await click(fake_discord, msg, f"fw:ack:{alert_id}", DEFAULT_ADMIN)
    assert again.response_type == DEFERRED_UPDATE
    reply = await fake_discord.wait_for_followup(again, timeout=10)
    assert (
        reply is not None
        and reply.ephemeral
        and reply.content.startswith(f"Already acknowledged by <@{DEFAULT_MEMBER.id}>")
    )
    assert len(msg.edits) == 1


async def test_snooze_button_needs_manage_server(fake_discord: FakeDiscord, bot: TestBot) -> None:
    alert_id, msg = await old_alert_message(fake_discord, bot)
    assert bot.app is not None
    refused = await click(fake_discord, msg, f"fw:s1h:{alert_id}", DEFAULT_MEMBER)
    reply = await fake_discord.wait_for_followup(refused, timeout=10)
    assert reply is not None and reply.ephemeral and "Manage Server" in reply.content
    now = to_epoch(bot.now())
    assert await bot.app.store.call(guild_state.active_snoozes, Defaults.GUILD_ID, now) == {}
    ok = await click(fake_discord, msg, f"fw:s24h:{alert_id}", DEFAULT_ADMIN)
    assert ok.response_type == DEFERRED_UPDATE
    reply = await fake_discord.wait_for_followup(ok, timeout=10)
    assert reply is not None and not reply.ephemeral and "snoozed in this server for 24 h" in reply.content
    assert reply.allowed_mentions == {"parse": []}
    assert await bot.app.store.call(guild_state.active_snoozes, Defaults.GUILD_ID, now) == {
        "vix_term": now + 86400
    }


async def test_chart_button_is_ephemeral_with_30_days(fake_discord: FakeDiscord, bot: TestBot) -> None:
    alert_id, msg = await old_alert_message(fake_discord, bot)
    rec = await click(fake_discord, msg, f"fw:c30:{alert_id}", DEFAULT_MEMBER)
    followup = await fake_discord.wait_for_followup(rec, timeout=10)
    assert rec.response_type == 5 and followup.ephemeral
    assert followup.attachment("vix_term-30d.png").data.startswith(PNG)


async def test_click_on_an_alert_no_longer_stored(fake_discord: FakeDiscord, bot: TestBot) -> None:
    msg = await fake_discord.seed_bot_message(
        Defaults.ALERTS_CHANNEL_ID, "old", components=alert_view(999).to_components()
    )
    rec = await click(fake_discord, msg, "fw:ack:999", DEFAULT_MEMBER)
    reply = await fake_discord.wait_for_followup(rec, timeout=10)
    assert reply is not None and reply.ephemeral and "no longer" in reply.content


def test_custom_ids_fit_discord_limits() -> None:
    view = alert_view(10**15)
    ids = [c["custom_id"] for row in view.to_components() for c in row["components"]]
    assert all(len(i) <= 100 for i in ids) and len(set(ids)) == 4


def test_when_is_utc() -> None:
    assert after_close(END) == datetime(2024, 3, 15, 21, 30, tzinfo=UTC)


async def test_every_button_answers_while_a_long_write_holds_the_owner_thread(
    fake_discord: FakeDiscord, bot: TestBot
) -> None:
    """Discord fails a click not answered within 3 s. With a long write holding the owner thread
    (the daily prune, a big flush), every button still answers at once: acknowledge and snooze
    with the component defer (the message stays as it is), the chart with a private
    "thinking…"; their writes wait their turn, then the message is edited or followed up as
    before."""
    from tests.bot.test_discord_signal_commands import OwnerThreadHeld

    assert bot.app is not None
    bot.cooldowns.per = 0
    alert_id, msg = await old_alert_message(fake_discord, bot)

    async with OwnerThreadHeld(bot) as held:
        ack = await click(fake_discord, msg, f"fw:ack:{alert_id}", DEFAULT_MEMBER)
        snooze = await click(fake_discord, msg, f"fw:s24h:{alert_id}", DEFAULT_ADMIN)
        chart = await click(fake_discord, msg, f"fw:c30:{alert_id}", DEFAULT_MEMBER)
        assert held.still_busy()  # all three answered while the owner thread was busy
        assert ack.response_type == snooze.response_type == DEFERRED_UPDATE
        assert chart.response_type == 5 and fake_discord.original_response(chart).ephemeral  # type: ignore[union-attr]
        # the writes wait their turn: nothing is shown as done yet
        assert not msg.edits and not snooze.followup_message_ids
        # the chart only reads (beside the owner thread): it need not wait at all
        drawn = await fake_discord.wait_for_followup(chart, timeout=30)
        assert held.still_busy() and drawn.ephemeral
        assert drawn.attachment("vix_term-30d.png").data.startswith(PNG)
    await fake_discord.wait_for_edit(msg.id, timeout=10)
    assert msg.embed is not None and msg.embed["fields"][-1]["name"] == "Acknowledged"
    assert msg.components and len(msg.edits) == 1  # buttons kept
    said = await fake_discord.wait_for_followup(snooze, timeout=10)
    assert not said.ephemeral and "snoozed in this server for 24 h" in said.content
    now = to_epoch(bot.now())
    assert await bot.app.store.call(guild_state.active_snoozes, Defaults.GUILD_ID, now) == {
        "vix_term": now + 86400
    }
    ack_row = await bot.app.store.call(guild_state.get_ack, str(msg.id))
    assert ack_row is not None and ack_row.user_id == DEFAULT_MEMBER.id
