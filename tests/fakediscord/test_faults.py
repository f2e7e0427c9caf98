"""REST fault injection, seen through discord.py's own retry/raise logic."""

from __future__ import annotations

import asyncio

import aiohttp
import discord
import pytest

from tests.fakediscord import (
    FAST_GUILD_READY_TIMEOUT,
    Defaults,
    FakeDiscord,
    bot_intents,
    running_client,
)

pytestmark = pytest.mark.e2e

MESSAGES = "/channels/{channel_id}/messages"


def new_client() -> discord.Client:
    return discord.Client(intents=bot_intents(), guild_ready_timeout=FAST_GUILD_READY_TIMEOUT)


def alerts(client: discord.Client) -> discord.TextChannel:
    channel = client.get_channel(Defaults.ALERTS_CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    return channel


async def test_429_then_success_is_retried_by_discord_py(fake_discord: FakeDiscord) -> None:
    fake_discord.faults.rate_limit("POST", MESSAGES, times=2, retry_after=0.05)
    async with running_client(new_client(), fake_discord) as client:
        sent = await alerts(client).send("after two 429s")
    posts = fake_discord.requests_matching("POST", MESSAGES)
    assert [p.status for p in posts] == [429, 429, 200]
    assert posts[0].response["retry_after"] == 0.05
    assert [m.id for m in fake_discord.messages()] == [sent.id]
    assert len(fake_discord.faults.fired) == 2


async def test_global_429_then_success(fake_discord: FakeDiscord) -> None:
    fake_discord.faults.rate_limit("POST", "/channels/*/messages", retry_after=0.05, is_global=True)
    async with running_client(new_client(), fake_discord) as client:
        await alerts(client).send("after a global 429")
    assert [p.status for p in fake_discord.requests_matching("POST", MESSAGES)] == [429, 200]


async def test_429_without_via_header_is_not_retried(fake_discord: FakeDiscord) -> None:
    # discord.py treats a 429 without "Via" as a Cloudflare ban and raises immediately.
    fake_discord.faults.cloudflare_ban("POST", MESSAGES)
    async with running_client(new_client(), fake_discord) as client:
        with pytest.raises(discord.HTTPException) as exc:
            await alerts(client).send("x")
    assert exc.value.status == 429
    assert len(fake_discord.requests_matching("POST", MESSAGES)) == 1


async def test_500_then_success(fake_discord: FakeDiscord) -> None:
    # discord.py sleeps 1 s before the first 5xx retry; this test costs ~1 s.
    fake_discord.faults.server_error("POST", MESSAGES, status=500)
    async with running_client(new_client(), fake_discord) as client:
        sent = await alerts(client).send("after a 500")
    assert [p.status for p in fake_discord.requests_matching("POST", MESSAGES)] == [500, 200]
    assert fake_discord.messages()[0].id == sent.id


async def test_503_is_not_retried(fake_discord: FakeDiscord) -> None:
    fake_discord.faults.server_error("POST", MESSAGES, status=503)
    async with running_client(new_client(), fake_discord) as client:
        with pytest.raises(discord.DiscordServerError):
            await alerts(client).send("x")
    assert fake_discord.messages() == []


@pytest.mark.parametrize("code", [50013, 50001])
async def test_403_is_forbidden(fake_discord: FakeDiscord, code: int) -> None:
    fake_discord.faults.forbidden("POST", MESSAGES, code=code)
    async with running_client(new_client(), fake_discord) as client:
        with pytest.raises(discord.Forbidden) as exc:
            await alerts(client).send("x")
    assert exc.value.status == 403 and exc.value.code == code


async def test_404_is_not_found(fake_discord: FakeDiscord) -> None:
    fake_discord.faults.not_found("POST", MESSAGES, code=10003)
    async with running_client(new_client(), fake_discord) as client:
        with pytest.raises(discord.NotFound) as exc:
            await alerts(client).send("x")
        assert exc.value.code == 10003 and exc.value.text == "Unknown Channel"
        # an actually unknown channel gives the same error without any fault
        ghost = client.get_partial_messageable(1234567890123456789)
        with pytest.raises(discord.NotFound):
            await ghost.send("x")


async def test_delay_lets_the_caller_time_out(fake_discord: FakeDiscord) -> None:
    fake_discord.faults.delay("POST", MESSAGES, seconds=5.0)
    async with running_client(new_client(), fake_discord) as client:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(alerts(client).send("slow"), 0.1)
        # the delayed request never completed, and the next one is not delayed
        sent = await alerts(client).send("fast")
    assert [m.id for m in fake_discord.messages()] == [sent.id]


async def test_disconnect_fault(fake_discord: FakeDiscord) -> None:
    fake_discord.faults.disconnect("POST", MESSAGES)
    async with running_client(new_client(), fake_discord) as client:
        with pytest.raises(aiohttp.ClientError):
            await alerts(client).send("x")
        await alerts(client).send("y")
    assert [m.content for m in fake_discord.messages()] == ["y"]


async def test_enforced_channel_rate_limit_is_respected_by_discord_py() -> None:
    async with FakeDiscord(message_rate_limit=(3, 0.3)) as fake:
        async with running_client(new_client(), fake) as client:
            for i in range(5):
                await alerts(client).send(f"alert {i}")
        # discord.py read X-RateLimit-Remaining: 0 and waited instead of hitting 429
        assert fake.rate_limited == []
        assert len(fake.messages()) == 5
        post = fake.requests_matching("POST", MESSAGES)[2]
        assert post.status == 200


async def test_enforced_rate_limit_answers_429_to_a_careless_client() -> None:
    async with FakeDiscord(message_rate_limit=(2, 5.0)) as fake:
        url = f"{fake.api_base}/channels/{Defaults.ALERTS_CHANNEL_ID}/messages"
        headers = {"Authorization": f"Bot {fake.token}"}
        async with aiohttp.ClientSession() as session:
            statuses = []
            for i in range(3):
                async with session.post(url, json={"content": str(i)}, headers=headers) as resp:
                    statuses.append(resp.status)
                    last_headers = resp.headers
                    body = await resp.json()
        assert statuses == [200, 200, 429]
        assert last_headers["X-RateLimit-Remaining"] == "0"
        assert last_headers["Via"] == "1.1 google"
        assert 0 < body["retry_after"] <= 5.0 and body["global"] is False
        assert len(fake.rate_limited) == 1 and len(fake.messages()) == 2
