"""What the Discord channel sink and the webhook sink share.

* One message per event: an embed (title, level colour, summary, fields, source, as-of) with
  the chart PNG attached and shown in the embed.
* Idempotent posts: a nonce derived from the delivery (Discord's ``enforce_nonce``), so a
  resend after a crash between "sent" and "marked" lands once (within Discord's nonce window).
* Edit in place: an event in :data:`EDIT_IN_PLACE` edits the message of the latest earlier
  event of the same episode at the same destination (a cascade that grows), and records
  that message id as its own; if that message is gone it posts a new one.
* Pacing: before every write the destination's :class:`~bot.pacing.ChannelPacer` is asked;
  a full window defers the delivery (:class:`~bot.sinks.DeliveryDeferred`) instead of
  sleeping, so other channels keep flowing and Discord's per-channel limit is never hit.
* Storm cap: when a destination already received ``storm_max`` events within the storm
  window, further events fold into one digest message that is edited in place.
* Errors: 5xx, timeouts and connection loss are transient (the dispatcher retries with
  backoff); 429 is retried by discord.py after its ``retry_after`` (longer waits come back as
  transient with ``retry_after``); 403/404 are permanent.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import aiohttp
import discord

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.discord_embeds import LEVEL_EMOJI, alert_embed, chart_filename, digest_embed, notice_embed
from bot.pacing import ChannelPacer, Paced
from bot.routing import Plan, plan
from bot.sinks import DeliveryDeferred, DeliveryError
from storage import alerts as alert_repo
from storage import guild_state
from storage.alerts import Delivery, StoredAlert
from storage.db import AsyncStore
from storage.timeutil import to_epoch

log = logging.getLogger("flowwatch.discord")

T = TypeVar("T")

#: Events that edit the episode's earlier message instead of posting a new one.
EDIT_IN_PLACE = frozenset({"updated"})

ChartFn = Callable[[StoredAlert], Awaitable[bytes | None]]


class DiscordDeliveryError(DeliveryError):
    """A failed Discord request, with the HTTP status and Discord error code when known."""

    def __init__(
        self,
        message: str,
        *,
        transient: bool,
        retry_after: float | None = None,
        status: int | None = None,
        code: int | None = None,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(message, transient=transient, retry_after=retry_after, ambiguous=ambiguous)
        self.status = status
        self.code = code

    @property
    def channel_gone(self) -> bool:
        """The channel is deleted or the bot may not see or post in it."""
        return self.status in (403, 404)


def as_delivery_error(exc: BaseException, timeout: float) -> DiscordDeliveryError | None:
    """Map a discord.py / aiohttp failure to a retry decision (None: not a delivery failure)."""
    if isinstance(exc, discord.RateLimited):
        return DiscordDeliveryError(
            f"rate limited for {exc.retry_after:.1f} s",
            transient=True,
            retry_after=exc.retry_after,
            status=429,
        )
    if isinstance(exc, discord.Forbidden):
        return DiscordDeliveryError(
            f"403 Forbidden: {exc.text or 'Missing Permissions'} (code {exc.code})",
            transient=False,
            status=403,
            code=exc.code,
        )
    if isinstance(exc, discord.NotFound):
        return DiscordDeliveryError(
            f"404 Not Found: {exc.text or 'Unknown'} (code {exc.code})",
            transient=False,
            status=404,
            code=exc.code,
        )
    if isinstance(exc, discord.DiscordServerError):
        return DiscordDeliveryError(f"Discord server error {exc.status}", transient=True, status=exc.status)
    if isinstance(exc, discord.HTTPException):
        if exc.status == 429:
            return DiscordDeliveryError("429 Too Many Requests", transient=True, retry_after=30.0, status=429)
        transient = exc.status >= 500
        return DiscordDeliveryError(
            f"HTTP {exc.status}: {exc.text or exc}", transient=transient, status=exc.status, code=exc.code
        )
    if isinstance(exc, TimeoutError):
        return DiscordDeliveryError(f"timed out after {timeout:.0f} s", transient=True)
    if isinstance(exc, aiohttp.ClientError | OSError | discord.ConnectionClosed | discord.GatewayNotFound):
        return DiscordDeliveryError(f"connection problem: {exc!r}", transient=True)
    return None


def delivery_nonce(delivery: Delivery, alert: StoredAlert) -> str:
    """Deterministic per delivery (≤ 25 characters, as Discord requires).

    Derived from the delivery id *and* the event, so a fresh database that reuses delivery
    ids never collides with an earlier message's nonce.
    """
    basis = f"{delivery.id}|{delivery.destination}|{alert.dedupe_key(alert.scope)}"
    return "fw" + hashlib.blake2b(basis.encode(), digest_size=10).hexdigest()


def batch_nonce(prefix: str, ids: list[int]) -> str:
    return prefix + hashlib.blake2b(",".join(map(str, sorted(ids))).encode(), digest_size=10).hexdigest()


class DiscordSinkBase:
    """Shared delivery logic; subclasses implement :meth:`_post` and :meth:`_edit`."""

    name: str = "discord"
    patterns: tuple[str, ...] = ()
    buttons: bool = False

    def __init__(
        self,
        store: AsyncStore,
        settings: Settings,
        *,
        charts: ChartFn | None = None,
        clock: Clock | None = None,
        pacer: ChannelPacer | None = None,
        storm: tuple[int, int] | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.store = store
        self.settings = settings
        self.charts = charts
        self.clock = clock or SystemClock()
        self.pacer = pacer or ChannelPacer()
        if storm is None:
            storm = (settings.storm_max, int(settings.storm_minutes * 60))
        self.storm_max, self.storm_window = storm
        self.timeout = timeout
        self._charts: OrderedDict[int, asyncio.Task[bytes | None]] = OrderedDict()
        self._shown: dict[str, tuple[str, set[int]]] = {}
        self._chart_sha: dict[int, tuple[bytes, str]] = {}
        #: delivery id -> SHA-256 of the chart its message shows (the dispatcher records it)
        self.last_chart_sha: dict[int, str] = {}

    # -- to implement -------------------------------------------------------------------

    async def _post(
        self,
        destination: str,
        *,
        embed: discord.Embed,
        png: bytes | None = None,
        filename: str | None = None,
        content: str | None = None,
        role_id: int | None = None,
        view: discord.ui.View | None = None,
        nonce: str | None = None,
    ) -> str:
        raise NotImplementedError

    async def _edit(
        self,
        destination: str,
        message_id: str,
        *,
        embed: discord.Embed,
        png: bytes | None = None,
        filename: str | None = None,
        view: discord.ui.View | None = None,
        keep_attachments: bool = False,
    ) -> None:
        raise NotImplementedError

    def _view(self, alert: StoredAlert) -> discord.ui.View | None:
        return None

    async def _send_notice(self, alert: StoredAlert, delivery: Delivery) -> str | None:
        with self._paced(delivery.destination):
            return await self.guard(
                self._post(
                    delivery.destination, embed=notice_embed(alert), nonce=delivery_nonce(delivery, alert)
                )
            )

    # -- the Sink protocol ------------------------------------------------------------------

    async def send(self, alert: StoredAlert, delivery: Delivery) -> str | None:
        dest = delivery.destination
        if alert.kind != "alert":
            return await self._send_notice(alert, delivery)
        now = to_epoch(self.clock.now())
        if self.storm_max > 0:
            recent = await self.store.call(alert_repo.sent_since, dest, now - self.storm_window)
            if recent >= self.storm_max:
                return await self._fold(alert, delivery, now)
        the_plan: Plan = await self.store.call(plan, self.settings, dest, alert)
        png, sha = await self._chart_and_hash(alert)
        filename = chart_filename(alert) if png else None
        if alert.event in EDIT_IN_PLACE and alert.episode:
            found = await self.store.call(alert_repo.episode_message_chart, alert.episode, dest, alert.id)
            earlier = found[0] if found else None
            if earlier is not None and not await self.store.call(guild_state.is_digest, earlier):
                ack = await self.store.call(guild_state.get_ack, earlier)
                embed = alert_embed(alert, image=filename, grade=the_plan.level, ack=ack)
                same_chart = sha is not None and found is not None and found[1] == sha
                try:
                    with self._paced(dest):
                        await self.guard(
                            self._edit(
                                dest,
                                earlier,
                                embed=embed,
                                png=None if same_chart else png,
                                filename=filename,
                                view=self._view(alert),
                                keep_attachments=same_chart,
                            )
                        )
                    if sha is not None:
                        self.last_chart_sha[delivery.id] = sha
                    return earlier
                except DiscordDeliveryError as exc:
                    if exc.status != 404:
                        raise
                    log.info("message %s of episode %s is gone; posting a new one", earlier, alert.episode)
        embed = alert_embed(alert, image=filename, grade=the_plan.level)
        content = None
        if the_plan.role_id is not None:
            content = f"<@&{the_plan.role_id}> {LEVEL_EMOJI['severe']} {embed.title}"
        with self._paced(dest):
            posted = await self.guard(
                self._post(
                    dest,
                    embed=embed,
                    png=png,
                    filename=filename,
                    content=content,
                    role_id=the_plan.role_id,
                    view=self._view(alert),
                    nonce=delivery_nonce(delivery, alert),
                )
            )
        if sha is not None:
            self.last_chart_sha[delivery.id] = sha
        return posted

    async def close(self) -> None:
        for task in self._charts.values():
            task.cancel()
        self._charts.clear()

    # -- storms -----------------------------------------------------------------------------

    async def _fold(self, alert: StoredAlert, delivery: Delivery, now: int) -> str:
        """Fold this event (and the destination's other pending ones) into the storm digest."""
        dest = delivery.destination
        msg = await self.store.call(guild_state.open_digest, dest, "storm", now - self.storm_window)
        shown = self._shown.get(dest)
        if msg is not None and shown is not None and shown[0] == msg and alert.id in shown[1]:
            return msg  # already in the digest's last edit
        alerts: dict[int, StoredAlert] = {}
        if msg is not None:
            alerts.update(
                {a.id: a for a in await self.store.call(alert_repo.alerts_with_external_id, dest, msg)}
            )
        pending = await self.store.call(
            alert_repo.deliveries_with_status, "pending", [dest], alert.scope, destination=dest
        )
        for _d, a in pending:
            if a.kind == "alert":
                alerts.setdefault(a.id, a)
        alerts.setdefault(alert.id, alert)
        ordered = sorted(alerts.values(), key=lambda a: a.id)
        note = f"more than {self.storm_max} events within {self.storm_window // 60} min"
        embed = digest_embed("storm", ordered, note)
        with self._paced(dest):
            if msg is not None:
                try:
                    await self.guard(self._edit(dest, msg, embed=embed))
                except DiscordDeliveryError as exc:
                    if exc.status != 404:
                        raise
                    msg = None
            if msg is None:
                msg = await self.guard(self._post(dest, embed=embed, nonce=delivery_nonce(delivery, alert)))
        await self.store.call(guild_state.save_digest, msg, dest, "storm", now)
        self._shown[dest] = (msg, set(alerts))
        return msg

    # -- helpers ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _paced(self, destination: str) -> Iterator[None]:
        """A slot in the destination's window for one write, or a deferral (before any request)."""
        try:
            slot = self.pacer.take(destination)
        except Paced as exc:
            raise DeliveryDeferred(exc.retry_after, f"{destination} paced") from None
        try:
            yield
        finally:
            self.pacer.finish(slot)

    async def guard(self, coro: Awaitable[T]) -> T:
        try:
            async with asyncio.timeout(self.timeout):
                return await coro
        except Exception as exc:
            mapped = as_delivery_error(exc, self.timeout)
            if mapped is None:
                raise
            raise mapped from exc

    async def _chart(self, alert: StoredAlert) -> bytes | None:
        """The event's chart, rendered once however many channels send it at once."""
        if self.charts is None:
            return None
        task = self._charts.get(alert.id)
        if task is None:
            task = asyncio.ensure_future(self._render(alert))
            self._charts[alert.id] = task
            while len(self._charts) > 32:
                self._charts.popitem(last=False)
        else:
            self._charts.move_to_end(alert.id)
        return await asyncio.shield(task)

    async def _chart_and_hash(self, alert: StoredAlert) -> tuple[bytes | None, str | None]:
        """The chart and its SHA-256, both computed once per event."""
        png = await self._chart(alert)
        if png is None:
            return None, None
        cached = self._chart_sha.get(alert.id)
        if cached is None or cached[0] is not png:
            cached = (png, hashlib.sha256(png).hexdigest())
            self._chart_sha[alert.id] = cached
            while len(self._chart_sha) > 32:
                self._chart_sha.pop(next(iter(self._chart_sha)))
        return png, cached[1]

    async def _render(self, alert: StoredAlert) -> bytes | None:
        assert self.charts is not None
        try:
            return await self.charts(alert)
        except Exception as exc:  # a chart must never block the alert itself
            log.warning("chart for alert %d failed: %s", alert.id, exc)
            return None


def file_of(png: bytes | None, filename: str | None) -> discord.File | None:
    if png is None or filename is None:
        return None
    return discord.File(io.BytesIO(png), filename=filename)


def role_mentions(role_id: int | None) -> discord.AllowedMentions:
    """Only the configured role may be pinged; never @everyone or users."""
    if role_id is None:
        return discord.AllowedMentions.none()
    return discord.AllowedMentions(
        everyone=False, users=False, roles=[discord.Object(role_id)], replied_user=False
    )
