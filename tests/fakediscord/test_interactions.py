"""Slash commands, components, autocomplete, modals and command sync with a real CommandTree."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import discord
import pytest
from discord import app_commands

from tests.fakediscord import (
    DEFAULT_ADMIN,
    DEFAULT_MEMBER,
    FAST_GUILD_READY_TIMEOUT,
    Defaults,
    FakeDiscord,
    bot_intents,
    option,
    running_client,
    subcommand,
    subcommand_group,
    tiny_png,
)

pytestmark = pytest.mark.e2e

GUILD = discord.Object(Defaults.GUILD_ID)
EPHEMERAL = 1 << 6


def make_bot() -> tuple[discord.Client, app_commands.CommandTree, dict[str, Any]]:
    """A client with a tree like the real bot's: /config alerts route (admin-only)."""
    client = discord.Client(intents=bot_intents(), guild_ready_timeout=FAST_GUILD_READY_TIMEOUT)
    tree = app_commands.CommandTree(client)
    seen: dict[str, Any] = {}

    config = app_commands.Group(
        name="config",
        description="Configure flowwatch",
        default_permissions=discord.Permissions(manage_guild=True),
        guild_only=True,
    )
    routing = app_commands.Group(name="alerts", description="Alert routing", parent=config)

    @routing.command(name="route", description="Route an alert kind to a channel")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def route(
        interaction: discord.Interaction,
        kind: str,
        channel: discord.TextChannel,
        ping: discord.Role,
        threshold: float = 0.5,
    ) -> None:
        await interaction.response.defer(thinking=True)
        seen.update(
            kind=kind,
            channel=channel,
            role=ping,
            threshold=threshold,
            user=interaction.user,
            locale=interaction.locale,
            app_permissions=interaction.app_permissions,
        )
        await interaction.followup.send(
            f"Routing {kind} alerts to {channel.mention}",
            file=discord.File(io.BytesIO(tiny_png()), "chart.png"),
        )

    @tree.error
    async def on_error(interaction: discord.Interaction, error: Exception) -> None:
        seen["error"] = error
        if isinstance(error, app_commands.MissingPermissions):
            await interaction.response.send_message("You need Manage Server.", ephemeral=True)

    tree.add_command(config, guild=GUILD)
    return client, tree, seen


async def test_slash_command_defer_then_followup_with_file(fake_discord: FakeDiscord) -> None:
    client, tree, seen = make_bot()
    async with running_client(client, fake_discord):
        await tree.sync(guild=GUILD)
        rec = await fake_discord.invoke_slash_command(
            "config",
            subcommand_group(
                "alerts",
                subcommand(
                    "route",
                    option("kind", "vix"),
                    option("channel", fake_discord.channel("alerts")),
                    option("ping", fake_discord.guild.role_named("Trader")),
                    option("threshold", 0.25),
                ),
            ),
            user=DEFAULT_ADMIN,
            locale="de",
        )
        followup = await fake_discord.wait_for_followup(rec)

    # the payload was realistic enough for discord.py to resolve everything
    assert rec.payload["data"]["guild_id"] == str(Defaults.GUILD_ID)
    assert rec.payload["member"]["permissions"] == str(
        fake_discord.guild.permissions_for(DEFAULT_ADMIN.id, fake_discord.channel("alerts"))
    )
    assert seen["kind"] == "vix" and seen["threshold"] == 0.25
    assert isinstance(seen["channel"], discord.TextChannel)
    assert seen["channel"].id == Defaults.ALERTS_CHANNEL_ID
    assert isinstance(seen["role"], discord.Role) and seen["role"].name == "Trader"
    assert isinstance(seen["user"], discord.Member) and seen["user"].id == DEFAULT_ADMIN.id
    assert seen["locale"] == discord.Locale.german
    assert seen["app_permissions"].send_messages
    # defer (type 5), then the first followup replaced the "thinking" message
    assert [cb.type for cb in rec.callbacks] == [5]
    assert followup.id == rec.original_message_id
    assert not followup.loading and not followup.ephemeral
    assert followup.content == f"Routing vix alerts to <#{Defaults.ALERTS_CHANNEL_ID}>"
    assert followup.attachment("chart.png").data == tiny_png()
    assert followup.interaction_metadata is not None
    assert followup.interaction_metadata["user"]["id"] == str(DEFAULT_ADMIN.id)
    followup_req = followup.edits[-1]
    assert followup_req.before["flags"] & (1 << 7)  # it was loading before the followup


