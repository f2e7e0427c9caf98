from __future__ import annotations

import random
import socket
from datetime import UTC, datetime

import httpx
import pytest

from signals.sources import http
from signals.sources.base import SourceContext, SourceError


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


# -- a name that does not resolve ---------------------------------------------------------------


def dns_error(request: httpx.Request) -> httpx.ConnectError:
    """What httpx raises with no network: a ConnectError caused by the resolver's gaierror."""
    try:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    except socket.gaierror as cause:
        try:
            raise httpx.ConnectError("[Errno -2] Name or service not known", request=request) from cause
        except httpx.ConnectError as exc:
            return exc


def routed(routes: dict[str, list[httpx.Response | Exception] | str]) -> tuple[httpx.AsyncClient, list[str]]:
    """A client whose hosts answer from ``routes``: "dns" (the name does not resolve, every time) or
    a list of answers/exceptions taken in turn."""
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.host)
        route = routes[request.url.host]
        if route == "dns":
            raise dns_error(request)
        assert isinstance(route, list)
        item = route.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return httpx.AsyncClient(transport=httpx.MockTransport(handler)), asked


def ctx_for(client: httpx.AsyncClient, sleep: Recorder) -> SourceContext:
    return SourceContext(client=client, now=lambda: NOW, settings=None, reader=None, sleep=sleep)  # type: ignore[arg-type]


NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("[Errno -2] Name or service not known"),
        httpx.ConnectError("[Errno 8] nodename nor servname provided, or not known"),
        httpx.ConnectError("[Errno -3] Temporary failure in name resolution"),
        httpx.ConnectError("[Errno 7] No address associated with hostname"),
    ],
)
def test_dns_failures_are_recognised_by_their_words(error: httpx.ConnectError) -> None:
    assert http.is_dns_failure(error)


def test_only_dns_failures_are_recognised() -> None:
    req = httpx.Request("GET", "https://x.test/a")
    assert http.is_dns_failure(dns_error(req))  # by its gaierror cause
    cause_only = httpx.ConnectError("connect failed")
    cause_only.__cause__ = socket.gaierror(socket.EAI_AGAIN, "temporary")
    assert http.is_dns_failure(cause_only)
    assert not http.is_dns_failure(httpx.ConnectError("[Errno 111] Connection refused"))
    assert not http.is_dns_failure(httpx.ConnectError("[Errno 104] Connection reset by peer"))
    assert not http.is_dns_failure(httpx.ConnectTimeout("timed out"))
    assert not http.is_dns_failure(httpx.ReadError("Name or service not known"))  # not a connect error


async def test_a_name_that_does_not_resolve_is_asked_once_per_poll_run() -> None:
    """Six series on one unresolvable host: one request, no backoff, the same clear error six times."""
    client, asked = routed({"cdn.cboe.test": "dns"})
    sleep = Recorder()
    ctx = ctx_for(client, sleep)

    async def poll(c: SourceContext) -> list[str]:
        errors = []
        for n in range(6):
            with pytest.raises(SourceError) as exc:
                await http.get(
                    c.client, f"https://cdn.cboe.test/s{n}.csv", source=f"cboe S{n}", sleep=c.sleep
                )
            errors.append(exc.value)
        return [str(e) for e in errors if e.unresolved_host == "cdn.cboe.test"]

    errors = await ctx.run(poll)
    assert asked == ["cdn.cboe.test"] and sleep.sleeps == []
    assert len(errors) == 6
    assert errors[0] == (
        "cboe S0: name cdn.cboe.test did not resolve, not retried until the next poll "
        "(ConnectError: [Errno -2] Name or service not known) from https://cdn.cboe.test/s0.csv"
    )
    assert errors[5] == errors[0].replace("S0", "S5").replace("s0", "s5")
    assert ctx.unresolved == {"cdn.cboe.test": errors[0].split(": ", 1)[1].rsplit(" from ", 1)[0]}


async def test_other_hosts_are_still_asked_and_keep_their_retries() -> None:
    """In the same run another host is asked, and its timeouts and refused connections are retried
    (they can pass); only the unresolvable name is remembered."""
    client, asked = routed(
        {
            "cdn.cboe.test": "dns",
            "fred.test": [
                httpx.ConnectTimeout("slow"),
                httpx.ConnectError("[Errno 111] Connection refused"),
                httpx.Response(200, text="fred ok"),
            ],
        }
    )
    sleep = Recorder()
    ctx = ctx_for(client, sleep)

    async def poll(c: SourceContext) -> str:
        with pytest.raises(SourceError):
            await http.get(c.client, "https://cdn.cboe.test/a.csv", source="cboe", sleep=c.sleep)
        resp = await http.get(c.client, "https://fred.test/b.csv", source="fred", sleep=c.sleep)
        with pytest.raises(SourceError, match="did not resolve"):
            await http.get(c.client, "https://cdn.cboe.test/c.csv", source="cboe", sleep=c.sleep)
        return resp.text

    assert await ctx.run(poll) == "fred ok"
    assert asked == ["cdn.cboe.test", "fred.test", "fred.test", "fred.test"]
    assert len(sleep.sleeps) == 2  # the timeout and the refused connection were each retried
    assert set(ctx.unresolved) == {"cdn.cboe.test"}


async def test_a_timeout_is_still_retried_and_not_remembered() -> None:
    client, asked = routed(
        {"slow.test": [*[httpx.ConnectTimeout("slow")] * 4, httpx.Response(200, text="ok")]}
    )
    sleep = Recorder()
    ctx = ctx_for(client, sleep)

    async def poll(c: SourceContext) -> str:
        with pytest.raises(
            SourceError, match=r"timed out \(ConnectTimeout\) from https://slow.test/a after 4 attempts"
        ):
            await http.get(c.client, "https://slow.test/a", source="t", sleep=c.sleep)
        return (await http.get(c.client, "https://slow.test/b", source="t", sleep=c.sleep)).text

    assert await ctx.run(poll) == "ok"
    assert asked == ["slow.test"] * 5 and len(sleep.sleeps) == 3
    assert ctx.unresolved == {}


async def test_the_next_poll_run_asks_again() -> None:
    """An outage ends: the next run (a new context) asks the host again, and gets its answer."""
    answers: list[str] = ["dns", "dns", "ok"]
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        if answers.pop(0) == "dns":
            raise dns_error(request)
        return httpx.Response(200, text="back")

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))

    async def poll(c: SourceContext) -> str:
        try:
            return (await http.get(c.client, "https://cdn.cboe.test/a", source="cboe", sleep=c.sleep)).text
        except SourceError:
            with pytest.raises(SourceError, match="did not resolve"):
                await http.get(c.client, "https://cdn.cboe.test/b", source="cboe", sleep=c.sleep)
            return "failed"

    runs = [await ctx_for(client, Recorder()).run(poll) for _ in range(3)]
    assert runs == ["failed", "failed", "back"]
    assert asked == ["https://cdn.cboe.test/a"] * 3  # one request per run; /b never asked while down


async def test_outside_a_poll_run_a_dns_failure_is_not_retried_but_not_remembered() -> None:
    client, asked = routed({"cdn.cboe.test": "dns"})
    sleep = Recorder()
    for _ in range(2):
        with pytest.raises(SourceError, match="did not resolve"):
            await http.get(client, "https://cdn.cboe.test/a", source="cboe", sleep=sleep)
    assert asked == ["cdn.cboe.test"] * 2 and sleep.sleeps == []
