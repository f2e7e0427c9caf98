"""The daily summary's content for a guild: generic over the registry."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import load_settings
from bot.discord_embeds import summary_embed
from bot.guild_summary import build_summary
from signals import registry
from storage import guild_state, meta

NOW = datetime(2024, 3, 15, 21, 30, tzinfo=UTC)


def test_summary_lists_every_signal_snoozes_and_failing_sources(db: Any) -> None:
    settings = load_settings(env={}, dotenv=None, check_db=False)
    now = int(NOW.timestamp())
    guild_state.snooze(db, 7, "vix_term", now + 3600, 1, now)
    meta.record_poll(db, "cboe_daily", True, 10, None, now - 86400)
    meta.record_poll(db, "cboe_daily", False, 0, "HTTP 503 from the Cboe CDN", now - 600)
    s = build_summary(db, settings, NOW, 7, ZoneInfo("Europe/London"))
    assert {p.signal for p in s.panels} == set(registry())
    assert s.snoozes == {"vix_term": now + 3600}
    assert s.stale == [
        f"source cboe_daily failing (last success <t:{now - 86400}:R>): HTTP 503 from the Cboe CDN"
    ]
    data = s.dashboard_data()
    assert data.signal == "dashboard" and set(data.levels) == set(registry())
    embed = summary_embed(s, "dashboard.png")
    names = [f.name for f in embed.fields]
    assert names == ["Alerts in the last 24 h", "Snoozed in this server", "Stale data"]
    assert (embed.title or "").endswith("Europe/London") and embed.image.url == "attachment://dashboard.png"
    assert build_summary(db, settings, NOW).snoozes == {}  # no guild: no snoozes
