"""Point the real discord.py at a :class:`~tests.fakediscord.FakeDiscord` (tests only).

Two process-global class attributes decide where discord.py talks to:

* ``discord.http.Route.BASE`` — every REST call, *including* ``discord.Webhook`` (webhook/async_.py
  imports the same ``Route`` class) and interaction callbacks/followups.
* ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` — a plain ``discord.Client`` never calls
  ``GET /gateway/bot``; it connects straight to this URL (and later to READY's
  ``resume_gateway_url``). Only ``AutoShardedClient`` asks ``/gateway/bot``.

Nothing else needs changing and the client stays unmodified.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .server import FakeDiscord

_active: list[str] = []


@contextmanager
def point_discord_at(api_base: str, gateway_url: str) -> Iterator[None]:
    """Set ``Route.BASE`` and ``DEFAULT_GATEWAY``; restore the originals on exit."""
    import yarl
    from discord.gateway import DiscordWebSocket
    from discord.http import Route

    if _active:
        raise RuntimeError(f"discord.py is already pointed at {_active[-1]}; nest fakes is unsupported")
    old_base = Route.BASE
    old_gateway = DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = api_base
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    _active.append(api_base)
    try:
        yield
    finally:
        Route.BASE = old_base
        DiscordWebSocket.DEFAULT_GATEWAY = old_gateway
        _active.pop()


def patch_discord(fake: FakeDiscord):
    """``with patch_discord(fake): ...`` — point discord.py at a started fake."""
    if not fake.port:
        raise RuntimeError("start the fake before patching discord.py")
    return point_discord_at(fake.api_base, fake.gateway_url)