async def test_non_admin_is_refused_by_the_bots_own_check(fake_discord: FakeDiscord) -> None:
    client, tree, seen = make_bot()
    async with running_client(client, fake_discord):
        await tree.sync(guild=GUILD)
        rec = await fake_discord.invoke_slash_command(
            "config",
            subcommand_group(
                "alerts",
                subcommand(
                    "route",
                    option("kind", "vix"),
                    option("channel", fake_discord.channel("alerts")),
                    option("ping", fake_discord.guild.role_named("Trader")),
                ),
            ),
            user=DEFAULT_MEMBER,
        )
        await fake_discord.wait_for_interaction_response(rec)
    assert isinstance(seen["error"], app_commands.MissingPermissions)
    assert rec.response_type == 4
    reply = fake_discord.original_response(rec)
    assert reply is not None and reply.ephemeral and reply.content == "You need Manage Server."


async def test_dm_slash_command(fake_discord: FakeDiscord) -> None:
    client = discord.Client(intents=bot_intents(), guild_ready_timeout=FAST_GUILD_READY_TIMEOUT)
    tree = app_commands.CommandTree(client)
    seen: dict[str, Any] = {}

    @tree.command(name="status", description="Bot status")
    async def status(interaction: discord.Interaction) -> None:
        seen.update(guild=interaction.guild, user=interaction.user, channel=interaction.channel)
        await interaction.response.send_message("all systems nominal")

    async with running_client(client, fake_discord):
        rec = await fake_discord.invoke_slash_command("status", dm=True, user=DEFAULT_MEMBER)
        await fake_discord.wait_for_interaction_response(rec)
    assert "guild_id" not in rec.payload and "member" not in rec.payload
    assert seen["guild"] is None
    assert isinstance(seen["user"], discord.User) and seen["user"].id == DEFAULT_MEMBER.id
    assert isinstance(seen["channel"], discord.DMChannel)
    reply = fake_discord.original_response(rec)
    assert reply is not None and reply.content == "all systems nominal"
    assert fake_discord.channels[reply.channel_id].is_dm


