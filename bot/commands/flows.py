"""``/flows [flow] [days]``: the mechanical flows of the thesis in one place.

Without ``flow``: the latest reading of every flow signal that is registered (vol-control
funds, CTA trend, net liquidity, credit), each key with its level, as-of and staleness, and the
assumptions of the estimates. With ``flow``: that flow's chart and readings (as ``/chart``).
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.commands._charts import send_signal_chart
from bot.commands._common import DAYS_MAX, DAYS_MIN, UserInputError, bot_of, check_range, db_read
from bot.discord_embeds import status_embed
from bot.queries import status
from signals import registry

#: the flow signals, in display order (those not registered are left out)
FLOW_SIGNALS = ("vol_control", "cta_trend", "net_liquidity", "credit")
DAYS_DEFAULT = 365


def flow_ids() -> list[str]:
    reg = registry()
    return [sid for sid in FLOW_SIGNALS if sid in reg]


def check_flow(value: str | None) -> str:
    ids = flow_ids()
    if value not in ids:
        allowed = ", ".join(f"`{s}`" for s in ids) or "none"
        raise UserInputError(f"Unknown flow `{value}`; available: {allowed}.")
    return value


async def flows_callback(
    interaction: discord.Interaction,
    flow: str | None = None,
    days: app_commands.Range[int, DAYS_MIN, DAYS_MAX] = DAYS_DEFAULT,
) -> None:
    d = check_range("days", days, DAYS_MIN, DAYS_MAX, "days")
    if flow is not None:
        await send_signal_chart(interaction, check_flow(flow), d)
        return
    bot = bot_of(interaction)
    await interaction.response.defer(thinking=True)
    now = bot.now()
    rows = []
    for sid in flow_ids():
        rows += await db_read(interaction, status, bot.settings, now, sid)
    embed = status_embed(rows, "flowwatch flows")
    notes: list[str] = []
    for ks in rows:
        text = ks.reading.data.get("assumptions") if ks.reading is not None else None
        if isinstance(text, str) and text and not any(text in n for n in notes):
            notes.append(f"**{registry()[ks.signal].title}**: {text}")
    embed.description = (
        "Estimates of flows nobody publishes, and the liquidity behind them; each says what it assumes."
        + ("\n" + "\n".join(notes) if notes else "")
    )[:4000]
    embed.set_footer(text="flowwatch · /flows flow:<name> shows its chart")
    await interaction.followup.send(embed=embed)


def commands() -> list[app_commands.Command[Any, ..., Any]]:
    ids = flow_ids()
    if not ids:
        return []
    cmd: app_commands.Command[Any, ..., None] = app_commands.Command(
        name="flows",
        description="The mechanical flows: vol-control, CTA trend and more (estimates), or one flow's chart",
        callback=flows_callback,
    )
    app_commands.describe(
        flow="A flow to chart (leave empty for the latest of all of them)",
        days=f"Days of history to chart, {DAYS_MIN} to {DAYS_MAX} (default {DAYS_DEFAULT})",
    )(cmd)
    app_commands.choices(flow=[app_commands.Choice(name=registry()[s].title[:100], value=s) for s in ids])(
        cmd
    )
    return [cmd]
