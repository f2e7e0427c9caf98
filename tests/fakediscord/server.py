"""``FakeDiscord``: the aiohttp server, the request pipeline, recording and waiting helpers."""

# The wait_for_* helpers take ``timeout=`` on purpose: it is the test-facing API, implemented
# with asyncio.timeout around event-driven waits.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from aiohttp import BodyPartReader, web

from . import payloads
from . import permissions as P
from .api import RestApi, err
from .faults import Faults, error_body
from .gateway import GUILD_MEMBERS, GUILD_PRESENCES, MESSAGE_CONTENT, Gateway
from .messages import MessageError, MessageStore
from .records import (
    CommandSync,
    InteractionRecord,
    NonceHit,
    RecordedFile,
    RecordedRequest,
    StoredMessage,
)
from .routing import BOT, Ctx, Reply
from .snowflake import SnowflakeGenerator, make_token
from .world import (
    DEFAULT_ADMIN,
    DEFAULT_BOT,
    DM,
    Defaults,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeUser,
    FakeWebhook,
    default_guild,
)

_log = logging.getLogger(__name__)

T = TypeVar("T")

API_PREFIXES = ("/api/v10", "/api/v9", "/api")
INTERESTING_HEADERS = ("authorization", "user-agent", "content-type", "x-audit-log-reason")
GATEWAY_PATHS = ("/", "/resume", "/resume/")


