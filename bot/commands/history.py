"""``/history [signal] [days]``: the alert events of a period, newest first."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import discord
from discord import app_commands

from bot.commands._common import HISTORY_DAYS_MAX, bot_of, check_range, check_signal, db_read, signal_choices
from bot.discord_embeds import history_embed, signal_title
from storage import alerts as alert_repo
from storage.timeutil import to_epoch


async def history_callback(
    interaction: discord.Interaction,
    signal: str | None = None,
    days: app_commands.Range[int, 1, HISTORY_DAYS_MAX] = 30,
) -> None:
    sig_id = check_signal(signal).id if signal is not None else None
    n = check_range("days", days, 1, HISTORY_DAYS_MAX, "days")
    bot = bot_of(interaction)
    now = bot.now()
    await interaction.response.defer(thinking=True)  # before any database work (3-second deadline)
    alerts = await db_read(
        interaction,
        alert_repo.list_alerts,
        "live",
        sig_id,
        to_epoch(now - timedelta(days=n)),
        to_epoch(now),
        "alert",
        50,
        True,
    )
    what = signal_title(sig_id) if sig_id else "all signals"
    await interaction.followup.send(embed=history_embed(alerts, f"Alert history · {what} · last {n} days"))


def commands() -> list[app_commands.Command[Any, ..., Any]]:
    cmd: app_commands.Command[Any, ..., None] = app_commands.Command(
        name="history", description="Alert events of the last days, newest first", callback=history_callback
    )
    app_commands.describe(
        signal="Only this signal (default: all)",
        days=f"How many days back, 1 to {HISTORY_DAYS_MAX} (default 30)",
    )(cmd)
    app_commands.choices(signal=signal_choices())(cmd)
    return [cmd]
