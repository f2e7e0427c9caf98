"""Everything but the Discord layer imports and works without discord.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

DISCORD_FREE = [
    "signals",
    "storage.db",
    "storage.guild_state",
    "bot.engine",
    "bot.queries",
    "bot.charts",
    "bot.charts.dashboard",
    "bot.routing",
    "bot.guild_config",
    "bot.guild_summary",
    "bot.pacing",
    "bot.dispatcher",
    "bot.runner",
    "bot.cli",
]


def test_discord_free_modules_import_without_discord() -> None:
    code = (
        "import sys; sys.modules['discord'] = None\n"
        + "".join(f"import {m}\n" for m in DISCORD_FREE)
        + "from bot.cli import main; sys.exit(main(['--version']))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "flowwatch" in res.stdout
