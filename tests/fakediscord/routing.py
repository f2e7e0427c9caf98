"""A tiny router: Discord-style route templates, matched in order, with an auth kind."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiohttp import web

    from .records import RecordedFile, RecordedRequest

BOT = "bot"  # requires Authorization: Bot <token>
NONE = "none"  # webhook / interaction-token routes, /gateway


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Ctx:
    """What a route handler gets."""

    request: web.Request
    record: RecordedRequest
    params: dict[str, str]
    route: Route

    @property
    def json(self) -> Any:
        return self.record.json

    @property
    def files(self) -> list[RecordedFile]:
        return self.record.files

    @property
    def query(self) -> dict[str, str]:
        return self.record.query

    def int_param(self, name: str) -> int:
        return int(self.params[name])


Handler = Callable[[Ctx], Awaitable[Reply]]

_PARAM = re.compile(r"\{(\w+)\}")


@dataclass
class Route:
    method: str
    template: str
    handler: Handler
    auth: str = BOT
    regex: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        pattern = ""
        last = 0
        for m in _PARAM.finditer(self.template):
            pattern += re.escape(self.template[last : m.start()])
            pattern += f"(?P<{m.group(1)}>[^/]+)"
            last = m.end()
        pattern += re.escape(self.template[last:])
        self.regex = re.compile(f"^{pattern}/?$")

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, template: str, handler: Handler, auth: str = BOT) -> None:
        self.routes.append(Route(method, template, handler, auth))

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """(route, params, path_exists_with_other_method)."""
        other = False
        for route in self.routes:
            m = route.regex.match(path)
            if m is None:
                continue
            if route.method == method:
                return route, m.groupdict(), False
            other = True
        return None, {}, other
