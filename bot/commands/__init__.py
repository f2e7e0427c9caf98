"""Slash commands: one module per top-level command, discovered automatically.

A module here (not starting with ``_``) defines ``commands()`` returning the
:class:`discord.app_commands.Command` / :class:`~discord.app_commands.Group` objects it adds.
The tree (:func:`bot.discord_client.build_tree`) collects them from every module, so adding a
command is adding a module; for a signal's own chart command that is three lines::

    # bot/commands/ratecut.py
    from bot.commands._charts import signal_chart_command

    def commands():
        return [signal_chart_command("ratecut", "ratecut", "Fed rate-cut odds: chart and current level")]

Commands stay thin: parse, validate again (Discord does not enforce ``Range`` or choices),
call the same query/render functions as the CLI (:mod:`bot.queries`, :mod:`bot.charts`),
reply. Shared pieces live in :mod:`bot.commands._common` and :mod:`bot.commands._charts`.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType
from typing import Any

from discord import app_commands

AppCommand = app_commands.Command[Any, ..., Any] | app_commands.Group


def command_modules() -> list[ModuleType]:
    mods = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        mods.append(importlib.import_module(f"{__name__}.{info.name}"))
    return mods


def build_commands() -> list[AppCommand]:
    """Fresh command objects from every module (a new set per tree)."""
    out: list[AppCommand] = []
    for mod in command_modules():
        factory = getattr(mod, "commands", None)
        if callable(factory):
            out.extend(factory())
    return out
