"""Settings added for the buyback signal and its earnings sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, env_example, load_settings
from signals.sources import alphavantage, nasdaq

REPO = Path(__file__).resolve().parents[2]


def test_earnings_settings_and_the_secret_key() -> None:
    s = load_settings(
        env={"ALPHAVANTAGE_API_KEY": "ABCDEF123456", "FLOWWATCH_EARNINGS_SCAN_DAYS": "60"},
        dotenv=None,
        check_db=False,
    )
    key = s.get(alphavantage.API_KEY)
    assert key is not None and key.get() == "ABCDEF123456"
    assert "ABCDEF123456" not in repr(s) and "ABCDEF123456" in s.secrets()
    assert s.get(nasdaq.SCAN_DAYS) == 60 and s.get(nasdaq.SPACING) == 2.0
    assert load_settings(env={}, dotenv=None, check_db=False).get(alphavantage.API_KEY) is None


def test_bad_earnings_settings_say_what_is_allowed() -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings(
            env={
                "ALPHAVANTAGE_API_KEY": "not a key!",
                "FLOWWATCH_EARNINGS_SCAN_DAYS": "500",
                "FLOWWATCH_EARNINGS_SPACING": "0",
                "FLOWWATCH_BUYBACK_ALERT_EXIT": "70",
            },
            dotenv=None,
            check_db=False,
        )
    text = str(exc.value)
    assert "ALPHAVANTAGE_API_KEY=***" in text and "not a key" not in text
    assert "FLOWWATCH_EARNINGS_SCAN_DAYS='500': 500 is out of range (7 to 180)" in text
    assert "FLOWWATCH_EARNINGS_SPACING='0'" in text
    assert "buyback thresholds: alert_exit (70) must be below alert (50)" in text


def test_buyback_thresholds_come_from_the_environment() -> None:
    s = load_settings(env={"FLOWWATCH_BUYBACK_HEADSUP_DAYS": "8"}, dotenv=None, check_db=False)
    assert s.signal_params("buyback")["headsup_days"] == 8


def test_env_example_is_current() -> None:
    assert (REPO / ".env.example").read_text() == env_example()
    assert "ALPHAVANTAGE_API_KEY=" in env_example() and "FLOWWATCH_BUYBACK_ALERT=" in env_example()
