"""Sinks deliver outbox rows: console (default), Discord channel, Discord webhook.

A sink handles destinations matching its ``patterns`` (SQL LIKE) and raises
:class:`DeliveryError` to ask for a retry (``transient``) or to give up, or
:class:`DeliveryDeferred` to be called again later without counting a failed attempt
(pacing: the channel's rate window is full).
"""

from __future__ import annotations

from typing import Protocol

from storage.alerts import Delivery, StoredAlert


class DeliveryError(Exception):
    def __init__(self, message: str, *, transient: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.retry_after = retry_after


class DeliveryDeferred(Exception):
    """Not now: try this delivery again in ``retry_after`` seconds (not a failure)."""

    def __init__(self, retry_after: float, reason: str = "paced") -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class Sink(Protocol):
    name: str
    patterns: tuple[str, ...]

    async def send(self, alert: StoredAlert, delivery: Delivery) -> str | None: ...

    async def close(self) -> None: ...
