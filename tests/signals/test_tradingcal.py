"""The NYSE calendar helpers (signals/tradingcal.py)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from signals import tradingcal

# (UTC time, open?) around regular and early closes, a holiday and a weekend
CASES = [
    (datetime(2024, 11, 29, 14, 29, tzinfo=UTC), False),  # day after Thanksgiving, before the open
    (datetime(2024, 11, 29, 14, 30, tzinfo=UTC), True),  # the open's minute
    (datetime(2024, 11, 29, 17, 59, tzinfo=UTC), True),  # the early close at 13:00 ET
    (datetime(2024, 11, 29, 18, 0, tzinfo=UTC), False),
    (datetime(2024, 11, 28, 16, 0, tzinfo=UTC), False),  # Thanksgiving
    (datetime(2026, 11, 21, 16, 0, tzinfo=UTC), False),  # a Saturday
    (datetime(2025, 7, 3, 16, 59, 59, tzinfo=UTC), True),  # early close, last second
    (datetime(2026, 3, 9, 13, 30, tzinfo=UTC), True),  # the first day of daylight time, 09:30 EDT
    (datetime(2026, 3, 6, 13, 30, tzinfo=UTC), False),  # the Friday before, 08:30 EST
    (datetime(2026, 3, 6, 20, 59, tzinfo=UTC), True),
    (datetime(2026, 3, 6, 21, 0, tzinfo=UTC), False),  # the close's minute is out
]


@pytest.mark.parametrize(("now", "expected"), CASES)
def test_is_market_open(now: datetime, expected: bool) -> None:
    assert tradingcal.is_market_open(now) is expected


def test_is_market_open_agrees_with_the_calendars_minutes() -> None:
    """Every minute of a week with a holiday and an early close, against exchange_calendars' own
    minute-by-minute answer."""
    cal = tradingcal._xnys()
    start = datetime(2024, 11, 25, tzinfo=UTC)
    for m in range(0, 7 * 1440, 7):
        now = start + timedelta(minutes=m)
        want = bool(cal.is_open_on_minute(pd.Timestamp(now), ignore_breaks=True))
        assert tradingcal.is_market_open(now) is want, now


def test_is_market_open_never_builds_the_minute_index() -> None:
    """The minute index of every trading minute since 2000 costs about 40 MiB of a running bot."""
    code = (
        "from datetime import UTC, datetime\n"
        "from signals import tradingcal\n"
        "tradingcal.is_market_open(datetime(2026, 11, 20, 15, tzinfo=UTC))\n"
        "cal = tradingcal._xnys()\n"
        "print(sorted(k for k in ('minutes', 'minutes_nanos') if k in vars(cal)))\n"
    )
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
