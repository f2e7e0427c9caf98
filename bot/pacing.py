"""Per-channel pacing: never more writes to one channel than Discord allows.

Discord allows about 5 messages per 5 s per channel. :class:`ChannelPacer` keeps a sliding
window per channel; a sink takes a slot right before each write and, when the window is full,
defers the delivery instead of sleeping, so other channels keep flowing.

A slot is stamped twice: when it is taken, and again when the write finishes. Discord counts a
request when it arrives, which is somewhere between the two, so expiring slots from the later
stamp never frees one before Discord's own window does (however slow the request was).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

DISCORD_CHANNEL_LIMIT = (5, 5.0)


class Paced(Exception):
    """The channel's window is full: try again in ``retry_after`` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"paced for {retry_after:.2f} s")
        self.retry_after = retry_after


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
        self._sent: dict[str, deque[list[float]]] = {}

    def wait_time(self, key: str) -> float:
        """Seconds until ``key`` may be written to again (0 = now)."""
        now = self.clock()
        q = self._sent.get(key)
        if q is None:
            return 0.0
        while q and now - q[0][0] >= self.window:
            q.popleft()
        if len(q) < self.limit:
            return 0.0
        return max(0.0, min(s[0] for s in q) + self.window - now)

    def take(self, key: str) -> list[float]:
        """Take a slot (raises :class:`Paced` when the window is full); pass it to :meth:`finish`."""
        wait = self.wait_time(key)
        if wait > 0:
            raise Paced(wait)
        slot = [self.clock()]
        self._sent.setdefault(key, deque()).append(slot)
        return slot

    def finish(self, slot: list[float]) -> None:
        """The write is over: its slot now expires a window after this moment."""
        slot[0] = max(slot[0], self.clock())

    @contextmanager
    def slot(self, key: str) -> Iterator[None]:
        """``with pacer.slot(channel): await write()`` — raises :class:`Paced` before the write."""
        s = self.take(key)
        try:
            yield
        finally:
            self.finish(s)

    def reserve(self, key: str) -> float:
        """Take a slot if one is free (returns 0), else return how long to wait."""
        try:
            self.take(key)
        except Paced as exc:
            return exc.retry_after
        return 0.0

    async def acquire(
        self, key: str, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    ) -> list[float]:
        """Wait until ``key`` has room, then take a slot (for jobs that may wait)."""
        for _ in range(self.limit + 2):
            try:
                return self.take(key)
            except Paced as exc:
                await sleep(exc.retry_after)
        slot = [self.clock()]  # the window has certainly moved on by now
        self._sent.setdefault(key, deque()).append(slot)
        return slot
