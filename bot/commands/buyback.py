"""``/buyback [days]``: the estimated share of companies in their buyback blackout window."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.buyback_view import buyback_view
from bot.commands._common import bot_of, check_range, db_read, now_of
from bot.commands._reply import send_report
from signals import registry

DAYS_MIN, DAYS_MAX, DAYS_DEFAULT = 30, 730, 180


async def buyback_callback(
    interaction: discord.Interaction, days: app_commands.Range[int, DAYS_MIN, DAYS_MAX] = DAYS_DEFAULT
) -> None:
    d = check_range("days", days, DAYS_MIN, DAYS_MAX, "days")
    now = now_of(interaction)
    bot = bot_of(interaction)
    bot.cooldowns.hit(interaction.user.id)
    await interaction.response.defer(thinking=True)
    view = await db_read(interaction, buyback_view, bot.settings, now, d)
    await send_report(
        interaction,
        title=view.title,
        level=view.status.level.label,
        description=view.summary,
        fields=view.fields,
        chart=view.chart,
        filename=f"buyback-{d}d.png",
        footer=f"flowwatch · an estimate from the earnings calendar ({view.universe})",
    )


def commands() -> list[app_commands.Command[Any, ..., Any]]:
    if "buyback" not in registry():
        return []
    cmd: app_commands.Command[Any, ..., None] = app_commands.Command(
        name="buyback",
        description="Share of large US companies in their buyback blackout window (estimate)",
        callback=buyback_callback,
    )
    app_commands.describe(
        days=f"Days around today to chart, {DAYS_MIN} to {DAYS_MAX} (default {DAYS_DEFAULT})"
    )(cmd)
    return [cmd]
