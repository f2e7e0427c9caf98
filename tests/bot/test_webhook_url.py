"""Every webhook URL form Discord hands out is accepted; the rest are refused at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.webhook_url import parse_webhook_url

ID = "123456789012345678"
TOKEN = "abcDEF-ghi_jklMNOpqrSTUvwxYZ0123456789abcdefghijklmnopqrstuvwxyz12"


@pytest.mark.parametrize(
    "url",
    [
        f"https://discord.com/api/webhooks/{ID}/{TOKEN}",
        f"https://discord.com/api/v10/webhooks/{ID}/{TOKEN}",
        f"https://discord.com/api/v9/webhooks/{ID}/{TOKEN}/",
        f"https://discordapp.com/api/webhooks/{ID}/{TOKEN}",
        f"https://ptb.discord.com/api/webhooks/{ID}/{TOKEN}",
        f"https://canary.discord.com/api/v10/webhooks/{ID}/{TOKEN}",
        f"https://canary.discordapp.com/api/webhooks/{ID}/{TOKEN}",
        f"  https://discord.com/api/webhooks/{ID}/{TOKEN}  ",
    ],
)
def test_accepted(url: str, tmp_path: Path) -> None:
    ref = parse_webhook_url(url)
    assert ref.id == int(ID) and ref.token == TOKEN
    settings = load_settings(
        env={"FLOWWATCH_DB": str(tmp_path / "x.db"), "DISCORD_WEBHOOK_URL": url}, dotenv=None
    )
    assert settings.webhook_url is not None


@pytest.mark.parametrize(
    "url",
    [
        f"http://discord.com/api/webhooks/{ID}/{TOKEN}",
        f"https://evil.com/api/webhooks/{ID}/{TOKEN}",
        f"https://discord.com.evil.com/api/webhooks/{ID}/{TOKEN}",
        f"https://discord.com/api/webhooks/{ID}",
        f"https://discord.com/api/webhooks/12345/{TOKEN}",
        f"https://discord.com/api/webhooks/{ID}/short",
        f"https://discord.com/api/webhooks/{ID}/{TOKEN}?wait=true",
        f"https://discord.com/webhooks/{ID}/{TOKEN}",
        f"https://discord.com/api/vx/webhooks/{ID}/{TOKEN}",
        "not-a-url",
    ],
)
def test_refused_at_start_up(url: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="expected a Discord webhook URL"):
        parse_webhook_url(url)
    with pytest.raises(ConfigError, match="DISCORD_WEBHOOK_URL"):
        load_settings(env={"FLOWWATCH_DB": str(tmp_path / "x.db"), "DISCORD_WEBHOOK_URL": url}, dotenv=None)
