from __future__ import annotations

import random

import httpx
import pytest

from signals.sources import http
from signals.sources.base import SourceError


class Recorder:
    def __init__(self) -> None:
        self.sleeps: list[float] = []

    async def __call__(self, s: float) -> None:
        self.sleeps.append(s)


def client_for(responses: list[httpx.Response | Exception]) -> tuple[httpx.AsyncClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = responses.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return httpx.AsyncClient(transport=httpx.MockTransport(handler)), seen


async def test_retries_429_honouring_retry_after() -> None:
    client, seen = client_for(
        [
            httpx.Response(429, headers={"Retry-After": "7"}),
            httpx.Response(503),
            httpx.Response(200, text="ok"),
        ]
    )
    sleep = Recorder()
    resp = await http.get(client, "https://x.test/a", source="t", sleep=sleep, rng=random.Random(1))
    assert resp.text == "ok" and len(seen) == 3
    assert sleep.sleeps[0] == 7.0
    assert 0 < sleep.sleeps[1] <= 2.1


async def test_retry_after_http_date() -> None:
    assert http.retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert http.retry_after_seconds("garbage") is None
    assert http.retry_after_seconds(None) is None


async def test_gives_up_with_one_clear_error() -> None:
    client, seen = client_for([httpx.Response(500)] * 4)
    with pytest.raises(SourceError) as exc:
        await http.get(client, "https://x.test/a?key=1", source="cboe VIX", sleep=Recorder())
    assert str(exc.value) == "cboe VIX: HTTP 500 Internal Server Error from https://x.test/a after 4 attempts"
    assert len(seen) == 4


async def test_client_errors_are_not_retried() -> None:
    client, seen = client_for([httpx.Response(404)])
    with pytest.raises(SourceError, match="HTTP 404 Not Found"):
        await http.get(client, "https://x.test/a", source="t", sleep=Recorder())
    assert len(seen) == 1


async def test_timeouts_and_connection_errors_retry() -> None:
    client, seen = client_for(
        [
            httpx.ConnectTimeout("slow"),
            httpx.ReadTimeout("slow"),
            httpx.ConnectError("refused"),
            httpx.Response(200, text="fine"),
        ]
    )
    resp = await http.get(client, "https://x.test/a", source="t", sleep=Recorder())
    assert resp.text == "fine" and len(seen) == 4


async def test_long_retry_after_defers_to_next_poll() -> None:
    client, _ = client_for([httpx.Response(429, headers={"Retry-After": "3600"})])
    with pytest.raises(SourceError) as exc:
        await http.get(client, "https://x.test/a", source="t", sleep=Recorder())
    assert exc.value.retry_after == 3600.0
    assert "next poll" in str(exc.value)
