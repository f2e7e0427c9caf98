from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.timeutil import human_duration, iso, parse_duration, parse_ts


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-08-05", datetime(2024, 8, 5, tzinfo=UTC)),
        ("2024-08-05T14:30:00", datetime(2024, 8, 5, 14, 30, tzinfo=UTC)),
        ("2024-08-05T14:30:00Z", datetime(2024, 8, 5, 14, 30, tzinfo=UTC)),
        ("2024-08-05T10:30:00-04:00", datetime(2024, 8, 5, 14, 30, tzinfo=UTC)),
        ("1722868200", datetime(2024, 8, 5, 14, 30, tzinfo=UTC)),
        ("1722868200000", datetime(2024, 8, 5, 14, 30, tzinfo=UTC)),
    ],
)
def test_parse_ts(text: str, expected: datetime) -> None:
    assert parse_ts(text) == int(expected.timestamp())


@pytest.mark.parametrize("bad", ["", "yesterday", "2024-13-01", "nan", "inf", "05/08/2024"])
def test_parse_ts_errors_say_what_is_allowed(bad: str) -> None:
    with pytest.raises(ValueError) as exc:
        parse_ts(bad)
    assert bad == "" or "ISO-8601" in str(exc.value) or "finite" in str(exc.value)


def test_durations() -> None:
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("2d") == timedelta(days=2)
    with pytest.raises(ValueError, match="unit"):
        parse_duration("soon")
    assert human_duration(3 * 86400 + 4 * 3600 + 5) == "3d 4h"
    assert human_duration(59) == "59s"
    assert iso(0) == "1970-01-01T00:00:00Z"
