"""``/alerts subscribe|unsubscribe|list|snooze|unsnooze|admin-channel`` (Manage Server).

Discord hides the whole group from members without Manage Server
(``default_member_permissions`` applies per top-level command); the bot checks again in
:meth:`AlertsGroup.interaction_check`, so a refused user changes nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import discord
from discord import app_commands
from sqlite_utils import Database

from bot import guild_config
from bot.commands._common import (
    NotAllowed,
    UserInputError,
    bot_of,
    check_level,
    check_range,
    check_signal,
    check_text,
    db_call,
    db_read,
    defer_private,
    level_choices,
    parse_or_refuse,
    reply,
    require_manage_guild,
    signal_choices,
)
from bot.discord_embeds import LEVEL_EMOJI, signal_title, ts_tag
from storage import guild_state, subscriptions
from storage.timeutil import to_epoch

NEEDED = ("view_channel", "send_messages", "embed_links", "attach_files")
SNOOZE_SUGGESTIONS = ("1h", "4h", "24h", "3d", "7d")


def check_channel(interaction: discord.Interaction, channel: Any) -> discord.abc.GuildChannel:
    """A text channel of this server where the bot can post alerts with charts."""
    if not isinstance(channel, discord.TextChannel):
        raise UserInputError("Pick a text channel of this server for alerts.")
    if channel.guild.id != interaction.guild_id:
        raise UserInputError("That channel belongs to another server.")
    me = channel.guild.me
    if me is not None:
        perms = channel.permissions_for(me)
        missing = [p.replace("_", " ").title() for p in NEEDED if not getattr(perms, p)]
        if missing:
            raise UserInputError(
                f"I cannot post alerts in {channel.mention}: I am missing {', '.join(missing)} there. "
                "Grant those to my role in that channel, then try again."
            )
    return channel


def _server_setup(
    db: Database, guild_id: int, now: int
) -> tuple[
    list[subscriptions.Subscription],
    dict[str, int],
    int | None,
    guild_config.QuietHours | None,
    guild_config.SummarySchedule | None,
]:
    """What ``/alerts list`` shows, read on one read-only connection."""
    return (
        subscriptions.list_subscriptions(db, guild_id),
        guild_state.active_snoozes(db, guild_id, now),
        guild_config.admin_channel(db, guild_id),
        guild_config.quiet_hours(db, guild_id),
        guild_config.summary_schedule(db, guild_id),
    )


async def snooze_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    cur = current.strip().lower()
    options = [s for s in SNOOZE_SUGGESTIONS if s.startswith(cur)] or ([current.strip()] if cur else [])
    return [app_commands.Choice(name=s, value=s) for s in options[:25]]


class AlertsGroup(app_commands.Group):
    def __init__(self) -> None:
        super().__init__(
            name="alerts",
            description="Alert subscriptions of this server (needs Manage Server)",
            default_permissions=discord.Permissions(manage_guild=True),
            guild_only=True,
        )

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        require_manage_guild(interaction)
        return True

    @app_commands.command(name="subscribe", description="Post a signal's alerts in a channel")
    @app_commands.describe(
        signal="Which signal",
        channel="Text channel for the alerts (I need View, Send, Embed Links and Attach Files there)",
        min_level="Lowest level to post: watch, alert (default) or severe",
        role="Role to ping on severe alerts (optional)",
    )
    @app_commands.choices(signal=signal_choices(), min_level=level_choices())
    async def subscribe(
        self,
        interaction: discord.Interaction,
        signal: str,
        channel: discord.TextChannel,
        min_level: str = "alert",
        role: discord.Role | None = None,
    ) -> None:
        sig = check_signal(signal)
        level = check_level(min_level)
        chan = check_channel(interaction, channel)
        note = ""
        if role is not None:
            if not isinstance(role, discord.Role) or role.guild.id != interaction.guild_id:
                raise UserInputError("That role is not a role of this server.")
            if role.is_default():
                raise UserInputError("Pick a role to ping, not @everyone.")
            me = role.guild.me
            if not role.mentionable and not (me is not None and me.guild_permissions.mention_everyone):
                note = (
                    f"\nNote: {role.mention} is not mentionable, so pings will not notify anyone; enable "
                    "*Allow anyone to @mention this role* or give me *Mention @everyone*."
                )
        gid = require_manage_guild(interaction)
        await defer_private(interaction)
        await db_call(
            interaction,
            subscriptions.subscribe,
            gid,
            chan.id,
            sig.id,
            level,
            role.id if role is not None else None,
            interaction.user.id,
        )
        ping = f", pinging {role.mention} on severe alerts" if role is not None else ""
        await reply(
            interaction,
            f"✅ {sig.title} alerts from **{level}** up will be posted in {chan.mention}{ping}.{note}",
            ephemeral=True,
        )

    @app_commands.command(name="unsubscribe", description="Stop posting a signal's alerts")
    @app_commands.describe(signal="Which signal", channel="Only this channel (default: every channel)")
    @app_commands.choices(signal=signal_choices())
    async def unsubscribe(
        self, interaction: discord.Interaction, signal: str, channel: discord.TextChannel | None = None
    ) -> None:
        sig = check_signal(signal)
        gid = require_manage_guild(interaction)
        await defer_private(interaction)
        n = await db_call(
            interaction, subscriptions.unsubscribe, gid, sig.id, channel.id if channel else None
        )
        where = f" in {channel.mention}" if channel else ""
        text = (
            f"Removed {n} subscription(s) to {sig.title}{where}."
            if n
            else f"No subscription to {sig.title}{where}."
        )
        await reply(interaction, text, ephemeral=True)

    @app_commands.command(name="list", description="This server's subscriptions, snoozes and settings")
    @app_commands.describe(page="Which page, when the list is long (default 1)")
    async def list_(
        self, interaction: discord.Interaction, page: app_commands.Range[int, 1, 100] = 1
    ) -> None:
        gid = require_manage_guild(interaction)
        wanted = check_range("page", page, 1, 100)
        bot = bot_of(interaction)
        await defer_private(interaction)
        now = to_epoch(bot.now())
        subs, snoozes, admin, quiet, summary = await db_read(interaction, _server_setup, gid, now)
        lines = []
        for s in subs:
            role = f", pings <@&{s.role_id}> on severe" if s.role_id else ""
            off = f" — ⛔ disabled: {s.disabled_reason}" if not s.enabled else ""
            lines.append(
                f"{LEVEL_EMOJI.get(s.min_level, '')} **{signal_title(s.signal)}** → <#{s.channel_id}> from {s.min_level}{role}{off}"
            )
        pages = page_lines(lines, LIST_PAGE_CHARS) or ["No subscriptions yet: `/alerts subscribe`."]
        shown = min(wanted, len(pages))
        title = "flowwatch in this server"
        if len(pages) > 1:
            title += f" (page {shown} of {len(pages)})"
        embed = discord.Embed(title=title, description=pages[shown - 1])
        if len(pages) > 1:
            embed.set_footer(
                text=f"{len(lines)} subscriptions on {len(pages)} pages: /alerts list page:{shown % len(pages) + 1}"
            )
        if snoozes:
            embed.add_field(
                name="Snoozed",
                value="\n".join(f"{signal_title(k)} until {ts_tag(v, 'f')}" for k, v in snoozes.items())[
                    :1024
                ],
                inline=False,
            )
        embed.add_field(
            name="Admin channel", value=f"<#{admin}>" if admin else "the system channel", inline=True
        )
        embed.add_field(name="Quiet hours", value=quiet.describe() if quiet else "off", inline=True)
        embed.add_field(
            name="Daily summary",
            value=f"{summary.describe()} in <#{summary.channel_id}>" if summary else "off",
            inline=True,
        )
        await reply(interaction, embed=embed, ephemeral=True)

    @app_commands.command(name="snooze", description="Silence a signal's alerts in this server for a while")
    @app_commands.describe(
        signal="Which signal", duration="How long: 30m, 1h, 24h, 7d ... (5 min to 30 days)"
    )
    @app_commands.choices(signal=signal_choices())
    @app_commands.autocomplete(duration=snooze_autocomplete)
    async def snooze(
        self, interaction: discord.Interaction, signal: str, duration: app_commands.Range[str, 1, 20]
    ) -> None:
        sig = check_signal(signal)
        seconds = parse_or_refuse(guild_config.parse_duration, check_text("duration", duration, 20))
        gid = require_manage_guild(interaction)
        await defer_private(interaction)
        text = await snooze_signal(interaction, gid, sig.id, seconds)
        await reply(interaction, text, ephemeral=True)

    @app_commands.command(name="unsnooze", description="Lift a snooze (or every snooze of this server)")
    @app_commands.describe(signal="Which signal (default: all)")
    @app_commands.choices(signal=signal_choices())
    async def unsnooze(self, interaction: discord.Interaction, signal: str | None = None) -> None:
        sig_id = check_signal(signal).id if signal is not None else None
        gid = require_manage_guild(interaction)
        await defer_private(interaction)
        n = await db_call(interaction, guild_state.unsnooze, gid, sig_id)
        what = signal_title(sig_id) if sig_id else "every signal"
        await reply(
            interaction,
            f"🔔 Alerts for {what} are on again." if n else f"{what} was not snoozed.",
            ephemeral=True,
        )

    @app_commands.command(
        name="admin-channel", description="Where operational notices go (default: the system channel)"
    )
    @app_commands.describe(
        channel="Channel for notices such as stale data (leave empty for the system channel)"
    )
    async def admin_channel(
        self, interaction: discord.Interaction, channel: discord.TextChannel | None = None
    ) -> None:
        gid = require_manage_guild(interaction)
        if channel is not None:
            check_channel(interaction, channel)
        await defer_private(interaction)
        await db_call(interaction, guild_config.set_admin_channel, gid, channel.id if channel else None)
        where = channel.mention if channel else "the system channel"
        await reply(
            interaction, f"Operational notices (stale data, broken channels) go to {where}.", ephemeral=True
        )


async def snooze_signal(interaction: discord.Interaction, guild_id: int, signal_id: str, seconds: int) -> str:
    """Store a guild snooze; the confirmation text."""
    if interaction.guild_id is None:
        raise NotAllowed("Snoozes belong to a server; use this in a server.")
    bot = bot_of(interaction)
    now = bot.now()
    until = now + timedelta(seconds=seconds)
    await db_call(
        interaction,
        guild_state.snooze,
        guild_id,
        signal_id,
        to_epoch(until),
        interaction.user.id,
        to_epoch(now),
    )
    return (
        f"🔕 {signal_title(signal_id)} is snoozed in this server for {guild_config.until_text(seconds)} "
        f"(until {ts_tag(until, 'f')}). `/alerts unsnooze` lifts it."
    )


#: characters of subscription lines per page: under the 4,096 of an embed description, with room
#: for the settings fields within the 6,000 of the whole embed
LIST_PAGE_CHARS = 3500


def page_lines(lines: list[str], limit: int) -> list[str]:
    """Join lines into pages of at most ``limit`` characters, never splitting a line."""
    pages: list[str] = []
    cur: list[str] = []
    size = 0
    for line in lines:
        line = line[:limit]
        if cur and size + 1 + len(line) > limit:
            pages.append("\n".join(cur))
            cur, size = [], 0
        cur.append(line)
        size += len(line) + (1 if size else 0)
    if cur:
        pages.append("\n".join(cur))
    return pages


def commands() -> list[app_commands.Group]:
    return [AlertsGroup()]
