"""pytest fixtures for the fake (import them into a conftest to use elsewhere).

In this folder ``conftest.py`` already does. From another test package add to its
``conftest.py``::

    from tests.fakediscord.fixtures import fake_discord, fake_discord_options  # noqa: F401

Override ``fake_discord_options`` (a plain fixture returning ``FakeDiscord`` kwargs) in a module
or conftest to configure the fake, e.g. ``{"message_rate_limit": (5, 5.0)}``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from .server import FakeDiscord


@pytest.fixture
def fake_discord_options() -> dict[str, Any]:
    return {}


@pytest_asyncio.fixture
async def fake_discord(fake_discord_options: dict[str, Any]) -> AsyncIterator[FakeDiscord]:
    """A started fake with discord.py pointed at it.

    At teardown it fails the test if any request hit a route the fake does not implement
    (clear ``fake.unknown_requests`` in tests that do that on purpose).
    """
    async with FakeDiscord(**fake_discord_options) as fake:
        yield fake
    fake.assert_no_unexpected_requests()
