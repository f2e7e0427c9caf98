"""``/status``: every signal's level, value, as-of and distance to its next threshold."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.commands._common import bot_of, db_read
from bot.discord_embeds import status_embed
from bot.queries import status


async def status_callback(interaction: discord.Interaction) -> None:
    bot = bot_of(interaction)
    # defer first: Discord wants an answer within 3 s, whatever the database holds
    await interaction.response.defer(thinking=True)
    rows = await db_read(interaction, status, bot.settings, bot.now())
    await interaction.followup.send(embed=status_embed(rows))


def commands() -> list[app_commands.Command[Any, ..., Any]]:
    return [
        app_commands.Command(
            name="status",
            description="Every signal: level, value, as-of and distance to its next threshold",
            callback=status_callback,
        )
    ]
