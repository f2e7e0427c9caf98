"""Scriptable REST fault injection.

A :class:`FaultRule` matches requests by method and path, then either answers with an error
instead of running the route (``status``), or only delays it (``status=None``), or drops the
TCP connection (``disconnect=True``). Rules are checked in insertion order; a rule fires at
most ``times`` times (``None`` = forever). Path patterns are either a route template exactly as
the fake names its routes (``/channels/{channel_id}/messages``) or an ``fnmatch`` glob against
the concrete path (``/channels/*/messages``, ``/webhooks/*``, ``*``).
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .records import RecordedRequest

ERROR_MESSAGES: dict[int, str] = {
    0: "General error",
    10003: "Unknown Channel",
    10004: "Unknown Guild",
    10008: "Unknown Message",
    10011: "Unknown Role",
    10013: "Unknown User",
    10015: "Unknown Webhook",
    10062: "Unknown interaction",
    10063: "Unknown application command",
    40005: "Request entity too large",
    40060: "Interaction has already been acknowledged.",
    50001: "Missing Access",
    50005: "Cannot edit a message authored by another user",
    50006: "Cannot send an empty message",
    50013: "Missing Permissions",
    50027: "Invalid Webhook Token",
    50035: "Invalid Form Body",
}

STATUS_TEXT = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def error_body(status: int, code: int = 0, message: str | None = None) -> dict[str, Any]:
    """Discord's error JSON: ``{"message": ..., "code": ...}``."""
    if message is None:
        if code:
            message = ERROR_MESSAGES.get(code, "Error")
        else:
            message = f"{status}: {STATUS_TEXT.get(status, 'Error')}"
    return {"message": message, "code": code}


@dataclass
class FaultRule:
    method: str = "*"
    path: str = "*"
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    times: int | None = 1
    delay: float = 0.0
    retry_after: float = 0.1
    is_global: bool = False
    scope: str = "user"
    via: bool = True
    disconnect: bool = False
    name: str = ""
    fired: int = 0
    #: apply the fault *after* the route ran (the message is stored, then the answer is lost,
    #: late or garbled): what makes a non-idempotent POST ambiguous to the client
    after: bool = False

    def matches(self, method: str, path: str, route: str | None) -> bool:
        if self.method not in ("*", method.upper()):
            return False
        if self.path == "*":
            return True
        if "{" in self.path:
            return route == self.path
        return fnmatch.fnmatchcase(path, self.path)

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times

    def response_body(self) -> Any:
        if self.body is not None:
            return self.body
        if self.status == 429:
            return {
                "message": "You are being rate limited.",
                "retry_after": self.retry_after,
                "global": self.is_global,
                "code": 0,
            }
        assert self.status is not None
        return error_body(self.status)

    def response_headers(self, now_epoch: float) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.status == 429:
            headers["Retry-After"] = str(max(1, math.ceil(self.retry_after)))
            headers["X-RateLimit-Scope"] = "global" if self.is_global else self.scope
            if self.is_global:
                headers["X-RateLimit-Global"] = "true"
            else:
                headers.update(
                    {
                        "X-RateLimit-Limit": "5",
                        "X-RateLimit-Remaining": "0",
                        "X-RateLimit-Reset": f"{now_epoch + self.retry_after:.3f}",
                        "X-RateLimit-Reset-After": f"{self.retry_after:.3f}",
                    }
                )
        headers.update(self.headers)
        return headers


