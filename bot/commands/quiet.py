"""``/quiet set|off|show`` (Manage Server): quiet hours per server.

During quiet hours events below severe are held and posted as one digest per channel when
the quiet hours end; severe alerts are posted at once.
"""

from __future__ import annotations

import discord
from discord import app_commands

from bot import guild_config
from bot.commands._common import (
    bot_of,
    check_text,
    db_call,
    db_read,
    defer_private,
    parse_or_refuse,
    reply,
    require_manage_guild,
    timezone_autocomplete,
)


class QuietGroup(app_commands.Group):
    def __init__(self) -> None:
        super().__init__(
            name="quiet",
            description="Quiet hours: hold non-severe alerts and post one digest after (needs Manage Server)",
            default_permissions=discord.Permissions(manage_guild=True),
            guild_only=True,
        )

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        require_manage_guild(interaction)
        return True

    @app_commands.command(name="set", description="Hold non-severe alerts between two local times")
    @app_commands.describe(
        start="Start, HH:MM 24-hour local time (e.g. 22:00)",
        end="End, HH:MM 24-hour local time (e.g. 07:00; may be after midnight)",
        timezone="IANA timezone such as Europe/London (default UTC)",
    )
    @app_commands.autocomplete(timezone=timezone_autocomplete)
    async def set_(
        self,
        interaction: discord.Interaction,
        start: app_commands.Range[str, 4, 5],
        end: app_commands.Range[str, 4, 5],
        timezone: app_commands.Range[str, 1, 64] = "UTC",
    ) -> None:
        quiet = parse_or_refuse(
            guild_config.QuietHours.parse,
            check_text("start", start, 10),
            check_text("end", end, 10),
            check_text("timezone", timezone, 64),
        )
        gid = require_manage_guild(interaction)
        await defer_private(interaction)
        await db_call(interaction, guild_config.set_quiet_hours, gid, quiet)
        await reply(
            interaction,
            f"🌙 Quiet hours {quiet.describe()}: alerts below severe are held and posted as one digest "
            "per channel when they end.",
            ephemeral=True,
        )

    @app_commands.command(name="off", description="No quiet hours (held alerts are posted at the next check)")
    async def off(self, interaction: discord.Interaction) -> None:
        gid = require_manage_guild(interaction)
        await defer_private(interaction)
        await db_call(interaction, guild_config.set_quiet_hours, gid, None)
        await reply(interaction, "Quiet hours are off; anything held is posted now.", ephemeral=True)
        await bot_of(interaction).release_quiet()

    @app_commands.command(name="show", description="This server's quiet hours")
    async def show(self, interaction: discord.Interaction) -> None:
        gid = require_manage_guild(interaction)
        await defer_private(interaction)
        quiet = await db_read(interaction, guild_config.quiet_hours, gid)
        await reply(
            interaction,
            f"Quiet hours: {quiet.describe()}." if quiet else "Quiet hours are off.",
            ephemeral=True,
        )


def commands() -> list[app_commands.Group]:
    return [QuietGroup()]
