"""``/liquidations [hours]``: BTC liquidations across venues, long vs short, with the chart."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.commands._common import bot_of, db_read, now_of, parse_or_refuse
from bot.commands._reply import send_report
from bot.liquidations import (
    DEFAULT_HOURS,
    MAX_HOURS,
    MIN_HOURS,
    liquidations_chart,
    liquidations_report,
    liquidations_text,
    validate_hours,
)
from signals import registry


async def liquidations_callback(
    interaction: discord.Interaction, hours: app_commands.Range[int, MIN_HOURS, MAX_HOURS] = DEFAULT_HOURS
) -> None:
    h = parse_or_refuse(validate_hours, hours)
    now = now_of(interaction)
    bot = bot_of(interaction)
    bot.cooldowns.hit(interaction.user.id)
    await interaction.response.defer(thinking=True)
    report = await db_read(interaction, liquidations_report, bot.settings, now, h)
    chart = await db_read(interaction, liquidations_chart, bot.settings, now, h)
    text = liquidations_text(report, bot.settings.timezone)
    lines = text.splitlines()
    level = report.reading.level.label if report.reading is not None else "ok"
    fields = {
        "Longs liquidated": f"${report.long_usd / 1e6:,.1f}M",
        "Shorts liquidated": f"${report.short_usd / 1e6:,.1f}M",
    }
    for venue, (lng, sht) in sorted(report.by_venue.items()):
        fields[venue] = f"${(lng + sht) / 1e6:,.1f}M"
    await send_report(
        interaction,
        title=lines[0] if lines else f"BTC liquidations · last {h} h",
        level=level,
        description="\n".join(lines[1:14]),
        fields=fields,
        chart=chart,
        filename=f"liquidations-{h}h.png",
        footer="flowwatch · Binance sends at most one liquidation per symbol per second: its totals are a lower bound",
    )


def commands() -> list[app_commands.Command[Any, ..., Any]]:
    if "btc_liq" not in registry():
        return []
    cmd: app_commands.Command[Any, ..., None] = app_commands.Command(
        name="liquidations",
        description="BTC futures liquidations across venues, long vs short, with the chart",
        callback=liquidations_callback,
    )
    app_commands.describe(hours=f"Hours to look back, {MIN_HOURS} to {MAX_HOURS} (default {DEFAULT_HOURS})")(
        cmd
    )
    return [cmd]
