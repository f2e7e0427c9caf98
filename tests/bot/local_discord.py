"""``python -m tests.bot.local_discord ARGS``: the flowwatch CLI with Discord's REST base pointed at
``TEST_DISCORD_API_BASE`` (a local fake Discord), for tests that run the bot as a real
process (``kill -9`` and restart). Nothing else differs from ``flowwatch ARGS``."""

from __future__ import annotations

import os
import sys

import discord.http

if __name__ == "__main__":
    discord.http.Route.BASE = os.environ["TEST_DISCORD_API_BASE"]
    from bot.cli import main

    sys.exit(main(sys.argv[1:]))
