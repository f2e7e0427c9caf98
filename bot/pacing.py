"""Per-channel pacing: never more writes to one channel than Discord allows.

Discord allows about 5 messages per 5 s per channel. :class:`ChannelPacer` keeps a sliding
window per channel (with a small safety margin for network jitter); a sink asks
:meth:`reserve` before each write and, when the window is full, defers the delivery instead
of sleeping, so other channels keep flowing.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

DISCORD_CHANNEL_LIMIT = (5, 5.0)


class ChannelPacer:
    def __init__(
        self,
        limit: int = DISCORD_CHANNEL_LIMIT[0],
        per: float = DISCORD_CHANNEL_LIMIT[1],
        margin: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or per <= 0:
            raise ValueError("pacing needs limit >= 1 and per > 0")
        self.limit = limit
        self.window = per + margin
        self.clock = clock
        self._sent: dict[str, deque[float]] = {}

    def wait_time(self, key: str) -> float:
        """Seconds until ``key`` may be written to again (0 = now)."""
        now = self.clock()
        q = self._sent.get(key)
        if q is None:
            return 0.0
        while q and now - q[0] >= self.window:
            q.popleft()
        if len(q) < self.limit:
            return 0.0
        return max(0.0, q[0] + self.window - now)

    def reserve(self, key: str) -> float:
        """Take a slot if one is free (returns 0), else return how long to wait."""
        wait = self.wait_time(key)
        if wait > 0:
            return wait
        self._sent.setdefault(key, deque()).append(self.clock())
        return 0.0

    async def acquire(self, key: str, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        """Wait until ``key`` has room, then take the slot (for jobs that may wait)."""
        for _ in range(self.limit + 2):
            wait = self.reserve(key)
            if wait <= 0:
                return
            await sleep(wait)
        self._sent.setdefault(key, deque()).append(self.clock())  # the window has certainly moved on
