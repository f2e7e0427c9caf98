"""Channel messages: embeds, files, edits, nonce dedupe, validation, permissions."""

from __future__ import annotations

import io

import discord
import pytest

from tests.fakediscord import (
    DEFAULT_MEMBER,
    FAST_GUILD_READY_TIMEOUT,
    Defaults,
    FakeDiscord,
    bot_intents,
    running_client,
    tiny_png,
)

pytestmark = pytest.mark.e2e


def new_client() -> discord.Client:
    return discord.Client(intents=bot_intents(), guild_ready_timeout=FAST_GUILD_READY_TIMEOUT)


def alerts(client: discord.Client) -> discord.TextChannel:
    channel = client.get_channel(Defaults.ALERTS_CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    return channel


async def test_send_embed_and_png_is_recorded_with_bytes(fake_discord: FakeDiscord) -> None:
    png = tiny_png(8, 5)
    async with running_client(new_client(), fake_discord) as client:
        embed = discord.Embed(title="VIX term structure inverted", description="VX1 > VX2")
        embed.add_field(name="VX1", value="24.1").set_image(url="attachment://vix.png")
        sent = await alerts(client).send("Alert", embed=embed, file=discord.File(io.BytesIO(png), "vix.png"))

        stored = fake_discord.get_message(sent.id)
        assert stored.source == "bot"
        assert stored.content == "Alert"
        assert stored.embed is not None and stored.embed["title"] == "VIX term structure inverted"
        assert stored.embed["fields"] == [{"name": "VX1", "value": "24.1", "inline": True}]
        att = stored.attachment("vix.png")
        assert att.data == png and att.size == len(png)
        assert (att.width, att.height) == (8, 5)
        assert att.content_type == "image/png"
        # the request itself: multipart with payload_json + files[0]
        req = stored.created_by
        assert req is not None and req.multipart
        assert req.files[0].field == "files[0]" and req.files[0].data == png
        assert req.json["attachments"] == [{"id": 0, "filename": "vix.png"}]
        # what discord.py got back is a full message object
        assert sent.attachments[0].filename == "vix.png"
        assert sent.attachments[0].size == len(png)
        assert await sent.attachments[0].read() == png  # served by the fake's "CDN"
        # attachment:// in the embed is resolved to the attachment URL, as Discord does
        assert sent.embeds[0].image.url == att.url
        assert sent.embeds[0].image.width == 8
        # and the bot also gets its own MESSAGE_CREATE over the gateway
        assert fake_discord.messages(Defaults.ALERTS_CHANNEL_ID) == [stored]


async def test_edit_in_place_and_replace_attachment(fake_discord: FakeDiscord) -> None:
    async with running_client(new_client(), fake_discord) as client:
        first = tiny_png(2, 2)
        sent = await alerts(client).send("v1", file=discord.File(io.BytesIO(first), "a.png"))
        edited = await sent.edit(content="v2", embed=discord.Embed(title="updated"))
        assert edited.id == sent.id
        stored = fake_discord.get_message(sent.id)
        assert stored.content == "v2"
        assert stored.embed is not None and stored.embed["title"] == "updated"
        assert [a.filename for a in stored.attachments] == ["a.png"]  # untouched
        assert len(stored.edits) == 1 and stored.edits[0].before["content"] == "v1"
        assert stored.edited_timestamp is not None

        second = tiny_png(3, 3, (0, 255, 0))
        edited = await edited.edit(attachments=[discord.File(io.BytesIO(second), "b.png")])
        assert [a.filename for a in edited.attachments] == ["b.png"]
        assert stored.attachment("b.png").data == second
        assert len(stored.edits) == 2
        assert len(fake_discord.messages(Defaults.ALERTS_CHANNEL_ID)) == 1


async def test_enforce_nonce_dedupes_identical_sends(fake_discord: FakeDiscord) -> None:
    async with running_client(new_client(), fake_discord) as client:
        channel = alerts(client)
        one = await channel.send("BTC liquidation cascade", nonce="alert-42")
        two = await channel.send("BTC liquidation cascade", nonce="alert-42")
        other = await channel.send("different alert", nonce="alert-43")

        assert one.id == two.id != other.id
        posts = fake_discord.requests_matching("POST", "/channels/{channel_id}/messages")
        assert [p.json["enforce_nonce"] for p in posts] == [True, True, True]
        stored = fake_discord.messages(Defaults.ALERTS_CHANNEL_ID)
        assert [m.id for m in stored] == [one.id, other.id]  # delivered exactly once
        assert fake_discord.get_message(one.id).nonce_duplicates == 1
        assert [(h.nonce, h.message_id) for h in fake_discord.nonce_hits] == [("alert-42", one.id)]


async def test_nonce_window_expires() -> None:
    async with (
        FakeDiscord(nonce_window=0.0) as fake,
        running_client(new_client(), fake) as client,
    ):
        one = await alerts(client).send("x", nonce="n1")
        two = await alerts(client).send("x", nonce="n1")
        assert one.id != two.id and not fake.nonce_hits


async def test_validation_errors_look_like_discord(fake_discord: FakeDiscord) -> None:
    async with running_client(new_client(), fake_discord) as client:
        with pytest.raises(discord.HTTPException) as too_long:
            await alerts(client).send("x" * 2001)
        assert too_long.value.status == 400 and too_long.value.code == 50035
        assert "content" in str(too_long.value)
        with pytest.raises(discord.HTTPException) as empty:
            await alerts(client).send(embeds=[])
        assert empty.value.code == 50006
        assert fake_discord.messages() == []


async def test_channel_permissions_are_enforced(fake_discord: FakeDiscord) -> None:
    async with running_client(new_client(), fake_discord) as client:
        readonly = client.get_channel(Defaults.READONLY_CHANNEL_ID)
        assert isinstance(readonly, discord.TextChannel)
        with pytest.raises(discord.Forbidden) as exc:
            await readonly.send("nope")
        assert exc.value.code == 50013
        # the admin channel is hidden from @everyone but allowed for the bot role
        admin = client.get_channel(Defaults.ADMIN_CHANNEL_ID)
        assert isinstance(admin, discord.TextChannel)
        await admin.send("admin-only notice")


async def test_mentions_respect_allowed_mentions(fake_discord: FakeDiscord) -> None:
    async with running_client(new_client(), fake_discord) as client:
        sent = await alerts(client).send(
            f"@everyone <@{DEFAULT_MEMBER.id}> <@&{Defaults.TRADER_ROLE_ID}>",
            allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, users=True),
        )
        stored = fake_discord.get_message(sent.id)
        assert stored.allowed_mentions == {"parse": ["users"], "replied_user": True}
        assert [u["id"] for u in stored.mentions] == [str(DEFAULT_MEMBER.id)]
        assert stored.mention_roles == [] and stored.mention_everyone is False


