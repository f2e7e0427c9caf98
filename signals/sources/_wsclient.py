"""A reconnecting websocket client for liquidation streams, shared by Bybit, Binance and OKX.

Each venue subclass says how to subscribe, how to ping and how to parse a frame. The client:

- connects with ``websockets`` (protocol keep-alive pings on top of the venue's own pings),
  sends the subscriptions and checks their acks (a refused topic is logged once; the stream is
  "up" once every expected ack has arrived);
- hands every data frame's events to ``on_events(events, arrival, frame)`` as it arrives, and skips
  acks and pongs;
- reconnects after a drop with exponential backoff and full jitter (``sleep`` and ``rng`` are
  injected, so tests never wait), and proactively before a venue's connection age limit;
- reports a venue that refuses the handshake (HTTP 451 / 403: geo-blocked) once as unavailable
  and stops instead of retrying forever;
- keeps :class:`Health`: connected, last frame, reconnects, counters and the intervals during
  which the stream was up (coverage and gaps are computed from those).

Time comes from the injected ``clock`` (epoch seconds); URLs are constructor arguments.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from storage.series import LiqEvent

log = logging.getLogger("flowwatch.sources.streams")

#: (ts_ms, venue, symbol, side (0 = a long was liquidated, 1 = a short), qty_btc, price, usd)
Event = LiqEvent
#: on_events(events, arrival (perf_counter), the frame as received)
OnEvents = Callable[[Sequence[Event], float, "str | bytes"], None]

DATA, ACK, PONG, ERROR, IGNORED, MALFORMED = "data", "ack", "pong", "error", "ignored", "malformed"
#: timestamps further ahead of our clock than this are refused
FUTURE_SKEW_MS = 10 * 60 * 1000
#: liquidation timestamps before 2000-01-01 are garbage (a zero, a negative, seconds for ms)
MIN_EVENT_MS = 946_684_800_000
GEO_BLOCKED = (451, 403)
#: a stream that drops and reconnects within this many seconds of its last warning is summarised
FLAP_WINDOW = 600.0

loads = json.loads


class Parsed(NamedTuple):
    """What one frame held: its kind, the BTC liquidations in it, and an error detail."""

    kind: str
    events: Sequence[Event] = ()
    detail: str = ""


@dataclass
class ParseStats:
    """Counters for one stream; rejects are summarised in one log line per period."""

    frames: int = 0
    events: int = 0
    malformed: int = 0
    rejected: int = 0
    other_symbols: int = 0
    reasons: list[str] = field(default_factory=list)
    _logged: tuple[int, int] = (0, 0)

    def reject(self, reason: str) -> None:
        self.rejected += 1
        if len(self.reasons) < 5:
            self.reasons.append(reason)

    def bad_frame(self, text: str | bytes) -> Parsed:
        self.malformed += 1
        if len(self.reasons) < 5:
            self.reasons.append(f"malformed frame {str(text)[:60]!r}")
        return Parsed(MALFORMED)

    def log_summary(self, name: str) -> None:
        """One warning line for what was rejected since the last summary, if anything."""
        mal, rej = self.malformed - self._logged[0], self.rejected - self._logged[1]
        if mal or rej:
            log.warning(
                "%s: skipped %d malformed frame(s) and %d bad liquidation(s): %s",
                name,
                mal,
                rej,
                "; ".join(self.reasons),
            )
        self._logged = (self.malformed, self.rejected)
        self.reasons.clear()


@dataclass
class Health:
    venue: str
    name: str
    connected: bool = False
    last_frame: float | None = None
    reconnects: int = 0
    acks: int = 0
    pongs: int = 0
    errors: int = 0
    unavailable: str | None = None
    last_error: str | None = None
    down_since: float | None = None
    #: (up_from, up_to or None while up), newest last; trimmed to the last two days
    up: list[tuple[float, float | None]] = field(default_factory=list)

    def mark_up(self, t: float) -> None:
        if not self.connected:
            self.connected = True
            self.down_since = None
            self.up.append((t, None))

    def mark_down(self, t: float, reason: str | None) -> None:
        if self.connected:
            self.connected = False
            start, _ = self.up[-1]
            self.up[-1] = (start, t)
        if self.down_since is None:
            self.down_since = t
        if reason:
            self.last_error = reason
        cut = t - 2 * 86400
        while self.up and (e := self.up[0][1]) is not None and e < cut:
            self.up.pop(0)

    def up_seconds(self, a: float, b: float) -> float:
        """Seconds in ``[a, b)`` during which the stream was up."""
        total = 0.0
        for s, e in reversed(self.up):
            end = b if e is None else e
            if end <= a:
                break
            total += max(0.0, min(b, end) - max(a, s))
        return total

    def as_dict(self, stats: ParseStats) -> dict[str, Any]:
        return {
            "ok": self.unavailable is None and self.connected,
            "venue": self.venue,
            "connected": self.connected,
            "unavailable": self.unavailable,
            "last_frame": self.last_frame,
            "reconnects": self.reconnects,
            "down_since": self.down_since,
            "frames": stats.frames,
            "events": stats.events,
            "malformed": stats.malformed,
            "rejected": stats.rejected,
            "other_symbols": stats.other_symbols,
            "error": self.last_error,
        }


class StreamError(Exception):
    pass


class StreamClient:
    """Base class; subclasses set ``venue`` and implement :meth:`parse` (and the hooks)."""

    venue: str = ""
    #: the venue's own ping: (message, seconds); ``ping_when_idle`` = only after that long without frames
    ping_message: str | None = None
    ping_interval: float | None = None
    ping_when_idle: bool = False
    #: reconnect proactively before the venue's connection age limit (seconds)
    max_age: float | None = None

    def __init__(
        self,
        url: str,
        on_events: OnEvents,
        *,
        name: str | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        open_timeout: float = 10.0,
        ack_timeout: float = 15.0,
        max_age: float | None = None,
        proxy: str | Literal[True] | None = True,
        poll: float = 1.0,
    ) -> None:
        self.url = url
        self.on_events = on_events
        self.name = name or self.venue
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.open_timeout = open_timeout
        self.ack_timeout = ack_timeout
        if max_age is not None:
            self.max_age = max_age
        self.proxy = proxy
        self.poll = poll  # deadlines (acks, pings, age) are re-checked at least this often
        self.health = Health(self.venue, self.name)
        self.stats = ParseStats()
        self._stopping = False
        self._ws: Any = None
        self._was_up = False
        self._closing: asyncio.Future[None] | None = None
        self._outage_warned = False
        self._last_drop_warning: float | None = None
        self._quiet_drops = 0
        self.sessions = 0  # connections that opened (for tests and health)

    # -- hooks ------------------------------------------------------------------------

    def subscribe_messages(self) -> list[str]:
        return []

    def parse(self, text: str | bytes) -> Parsed:
        raise NotImplementedError

    # -- lifecycle --------------------------------------------------------------------

    def stop(self) -> None:
        self._stopping = True
        ws = self._ws
        if ws is not None:
            self._closing = asyncio.ensure_future(ws.close())

    def backoff(self, attempt: int) -> float:
        cap = min(self.backoff_max, self.backoff_base * 2 ** min(attempt - 1, 16))
        return self.rng.uniform(0.1 * self.backoff_base, cap)

    async def run(self) -> None:
        """Connect, consume and reconnect until :meth:`stop` or an unavailable venue."""
        attempt = 0
        first = True
        self.health.down_since = self.clock()
        while not self._stopping:
            reason: str | None = None
            proactive = False
            self._was_up = False
            try:
                async with ws_connect(
                    self.url,
                    open_timeout=self.open_timeout,
                    ping_interval=20,
                    ping_timeout=20,
                    close_timeout=2,
                    max_size=2**22,
                    proxy=self.proxy,
                ) as ws:
                    self._ws = ws
                    self.sessions += 1
                    if not first:
                        self.health.reconnects += 1
                    first = False
                    proactive = await self._session(ws)
            except InvalidStatus as exc:
                code = exc.response.status_code
                if code in GEO_BLOCKED:
                    self._unavailable(f"HTTP {code} at the handshake (the venue refuses this location)")
                    return
                reason = f"HTTP {code} at the handshake"
            except (OSError, TimeoutError, WebSocketException, StreamError) as exc:
                reason = _describe(exc)
            finally:
                self._ws = None
                self.health.mark_down(self.clock(), reason)
            if self._was_up:
                attempt = 0  # it worked for a while: start the backoff over
            if self._stopping:
                break
            if proactive:
                log.info(
                    "%s: reconnecting before the venue's %.0f h connection limit",
                    self.name,
                    (self.max_age or 0) / 3600,
                )
                continue
            attempt += 1
            delay = self.backoff(attempt)
            self._log_down(reason or "closed", attempt, delay)
            await self.sleep(delay)

    def _log_down(self, reason: str, attempt: int, delay: float) -> None:
        """One warning per outage (again every 20 failed attempts), and one per ``FLAP_WINDOW``
        for a stream that keeps dropping and reconnecting; the rest at INFO/DEBUG."""
        now = self.clock()
        if self._was_up:  # a live connection dropped: it reconnects at once
            self._outage_warned = False
            if self._last_drop_warning is not None and now - self._last_drop_warning < FLAP_WINDOW:
                self._quiet_drops += 1
                log.info("%s: stream dropped again (%s); reconnecting in %.1f s", self.name, reason, delay)
                return
            more = ""
            if self._quiet_drops:
                more = f" (it dropped {self._quiet_drops} more time(s) since the last warning, reconnecting each time)"
            log.warning("%s: stream down (%s); reconnecting in %.1f s%s", self.name, reason, delay, more)
            self._last_drop_warning, self._quiet_drops = now, 0
        elif not self._outage_warned or attempt % 20 == 0:  # cannot connect: once, then now and then
            self._outage_warned = True
            more = f" (attempt {attempt})" if attempt > 1 else ""
            log.warning("%s: stream down (%s)%s; reconnecting in %.1f s", self.name, reason, more, delay)
        else:
            log.debug("%s: still down (%s); retry %d in %.1f s", self.name, reason, attempt, delay)

    def _unavailable(self, why: str) -> None:
        self.health.unavailable = why
        self.health.last_error = why
        log.warning(
            "%s: unavailable: %s; not retrying (liquidations from the other venues continue)", self.name, why
        )

    def _up(self) -> None:
        self._was_up = True
        down = self.health.down_since
        self.health.mark_up(self.clock())
        if self.health.reconnects and down is not None:
            log.info("%s: stream back after %.0f s down", self.name, max(0.0, self.clock() - down))

    async def _session(self, ws: Any) -> bool:
        """Subscribe and consume until the connection ends; True when closed for the age limit."""
        subs = self.subscribe_messages()
        for msg in subs:
            await ws.send(msg)
        pending = len(subs)
        refused = 0
        opened = self.clock()
        if not pending:
            self._up()
        last_rx = last_ping = opened
        awaiting_pong = False
        receiving: asyncio.Future[Any] | None = None
        try:
            while True:
                now = self.clock()
                deadlines = []
                if pending:
                    deadlines.append(opened + self.ack_timeout)
                if self.max_age:
                    deadlines.append(opened + self.max_age)
                if self.ping_message and self.ping_interval:
                    base = last_rx if self.ping_when_idle else last_ping
                    deadlines.append(base + self.ping_interval)
                timeout = min(max(0.0, min(deadlines) - now), self.poll) if deadlines else self.poll
                if receiving is None:
                    receiving = asyncio.ensure_future(ws.recv())
                # wait without cancelling the receive: a frame arriving at a deadline is kept
                done, _ = await asyncio.wait({receiving}, timeout=timeout)
                if not done:
                    now = self.clock()
                    if pending and now >= opened + self.ack_timeout:
                        raise StreamError(f"no subscription ack within {self.ack_timeout:.0f} s")
                    if self.max_age and now >= opened + self.max_age:
                        await ws.close()
                        return True
                    if self.ping_message and self.ping_interval:
                        base = last_rx if self.ping_when_idle else last_ping
                        if awaiting_pong and now - last_ping >= self.ping_interval:
                            raise StreamError("no pong to our ping")
                        if now >= base + self.ping_interval and not awaiting_pong:
                            await ws.send(self.ping_message)
                            last_ping = now
                            awaiting_pong = True
                    continue
                fut, receiving = receiving, None
                try:
                    msg = fut.result()
                except ConnectionClosed as exc:
                    raise StreamError(_describe(exc)) from None
                arrival = time.perf_counter()
                last_rx = self.clock()
                self.health.last_frame = last_rx
                self.stats.frames += 1
                p = self.parse(msg)
                if p.kind == DATA:
                    if p.events:
                        self.stats.events += len(p.events)
                        self.on_events(p.events, arrival, msg)
                elif p.kind == PONG:
                    self.health.pongs += 1
                    awaiting_pong = False
                elif p.kind == ACK:
                    self.health.acks += 1
                    if pending:
                        pending -= 1
                        if not pending:
                            self._up()
                elif p.kind == ERROR:
                    self.health.errors += 1
                    self.health.last_error = p.detail
                    if pending:
                        pending -= 1
                        refused += 1
                        log.warning("%s: subscription refused: %s", self.name, p.detail)
                        if refused == len(subs):
                            raise StreamError(f"every subscription was refused ({p.detail})")
                        if not pending:
                            self._up()
                    else:
                        log.warning("%s: the venue reports an error: %s", self.name, p.detail)
        finally:
            if receiving is not None:
                receiving.cancel()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionClosed):
        rcvd = exc.rcvd
        if rcvd is not None:
            return f"closed by the venue (code {rcvd.code}{': ' + rcvd.reason if rcvd.reason else ''})"
        return "connection lost"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = str(exc) or type(exc).__name__
    return text[:160]
