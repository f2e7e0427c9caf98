"""Sharded when Discord requires it: the real bot against a fake Discord that recommends two
shards and closes an unsharded IDENTIFY with 4011 "Sharding required", as Discord does from
2,500 guilds. Each shard hears only its own guilds (``(guild_id >> 22) % 2``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import discord
import pytest
import pytest_asyncio

from tests.bot.discord_harness import TestBot, bot_settings, event, insert_events, running_bot, settle
from tests.fakediscord import Defaults, FakeDiscord, running_client
from tests.fakediscord import permissions as perms
from tests.fakediscord.snowflake import fixed_snowflake, snowflake_at, snowflake_time_ms
from tests.fakediscord.world import (
    DEFAULT_ADMIN,
    DEFAULT_BOT,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeRole,
    default_guild,
)

pytestmark = pytest.mark.e2e


def _other_shard_id() -> int:
    """A guild id whose events go to the other shard than the default guild's."""
    want = 1 - (Defaults.GUILD_ID >> 22) % 2
    base = snowflake_time_ms(fixed_snowflake(2022, 5, 5, 1))
    for k in range(1, 10):
        gid = snowflake_at(base + k, 1, worker=0, process=0)
        if (gid >> 22) % 2 == want:
            return gid
    raise AssertionError("no id found")


SECOND = _other_shard_id()
SECOND_CHANNEL = fixed_snowflake(2022, 5, 6, 1)


def second_guild() -> FakeGuild:
    bot_role = fixed_snowflake(2022, 5, 6, 2)
    return FakeGuild(
        id=SECOND,
        name="Second Desk",
        owner_id=Defaults.ADMIN_USER_ID,
        roles=[
            FakeRole(SECOND, "@everyone", perms.EVERYONE_DEFAULT),
            FakeRole(bot_role, DEFAULT_BOT.username, perms.BOT_DEFAULT, position=1, managed=True),
        ],
        channels=[FakeChannel(SECOND_CHANNEL, "second-alerts")],
        members=[FakeMember(DEFAULT_BOT, [bot_role]), FakeMember(DEFAULT_ADMIN, [])],
        system_channel_id=SECOND_CHANNEL,
    )


@pytest_asyncio.fixture
async def two_shards() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(guilds=[default_guild(), second_guild()], shards=2) as fake:
        yield fake
    fake.assert_no_unexpected_requests()


async def test_an_unsharded_client_is_refused(two_shards: FakeDiscord) -> None:
    client = discord.Client(intents=discord.Intents.default())
    with pytest.raises((discord.ConnectionClosed, RuntimeError, TimeoutError)):
        async with running_client(client, two_shards, ready_timeout=5):
            pass


async def test_the_bot_runs_two_shards_and_serves_both(two_shards: FakeDiscord, tmp_path: Path) -> None:
    fake = two_shards
    async with running_bot(fake, bot_settings(tmp_path)) as bot:
        assert isinstance(bot, TestBot) and bot.shard_count == 2
        assert sorted(p["shard"][0] for p in fake.gateway.identify_payloads) == [0, 1]
        assert {g.id for g in bot.guilds} == {Defaults.GUILD_ID, SECOND}
        assert bot.get_guild(SECOND).shard_id != bot.get_guild(Defaults.GUILD_ID).shard_id  # type: ignore[union-attr]
        # an alert reaches channels of guilds on either shard
        from storage import subscriptions

        assert bot.app is not None
        await bot.app.store.call(
            subscriptions.subscribe,
            Defaults.GUILD_ID,
            Defaults.ALERTS_CHANNEL_ID,
            "vix_term",
            "watch",
            None,
            None,
        )
        await bot.app.store.call(
            subscriptions.subscribe, SECOND, SECOND_CHANNEL, "vix_term", "watch", None, None
        )
        await insert_events(
            bot, [event(1)], [f"discord:{Defaults.ALERTS_CHANNEL_ID}", f"discord:{SECOND_CHANNEL}"]
        )
        await fake.wait_for_message(SECOND_CHANNEL, timeout=10)
        await fake.wait_for_message(Defaults.ALERTS_CHANNEL_ID, timeout=10)
        await settle(bot)
        # a slash command in the second shard's guild is answered
        await bot.tree.sync()
        rec = await fake.invoke_slash_command("status", guild=SECOND, channel=SECOND_CHANNEL)
        await fake.wait_for_interaction_response(rec, timeout=10)
        assert fake.original_response(rec) is not None
