"""``/status``: every signal's level, value, as-of and distance to its next threshold."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.commands._common import bot_of, db_call
from bot.discord_embeds import status_embed
from bot.queries import status


async def status_callback(interaction: discord.Interaction) -> None:
    bot = bot_of(interaction)
    rows = await db_call(interaction, status, bot.settings, bot.now())
    await interaction.response.send_message(embed=status_embed(rows))


def commands() -> list[app_commands.Command[Any, ..., Any]]:
    return [
        app_commands.Command(
            name="status",
            description="Every signal: level, value, as-of and distance to its next threshold",
            callback=status_callback,
        )
    ]
