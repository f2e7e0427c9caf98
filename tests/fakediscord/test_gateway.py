"""Login, READY/GUILD_CREATE, heartbeats and gateway faults with the real discord.Client."""

from __future__ import annotations

import asyncio

import discord
import pytest

from tests.fakediscord import (
    DEFAULT_MEMBER,
    FAST_GUILD_READY_TIMEOUT,
    Defaults,
    FakeDiscord,
    bot_intents,
    running_client,
)

pytestmark = pytest.mark.e2e


def new_client(cls: type[discord.Client] = discord.Client, **kw) -> discord.Client:
    return cls(intents=kw.pop("intents", bot_intents()), guild_ready_timeout=FAST_GUILD_READY_TIMEOUT, **kw)


class MessageCollector(discord.Client):
    """Collects on_message events into a queue the test can await."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.seen: asyncio.Queue[discord.Message] = asyncio.Queue()

    async def on_message(self, message: discord.Message) -> None:
        if message.author != self.user:
            await self.seen.put(message)

    async def before_identify_hook(self, shard_id, *, initial: bool = False) -> None:
        # discord.py sleeps 5 s before every non-initial IDENTIFY; skip that in tests.
        return None


async def test_login_ready_and_guild_create(fake_discord: FakeDiscord) -> None:
    client = new_client()
    readies: list[bool] = []
    client.event(_recorder(readies, "on_ready"))
    async with running_client(client, fake_discord):
        assert client.is_ready()
        assert client.user is not None and client.user.id == Defaults.BOT_ID
        assert client.application_id == Defaults.APPLICATION_ID
        guild = client.get_guild(Defaults.GUILD_ID)
        assert guild is not None and guild.name == "Flowwatch Test Desk"
        alerts = client.get_channel(Defaults.ALERTS_CHANNEL_ID)
        assert isinstance(alerts, discord.TextChannel) and alerts.name == "alerts"
        assert guild.system_channel is not None and guild.system_channel.name == "general"
        assert guild.me is not None
        # permission overwrites arrive intact: the bot can send in #alerts, not in #readonly
        assert alerts.permissions_for(guild.me).send_messages
        readonly = guild.get_channel(Defaults.READONLY_CHANNEL_ID)
        assert isinstance(readonly, discord.TextChannel)
        assert not readonly.permissions_for(guild.me).send_messages
        admin_role = guild.get_role(Defaults.ADMIN_ROLE_ID)
        assert admin_role is not None and admin_role.permissions.manage_guild
        assert not guild.default_role.permissions.manage_guild
        assert guild.member_count == 4
        # what discord.py does on login, in order
        assert [r.key for r in fake_discord.requests] == [
            "GET /users/@me",
            "GET /oauth2/applications/@me",
        ]
        assert fake_discord.requests[0].headers["Authorization"] == f"Bot {fake_discord.token}"
        conn = fake_discord.gateway.connections[0]
        # zlib-stream, or zstd-stream when the zstandard package is installed
        wanted = discord.utils._ActiveDecompressionContext.COMPRESSION_TYPE
        assert conn.query == {"v": "10", "encoding": "json", "compress": wanted}
        assert conn.compression == wanted
        identify = fake_discord.gateway.identify_payloads[0]
        assert identify["intents"] == bot_intents().value
        await fake_discord.wait_until(lambda: fake_discord.gateway.heartbeat_count >= 1)
        assert readies == [True]


def _recorder(into: list[bool], name: str):
    async def handler() -> None:
        into.append(True)

    handler.__name__ = name
    return handler


async def test_uncompressed_gateway_also_works() -> None:
    async with FakeDiscord(gateway_compression=False) as fake:
        client = new_client()
        async with running_client(client, fake):
            assert client.get_channel(Defaults.ALERTS_CHANNEL_ID) is not None
            assert fake.gateway.connections[0].compression is None


async def test_wrong_token_is_login_failure(fake_discord: FakeDiscord) -> None:
    client = new_client()
    async with client:
        with pytest.raises(discord.LoginFailure):
            await client.login("not-the-token")
    assert fake_discord.requests[0].status == 401


async def test_privileged_intent_not_enabled_closes_4014(fake_discord: FakeDiscord) -> None:
    intents = bot_intents()
    intents.message_content = True
    client = new_client(intents=intents)
    with pytest.raises(discord.PrivilegedIntentsRequired):
        async with running_client(client, fake_discord):
            pass
    assert fake_discord.gateway.connections[0].close_code == 4014


async def test_dropped_gateway_resumes_and_receives_later_events(fake_discord: FakeDiscord) -> None:
    client = new_client(MessageCollector)
    assert isinstance(client, MessageCollector)
    async with running_client(client, fake_discord):
        assert await fake_discord.gateway.drop() == 1  # TCP abort, no close frame (1006)
        await fake_discord.wait_for_resume(1)
        assert fake_discord.gateway.identify_count == 1
        resumed = fake_discord.gateway.connections[-1]
        assert resumed.resumed and resumed.path == "/resume"  # used READY's resume_gateway_url
        await fake_discord.inject_user_message(
            Defaults.ALERTS_CHANNEL_ID, DEFAULT_MEMBER.id, "hello after resume"
        )
        message = await asyncio.wait_for(client.seen.get(), 5)
        assert message.author.id == DEFAULT_MEMBER.id
        # no MESSAGE_CONTENT intent: content is blanked like real Discord does
        assert message.content == ""


async def test_events_missed_while_disconnected_are_replayed(fake_discord: FakeDiscord) -> None:
    client = new_client(MessageCollector)
    assert isinstance(client, MessageCollector)
    async with running_client(client, fake_discord):
        await fake_discord.gateway.drop(code=4000)
        # dispatched while the socket is down: buffered, replayed on RESUME
        sent = await fake_discord.inject_user_message(Defaults.ALERTS_CHANNEL_ID, DEFAULT_MEMBER.id, "missed")
        await fake_discord.wait_for_resume(1)
        message = await asyncio.wait_for(client.seen.get(), 5)
        assert message.id == sent.id
        assert client.seen.empty()


async def test_op7_reconnect_resumes(fake_discord: FakeDiscord) -> None:
    client = new_client()
    async with running_client(client, fake_discord):
        assert await fake_discord.gateway.send_reconnect() == 1
        await fake_discord.wait_for_resume(1)
        assert fake_discord.gateway.connections[0].close_code == 4000
        assert fake_discord.gateway.identify_count == 1


async def test_invalid_session_forces_new_identify(fake_discord: FakeDiscord) -> None:
    client = new_client(MessageCollector)
    async with running_client(client, fake_discord):
        await fake_discord.gateway.invalidate_session(resumable=False)
        await fake_discord.wait_for_identify(2)
        await fake_discord.wait_for_connected()
        assert fake_discord.gateway.resume_count == 0
        await asyncio.wait_for(client.wait_until_ready(), 5)
        assert client.get_channel(Defaults.ALERTS_CHANNEL_ID) is not None


async def test_rejected_resume_falls_back_to_identify(fake_discord: FakeDiscord) -> None:
    client = new_client(MessageCollector)
    async with running_client(client, fake_discord):
        fake_discord.gateway.reject_resumes = 1
        await fake_discord.gateway.drop()
        await fake_discord.wait_for_identify(2)
        assert fake_discord.gateway.invalid_sessions_sent == 1
        assert len(fake_discord.gateway.resume_payloads) == 1


async def test_zombie_connection_without_heartbeat_acks_reconnects() -> None:
    # Fast heartbeats and a short client heartbeat_timeout: with ACKs withheld the
    # client's keep-alive thread declares the connection dead, closes it and resumes.
    async with FakeDiscord(heartbeat_interval_ms=50) as fake:
        client = new_client(heartbeat_timeout=0.3)
        async with running_client(client, fake):
            fake.gateway.ack_heartbeats = False
            await fake.wait_for_resume(1)
            assert fake.gateway.connections[0].close_code == 4000
            assert fake.gateway.connections[0].closed_by == "client"
            assert fake.gateway.identify_count == 1


async def test_auto_sharded_client_uses_gateway_bot(fake_discord: FakeDiscord) -> None:
    client = new_client(discord.AutoShardedClient)
    assert isinstance(client, discord.AutoShardedClient)
    async with running_client(client, fake_discord):
        assert client.shard_count == 1
        assert client.get_channel(Defaults.ALERTS_CHANNEL_ID) is not None
    assert "GET /gateway/bot" in [r.key for r in fake_discord.requests]
    assert fake_discord.gateway.identify_payloads[0]["shard"] == [0, 1]
