"""Per-guild settings: durations, quiet hours (DST), summary schedules, per-guild thresholds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot import guild_config
from bot.config import load_settings
from bot.discord_client import summary_trigger
from bot.guild_config import QuietHours, SummarySchedule, parse_duration

G = 123456789012345678


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5m", 300),
        ("90m", 5400),
        ("1h30m", 5400),
        ("24h", 86400),
        ("7d", 604800),
        ("1d 2h", 93600),
        ("30 min", 1800),
    ],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "is not a duration"),
        ("soon", "is not a duration"),
        ("-1h", "is not a duration"),
        ("1m", "out of range"),
        ("31d", "out of range"),
        ("1.5h", "is not a duration"),
    ],
)
def test_bad_durations_say_what_is_allowed(text: str, needle: str) -> None:
    with pytest.raises(ValueError) as exc:
        parse_duration(text)
    assert needle in str(exc.value) and "5 min to 30 d" in str(exc.value)


def test_quiet_hours_across_midnight_and_daylight_saving() -> None:
    q = QuietHours.parse("22:00", "07:00", "Europe/London")
    # winter (GMT): 22:30 UTC is 22:30 local; summer (BST): 21:30 UTC is 22:30 local
    assert q.active(datetime(2024, 1, 10, 22, 30, tzinfo=UTC))
    assert q.active(datetime(2024, 7, 10, 21, 30, tzinfo=UTC))
    assert not q.active(datetime(2024, 7, 10, 20, 59, tzinfo=UTC))
    assert q.active(datetime(2024, 7, 11, 5, 59, tzinfo=UTC)) and not q.active(
        datetime(2024, 7, 11, 6, 0, tzinfo=UTC)
    )
    day = QuietHours.parse("09:00", "17:00", "UTC")
    assert day.active(datetime(2024, 1, 1, 9, 0, tzinfo=UTC)) and not day.active(
        datetime(2024, 1, 1, 17, 0, tzinfo=UTC)
    )
    with pytest.raises(ValueError, match="different start and end"):
        QuietHours.parse("07:00", "07:00", "UTC")
    with pytest.raises(ValueError, match="unknown timezone"):
        QuietHours.parse("22:00", "07:00", "Moon/Base")


def test_settings_round_trip(db: Any) -> None:
    guild_config.set_quiet_hours(db, G, QuietHours.parse("23:00", "06:30", "Asia/Tokyo"))
    assert guild_config.quiet_hours(db, G) == QuietHours.parse("23:00", "06:30", "Asia/Tokyo")
    guild_config.set_summary_schedule(db, G, SummarySchedule.parse("08:30", "Europe/London", 42))
    assert guild_config.all_summary_schedules(db) == {G: SummarySchedule.parse("08:30", "Europe/London", 42)}
    guild_config.set_admin_channel(db, G, 77)
    assert guild_config.admin_channel(db, G) == 77
    guild_config.set_summary_schedule(db, G, None)
    guild_config.set_quiet_hours(db, G, None)
    assert guild_config.all_summary_schedules(db) == {} and guild_config.quiet_hours(db, G) is None


def test_daily_summary_cron_is_dst_correct() -> None:
    trigger = summary_trigger(SummarySchedule.parse("08:30", "Europe/London", 1))
    before = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)  # British Summer Time starts 2026-03-29
    fires = []
    t = trigger.get_next_fire_time(None, before)
    for _ in range(4):
        fires.append(t.astimezone(UTC))
        t = trigger.get_next_fire_time(t, t + timedelta(seconds=1))
    assert [f.strftime("%m-%d %H:%M") for f in fires] == [
        "03-28 08:30",
        "03-29 07:30",
        "03-30 07:30",
        "03-31 07:30",
    ]
    ny = summary_trigger(SummarySchedule.parse("17:00", "America/New_York", 1))
    first = ny.get_next_fire_time(None, datetime(2026, 11, 1, 0, 0, tzinfo=UTC))  # EDT ends 2026-11-01
    assert first.astimezone(UTC).strftime("%m-%d %H:%M") == "11-01 22:00"


def test_only_grading_thresholds_are_settable_per_guild() -> None:
    assert guild_config.settable_keys("vix_term") == ("watch", "alert", "severe", "front_watch")


def test_set_threshold_validates_and_ignores_global_only_rules(db: Any) -> None:
    settings = load_settings(env={}, dotenv=None, check_db=False)
    with pytest.raises(ValueError, match="no per-server threshold 'confirm'"):
        guild_config.set_threshold(db, settings, G, "vix_term", "confirm", "3")
    with pytest.raises(ValueError, match="out of range"):
        guild_config.set_threshold(db, settings, G, "vix_term", "alert", "5")
    with pytest.raises(ValueError, match="levels must rise"):
        guild_config.set_threshold(db, settings, G, "vix_term", "watch", "1.2")
    with pytest.raises(ValueError, match="unknown signal"):
        guild_config.set_threshold(db, settings, G, "gold", "alert", "1")
    # below the global severe_exit (1.05): fine for grading, exits are global only
    assert guild_config.set_threshold(db, settings, G, "vix_term", "severe", "1.03") == 1.03
    params = guild_config.guild_params(db, settings, G, "vix_term")
    assert params is not None and params["severe"] == 1.03 and params["alert"] == 1.0
    assert guild_config.reset_thresholds(db, G, "vix_term", "alert") == 0
    assert guild_config.reset_thresholds(db, G, "vix_term") == 1
    assert guild_config.guild_params(db, settings, G, "vix_term") is None