class Faults:
    """The fault plan of one :class:`~tests.fakediscord.FakeDiscord` (``fake.faults``)."""

    def __init__(self) -> None:
        self.rules: list[FaultRule] = []
        #: (rule, request) for every time a rule fired.
        self.fired: list[tuple[FaultRule, RecordedRequest]] = []

    def add(self, rule: FaultRule) -> FaultRule:
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.rules.clear()

    def pick(self, method: str, path: str, route: str | None) -> FaultRule | None:
        """Return (and consume one use of) the first live rule matching this request."""
        for rule in self.rules:
            if not rule.exhausted and rule.matches(method, path, route):
                rule.fired += 1
                return rule
        return None

    # convenience constructors ----------------------------------------------------
    def rate_limit(
        self,
        method: str = "*",
        path: str = "*",
        *,
        times: int | None = 1,
        retry_after: float = 0.1,
        is_global: bool = False,
        scope: str = "user",
    ) -> FaultRule:
        """429 with a JSON body, ``Retry-After``, ``X-RateLimit-*`` and ``Via`` headers."""
        return self.add(
            FaultRule(
                method,
                path,
                status=429,
                times=times,
                retry_after=retry_after,
                is_global=is_global,
                scope=scope,
                name="rate_limit",
            )
        )

    def cloudflare_ban(self, method: str = "*", path: str = "*", *, times: int | None = 1):
        """A 429 without ``Via`` and with an HTML body, like a Cloudflare IP ban.

        discord.py does not retry this; it raises ``HTTPException`` immediately.
        """
        return self.add(
            FaultRule(
                method,
                path,
                status=429,
                times=times,
                via=False,
                body="<html><body>Error 1015: You are being rate limited.</body></html>",
                headers={"Content-Type": "text/html"},
                name="cloudflare_ban",
            )
        )

    def server_error(
        self, method: str = "*", path: str = "*", *, status: int = 500, times: int | None = 1
    ) -> FaultRule:
        """5xx. discord.py retries 500/502/504/524 (sleeping 1 s, 3 s, ...), not 503."""
        return self.add(FaultRule(method, path, status=status, times=times, name="server_error"))

    def edge_error(
        self, method: str = "*", path: str = "*", *, status: int = 502, times: int | None = 1
    ) -> FaultRule:
        """A 5xx HTML page from Discord's edge (Cloudflare) before the request reached Discord:
        nothing is stored, the body is not Discord's JSON and there is no ``Via`` header."""
        return self.add(
            FaultRule(
                method,
                path,
                status=status,
                times=times,
                via=False,
                body=f"<html><head><title>{status} Bad Gateway</title></head><body>cloudflare</body></html>",
                headers={"Content-Type": "text/html"},
                name="edge_error",
            )
        )

    def http_error(
        self,
        method: str,
        path: str,
        *,
        status: int,
        code: int = 0,
        message: str | None = None,
        times: int | None = 1,
    ) -> FaultRule:
        return self.add(
            FaultRule(
                method,
                path,
                status=status,
                body=error_body(status, code, message),
                times=times,
                name=f"http_{status}_{code}",
            )
        )

    def forbidden(
        self, method: str = "*", path: str = "*", *, code: int = 50013, times: int | None = 1
    ) -> FaultRule:
        """403 Missing Permissions (50013) or Missing Access (50001)."""
        return self.http_error(method, path, status=403, code=code, times=times)

    def not_found(
        self, method: str = "*", path: str = "*", *, code: int = 10003, times: int | None = 1
    ) -> FaultRule:
        """404 Unknown Channel (10003) by default; 10008 Unknown Message, 10015 Unknown Webhook."""
        return self.http_error(method, path, status=404, code=code, times=times)

    def delay(
        self, method: str = "*", path: str = "*", seconds: float = 1.0, *, times: int | None = 1
    ) -> FaultRule:
        """Answer normally, but only after ``seconds`` (for client timeout tests)."""
        return self.add(FaultRule(method, path, delay=seconds, times=times, name="delay"))

    def stored_then_hang(
        self, method: str = "*", path: str = "*", seconds: float = 60.0, *, times: int | None = 1
    ) -> FaultRule:
        """Run the route (the message is stored), then answer only after ``seconds``."""
        return self.add(
            FaultRule(method, path, delay=seconds, times=times, after=True, name="stored_then_hang")
        )

    def stored_then_reset(self, method: str = "*", path: str = "*", *, times: int | None = 1) -> FaultRule:
        """Run the route (the message is stored), then drop the connection without an answer."""
        return self.add(
            FaultRule(method, path, disconnect=True, times=times, after=True, name="stored_then_reset")
        )

    def stored_then_garbage(
        self, method: str = "*", path: str = "*", *, status: int = 200, times: int | None = 1
    ) -> FaultRule:
        """Run the route (the message is stored), then answer ``status`` with a body that is not JSON."""
        return self.add(
            FaultRule(
                method,
                path,
                status=status,
                body="<html><body>upstream answered</body></html>",
                headers={"Content-Type": "text/html"},
                times=times,
                after=True,
                name="stored_then_garbage",
            )
        )

    def disconnect(self, method: str = "*", path: str = "*", *, times: int | None = 1):
        """Close the TCP connection without answering (client sees ServerDisconnectedError)."""
        return self.add(FaultRule(method, path, disconnect=True, times=times, name="disconnect"))
