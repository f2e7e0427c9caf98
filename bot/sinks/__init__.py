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
    """A failed attempt. ``ambiguous``: the request went out and no answer came back, so the
    message may have been posted; such an attempt is never repeated blind (see the dispatcher)."""

    def __init__(
        self,
        message: str,
        *,
        transient: bool,
        retry_after: float | None = None,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(message)
        self.transient = transient
        self.retry_after = retry_after
        self.ambiguous = ambiguous


class DeliveryDeferred(Exception):
    """Not now: try this delivery again in ``retry_after`` seconds (not a failure)."""

    def __init__(self, retry_after: float, reason: str = "paced") -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class Sink(Protocol):
    """``can_verify``: after an ambiguous attempt the sink can look whether the message landed
    (the next :meth:`send` of a delivery with ``ambiguous > 0`` looks before it posts)."""

    name: str
    patterns: tuple[str, ...]

    async def send(self, alert: StoredAlert, delivery: Delivery) -> str | None: ...

    async def close(self) -> None: ...
