"""flowwatch: the bot, its CLI, scheduler wiring, alert engine, charts and sinks.

Only the ``bot.discord_*`` modules import discord.py; everything else here is importable
and testable without a bot.
"""

__version__ = "0.1.0"
