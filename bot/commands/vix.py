"""``/vix [days]``: the VIX term structure chart and its current readings."""

from __future__ import annotations

from typing import Any

from discord import app_commands

from bot.commands._charts import signal_chart_command
from signals import registry


def commands() -> list[app_commands.Command[Any, ..., Any]]:
    if "vix_term" not in registry():
        return []
    return [
        signal_chart_command("vix", "vix_term", "VIX term structure: VIX vs VIX3M chart and current level")
    ]
