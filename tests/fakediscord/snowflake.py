"""Snowflake ids and secret-looking tokens shaped like Discord's."""

from __future__ import annotations

import itertools
import secrets
import string
import time
from datetime import UTC, datetime

DISCORD_EPOCH_MS = 1_420_070_400_000  # 2015-01-01T00:00:00Z

_TOKEN_ALPHABET = string.ascii_letters + string.digits + "-_"


def snowflake_at(ms: int, increment: int = 0, *, worker: int = 1, process: int = 0) -> int:
    """Build a snowflake for a unix timestamp in milliseconds."""
    return (
        ((ms - DISCORD_EPOCH_MS) << 22)
        | ((worker & 0x1F) << 17)
        | ((process & 0x1F) << 12)
        | (increment & 0xFFF)
    )


def fixed_snowflake(year: int, month: int, day: int, increment: int) -> int:
    """A deterministic snowflake (used for the default world, so ids are stable across runs)."""
    ms = int(datetime(year, month, day, tzinfo=UTC).timestamp() * 1000)
    return snowflake_at(ms, increment, worker=0, process=0)


def snowflake_time_ms(snowflake: int) -> int:
    return (snowflake >> 22) + DISCORD_EPOCH_MS


class SnowflakeGenerator:
    """Time-based, strictly increasing snowflakes (19 digits today)."""

    def __init__(self, worker: int = 1, process: int = 1) -> None:
        self._worker = worker
        self._process = process
        self._last = 0
        self._counter = itertools.count()

    def next(self) -> int:
        ms = int(time.time() * 1000)
        value = snowflake_at(ms, next(self._counter), worker=self._worker, process=self._process)
        if value <= self._last:
            value = self._last + 1
        self._last = value
        return value


def make_token(length: int = 68) -> str:
    """A webhook/interaction-style token (discord.py's ``Webhook.from_url`` wants >= 60 chars)."""
    return "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(length))


def iso_now() -> str:
    return datetime.now(UTC).isoformat()
