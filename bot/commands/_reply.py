"""A signal report as a Discord reply: one embed, its fields, and the chart attached."""

from __future__ import annotations

import io
from typing import Any

import discord

from bot.commands._common import bot_of
from bot.discord_embeds import LEVEL_EMOJI, level_colour

MAX_FIELD = 1024


async def send_report(
    interaction: discord.Interaction,
    *,
    title: str,
    level: str,
    description: str,
    fields: dict[str, str],
    chart: dict[str, Any] | None,
    filename: str,
    footer: str,
) -> None:
    """Follow up a deferred interaction with the report's embed and (when there is data) its chart."""
    bot = bot_of(interaction)
    assert bot.app is not None
    embed = discord.Embed(
        title=f"{LEVEL_EMOJI.get(level, '')} {title}"[:256],
        description=description[:4000],
        colour=level_colour(level),
    )
    for name, value in list(fields.items())[:24]:
        embed.add_field(name=name[:256], value=(value or "–")[:MAX_FIELD], inline=True)
    embed.set_footer(text=footer[:2048])
    x = chart.get("x") if chart else None
    if chart and (x is None or len(x) > 0):
        png = await bot.app.renderer.render(chart)
        embed.set_image(url=f"attachment://{filename}")
        await interaction.followup.send(embed=embed, file=discord.File(io.BytesIO(png), filename=filename))
    else:
        await interaction.followup.send(embed=embed)
