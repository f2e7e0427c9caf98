"""``/summary now`` (everyone) and ``/summary schedule|unschedule`` (Manage Server, checked by the bot).

Discord applies ``default_member_permissions`` per top-level command, so ``/summary`` stays
visible to everyone for ``now``; the schedule subcommands check Manage Server themselves.
"""

from __future__ import annotations

import discord
from discord import app_commands

from bot import guild_config
from bot.commands._common import (
    bot_of,
    check_text,
    db_call,
    defer_private,
    parse_or_refuse,
    reply,
    require_manage_guild,
    timezone_autocomplete,
)
from bot.discord_embeds import ts_tag


class SummaryGroup(app_commands.Group):
    def __init__(self) -> None:
        super().__init__(
            name="summary", description="The daily summary: every signal, recent alerts, one dashboard"
        )

    @app_commands.command(name="now", description="Post the summary with its dashboard now")
    async def now(self, interaction: discord.Interaction) -> None:
        bot = bot_of(interaction)
        bot.cooldowns.hit(interaction.user.id)
        await interaction.response.defer(thinking=True)
        embed, file = await bot.summary_message(interaction.guild_id)
        await interaction.followup.send(embed=embed, file=file)

    @app_commands.command(
        name="schedule", description="Post the summary every day at a local time (Manage Server)"
    )
    @app_commands.describe(
        time="Local time of day, HH:MM in 24-hour form (e.g. 08:30)",
        timezone="IANA timezone such as Europe/London or America/New_York (daylight saving handled)",
        channel="Channel for the summary",
    )
    @app_commands.autocomplete(timezone=timezone_autocomplete)
    async def schedule(
        self,
        interaction: discord.Interaction,
        time: app_commands.Range[str, 4, 5],
        timezone: app_commands.Range[str, 1, 64],
        channel: discord.TextChannel,
    ) -> None:
        gid = require_manage_guild(interaction)
        from bot.commands.alerts import check_channel

        sched = parse_or_refuse(
            guild_config.SummarySchedule.parse,
            check_text("time", time, 10),
            check_text("timezone", timezone, 64),
            0,
        )
        chan = check_channel(interaction, channel)
        sched = guild_config.SummarySchedule(sched.at, sched.tz, chan.id)
        bot = bot_of(interaction)
        await defer_private(interaction)
        await db_call(interaction, guild_config.set_summary_schedule, gid, sched)
        nxt = await bot.reschedule_summaries()
        when = f" Next: {ts_tag(nxt[gid], 'F')}." if gid in nxt else ""
        await reply(
            interaction, f"🗓️ Daily summary at {sched.describe()} in {chan.mention}.{when}", ephemeral=True
        )

    @app_commands.command(name="unschedule", description="Stop the daily summary (Manage Server)")
    async def unschedule(self, interaction: discord.Interaction) -> None:
        gid = require_manage_guild(interaction)
        bot = bot_of(interaction)
        await defer_private(interaction)
        await db_call(interaction, guild_config.set_summary_schedule, gid, None)
        await bot.reschedule_summaries()
        await reply(interaction, "The daily summary is off for this server.", ephemeral=True)


def commands() -> list[app_commands.Group]:
    return [SummaryGroup()]
