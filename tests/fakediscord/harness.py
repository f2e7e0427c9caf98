"""Run a real ``discord.Client`` against the fake for the duration of a block."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import discord

    from .server import FakeDiscord

C = TypeVar("C", bound="discord.Client")

#: Pass as ``guild_ready_timeout=`` to ``discord.Client``: discord.py waits this long after the
#: last GUILD_CREATE before firing on_ready (default 2 s, which would slow every test down).
FAST_GUILD_READY_TIMEOUT = 0.05


def bot_intents() -> discord.Intents:
    """``Intents.default()`` (which already excludes members/presences/message_content)."""
    import discord

    intents = discord.Intents.default()
    intents.members = False
    intents.presences = False
    intents.message_content = False
    return intents


@asynccontextmanager
async def running_client(client: C, fake: FakeDiscord, *, ready_timeout: float = 10.0) -> AsyncIterator[C]:
    """Start ``client`` (login + gateway) in a task, wait for ``on_ready``, yield it.

    On exit the client is closed first, then its task is awaited; an exception that killed the
    client task is re-raised. The fake itself is stopped by its own context manager afterwards.
    """
    async with client:  # initialises the client's asyncio state (needed for wait_until_ready)
        task = asyncio.create_task(client.start(fake.token), name="discord-client")
        ready = asyncio.create_task(client.wait_until_ready(), name="discord-ready")
        try:
            done, _ = await asyncio.wait(
                {task, ready}, timeout=ready_timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if task in done:
                task.result()  # raises LoginFailure, PrivilegedIntentsRequired, ...
                raise RuntimeError("discord client exited before becoming ready")
            if ready not in done:
                raise TimeoutError(f"client not ready after {ready_timeout}s\n{fake.describe()}")
            yield client
        finally:
            ready.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ready
            await client.close()
            if not task.done():
                try:
                    await asyncio.wait_for(task, timeout=5.0)
                except TimeoutError:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            elif not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]


def tiny_png(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid PNG (solid colour), without needing Pillow."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * width
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )
