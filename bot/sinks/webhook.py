"""The webhook sink: alerts (embed + chart) to ``DISCORD_WEBHOOK_URL``, no bot application needed.

One HTTP request per attempt, on its own aiohttp session (discord.py's webhook client repeats a
POST by itself after a 5xx or a reset: up to five copies of one alert within one attempt).
Webhook messages cannot carry interactive buttons, and a webhook takes no nonce, so every answer
is sorted by what it says about the message:

* 2xx: posted (an answer that is not JSON still means posted; the message id is then unknown,
  so a later update posts a new message instead of editing);
* Discord's JSON error, a 429, or a connection that never opened: not posted, retried;
* a 502, 503 or 504 page that is not Discord's (its edge, Cloudflare, saying Discord's servers
  did not take the request: the usual shape of a Discord incident), and Cloudflare's 521-523
  (the origin was never reached): not posted, retried with backoff within the dispatcher's
  budgets (:data:`~bot.dispatcher.MAX_ATTEMPTS` attempts, :data:`~bot.dispatcher.MAX_AGE_S`).
  The trade, made on purpose: in the rare case an edge 502/504 comes back for a message Discord
  did store, the retry posts a copy; treating them as "maybe posted" lost every alert of an
  incident instead;
* no answer (timeout after the request went out, reset, disconnect) or any other 5xx page that
  is not Discord's (a 500, Cloudflare's 520 or 524): **ambiguous**. The dispatcher never re-sends it blind. With a bot token too
  (``can_verify``), the next attempt first looks for the message's marker (``ref fw…`` in the
  footer) among the webhook channel's recent messages and re-sends only if it is not there;
  without one the delivery is marked ``unsure`` (a possible loss, logged).

A process that dies mid-POST (``kill -9``, OOM, power loss, a stop past systemd's timeout) cannot
record the answer, so every POST of a delivery is recorded (committed) *before* it goes out
(:func:`storage.alerts.mark_attempt`). A restart that finds that mark treats the attempt as
ambiguous, exactly like a lost answer: looked for first with a bot token; without one, recorded
``unsure`` and never re-sent (the README's "never posted twice"), and the next message this
webhook posts says which alert may be missing (:func:`unsure_note`), so the loss is visible in the
channel, not only in the log. An edit (PATCH) is safe to repeat and is not marked.

Updated events edit their earlier message in place (keeping the attachment when the chart is
unchanged), and storms fold into one digest, exactly as in bot mode.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp
import discord

from bot.config import Settings
from bot.discord_embeds import clip
from bot.routing import WEBHOOK
from bot.sinks import DeliveryDeferred
from bot.sinks.discord_base import DiscordDeliveryError, DiscordSinkBase, role_mentions
from bot.webhook_url import parse_webhook_url
from storage import alerts as alert_repo
from storage import meta
from storage.alerts import Delivery, StoredAlert
from storage.db import AsyncStore
from storage.timeutil import iso, to_epoch

if TYPE_CHECKING:
    from bot.runner import App

log = logging.getLogger("flowwatch.webhook")

T = TypeVar("T")

#: non-Discord 5xx answers that mean the request never reached Discord's servers (retried)
EDGE_NOT_POSTED = frozenset({502, 503, 504, 521, 522, 523})

#: the delivery whose POST this task is making (its attempt is recorded before the request)
_delivery: contextvars.ContextVar[int | None] = contextvars.ContextVar("webhook_delivery", default=None)
#: a note on earlier alerts that may be missing, for the next message this task posts
_note: contextvars.ContextVar[str | None] = contextvars.ContextVar("webhook_note", default=None)
#: meta key: the highest ``unsure`` delivery id already named in a message
NOTED_KEY = "webhook:unsure_noted_through"


def unsure_note(missing: Sequence[StoredAlert], more: int = 0) -> str:
    """The line above the next message: which earlier alerts may not have arrived."""
    names = "; ".join(f"{a.summary.splitlines()[0][:80]} ({iso(a.ts)[:16]} UTC)" for a in missing)
    extra = f" and {more} more" if more else ""
    return (
        f"⚠️ Possibly missing above: {names}{extra}. Its post got no answer (or the bot stopped while "
        "posting it); it was not posted again so as never to post a copy. `flowwatch alerts` lists it."
    )[:1500]


#: how many recent messages of the webhook's channel a look for a marker reads
LOOK_BACK = 50

#: (channel id, marker) -> the id of a message of this webhook carrying the marker, or None
Finder = Callable[[int, str], Awaitable[str | None]]


def marker_text(nonce: str) -> str:
    return f"ref {nonce}"


def _api_base() -> str:
    return discord.http.Route.BASE


class WebhookClient:
    """One webhook's HTTP requests: one request per call, no retry of its own, every answer sorted
    (module docstring). ``flowwatch run`` and ``flowwatch test-alert`` both post through it."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url
        self.ref = parse_webhook_url(url)
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=min(10.0, self.timeout))
            )
        return self._session

    async def request(
        self,
        method: str,
        path: str = "",
        *,
        payload: dict[str, Any] | None = None,
        png: bytes | None = None,
        filename: str | None = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        """One request, no retry of its own; the answer's JSON, or a :class:`DiscordDeliveryError`.

        Returns ``None`` for a 2xx whose body is not JSON.
        """
        url = f"{_api_base()}/webhooks/{self.ref.id}/{self.ref.token}{path}"
        data: Any
        if png is not None and filename is not None:
            form = aiohttp.FormData(quote_fields=False)
            form.add_field("payload_json", json.dumps(payload or {}), content_type="application/json")
            form.add_field("files[0]", png, filename=filename, content_type="image/png")
            data = form
            headers: dict[str, str] = {}
        else:
            data = json.dumps(payload or {})
            headers = {"Content-Type": "application/json"}
        posting = method == "POST"
        try:
            async with asyncio.timeout(self.timeout):
                async with self._http().request(
                    method, url, data=data, params=params, headers=headers
                ) as resp:
                    status = resp.status
                    raw = await resp.read()
                    retry_header = resp.headers.get("Retry-After")
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            # the connection never opened: nothing was sent
            raise DiscordDeliveryError(f"cannot connect to the webhook: {exc}", transient=True) from None
        except TimeoutError:
            raise DiscordDeliveryError(
                f"no answer within {self.timeout:.0f} s", transient=True, ambiguous=posting
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise DiscordDeliveryError(
                f"connection lost before the answer: {exc!r}", transient=True, ambiguous=posting
            ) from None
        body: Any = None
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        if 200 <= status < 300:
            if raw and body is None:
                log.warning(
                    "the webhook answered %d with a body that is not JSON (%r); counted as posted",
                    status,
                    raw[:80],
                )
            return body if isinstance(body, dict) else None
        discord_error = isinstance(body, dict) and ("code" in body or "retry_after" in body)
        message = body.get("message", "") if isinstance(body, dict) else raw[:80].decode("utf-8", "replace")
        code = body.get("code") if isinstance(body, dict) else None
        if status == 429:
            retry_after = None
            if isinstance(body, dict) and isinstance(body.get("retry_after"), int | float):
                retry_after = float(body["retry_after"])
            elif retry_header:
                try:
                    retry_after = float(retry_header)
                except ValueError:
                    retry_after = None
            raise DiscordDeliveryError(
                f"429 rate limited ({message or 'Too Many Requests'})",
                transient=True,
                retry_after=max(retry_after or 30.0, 1.0),
                status=429,
            )
        if status >= 500:
            edge = not discord_error and status in EDGE_NOT_POSTED
            raise DiscordDeliveryError(
                f"{'the webhook' if edge else 'Discord'} answered {status}: {message or 'server error'}"
                + (" (Discord's edge: not posted)" if edge else ""),
                transient=True,
                status=status,
                ambiguous=posting and not discord_error and not edge,
            )
        raise DiscordDeliveryError(
            f"HTTP {status}: {message or 'refused'} (code {code})",
            transient=False,
            status=status,
            code=code if isinstance(code, int) else None,
        )

    async def post(
        self,
        embed: discord.Embed,
        *,
        png: bytes | None = None,
        filename: str | None = None,
        content: str | None = None,
        role_id: int | None = None,
        before: Callable[[], Awaitable[None]] | None = None,
    ) -> str:
        """POST one message; its id ("" when the answer was 2xx but not JSON). ``before`` runs
        just before the request goes out (the sink records the attempt there)."""
        answer = await self.post_answer(
            embed, png=png, filename=filename, content=content, role_id=role_id, before=before
        )
        if answer is not None and answer.get("id"):
            return str(answer["id"])
        return ""  # posted; the message id is unknown (an update will post anew)

    async def post_answer(
        self,
        embed: discord.Embed,
        *,
        png: bytes | None = None,
        filename: str | None = None,
        content: str | None = None,
        role_id: int | None = None,
        before: Callable[[], Awaitable[None]] | None = None,
    ) -> dict[str, Any] | None:
        """:meth:`post`, returning Discord's whole answer (the message, with its id and its
        ``attachments``), or None when the 2xx answer was not a JSON object."""
        payload: dict[str, Any] = {
            "embeds": [embed.to_dict()],
            "allowed_mentions": role_mentions(role_id).to_dict(),
        }
        if content:
            payload["content"] = content
        if png is not None and filename is not None:
            payload["attachments"] = [{"id": 0, "filename": filename}]
        if before is not None:
            await before()
        answer = await self.request(
            "POST", payload=payload, png=png, filename=filename, params={"wait": "true"}
        )
        return answer if isinstance(answer, dict) else None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class WebhookSink(DiscordSinkBase):
    name = "webhook"
    patterns: tuple[str, ...] = (WEBHOOK,)

    def __init__(
        self,
        url: str,
        store: AsyncStore,
        settings: Settings,
        *,
        finder: Finder | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(store, settings, **kwargs)
        self.url = url
        self.client = WebhookClient(url, self.timeout)  # the URL is validated at start-up as well
        self.ref = self.client.ref
        self.finder = finder
        self._channel_id: int | None = None
        #: the last send's POST carried the note on possibly missing alerts
        self.noted = False

    async def guard(self, coro: Awaitable[T]) -> T:
        """Every request bounds its own time (:meth:`_request`): a timeout there knows whether
        the request went out; an outer one would not."""
        return await coro

    @property
    def can_verify(self) -> bool:
        return self.finder is not None

    async def _request(
        self,
        method: str,
        path: str = "",
        *,
        payload: dict[str, Any] | None = None,
        png: bytes | None = None,
        filename: str | None = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        return await self.client.request(
            method, path, payload=payload, png=png, filename=filename, params=params
        )

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
        if nonce is not None:
            footer = embed.footer.text or ""
            embed.set_footer(text=f"{footer} · {marker_text(nonce)}" if footer else marker_text(nonce))
        note = _note.get()
        if note:
            content = f"{note}\n{content}" if content else note
        delivery_id = _delivery.get()

        async def before() -> None:
            if delivery_id is not None:
                await self._mark_attempt(delivery_id)

        posted = await self.client.post(
            embed, png=png, filename=filename, content=content, role_id=role_id, before=before
        )
        if note:
            self.noted = True
        return posted

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
        payload: dict[str, Any] = {"embeds": [embed.to_dict()]}
        if png is not None and filename is not None:
            payload["attachments"] = [{"id": 0, "filename": filename}]
        elif not keep_attachments:
            payload["attachments"] = []
        await self._request(
            "PATCH", f"/messages/{int(message_id)}", payload=payload, png=png, filename=filename
        )

    async def _mark_attempt(self, delivery_id: int) -> None:
        """Commit "a POST of this delivery is under way" before it goes out; no POST without it."""
        try:
            await self.store.call(alert_repo.mark_attempt, delivery_id, to_epoch(self.clock.now()))
        except Exception as exc:
            raise DiscordDeliveryError(
                f"not sent: cannot record the attempt first ({exc})", transient=True
            ) from None

    async def send(self, alert: StoredAlert, delivery: Delivery) -> str | None:
        noted_through, missing, more = await self._missing(delivery.destination)
        self.noted = False
        token = _delivery.set(delivery.id)
        note_token = _note.set(unsure_note([a for _i, a in missing], more) if missing else None)
        try:
            posted = await self._send(alert, delivery)
        finally:
            _delivery.reset(token)
            _note.reset(note_token)
        if missing and self.noted:
            try:
                await self.store.call(meta.put, NOTED_KEY, noted_through)
            except Exception as exc:  # named again next time: better twice than never
                log.warning("cannot record that possibly missing alerts were named: %s", exc)
        return posted

    async def _missing(self, destination: str) -> tuple[int, list[tuple[int, StoredAlert]], int]:
        """The ``unsure`` deliveries not yet named in a message: (last id, first few, how many more)."""
        try:
            through = int(await self.store.call(meta.get, NOTED_KEY, 0) or 0)
            found = await self.store.call(alert_repo.unsure_since, destination, through, 50)
        except Exception:
            return 0, [], 0
        if not found:
            return through, [], 0
        return found[-1][0], found[:3], max(len(found) - 3, 0)

    async def _send(self, alert: StoredAlert, delivery: Delivery) -> str | None:
        if delivery.ambiguous and self.finder is not None:
            found = await self._look_for(alert, delivery)
            if found is not None:
                log.info(
                    "delivery %d of alert %d: the earlier attempt did post (message %s); not sending again",
                    delivery.id,
                    alert.id,
                    found,
                )
                return found
            log.info("delivery %d of alert %d: not in the channel; sending again", delivery.id, alert.id)
        return await super().send(alert, delivery)

    async def _look_for(self, alert: StoredAlert, delivery: Delivery) -> str | None:
        from bot.sinks.discord_base import delivery_nonce

        assert self.finder is not None
        if self._channel_id is None:
            info = await self._request("GET")
            if not isinstance(info, dict) or not str(info.get("channel_id", "")).isdigit():
                raise DiscordDeliveryError("the webhook did not say its channel", transient=True)
            self._channel_id = int(info["channel_id"])
        try:
            return await self.finder(self._channel_id, marker_text(delivery_nonce(delivery, alert)))
        except DeliveryDeferred:
            raise
        except Exception as exc:
            # cannot look (no access to the channel?): the same as having no token
            raise DiscordDeliveryError(
                f"cannot look for the message in channel {self._channel_id}: {exc}",
                transient=True,
                ambiguous=True,
            ) from None

    async def on_permanent_failure(self, delivery: Delivery, alert: StoredAlert, exc: Exception) -> None:
        log.error(
            "the webhook refused alert %d (%s); check DISCORD_WEBHOOK_URL (deleted webhook or wrong token?)",
            alert.id,
            exc,
        )

    async def post_summary(self, text: str, png: bytes | None = None) -> None:
        """The daily summary (console/webhook mode): text and the dashboard image."""
        embed = discord.Embed(title="flowwatch daily summary", description=clip(f"```\n{text}\n```", 4096))
        filename = "dashboard.png" if png else None
        if filename:
            embed.set_image(url=f"attachment://{filename}")
        try:
            await self.guard(self._post(WEBHOOK, embed=embed, png=png, filename=filename))
        except Exception as exc:
            log.warning("daily summary to the webhook failed: %s", exc)

    async def close(self) -> None:
        await super().close()
        await self.client.close()


def message_finder(client: discord.Client, webhook_id: int) -> Finder:
    """With a bot token: look for a marker among the last :data:`LOOK_BACK` messages this webhook
    posted in its channel (needs View Channel and Read Message History there)."""

    async def find(channel_id: int, marker: str) -> str | None:
        if client.user is None:  # the bot has not logged in yet (Discord unreachable): look later
            raise DeliveryDeferred(60.0, "Discord not reached yet: cannot look for the message")
        messages: list[dict[str, Any]] = list(await client.http.logs_from(channel_id, LOOK_BACK))  # type: ignore[arg-type]
        for msg in messages:
            if str(msg.get("webhook_id") or "") != str(webhook_id):
                continue
            for embed in msg.get("embeds") or []:
                footer: dict[str, Any] = embed.get("footer") or {}
                if marker in str(footer.get("text") or ""):
                    return str(msg["id"])
        return None

    return find


def webhook_app(settings: Settings, **app_kwargs: Any) -> App:
    """``flowwatch run`` without a token but with ``DISCORD_WEBHOOK_URL``: console and webhook sinks."""
    from bot.routing import SubscriptionRouter
    from bot.runner import App
    from bot.sinks.console import ConsoleSink

    assert settings.webhook_url is not None
    router = SubscriptionRouter(settings, app_kwargs.get("clock"), discord=False, webhook=True, console=True)
    app = App(settings, sinks=[], router=router, mode="webhook", **app_kwargs)
    app.add_sink(ConsoleSink(tz=settings.timezone, chart_dir=settings.chart_dir, charts=app.chart_for_alert))
    hook = WebhookSink(
        settings.webhook_url.get(), app.store, settings, charts=app.chart_for_alert, clock=app.clock
    )
    app.add_sink(hook)

    async def summary(text: str) -> None:
        from bot.guild_summary import build_summary

        data = await app.store.read(build_summary, settings, app.clock.now(), None, settings.timezone)
        png = await app.renderer.render(data.dashboard_data())
        print(text, flush=True)
        await hook.post_summary(text, png)

    app.on_summary.append(summary)
    return app
