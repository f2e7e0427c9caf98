"""``/ratecut [meeting]``: Fed-cut odds of one FOMC meeting per venue, with its chart."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.commands._common import bot_of, check_text, db_read, now_of, parse_or_refuse
from bot.commands._reply import send_report
from bot.ratecut import parse_meeting, ratecut_answer
from signals import registry


async def ratecut_callback(
    interaction: discord.Interaction, meeting: app_commands.Range[str, 1, 20] | None = None
) -> None:
    now = now_of(interaction)
    text = check_text("meeting", meeting, 20) if meeting is not None else None
    mt = parse_or_refuse(parse_meeting, text, now)
    bot = bot_of(interaction)
    bot.cooldowns.hit(interaction.user.id)
    await interaction.response.defer(thinking=True)
    answer = await db_read(interaction, ratecut_answer, bot.settings, now, mt)
    await send_report(
        interaction,
        title=answer.title,
        level=answer.level.label,
        description="\n".join(answer.lines[:12]),
        fields=answer.fields,
        chart=answer.chart,
        filename=f"ratecut-{mt.id}.png",
        footer="flowwatch · market-implied odds (Kalshi, Polymarket, FedWatch method)",
    )


def commands() -> list[app_commands.Command[Any, ..., Any]]:
    if "ratecut" not in registry():
        return []
    cmd: app_commands.Command[Any, ..., None] = app_commands.Command(
        name="ratecut",
        description="Fed-cut odds for an FOMC meeting per venue, with its chart",
        callback=ratecut_callback,
    )
    app_commands.describe(
        meeting="next (default), 2, a decision date like 2026-12-09, or a month like dec or 2027-03"
    )(cmd)
    return [cmd]
