"""``/chart signal [days]``: any signal's chart."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.commands._charts import send_signal_chart
from bot.commands._common import DAYS_MAX, DAYS_MIN, check_range, check_signal, signal_choices


async def chart_callback(
    interaction: discord.Interaction, signal: str, days: app_commands.Range[int, DAYS_MIN, DAYS_MAX] = 365
) -> None:
    sig = check_signal(signal)
    await send_signal_chart(interaction, sig.id, check_range("days", days, DAYS_MIN, DAYS_MAX, "days"))


def commands() -> list[app_commands.Command[Any, ..., Any]]:
    cmd: app_commands.Command[Any, ..., None] = app_commands.Command(
        name="chart", description="A signal's chart with its alerts marked", callback=chart_callback
    )
    app_commands.describe(
        signal="Which signal to chart",
        days=f"Days of history to chart, {DAYS_MIN} to {DAYS_MAX} (default 365)",
    )(cmd)
    app_commands.choices(signal=signal_choices())(cmd)
    return [cmd]