async def test_fetch_history_and_delete(fake_discord: FakeDiscord) -> None:
    async with running_client(new_client(), fake_discord) as client:
        channel = alerts(client)
        a = await channel.send("a")
        b = await channel.send("b")
        fetched = await channel.fetch_message(a.id)
        assert fetched.content == "a"
        history = [m.content async for m in channel.history(limit=10)]
        assert history == ["b", "a"]
        await b.delete()
        assert fake_discord.get_message(b.id).deleted
        with pytest.raises(discord.NotFound) as exc:
            await channel.fetch_message(b.id)
        assert exc.value.code == 10008
        assert [m.content for m in fake_discord.messages(channel.id)] == ["a"]


async def test_dm_a_user(fake_discord: FakeDiscord) -> None:
    async with running_client(new_client(), fake_discord) as client:
        user = await client.fetch_user(DEFAULT_MEMBER.id)
        sent = await user.send("your alert digest")
        stored = fake_discord.get_message(sent.id)
        assert fake_discord.channels[stored.channel_id].is_dm
        assert stored.guild_id is None


async def test_restart_resend_with_same_nonce_is_delivered_once(fake_discord: FakeDiscord) -> None:
    # First process sends, then "crashes" before recording that it did.
    async with running_client(new_client(), fake_discord) as client:
        first = await alerts(client).send("FOMC blackout starts", nonce="blackout-2024-07")
    # (discord.py's close() ends up sending close code 4000, so the old session stays
    # resumable on the server, as on Discord; the new process simply IDENTIFYs.)
    # Second process replays its outbox with the same nonce.
    async with running_client(new_client(), fake_discord) as client:
        again = await alerts(client).send("FOMC blackout starts", nonce="blackout-2024-07")
    assert again.id == first.id
    assert len(fake_discord.messages(Defaults.ALERTS_CHANNEL_ID)) == 1
    assert fake_discord.gateway.identify_count == 2 and fake_discord.gateway.resume_count == 0