class AckView(discord.ui.View):
    def __init__(self, clicks: list[int] | None = None) -> None:
        super().__init__(timeout=None)
        self.clicks = clicks if clicks is not None else []

    @discord.ui.button(label="Acknowledge", custom_id="flowwatch:ack")
    async def ack(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.clicks.append(interaction.user.id)
        await interaction.response.edit_message(content=f"Acknowledged by {interaction.user.name}", view=None)


async def test_button_click_reaches_persistent_view(fake_discord: FakeDiscord) -> None:
    # A message with the button, posted by a previous run of the bot (before a restart).
    old = await fake_discord.seed_bot_message(
        Defaults.ALERTS_CHANNEL_ID,
        "VIX term structure inverted",
        components=AckView().to_components(),
    )
    assert old.components[0]["components"][0]["custom_id"] == "flowwatch:ack"
    client = discord.Client(intents=bot_intents(), guild_ready_timeout=FAST_GUILD_READY_TIMEOUT)
    clicks: list[int] = []
    async with running_client(client, fake_discord):
        client.add_view(AckView(clicks))  # persistent: fixed custom_id, timeout=None
        rec = await fake_discord.click_button(old, "flowwatch:ack", user=DEFAULT_MEMBER)
        await fake_discord.wait_for_interaction_response(rec)
    assert clicks == [DEFAULT_MEMBER.id]
    assert rec.payload["message"]["id"] == str(old.id)
    assert rec.response_type == 7  # UPDATE_MESSAGE
    assert old.content == "Acknowledged by bob_trader"
    assert old.components == []
    assert len(old.edits) == 1


async def test_button_on_message_sent_with_view(fake_discord: FakeDiscord) -> None:
    client = discord.Client(intents=bot_intents(), guild_ready_timeout=FAST_GUILD_READY_TIMEOUT)
    clicks: list[int] = []
    async with running_client(client, fake_discord):
        channel = client.get_channel(Defaults.ALERTS_CHANNEL_ID)
        assert isinstance(channel, discord.TextChannel)
        sent = await channel.send("Fed-cut odds jumped", view=AckView(clicks))
        stored = fake_discord.get_message(sent.id)
        rec = await fake_discord.click_button(stored, "flowwatch:ack", user=DEFAULT_ADMIN)
        await fake_discord.wait_for_interaction_response(rec)
    assert clicks == [DEFAULT_ADMIN.id]
    assert stored.content == "Acknowledged by alice_admin"


async def test_autocomplete(fake_discord: FakeDiscord) -> None:
    client = discord.Client(intents=bot_intents(), guild_ready_timeout=FAST_GUILD_READY_TIMEOUT)
    tree = app_commands.CommandTree(client)

    @tree.command(name="symbol", description="Look up a symbol")
    async def symbol(interaction: discord.Interaction, ticker: str) -> None:
        await interaction.response.send_message(ticker)

    @symbol.autocomplete("ticker")
    async def ticker_choices(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [
            app_commands.Choice(name=t, value=t)
            for t in ("SPY", "SPX", "VIX")
            if t.startswith(current.upper())
        ]

    async with running_client(client, fake_discord):
        rec = await fake_discord.dispatch_interaction(
            fake_discord.build_autocomplete("symbol", option("ticker", "sp", focused=True))
        )
        await fake_discord.wait_for_interaction_response(rec)
    assert rec.response_type == 8
    assert rec.autocomplete_choices == [
        {"name": "SPY", "value": "SPY"},
        {"name": "SPX", "value": "SPX"},
    ]


async def test_modal_roundtrip(fake_discord: FakeDiscord) -> None:
    client = discord.Client(intents=bot_intents(), guild_ready_timeout=FAST_GUILD_READY_TIMEOUT)
    tree = app_commands.CommandTree(client)
    submitted: asyncio.Queue[str] = asyncio.Queue()

    class ThresholdModal(discord.ui.Modal, title="Set threshold"):
        value: discord.ui.TextInput = discord.ui.TextInput(label="Threshold", custom_id="thr")

        async def on_submit(self, interaction: discord.Interaction) -> None:
            await submitted.put(self.value.value)
            await interaction.response.send_message("saved", ephemeral=True)

    @tree.command(name="threshold", description="Set the alert threshold")
    async def threshold(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(ThresholdModal())

    async with running_client(client, fake_discord):
        rec = await fake_discord.invoke_slash_command("threshold")
        await fake_discord.wait_for_interaction_response(rec)
        assert rec.response_type == 9 and rec.modal is not None
        assert rec.modal["title"] == "Set threshold"
        submit = await fake_discord.dispatch_interaction(
            fake_discord.build_modal_submit(rec.modal["custom_id"], {"thr": "0.3"})
        )
        assert await asyncio.wait_for(submitted.get(), 5) == "0.3"
        await fake_discord.wait_for_interaction_response(submit)
    reply = fake_discord.original_response(submit)
    assert reply is not None and reply.ephemeral


async def test_late_ack_is_unknown_interaction() -> None:
    async with FakeDiscord(interaction_ack_deadline=0.0) as fake:
        client = discord.Client(intents=bot_intents(), guild_ready_timeout=FAST_GUILD_READY_TIMEOUT)
        tree = app_commands.CommandTree(client)
        errors: asyncio.Queue[BaseException] = asyncio.Queue()

        @tree.command(name="slow", description="Responds too late")
        async def slow(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("too late")

        @tree.error
        async def on_error(interaction: discord.Interaction, error: Exception) -> None:
            await errors.put(error)

        async with running_client(client, fake):
            rec = await fake.invoke_slash_command("slow")
            error = await asyncio.wait_for(errors.get(), 5)
        assert isinstance(error, app_commands.CommandInvokeError)
        assert isinstance(error.original, discord.NotFound) and error.original.code == 10062
        assert rec.callbacks[0].status == 404 and not rec.acknowledged


async def test_bulk_command_sync_is_recorded(fake_discord: FakeDiscord) -> None:
    client, tree, _seen = make_bot()

    @tree.command(name="status", description="Bot status")
    async def status(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("ok")

    async with running_client(client, fake_discord):
        guild_cmds = await tree.sync(guild=GUILD)
        again = await tree.sync(guild=GUILD)
        global_cmds = await tree.sync()
        fetched = await tree.fetch_commands(guild=GUILD)

    syncs = fake_discord.command_syncs
    assert [s.guild_id for s in syncs] == [Defaults.GUILD_ID, Defaults.GUILD_ID, None]
    sent = syncs[0].payload[0]
    assert sent["name"] == "config" and sent["default_member_permissions"] == 32
    assert syncs[0].result[0]["default_member_permissions"] == "32"  # Discord answers a string
    group = sent["options"][0]
    assert group["type"] == 2 and group["name"] == "alerts"
    route = group["options"][0]
    assert route["type"] == 1 and [o["name"] for o in route["options"]] == [
        "kind",
        "channel",
        "ping",
        "threshold",
    ]
    assert [c.name for c in guild_cmds] == ["config"]
    assert guild_cmds[0].id == again[0].id == fetched[0].id  # ids are stable across overwrites
    assert guild_cmds[0].guild_id == Defaults.GUILD_ID
    assert [c.name for c in global_cmds] == ["status"]
    path = f"/applications/{Defaults.APPLICATION_ID}/guilds/{Defaults.GUILD_ID}/commands"
    assert [r.status for r in fake_discord.requests_matching("PUT", path)] == [200, 200]


async def test_original_response_and_followup_routes(fake_discord: FakeDiscord) -> None:
    client = discord.Client(intents=bot_intents(), guild_ready_timeout=FAST_GUILD_READY_TIMEOUT)
    tree = app_commands.CommandTree(client)
    done: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    @tree.command(name="digest", description="Post today's digest")
    async def digest(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("building digest…")
        original = await interaction.original_response()
        await interaction.edit_original_response(content="Digest ready", embed=discord.Embed(title="Flows"))
        note = await interaction.followup.send("only you can see this", ephemeral=True, wait=True)
        await interaction.followup.edit_message(note.id, content="only you (edited)")
        extra = await interaction.followup.send("temporary", wait=True)
        await extra.delete()
        await done.put({"original_id": original.id, "note_id": note.id, "extra_id": extra.id})

    async with running_client(client, fake_discord):
        rec = await fake_discord.invoke_slash_command("digest")
        ids = await asyncio.wait_for(done.get(), 5)

    original = fake_discord.original_response(rec)
    assert original is not None and original.id == ids["original_id"]
    assert original.content == "Digest ready" and original.embed is not None
    assert original.source == "interaction_response" and len(original.edits) == 1
    note = fake_discord.get_message(ids["note_id"])
    assert note.source == "followup" and note.ephemeral and note.content == "only you (edited)"
    assert fake_discord.get_message(ids["extra_id"]).deleted
    assert rec.followup_message_ids == [ids["note_id"], ids["extra_id"]]
    # ephemeral messages are not visible in channel history
    visible = [m.id for m in fake_discord.messages(Defaults.ALERTS_CHANNEL_ID) if not m.ephemeral]
    assert visible == [ids["original_id"]]


class SnoozeView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Snooze 1h", custom_id="flowwatch:snooze")
    async def snooze(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.defer()  # DEFERRED_UPDATE_MESSAGE (type 6)
        await interaction.edit_original_response(content="Snoozed for 1h", view=None)
        await interaction.followup.send("I'll stay quiet until 15:00 UTC.", ephemeral=True)


async def test_deferred_update_then_edit_original_edits_the_clicked_message(
    fake_discord: FakeDiscord,
) -> None:
    old = await fake_discord.seed_bot_message(
        Defaults.ALERTS_CHANNEL_ID, "VIX spike", components=SnoozeView().to_components()
    )
    client = discord.Client(intents=bot_intents(), guild_ready_timeout=FAST_GUILD_READY_TIMEOUT)
    async with running_client(client, fake_discord):
        client.add_view(SnoozeView())
        rec = await fake_discord.click_button(old, "flowwatch:snooze", user=DEFAULT_MEMBER)
        note = await fake_discord.wait_for_followup(rec)
    assert rec.response_type == 6
    assert rec.original_message_id == old.id
    assert old.content == "Snoozed for 1h" and old.components == []
    assert note.id != old.id and note.ephemeral