class _Changed:
    """Wakes every waiter whenever the fake records something (no polling)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def bump(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self) -> None:
        await self._event.wait()


class FakeDiscord:
    """A local Discord API v10 + gateway fake for the real, unmodified discord.py client.

    Use as ``async with FakeDiscord(token=..., guilds=[...]) as fake:``. On enter it starts an
    aiohttp server on 127.0.0.1 (ephemeral port) and, unless ``patch_client=False``, points
    discord.py at it (see :func:`tests.fakediscord.patching.patch_discord`).
    """

    def __init__(
        self,
        token: str = Defaults.TOKEN,
        *,
        guilds: Sequence[FakeGuild] | None = None,
        bot: FakeUser | None = None,
        application_id: int | None = None,
        application_owner: FakeUser | None = None,
        users: Sequence[FakeUser] = (),
        privileged_intents: int = 0,
        heartbeat_interval_ms: int = 41_250,
        gateway_compression: bool = True,
        nonce_window: float = 300.0,
        message_rate_limit: tuple[int, float] | None = None,
        rate_limits: dict[str, tuple[int, float]] | None = None,
        enforce_permissions: bool = True,
        emit_message_events: bool = True,
        interaction_ack_deadline: float | None = 3.0,
        interaction_token_ttl: float = 900.0,
        max_upload_bytes: int = 10 * 1024 * 1024,
        max_request_bytes: int = 25 * 1024 * 1024,
        shards: int = 1,
        patch_client: bool = True,
        host: str = "127.0.0.1",
    ) -> None:
        self.token = token
        self.bot = bot or DEFAULT_BOT
        self.application_id = application_id or self.bot.id
        self.application_name = self.bot.username
        self.application_owner = application_owner or DEFAULT_ADMIN
        #: Privileged intents the "developer portal" allows (GUILD_MEMBERS, GUILD_PRESENCES,
        #: MESSAGE_CONTENT bits). Identifying with others closes the gateway with 4014.
        self.privileged_intents = privileged_intents
        self.nonce_window = nonce_window
        self.enforce_permissions = enforce_permissions
        self.emit_message_events = emit_message_events
        #: Initial responses later than this (seconds after dispatch) get 404 Unknown
        #: interaction, like Discord's 3 s rule. ``None`` disables the check.
        self.interaction_ack_deadline = interaction_ack_deadline
        self.interaction_token_ttl = interaction_token_ttl
        #: Discord's limits: each file (the bot's upload limit, 10 MiB without boosts) and the
        #: whole request (25 MiB)
        self.max_upload_bytes = max_upload_bytes
        self.max_request_bytes = max_request_bytes
        #: the shard count /gateway/bot recommends; above 1 an IDENTIFY without enough shards is
        #: closed with 4011 "Sharding required", and each shard hears only its own guilds
        self.shards = shards
        #: Enforced rate limits: route key (``"POST /channels/{channel_id}/messages"``) ->
        #: (limit, per_seconds), bucketed per major parameter (channel/guild/webhook id).
        self.rate_limits: dict[str, tuple[int, float]] = dict(rate_limits or {})
        if message_rate_limit is not None:
            self.rate_limits["POST /channels/{channel_id}/messages"] = message_rate_limit
        self._host = host
        self._patch_client = patch_client

        self.snowflakes = SnowflakeGenerator()
        self.guilds: dict[int, FakeGuild] = {}
        self.users: dict[int, FakeUser] = {self.bot.id: self.bot}
        self.channels: dict[int, FakeChannel] = {}
        self.webhooks: dict[int, FakeWebhook] = {}
        for guild in [default_guild(self.bot)] if guilds is None else guilds:
            self.add_guild(guild)
        for user in (*users, self.application_owner):
            self.users.setdefault(user.id, user)

        self.faults = Faults()
        self.store = MessageStore(self)
        self.api = RestApi(self)
        self.gateway = Gateway(
            self, heartbeat_interval_ms=heartbeat_interval_ms, compression=gateway_compression
        )
        #: Every HTTP request, in arrival order.
        self.requests: list[RecordedRequest] = []
        #: Requests to routes the fake does not implement (answered 404/405).
        self.unknown_requests: list[RecordedRequest] = []
        #: Requests answered 429 by the enforced (real) rate limiter.
        self.rate_limited: list[RecordedRequest] = []
        self.cdn_requests: list[str] = []
        #: Called with each recorded request once its route has run (a message is stored) and
        #: its status is set, right before the answer goes back to the client.
        self.response_hooks: list[Callable[[RecordedRequest], None]] = []
        self.interactions: dict[int, InteractionRecord] = {}
        self.interactions_by_token: dict[str, InteractionRecord] = {}
        #: Application commands by scope: ``None`` = global, else guild id.
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.command_syncs: list[CommandSync] = []

        self._windows: dict[tuple[str, str], list[float]] = {}
        self._changed: _Changed | None = None
        self._runner: web.AppRunner | None = None
        self._inflight: set[asyncio.Task[Any]] = set()
        self._patcher: AbstractContextManager[None] | None = None
        self.port = 0

    # ================================================================ lifecycle
    async def start(self) -> FakeDiscord:
        self._changed = _Changed()
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self._runner is None:
            return
        await self.gateway.close_all()
        current = asyncio.current_task()
        for task in list(self._inflight):
            if task is not current and not task.done():
                task.cancel()
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        if self._patch_client:
            from .patching import patch_discord

            self._patcher = patch_discord(self)
            self._patcher.__enter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self._patcher is not None:
                self._patcher.__exit__(None, None, None)
                self._patcher = None
        finally:
            await self.stop()

    # ==================================================================== urls
    @property
    def http_base(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def api_base(self) -> str:
        """What ``discord.http.Route.BASE`` must be set to."""
        return f"{self.http_base}/api/v10"

    @property
    def gateway_url(self) -> str:
        """The initial gateway URL (``DiscordWebSocket.DEFAULT_GATEWAY`` / ``/gateway/bot``)."""
        return f"ws://{self._host}:{self.port}/"

    @property
    def resume_gateway_url(self) -> str:
        """Sent in READY; a distinct path so tests can see the client used it for RESUME."""
        return f"ws://{self._host}:{self.port}/resume"

    def webhook_local_url(self, webhook: FakeWebhook) -> str:
        """A direct http URL to execute ``webhook`` on the fake (for non-discord.py clients)."""
        return f"{self.http_base}/api/webhooks/{webhook.id}/{webhook.token}"

    # =================================================================== world
    def add_guild(self, guild: FakeGuild) -> FakeGuild:
        if guild.get_member(self.bot.id) is None:
            bot_roles = [r.id for r in guild.roles if r.bot_id == self.bot.id]
            guild.members.append(FakeMember(self.bot, bot_roles))
        self.guilds[guild.id] = guild
        for channel in guild.channels:
            channel.guild_id = guild.id
            self.channels[channel.id] = channel
        for member in guild.members:
            self.users.setdefault(member.user.id, member.user)
        return guild

    @property
    def guild(self) -> FakeGuild:
        """The first configured guild (the default guild unless you passed others)."""
        return next(iter(self.guilds.values()))

    def channel(self, name_or_id: str | int) -> FakeChannel:
        if isinstance(name_or_id, int):
            return self.channels[name_or_id]
        for channel in self.channels.values():
            if channel.name == name_or_id and channel.type != DM:
                return channel
        raise KeyError(name_or_id)

    def bot_guilds(self) -> list[FakeGuild]:
        return [g for g in self.guilds.values() if g.get_member(self.bot.id) is not None]

    def bot_permissions(self, channel: FakeChannel) -> int:
        if channel.guild_id is None:
            return P.DM_APP_PERMISSIONS
        return self.guilds[channel.guild_id].permissions_for(self.bot.id, channel)

    def member_permissions(self, user_id: int, channel: FakeChannel | None) -> int:
        if channel is None or channel.guild_id is None:
            return P.DM_APP_PERMISSIONS
        return self.guilds[channel.guild_id].permissions_for(user_id, channel)

    def dm_channel_for(self, user_id: int) -> FakeChannel:
        for channel in self.channels.values():
            if channel.type == DM and channel.recipients and channel.recipients[0].id == user_id:
                return channel
        channel = FakeChannel(self.snowflakes.next(), "", type=DM, recipients=[self.users[user_id]])
        self.channels[channel.id] = channel
        return channel

    def add_webhook(self, channel_id: int, *, name: str = "Flowwatch Alerts") -> FakeWebhook:
        """Create an incoming webhook; use ``hook.url`` with ``discord.Webhook.from_url``."""
        channel = self.channels[channel_id]
        hook = FakeWebhook(self.snowflakes.next(), channel.id, channel.guild_id, name=name)
        self.webhooks[hook.id] = hook
        return hook

    @property
    def application_flags(self) -> int:
        flags = 1 << 23  # APPLICATION_COMMAND_BADGE
        if self.privileged_intents & GUILD_PRESENCES:
            flags |= 1 << 13
        if self.privileged_intents & GUILD_MEMBERS:
            flags |= 1 << 15
        if self.privileged_intents & MESSAGE_CONTENT:
            flags |= 1 << 19
        return flags

    def bot_user_payload(self) -> dict[str, Any]:
        data = self.bot.to_payload()
        data.update({"bot": True, "verified": True, "mfa_enabled": True, "locale": "en-US", "email": None})
        return data

    def application_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.application_id),
            "name": self.application_name,
            "icon": None,
            "description": "Market flow alerts",
            "summary": "",
            "type": None,
            "hook": True,
            "bot_public": False,
            "bot_require_code_grant": False,
            "verify_key": hashlib.sha256(str(self.application_id).encode()).hexdigest(),
            "flags": self.application_flags,
            "owner": self.application_owner.to_payload(),
            "team": None,
            "bot": self.bot.to_payload(),
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "tags": [],
            "install_params": {"scopes": ["bot", "applications.commands"], "permissions": "0"},
            "integration_types_config": {"0": {}},
            "approximate_guild_count": len(self.bot_guilds()),
            "approximate_user_install_count": 0,
        }

    # ============================================================ time & waits
    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def _bump(self) -> None:
        if self._changed is not None:
            self._changed.bump()

    async def wait_until(
        self, predicate: Callable[[], T | None], *, timeout: float = 5.0, what: str = "condition"
    ) -> T:
        """Wait (event-driven) until ``predicate()`` is truthy and return its value.

        ``predicate`` is re-evaluated every time the fake records anything (request, message,
        gateway event, ...). Raises ``TimeoutError`` with a summary of what was recorded.
        """
        if self._changed is None:
            raise RuntimeError("FakeDiscord is not started")
        try:
            async with asyncio.timeout(timeout):
                while True:
                    value = predicate()
                    if value:
                        return value
                    await self._changed.wait()
        except TimeoutError:
            raise TimeoutError(
                f"FakeDiscord: timed out after {timeout}s waiting for {what}\n{self.describe()}"
            ) from None

    def describe(self) -> str:
        lines = [
            f"requests={len(self.requests)} unknown={len(self.unknown_requests)} "
            f"messages={len(self.store.messages)} interactions={len(self.interactions)} "
            f"identify={self.gateway.identify_count} resume={self.gateway.resume_count} "
            f"live_ws={len(self.gateway.live)}",
        ]
        lines += [f"  {r.method} {r.path} -> {r.status}" for r in self.requests[-15:]]
        return "\n".join(lines)

    # messages -----------------------------------------------------------------
    def messages(
        self,
        channel_id: int | None = None,
        *,
        source: str | None = None,
        include_deleted: bool = False,
    ) -> list[StoredMessage]:
        """Stored messages (oldest first), optionally by channel and ``source``."""
        msgs = list(self.store.messages.values())
        if channel_id is not None:
            msgs = self.store.in_channel(channel_id, include_deleted=True)
        return [
            m for m in msgs if (include_deleted or not m.deleted) and (source is None or m.source == source)
        ]

    def get_message(self, message_id: int) -> StoredMessage:
        return self.store.messages[int(message_id)]

    @property
    def nonce_hits(self) -> list[NonceHit]:
        return self.store.nonce_hits

    async def wait_for_message(
        self,
        channel_id: int | None = None,
        *,
        check: Callable[[StoredMessage], bool] | None = None,
        count: int = 1,
        source: str | None = None,
        timeout: float = 5.0,
    ) -> StoredMessage:
        """Wait until ``count`` matching messages exist; return the ``count``-th one."""

        def found() -> StoredMessage | None:
            msgs = [m for m in self.messages(channel_id, source=source) if check is None or check(m)]
            return msgs[count - 1] if len(msgs) >= count else None

        return await self.wait_until(found, timeout=timeout, what=f"message #{count} in channel {channel_id}")

    async def wait_for_edit(self, message_id: int, *, count: int = 1, timeout: float = 5.0) -> StoredMessage:
        msg = self.get_message(message_id)
        await self.wait_until(
            lambda: len(msg.edits) >= count,
            timeout=timeout,
            what=f"{count} edit(s) of {message_id}",
        )
        return msg

    # requests -----------------------------------------------------------------
    def requests_matching(
        self, method: str = "*", path: str = "*", *, status: int | None = None
    ) -> list[RecordedRequest]:
        """Requests by method and path (route template like ``/channels/{channel_id}/messages``
        or an fnmatch glob over the concrete path)."""
        out = []
        for rec in self.requests:
            if method not in ("*", rec.method):
                continue
            if path != "*":
                if "{" in path:
                    if rec.route != path:
                        continue
                elif not fnmatch.fnmatchcase(rec.path, path):
                    continue
            if status is not None and rec.status != status:
                continue
            out.append(rec)
        return out

    async def wait_for_request(
        self,
        method: str = "*",
        path: str = "*",
        *,
        count: int = 1,
        status: int | None = None,
        timeout: float = 5.0,
    ) -> RecordedRequest:
        """Wait until ``count`` matching requests were *answered*; return the ``count``-th."""

        def found() -> RecordedRequest | None:
            recs = [r for r in self.requests_matching(method, path, status=status) if r.status is not None]
            return recs[count - 1] if len(recs) >= count else None

        return await self.wait_until(found, timeout=timeout, what=f"{count}x {method} {path}")

    def assert_no_unexpected_requests(self) -> None:
        if self.unknown_requests:
            listed = "\n".join(f"  {r.method} {r.path}" for r in self.unknown_requests)
            raise AssertionError(f"unexpected requests to unimplemented routes:\n{listed}")

    # gateway -------------------------------------------------------------------
    async def wait_for_identify(self, count: int = 1, *, timeout: float = 5.0) -> None:
        await self.wait_until(
            lambda: self.gateway.identify_count >= count, timeout=timeout, what=f"{count} IDENTIFY"
        )

    async def wait_for_resume(self, count: int = 1, *, timeout: float = 5.0) -> None:
        await self.wait_until(
            lambda: self.gateway.resume_count >= count, timeout=timeout, what=f"{count} RESUME"
        )

    async def wait_for_connected(self, *, timeout: float = 5.0) -> None:
        await self.wait_until(lambda: self.gateway.connected, timeout=timeout, what="a live gateway session")

    async def dispatch(self, event: str, data: dict[str, Any], *, intent: int = 0) -> int:
        """Send an arbitrary DISPATCH event to every session (buffered for RESUME)."""
        count = await self.gateway.dispatch(event, data, intent=intent)
        self._bump()
        return count

    # commands --------------------------------------------------------------------
    async def wait_for_command_sync(
        self, *, guild_id: int | None = None, count: int = 1, timeout: float = 5.0
    ) -> CommandSync:
        def found() -> CommandSync | None:
            syncs = [s for s in self.command_syncs if s.guild_id == guild_id]
            return syncs[count - 1] if len(syncs) >= count else None

        return await self.wait_until(found, timeout=timeout, what=f"command sync ({guild_id})")

    # interactions ----------------------------------------------------------------
    async def dispatch_interaction(self, payload: dict[str, Any]) -> InteractionRecord:
        """Register an interaction and send it as INTERACTION_CREATE.

        Missing top-level fields (id, token, application_id, version, ...) are filled in.
        """
        if not self.gateway.sessions:
            raise RuntimeError("no gateway session: start the client first")
        payload = dict(payload)
        payload.setdefault("id", str(self.snowflakes.next()))
        payload.setdefault("token", "aW50ZXJhY3Rpb246" + make_token(120))
        payload.setdefault("application_id", str(self.application_id))
        payload.setdefault("version", 1)
        payload.setdefault("entitlements", [])
        payload.setdefault("attachment_size_limit", self.max_upload_bytes)
        payload.setdefault("locale", "en-US")
        channel_id = payload.get("channel_id") or (payload.get("channel") or {}).get("id")
        guild_id = payload.get("guild_id")
        rec = InteractionRecord(
            id=int(payload["id"]),
            token=payload["token"],
            application_id=int(payload["application_id"]),
            type=int(payload["type"]),
            payload=payload,
            channel_id=int(channel_id) if channel_id else None,
            guild_id=int(guild_id) if guild_id else None,
            created=self.now(),
        )
        self.interactions[rec.id] = rec
        self.interactions_by_token[rec.token] = rec
        await self.gateway.dispatch("INTERACTION_CREATE", payload)
        self._bump()
        return rec

    async def wait_for_interaction_response(
        self, interaction: InteractionRecord, *, timeout: float = 5.0
    ) -> InteractionRecord:
        await self.wait_until(
            lambda: interaction.acknowledged, timeout=timeout, what=f"response to {interaction}"
        )
        return interaction

    async def wait_for_followup(
        self, interaction: InteractionRecord, *, count: int = 1, timeout: float = 5.0
    ) -> StoredMessage:
        await self.wait_until(
            lambda: len(interaction.followup_message_ids) >= count,
            timeout=timeout,
            what=f"followup #{count} to {interaction}",
        )
        return self.get_message(interaction.followup_message_ids[count - 1])

    def original_response(self, interaction: InteractionRecord) -> StoredMessage | None:
        if interaction.original_message_id is None:
            return None
        return self.store.messages.get(interaction.original_message_id)

    # builders (see payloads.py) ---------------------------------------------------
    def build_slash_command(self, name: str, *options: dict[str, Any], **kw: Any) -> dict:
        return payloads.slash_command(self, name, *options, **kw)

    def build_autocomplete(self, name: str, *options: dict[str, Any], **kw: Any) -> dict:
        return payloads.autocomplete(self, name, *options, **kw)

    def build_component(self, message: StoredMessage | dict, custom_id: str, **kw: Any) -> dict:
        return payloads.component(self, message, custom_id, **kw)

    def build_modal_submit(self, custom_id: str, values: dict[str, str], **kw: Any) -> dict:
        return payloads.modal_submit(self, custom_id, values, **kw)

    async def invoke_slash_command(self, name: str, *options: dict[str, Any], **kw: Any) -> InteractionRecord:
        """Build + dispatch an APPLICATION_COMMAND interaction (see ``payloads.slash_command``)."""
        return await self.dispatch_interaction(self.build_slash_command(name, *options, **kw))

    async def click_button(
        self, message: StoredMessage | dict, custom_id: str, **kw: Any
    ) -> InteractionRecord:
        return await self.dispatch_interaction(self.build_component(message, custom_id, **kw))

    # user-side actions ---------------------------------------------------------------
    async def inject_user_message(
        self, channel_id: int, user_id: int, content: str, **payload: Any
    ) -> StoredMessage:
        """A message posted by a (human) user; dispatched as MESSAGE_CREATE."""
        channel = self.channels[channel_id]
        body = {"content": content, **payload}
        return await self.store.create(
            channel=channel,
            author=self.users[user_id].to_payload(),
            source="user",
            payload=body,
            files=[],
            record=None,
            author_perms=self.member_permissions(user_id, channel),
        )

    async def seed_bot_message(
        self, channel_id: int, content: str = "", *, dispatch: bool = False, **payload: Any
    ) -> StoredMessage:
        """A message the bot posted earlier (e.g. before a restart), with ``components`` etc.

        Not dispatched over the gateway unless ``dispatch=True``.
        """
        return await self.store.create(
            channel=self.channels[channel_id],
            author=self.bot.to_payload(),
            source="bot",
            payload={"content": content, **payload},
            files=[],
            record=None,
            emit=dispatch,
        )

    # ============================================================== HTTP pipeline
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            return await self._handle_inner(request)
        finally:
            if task is not None:
                self._inflight.discard(task)

    async def _handle_inner(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
        if upgrade and path in GATEWAY_PATHS:
            return await self.gateway.handle(request)
        if request.method == "GET" and path.startswith("/attachments/"):
            return self._serve_attachment(path)

        api_path = None
        for prefix in API_PREFIXES:
            if path.startswith(prefix + "/"):
                api_path = path[len(prefix) :]
                break
        body, files, is_multipart, parse_error = await self._read_body(request)
        rec = RecordedRequest(
            index=len(self.requests),
            method=request.method,
            path=api_path if api_path is not None else path,
            route=None,
            query=dict(request.query),
            headers={k: v for k, v in request.headers.items() if k.lower() in INTERESTING_HEADERS},
            json=body,
            files=files,
            time=time.time(),
            multipart=is_multipart,
        )
        self.requests.append(rec)
        self._bump()

        route = None
        params: dict[str, str] = {}
        other_method = False
        if api_path is not None:
            route, params, other_method = self.api.router.match(request.method, api_path)
        if route is None:
            self.unknown_requests.append(rec)
            status = 405 if other_method else 404
            return self._finish(rec, Reply(status, error_body(status)))
        rec.route = route.template

        if route.auth == BOT and request.headers.get("Authorization") != f"Bot {self.token}":
            return self._finish(rec, err(401))
        if parse_error:
            return self._finish(rec, err(400, 50109, "The request body contains invalid JSON."))
        if any(f.size > self.max_upload_bytes for f in files) or (
            sum(f.size for f in files) > self.max_request_bytes
        ):
            return self._finish(rec, err(413, 40005))

        fault = self.faults.pick(request.method, api_path or "", route.template)
        after = None
        if fault is not None and fault.after:
            after, fault = fault, None
            rec.fault = after
            self.faults.fired.append((after, rec))
        if fault is not None:
            rec.fault = fault
            self.faults.fired.append((fault, rec))
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.disconnect:
                rec.status = 0
                self._bump()
                if request.transport is not None:
                    request.transport.abort()
                raise asyncio.CancelledError
            if fault.status is not None:
                reply = Reply(fault.status, fault.response_body(), fault.response_headers(time.time()))
                return self._finish(rec, reply, via=fault.via)

        rl_headers, limited = self._rate_limit(route.key, params)
        if limited is not None:
            self.rate_limited.append(rec)
            return self._finish(rec, limited)
        ctx = Ctx(request=request, record=rec, params=params, route=route)
        try:
            reply = await route.handler(ctx)
        except MessageError as exc:
            reply = Reply(exc.status, exc.body)
        if 200 <= reply.status < 300:
            reply.headers = {**rl_headers, **reply.headers}
        if after is not None:
            if after.delay:
                await asyncio.sleep(after.delay)
            if after.disconnect:
                rec.status = 0
                self._bump()
                if request.transport is not None:
                    request.transport.abort()
                raise asyncio.CancelledError
            if after.status is not None:
                reply = Reply(after.status, after.response_body(), after.response_headers(time.time()))
                return self._finish(rec, reply, via=after.via)
        return self._finish(rec, reply)

    async def _read_body(self, request: web.Request) -> tuple[Any, list[RecordedFile], bool, bool]:
        ctype = request.content_type
        files: list[RecordedFile] = []
        if ctype.startswith("multipart/"):
            body: Any = None
            parse_error = False
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, BodyPartReader):
                    continue
                data = bytes(await part.read(decode=False))
                if part.name == "payload_json":
                    try:
                        body = json.loads(data)
                    except ValueError:
                        parse_error = True
                elif part.filename is not None:
                    files.append(
                        RecordedFile(
                            field=part.name or "",
                            filename=part.filename,
                            content_type=part.headers.get("Content-Type"),
                            data=data,
                        )
                    )
            return body, files, True, parse_error
        raw = await request.read()
        if not raw:
            return None, files, False, False
        try:
            return json.loads(raw), files, False, False
        except ValueError:
            return raw.decode("utf-8", "replace"), files, False, ctype == "application/json"

    def _rate_limit(self, route_key: str, params: dict[str, str]) -> tuple[dict[str, str], Reply | None]:
        bucket = hashlib.md5(route_key.encode()).hexdigest()
        major = next((params[k] for k in ("channel_id", "guild_id", "webhook_id") if k in params), "")
        epoch = time.time()
        cfg = self.rate_limits.get(route_key)
        if cfg is None:
            # Not enforced: advertise a roomy bucket that never runs dry.
            return {
                "X-RateLimit-Bucket": bucket,
                "X-RateLimit-Limit": "50",
                "X-RateLimit-Remaining": "49",
                "X-RateLimit-Reset": f"{epoch + 1:.3f}",
                "X-RateLimit-Reset-After": "1.000",
            }, None
        limit, per = cfg
        now = self.now()
        window = self._windows.get((route_key, major))
        if window is None or now >= window[1]:
            window = [0.0, now + per]
            self._windows[(route_key, major)] = window
        reset_after = max(window[1] - now, 0.001)
        headers = {
            "X-RateLimit-Bucket": bucket,
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Reset": f"{epoch + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        }
        if window[0] >= limit:
            headers.update(
                {
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Scope": "user",
                    "Retry-After": str(max(1, int(reset_after + 0.999))),
                }
            )
            body = {
                "message": "You are being rate limited.",
                "retry_after": round(reset_after, 3),
                "global": False,
                "code": 0,
            }
            return headers, Reply(429, body, headers)
        window[0] += 1
        headers["X-RateLimit-Remaining"] = str(int(limit - window[0]))
        return headers, None

    def _finish(self, rec: RecordedRequest, reply: Reply, *, via: bool = True) -> web.Response:
        rec.status = reply.status
        rec.response = reply.body
        for hook in self.response_hooks:
            hook(rec)
        headers = dict(reply.headers)
        if via:
            headers.setdefault("Via", "1.1 google")
        self._bump()
        if reply.body is None:
            return web.Response(status=reply.status, headers=headers)
        if isinstance(reply.body, str | bytes):
            headers.setdefault("Content-Type", "text/plain")
            data = reply.body.encode() if isinstance(reply.body, str) else reply.body
            return web.Response(status=reply.status, body=data, headers=headers)
        # Exactly "application/json": discord.py compares the header verbatim, and
        # aiohttp's json_response would append "; charset=utf-8".
        headers["Content-Type"] = "application/json"
        return web.Response(status=reply.status, body=json.dumps(reply.body).encode(), headers=headers)

    def _serve_attachment(self, path: str) -> web.Response:
        self.cdn_requests.append(path)
        parts = path.strip("/").split("/")
        att = None
        if len(parts) == 4 and parts[2].isdigit():
            att = self.store.attachments.get(int(parts[2]))
        if att is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(
            body=att.data, headers={"Content-Type": att.content_type or "application/octet-stream"}
        )


__all__ = ["FakeDiscord"]
