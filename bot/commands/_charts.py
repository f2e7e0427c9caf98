"""Chart replies shared by ``/vix``, ``/chart``, the per-signal commands and the chart button.

A signal's own command is one call: ``signal_chart_command("ratecut", "ratecut", "...")``
gives ``/ratecut [days]`` with the same validation, cooldown, defer and chart as ``/vix``.
"""

from __future__ import annotations

import io
from typing import Any

import discord
from discord import app_commands

from bot.commands._common import DAYS_MAX, DAYS_MIN, bot_of, check_range, db_read
from bot.discord_embeds import LEVEL_EMOJI, level_colour, signal_title, status_value
from bot.queries import chart_data, status
from signals.base import Level
from signals.charts import ChartData


def has_points(data: ChartData) -> bool:
    return not data.empty


async def send_signal_chart(
    interaction: discord.Interaction, signal_id: str, days: int, *, ephemeral: bool = False
) -> None:
    """Cooldown, defer (rendering may take a while), chart data, render, follow up. A caller that
    has already deferred (the chart button, before it reads its alert) has hit the cooldown too."""
    bot = bot_of(interaction)
    assert bot.app is not None
    if not interaction.response.is_done():
        bot.cooldowns.hit(interaction.user.id)
        await interaction.response.defer(thinking=True, ephemeral=ephemeral)
    now = bot.now()
    data = await db_read(interaction, chart_data, bot.settings, signal_id, now, days)
    rows = await db_read(interaction, status, bot.settings, now, signal_id)
    name = signal_title(signal_id)
    if not has_points(data):
        await interaction.followup.send(
            f"No stored data for {name} in the last {days} days yet (the operator can load history "
            "with `flowwatch backfill`).",
            ephemeral=ephemeral,
        )
        return
    png = await bot.app.renderer.render(data)
    filename = f"{signal_id}-{days}d.png"
    worst = max((ks.level for ks in rows), default=Level.OK)
    embed = discord.Embed(
        title=f"{LEVEL_EMOJI[worst.label]} {name} · last {days} days", colour=level_colour(worst.label)
    )
    for ks in rows:
        embed.add_field(name=ks.name, value=status_value(ks)[:1024], inline=False)
    embed.set_image(url=f"attachment://{filename}")
    embed.set_footer(text=f"flowwatch · {data.source}")
    await interaction.followup.send(
        embed=embed, file=discord.File(io.BytesIO(png), filename=filename), ephemeral=ephemeral
    )


def signal_chart_command(
    name: str, signal_id: str, description: str, default_days: int = 365
) -> app_commands.Command[Any, ..., None]:
    """``/<name> [days]``: one signal's chart and current readings."""

    async def callback(
        interaction: discord.Interaction, days: app_commands.Range[int, DAYS_MIN, DAYS_MAX] = default_days
    ) -> None:
        await send_signal_chart(interaction, signal_id, check_range("days", days, DAYS_MIN, DAYS_MAX, "days"))

    cmd: app_commands.Command[Any, ..., None] = app_commands.Command(
        name=name, description=description, callback=callback
    )
    return app_commands.describe(
        days=f"Days of history to chart, {DAYS_MIN} to {DAYS_MAX} (default {default_days})"
    )(cmd)
