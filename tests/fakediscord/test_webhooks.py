"""Incoming-webhook mode (no bot): discord.Webhook.from_url against the fake."""

from __future__ import annotations

import io

import aiohttp
import discord
import pytest

from tests.fakediscord import Defaults, FakeDiscord, tiny_png

pytestmark = pytest.mark.e2e


async def test_webhook_send_embed_and_file(fake_discord: FakeDiscord) -> None:
    hook = fake_discord.add_webhook(Defaults.ALERTS_CHANNEL_ID, name="Flowwatch")
    png = tiny_png(6, 4)
    async with aiohttp.ClientSession() as session:
        # The canonical discord.com URL: Route.BASE is redirected to the fake.
        webhook = discord.Webhook.from_url(hook.url, session=session)
        sent = await webhook.send(
            "BTC liquidations > $500M in 1h",
            embed=discord.Embed(title="Liquidation cascade").set_image(url="attachment://liq.png"),
            file=discord.File(io.BytesIO(png), "liq.png"),
            username="Flowwatch Alerts",
            wait=True,
        )
        edited = await webhook.edit_message(sent.id, content="BTC liquidations > $600M in 1h")
        fetched = await webhook.fetch_message(sent.id)

    stored = fake_discord.get_message(sent.id)
    assert stored.source == "webhook" and stored.webhook_id == hook.id
    assert stored.author["username"] == "Flowwatch Alerts"
    assert stored.embed is not None and stored.embed["title"] == "Liquidation cascade"
    assert stored.attachment("liq.png").data == png
    assert edited.content == fetched.content == stored.content == "BTC liquidations > $600M in 1h"
    assert len(stored.edits) == 1
    post = fake_discord.requests_matching("POST", "/webhooks/{webhook_id}/{webhook_token}")[0]
    assert post.query["wait"] == "1" and post.multipart
    assert "Authorization" not in post.headers
    assert sent.embeds[0].image.url == stored.attachment("liq.png").url


async def test_webhook_without_wait_returns_nothing(fake_discord: FakeDiscord) -> None:
    hook = fake_discord.add_webhook(Defaults.ALERTS_CHANNEL_ID)
    async with aiohttp.ClientSession() as session:
        webhook = discord.Webhook.partial(hook.id, hook.token, session=session)
        await webhook.send("fire and forget")  # wait=False: Discord answers 204, no body
    assert fake_discord.requests[-1].status == 204
    assert fake_discord.messages()[0].content == "fire and forget"


async def test_webhook_bad_token_and_unknown_webhook(fake_discord: FakeDiscord) -> None:
    hook = fake_discord.add_webhook(Defaults.ALERTS_CHANNEL_ID)
    async with aiohttp.ClientSession() as session:
        wrong = discord.Webhook.partial(hook.id, "x" * 68, session=session)
        with pytest.raises(discord.HTTPException) as exc:
            await wrong.send("x", wait=True)
        assert exc.value.status == 401 and exc.value.code == 50027
        gone = discord.Webhook.partial(1234567890123456789, hook.token, session=session)
        with pytest.raises(discord.NotFound) as missing:
            await gone.send("x", wait=True)
        assert missing.value.code == 10015
    assert fake_discord.messages() == []


async def test_webhook_429_is_retried(fake_discord: FakeDiscord) -> None:
    hook = fake_discord.add_webhook(Defaults.ALERTS_CHANNEL_ID)
    fake_discord.faults.rate_limit("POST", "/webhooks/*", retry_after=0.05)
    async with aiohttp.ClientSession() as session:
        webhook = discord.Webhook.from_url(hook.url, session=session)
        await webhook.send("after 429", wait=True)
    posts = fake_discord.requests_matching("POST", "/webhooks/*")
    assert [p.status for p in posts] == [429, 200]


async def test_plain_http_client_can_use_the_local_webhook_url(fake_discord: FakeDiscord) -> None:
    hook = fake_discord.add_webhook(Defaults.ALERTS_CHANNEL_ID)
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            fake_discord.webhook_local_url(hook) + "?wait=true", json={"content": "via httpx/curl"}
        ) as resp,
    ):
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "application/json"
        body = await resp.json()
    assert fake_discord.get_message(int(body["id"])).content == "via httpx/curl"
