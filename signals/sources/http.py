"""HTTP with retries: 429 and 5xx retried with backoff that honours ``Retry-After``.

httpx's transport only retries connection errors, so this small loop does the rest. The
client is always injected (tests pass ``httpx.MockTransport``); so is ``sleep``, so tests
never wait on the wall clock.

A host whose name does not resolve (no network, a broken resolver) is not retried: asking the
resolver again a second later gives the same answer. Within one poll run
(:meth:`~signals.sources.base.SourceContext.run`) the host is remembered and every further
request to it fails at once with the same error, so a poll of six series on one host asks once;
the next run asks again. A refused or reset connection and a timeout can be transient: they keep
their retries with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import random
import socket
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

import httpx

from signals.sources.base import UNRESOLVED, SourceError

log = logging.getLogger("flowwatch.http")

RETRY_STATUS = {429, 500, 502, 503, 504}

#: how resolvers word a name that does not resolve (glibc, macOS, Android/musl), for errors whose
#: ``socket.gaierror`` cause was not kept
DNS_FAILURE_WORDS = (
    "name or service not known",
    "nodename nor servname",
    "temporary failure in name resolution",
    "no address associated with hostname",
)


def is_dns_failure(exc: BaseException) -> bool:
    """Whether a connect error is a name that did not resolve (``socket.gaierror`` anywhere in its
    chain of causes, or the resolver's words in its message)."""
    if not isinstance(exc, httpx.ConnectError):
        return False
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, socket.gaierror):
            return True
        text = str(e).lower()
        if any(w in text for w in DNS_FAILURE_WORDS):
            return True
        e = e.__cause__ or e.__context__
    return False


def _host(url: str) -> str:
    try:
        return httpx.URL(url).host
    except httpx.InvalidURL:
        return ""


#: at most this many attempts per request in the current context (None: each caller's own)
_MAX_ATTEMPTS: ContextVar[int | None] = ContextVar("flowwatch_http_max_attempts", default=None)


def is_single_try() -> bool:
    """Inside :func:`single_try`: a source that asks many times (a calendar scan) asks once."""
    return _MAX_ATTEMPTS.get() == 1


@contextlib.contextmanager
def single_try() -> Iterator[None]:
    """One attempt per request inside the block (``flowwatch check``: a quick answer, not patience)."""
    token = _MAX_ATTEMPTS.set(1)
    try:
        yield
    finally:
        _MAX_ATTEMPTS.reset(token)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Parse ``Retry-After`` (delta seconds or an HTTP date)."""
    if not value:
        return None
    v = value.strip()
    try:
        return max(0.0, float(v))
    except ValueError:
        pass
    try:
        dt = email.utils.parsedate_to_datetime(v)
    except (TypeError, ValueError):
        return None
    if dt is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, dt.timestamp() - now)


async def get(
    client: httpx.AsyncClient,
    url: str,
    *,
    source: str,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    attempts: int = 4,
    base_delay: float = 1.0,
    max_delay: float = 60.0,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    rng: random.Random | None = None,
    request_timeout: float | None = None,
) -> httpx.Response:
    """GET ``url``; return the 2xx response or raise :class:`SourceError` with one clear line.

    ``request_timeout`` (seconds) overrides the client's timeout for this request.
    """
    sleep = sleep or asyncio.sleep
    rng = rng or random.Random()
    cap = _MAX_ATTEMPTS.get()
    if cap is not None:
        attempts = max(1, min(attempts, cap))
    host = _host(url)
    unresolved = UNRESOLVED.get()
    if unresolved is not None and host in unresolved:
        raise SourceError(source, f"{unresolved[host]} from {_short(url)}", unresolved_host=host)
    last = ""
    for attempt in range(1, attempts + 1):
        wait: float | None = None
        try:
            if request_timeout is None:
                resp = await client.get(url, params=params, headers=headers)
            else:
                resp = await client.get(url, params=params, headers=headers, timeout=request_timeout)
        except httpx.TimeoutException as exc:
            last = f"timed out ({type(exc).__name__})"
        except httpx.TransportError as exc:
            last = f"connection failed ({type(exc).__name__}: {exc})"
            if host and is_dns_failure(exc):
                last = f"name {host} did not resolve, not retried until the next poll ({type(exc).__name__}: {exc})"
                if unresolved is not None:
                    unresolved[host] = last
                log.debug("%s: %s", source, last)
                raise SourceError(source, f"{last} from {_short(url)}", unresolved_host=host) from None
        else:
            if resp.status_code < 400:
                return resp
            if resp.status_code not in RETRY_STATUS:
                raise SourceError(source, f"HTTP {resp.status_code} {resp.reason_phrase} from {_short(url)}")
            last = f"HTTP {resp.status_code} {resp.reason_phrase}"
            wait = retry_after_seconds(resp.headers.get("Retry-After"))
            if wait is not None and wait > max_delay:
                raise SourceError(
                    source,
                    f"{last}; the server asks to wait {wait:.0f} s, trying again at the next poll",
                    retry_after=wait,
                )
        if attempt == attempts:
            break
        if wait is None:
            # exponential backoff with full jitter
            wait = rng.uniform(0, min(max_delay, base_delay * 2 ** (attempt - 1))) + base_delay * 0.1
        log.debug("%s: %s; retry %d/%d in %.1f s", source, last, attempt, attempts - 1, wait)
        await sleep(wait)
    tries = "(one try)" if attempts == 1 else f"after {attempts} attempts"
    raise SourceError(source, f"{last} from {_short(url)} {tries}")


def _short(url: str) -> str:
    return url.split("?", 1)[0]
