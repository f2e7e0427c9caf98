"""REST route handlers (Discord API v10 subset)."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from . import permissions as P
from .faults import error_body
from .records import (
    EPHEMERAL,
    LOADING,
    CommandSync,
    InteractionCallback,
    InteractionRecord,
    StoredMessage,
)
from .routing import NONE, Ctx, Reply, Router
from .validation import Invalid, validate_command
from .world import GUILD_CATEGORY, FakeChannel, FakeWebhook

if TYPE_CHECKING:
    from .server import FakeDiscord


def err(status: int, code: int = 0, message: str | None = None) -> Reply:
    return Reply(status, error_body(status, code, message))


def ok(body: Any, status: int = 200) -> Reply:
    return Reply(status, body)


NO_CONTENT = Reply(204, None)


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


def _is_snowflake(value: str) -> bool:
    return value.isdigit() and 15 <= len(value) <= 21


# Which initial responses are valid for which interaction types.
_ALLOWED_CALLBACKS = {
    1: {1},  # PING -> PONG
    2: {4, 5, 9, 12},  # APPLICATION_COMMAND
    3: {4, 5, 6, 7, 9, 12},  # MESSAGE_COMPONENT
    4: {8},  # APPLICATION_COMMAND_AUTOCOMPLETE
    5: {4, 5, 6, 7},  # MODAL_SUBMIT
}


class RestApi:
    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.router = Router()
        r = self.router.add
        # login / gateway
        r("GET", "/users/@me", self.get_me)
        r("POST", "/users/@me/channels", self.create_dm)
        r("GET", "/users/{user_id}", self.get_user)
        r("GET", "/oauth2/applications/@me", self.get_application)
        r("GET", "/applications/@me", self.get_application)
        r("GET", "/gateway", self.get_gateway, NONE)
        r("GET", "/gateway/bot", self.get_gateway_bot)
        # channels & messages
        r("GET", "/channels/{channel_id}", self.get_channel)
        r("GET", "/channels/{channel_id}/messages", self.list_messages)
        r("POST", "/channels/{channel_id}/messages", self.create_message)
        r("GET", "/channels/{channel_id}/messages/{message_id}", self.get_message)
        r("PATCH", "/channels/{channel_id}/messages/{message_id}", self.edit_message)
        r("DELETE", "/channels/{channel_id}/messages/{message_id}", self.delete_message)
        r("POST", "/channels/{channel_id}/typing", self.typing)
        r("GET", "/channels/{channel_id}/webhooks", self.list_channel_webhooks)
        r("POST", "/channels/{channel_id}/webhooks", self.create_webhook)
        # guilds
        r("GET", "/guilds/{guild_id}", self.get_guild)
        r("GET", "/guilds/{guild_id}/channels", self.get_guild_channels)
        r("GET", "/guilds/{guild_id}/roles", self.get_guild_roles)
        r("GET", "/guilds/{guild_id}/members", self.list_members)
        r("GET", "/guilds/{guild_id}/members/{user_id}", self.get_member)
        # application commands
        base = "/applications/{application_id}"
        guild_base = base + "/guilds/{guild_id}"
        for prefix in (base, guild_base):
            r("GET", prefix + "/commands", self.get_commands)
            r("PUT", prefix + "/commands", self.put_commands)
            r("POST", prefix + "/commands", self.upsert_command)
            r("GET", prefix + "/commands/{command_id}", self.get_command)
            r("PATCH", prefix + "/commands/{command_id}", self.edit_command)
            r("DELETE", prefix + "/commands/{command_id}", self.delete_command)
        # webhooks (bot-authorised lookup + token routes without auth)
        r("GET", "/webhooks/{webhook_id}", self.get_webhook)
        r("GET", "/webhooks/{webhook_id}/{webhook_token}", self.get_webhook_with_token, NONE)
        r("POST", "/webhooks/{webhook_id}/{webhook_token}", self.execute_webhook, NONE)
        msg_route = "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"
        r("GET", msg_route, self.get_webhook_message, NONE)
        r("PATCH", msg_route, self.edit_webhook_message, NONE)
        r("DELETE", msg_route, self.delete_webhook_message, NONE)
        # interactions
        r(
            "POST",
            "/interactions/{interaction_id}/{interaction_token}/callback",
            self.interaction_callback,
            NONE,
        )

    # ================================================================== helpers
    @property
    def bot_id(self) -> int:
        return self.fake.bot.id

    def _channel_or_error(self, ctx: Ctx) -> FakeChannel | Reply:
        raw = ctx.params["channel_id"]
        channel = self.fake.channels.get(int(raw)) if _is_snowflake(raw) else None
        if channel is None:
            return err(404, 10003)
        if channel.guild_id is not None:
            perms = self.fake.bot_permissions(channel)
            if not perms & P.VIEW_CHANNEL:
                return err(403, 50001)
        return channel

    def _message_in(self, channel: FakeChannel, raw_id: str) -> StoredMessage | None:
        if not raw_id.isdigit():
            return None
        msg = self.fake.store.messages.get(int(raw_id))
        if msg is None or msg.deleted or msg.channel_id != channel.id:
            return None
        return msg

    def _bot_author(self) -> dict[str, Any]:
        return self.fake.bot.to_payload()

    def _guild_or_error(self, ctx: Ctx):
        raw = ctx.params["guild_id"]
        guild = self.fake.guilds.get(int(raw)) if _is_snowflake(raw) else None
        if guild is None:
            return err(404, 10004)
        if guild.get_member(self.bot_id) is None:
            return err(403, 50001)
        return guild

    # ==================================================================== login
    async def get_me(self, ctx: Ctx) -> Reply:
        data = self.fake.bot_user_payload()
        return ok(data)

    async def get_user(self, ctx: Ctx) -> Reply:
        raw = ctx.params["user_id"]
        user = self.fake.users.get(int(raw)) if raw.isdigit() else None
        if user is None:
            return err(404, 10013)
        return ok(user.to_payload())

    async def create_dm(self, ctx: Ctx) -> Reply:
        body = ctx.json or {}
        raw: Any = body.get("recipient_id")
        try:
            user_id = int(raw)
        except (TypeError, ValueError):
            return err(400, 50035)
        if user_id not in self.fake.users:
            return err(400, 50035, "Invalid Recipient(s)")
        return ok(self.fake.dm_channel_for(user_id).to_payload())

    async def get_application(self, ctx: Ctx) -> Reply:
        return ok(self.fake.application_payload())

    async def get_gateway(self, ctx: Ctx) -> Reply:
        return ok({"url": self.fake.gateway_url.rstrip("/")})

    async def get_gateway_bot(self, ctx: Ctx) -> Reply:
        return ok(
            {
                "url": self.fake.gateway_url.rstrip("/"),
                "shards": self.fake.shards,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": max(0, 1000 - self.fake.gateway.identify_count),
                    "reset_after": 14_400_000,
                    "max_concurrency": 1,
                },
            }
        )

    # ================================================================= channels
    async def get_channel(self, ctx: Ctx) -> Reply:
        channel = self._channel_or_error(ctx)
        if isinstance(channel, Reply):
            return channel
        return ok(channel.to_payload())

    async def typing(self, ctx: Ctx) -> Reply:
        channel = self._channel_or_error(ctx)
        if isinstance(channel, Reply):
            return channel
        return NO_CONTENT

    async def list_messages(self, ctx: Ctx) -> Reply:
        channel = self._channel_or_error(ctx)
        if isinstance(channel, Reply):
            return channel
        msgs = [m for m in self.fake.store.in_channel(channel.id) if not m.ephemeral]
        before = ctx.query.get("before")
        after = ctx.query.get("after")
        if before and before.isdigit():
            msgs = [m for m in msgs if m.id < int(before)]
        if after and after.isdigit():
            msgs = [m for m in msgs if m.id > int(after)]
        limit = int(ctx.query.get("limit") or 50)
        limit = max(1, min(limit, 100))
        page = msgs[:limit] if after else msgs[-limit:]
        return ok([m.to_payload() for m in sorted(page, key=lambda m: m.id, reverse=True)])

    async def create_message(self, ctx: Ctx) -> Reply:
        channel = self._channel_or_error(ctx)
        if isinstance(channel, Reply):
            return channel
        payload = ctx.json if isinstance(ctx.json, dict) else {}
        perms = P.ALL_PERMISSIONS
        if channel.type == GUILD_CATEGORY:
            return err(400, 50008, "Cannot send messages in a non-text channel")
        if channel.guild_id is not None:
            perms = self.fake.bot_permissions(channel)
            if self.fake.enforce_permissions:
                if not perms & P.SEND_MESSAGES:
                    return err(403, 50013)
                if ctx.files and not perms & P.ATTACH_FILES:
                    return err(403, 50013)
        # enforce_nonce: same author + channel + nonce within the window -> original message
        nonce = payload.get("nonce")
        if nonce is not None and payload.get("enforce_nonce"):
            existing = self.fake.store.find_nonce(channel.id, self.bot_id, nonce)
            if existing is not None:
                self.fake.store.record_nonce_hit(existing, self.bot_id, ctx.record)
                return ok(existing.to_payload())
        msg = await self.fake.store.create(
            channel=channel,
            author=self._bot_author(),
            source="bot",
            payload=payload,
            files=ctx.files,
            record=ctx.record,
            author_perms=perms,
        )
        return ok(msg.to_payload())

    async def get_message(self, ctx: Ctx) -> Reply:
        channel = self._channel_or_error(ctx)
        if isinstance(channel, Reply):
            return channel
        msg = self._message_in(channel, ctx.params["message_id"])
        if msg is None or msg.ephemeral:
            return err(404, 10008)
        return ok(msg.to_payload())

    async def edit_message(self, ctx: Ctx) -> Reply:
        channel = self._channel_or_error(ctx)
        if isinstance(channel, Reply):
            return channel
        msg = self._message_in(channel, ctx.params["message_id"])
        if msg is None or msg.ephemeral:
            return err(404, 10008)
        payload = ctx.json if isinstance(ctx.json, dict) else {}
        # bots may only toggle SUPPRESS_EMBEDS on other people's messages
        if int(msg.author["id"]) != self.bot_id and set(payload) - {"flags"}:
            return err(403, 50005)
        msg = await self.fake.store.edit(msg, payload, ctx.files)
        return ok(msg.to_payload())

    async def delete_message(self, ctx: Ctx) -> Reply:
        channel = self._channel_or_error(ctx)
        if isinstance(channel, Reply):
            return channel
        msg = self._message_in(channel, ctx.params["message_id"])
        if msg is None:
            return err(404, 10008)
        others = int(msg.author["id"]) != self.bot_id and channel.guild_id is not None
        if others and not self.fake.bot_permissions(channel) & P.MANAGE_MESSAGES:
            return err(403, 50013)
        await self.fake.store.delete(msg)
        return NO_CONTENT

    async def list_channel_webhooks(self, ctx: Ctx) -> Reply:
        channel = self._channel_or_error(ctx)
        if isinstance(channel, Reply):
            return channel
        if not self.fake.bot_permissions(channel) & P.MANAGE_WEBHOOKS:
            return err(403, 50013)
        hooks = [w for w in self.fake.webhooks.values() if w.channel_id == channel.id]
        return ok([w.to_payload() for w in hooks])

    async def create_webhook(self, ctx: Ctx) -> Reply:
        channel = self._channel_or_error(ctx)
        if isinstance(channel, Reply):
            return channel
        if not self.fake.bot_permissions(channel) & P.MANAGE_WEBHOOKS:
            return err(403, 50013)
        name = (ctx.json or {}).get("name") or "Webhook"
        hook = self.fake.add_webhook(channel.id, name=name)
        hook.application_id = self.fake.application_id
        data = hook.to_payload()
        data["user"] = self._bot_author()
        return ok(data)

    # =================================================================== guilds
    async def get_guild(self, ctx: Ctx) -> Reply:
        guild = self._guild_or_error(ctx)
        if isinstance(guild, Reply):
            return guild
        return ok(guild.to_payload())

    async def get_guild_channels(self, ctx: Ctx) -> Reply:
        guild = self._guild_or_error(ctx)
        if isinstance(guild, Reply):
            return guild
        return ok([c.to_payload() for c in guild.channels])

    async def get_guild_roles(self, ctx: Ctx) -> Reply:
        guild = self._guild_or_error(ctx)
        if isinstance(guild, Reply):
            return guild
        return ok([r.to_payload() for r in guild.roles])

    async def list_members(self, ctx: Ctx) -> Reply:
        guild = self._guild_or_error(ctx)
        if isinstance(guild, Reply):
            return guild
        from .gateway import GUILD_MEMBERS

        if not self.fake.privileged_intents & GUILD_MEMBERS:
            return err(403, 50001)
        limit = max(1, min(int(ctx.query.get("limit") or 1), 1000))
        after = int(ctx.query.get("after") or 0)
        members = sorted(guild.members, key=lambda m: m.user.id)
        members = [m for m in members if m.user.id > after][:limit]
        return ok([m.to_payload() for m in members])

    async def get_member(self, ctx: Ctx) -> Reply:
        guild = self._guild_or_error(ctx)
        if isinstance(guild, Reply):
            return guild
        raw = ctx.params["user_id"]
        member = guild.get_member(int(raw)) if raw.isdigit() else None
        if member is None:
            return err(404, 10007, "Unknown Member")
        return ok(member.to_payload())

    # ========================================================= app commands
    def _command_scope(self, ctx: Ctx) -> tuple[int, int | None] | Reply:
        raw_app = ctx.params["application_id"]
        if not raw_app.isdigit() or int(raw_app) != self.fake.application_id:
            return err(403, 50001)
        if "guild_id" in ctx.params:
            guild = self._guild_or_error(ctx)
            if isinstance(guild, Reply):
                return guild
            return int(raw_app), guild.id
        return int(raw_app), None

    def _normalize_command(
        self, app_id: int, guild_id: int | None, data: dict[str, Any], existing: dict | None
    ) -> dict[str, Any]:
        cmd_type = int(data.get("type", 1) or 1)
        perms = data.get("default_member_permissions")
        cmd: dict[str, Any] = {
            "id": existing["id"] if existing else str(self.fake.snowflakes.next()),
            "application_id": str(app_id),
            "version": str(self.fake.snowflakes.next()),
            "type": cmd_type,
            "name": data.get("name"),
            "name_localizations": data.get("name_localizations"),
            "description": data.get("description", "") if cmd_type == 1 else "",
            "description_localizations": data.get("description_localizations"),
            "options": copy.deepcopy(data.get("options") or []),
            "default_member_permissions": None if perms is None else str(perms),
            "nsfw": bool(data.get("nsfw", False)),
            "integration_types": data.get("integration_types") or [0],
            "contexts": data.get("contexts"),
        }
        if guild_id is not None:
            cmd["guild_id"] = str(guild_id)
        else:
            cmd["dm_permission"] = data.get("dm_permission", True)
        return cmd

    def _validate_commands(self, payload: Any) -> Reply | None:
        if not isinstance(payload, list):
            return err(400, 50035)
        seen: set[tuple[str, int]] = set()
        for i, cmd in enumerate(payload):
            name = cmd.get("name") if isinstance(cmd, dict) else None
            if not name or len(name) > 32:
                return err(400, 50035, f"Invalid Form Body ({i}.name)")
            key = (name, int(cmd.get("type", 1) or 1))
            if key in seen:
                return err(400, 50035, f"Invalid Form Body (duplicate command {name})")
            seen.add(key)
            if key[1] == 1 and (name != name.lower() or " " in name):
                return err(400, 50035, f"Invalid Form Body ({i}.name: must be lowercase)")
            if key[1] == 1 and not (1 <= len(cmd.get("description") or "") <= 100):
                return err(400, 50035, f"Invalid Form Body ({i}.description)")
            try:
                validate_command(i, cmd)
            except Invalid as exc:
                return err(400, 50035, f"Invalid Form Body ({exc})")
        if len(payload) > 100:
            return err(400, 30032, "Maximum number of application commands reached (100)")
        return None

    async def get_commands(self, ctx: Ctx) -> Reply:
        scope = self._command_scope(ctx)
        if isinstance(scope, Reply):
            return scope
        return ok(copy.deepcopy(self.fake.commands.get(scope[1], [])))

    async def put_commands(self, ctx: Ctx) -> Reply:
        scope = self._command_scope(ctx)
        if isinstance(scope, Reply):
            return scope
        app_id, guild_id = scope
        payload = ctx.json
        bad = self._validate_commands(payload)
        if bad is not None:
            return bad
        old = {(c["name"], c["type"]): c for c in self.fake.commands.get(guild_id, [])}
        result = []
        for data in payload:
            key = (data["name"], int(data.get("type", 1) or 1))
            result.append(self._normalize_command(app_id, guild_id, data, old.get(key)))
        self.fake.commands[guild_id] = result
        self.fake.command_syncs.append(
            CommandSync(app_id, guild_id, copy.deepcopy(payload), copy.deepcopy(result), self.fake.now())
        )
        self.fake._bump()
        return ok(copy.deepcopy(result))

    async def upsert_command(self, ctx: Ctx) -> Reply:
        scope = self._command_scope(ctx)
        if isinstance(scope, Reply):
            return scope
        app_id, guild_id = scope
        data = ctx.json
        bad = self._validate_commands([data])
        if bad is not None:
            return bad
        cmds = self.fake.commands.setdefault(guild_id, [])
        key = (data["name"], int(data.get("type", 1) or 1))
        existing = next((c for c in cmds if (c["name"], c["type"]) == key), None)
        cmd = self._normalize_command(app_id, guild_id, data, existing)
        if existing is not None:
            cmds[cmds.index(existing)] = cmd
        else:
            cmds.append(cmd)
        self.fake._bump()
        return ok(copy.deepcopy(cmd), 200 if existing else 201)

    def _find_command(self, ctx: Ctx) -> tuple[list[dict], dict] | Reply:
        scope = self._command_scope(ctx)
        if isinstance(scope, Reply):
            return scope
        cmds = self.fake.commands.get(scope[1], [])
        cmd = next((c for c in cmds if c["id"] == ctx.params["command_id"]), None)
        if cmd is None:
            return err(404, 10063)
        return cmds, cmd

    async def get_command(self, ctx: Ctx) -> Reply:
        found = self._find_command(ctx)
        if isinstance(found, Reply):
            return found
        return ok(copy.deepcopy(found[1]))

    async def edit_command(self, ctx: Ctx) -> Reply:
        found = self._find_command(ctx)
        if isinstance(found, Reply):
            return found
        cmds, cmd = found
        merged = dict(cmd, **(ctx.json or {}))
        new = self._normalize_command(int(cmd["application_id"]), None, merged, cmd)
        if "guild_id" in cmd:
            new["guild_id"] = cmd["guild_id"]
            new.pop("dm_permission", None)
        cmds[cmds.index(cmd)] = new
        self.fake._bump()
        return ok(copy.deepcopy(new))

    async def delete_command(self, ctx: Ctx) -> Reply:
        found = self._find_command(ctx)
        if isinstance(found, Reply):
            return found
        cmds, cmd = found
        cmds.remove(cmd)
        self.fake._bump()
        return NO_CONTENT

    # ================================================================= webhooks
    def _lookup_token(self, ctx: Ctx) -> FakeWebhook | InteractionRecord | Reply:
        raw_id = ctx.params["webhook_id"]
        token = ctx.params["webhook_token"]
        if not raw_id.isdigit():
            return err(404, 10015)
        hook_id = int(raw_id)
        hook = self.fake.webhooks.get(hook_id)
        if hook is not None:
            if hook.token != token:
                return err(401, 50027)
            return hook
        if hook_id == self.fake.application_id:
            rec = self.fake.interactions_by_token.get(token)
            if rec is None:
                return err(404, 10015)
            if self.fake.now() - rec.created > self.fake.interaction_token_ttl:
                return err(401, 50027)
            return rec
        return err(404, 10015)

    async def get_webhook(self, ctx: Ctx) -> Reply:
        raw = ctx.params["webhook_id"]
        hook = self.fake.webhooks.get(int(raw)) if raw.isdigit() else None
        if hook is None:
            return err(404, 10015)
        return ok(hook.to_payload(with_token=False))

    async def get_webhook_with_token(self, ctx: Ctx) -> Reply:
        target = self._lookup_token(ctx)
        if isinstance(target, Reply):
            return target
        if not isinstance(target, FakeWebhook):
            return err(404, 10015)
        return ok(target.to_payload())

    async def execute_webhook(self, ctx: Ctx) -> Reply:
        target = self._lookup_token(ctx)
        if isinstance(target, Reply):
            return target
        payload = ctx.json if isinstance(ctx.json, dict) else {}
        wait = _truthy(ctx.query.get("wait"))
        if isinstance(target, InteractionRecord):
            msg = await self._followup(target, ctx, payload)
            if isinstance(msg, Reply):
                return msg
        else:
            channel = self.fake.channels[target.channel_id]
            # incoming webhooks cannot post ephemeral messages; Discord ignores the flag
            payload = dict(payload, flags=int(payload.get("flags") or 0) & ~EPHEMERAL)
            msg = await self.fake.store.create(
                channel=channel,
                author=target.author_payload(payload.get("username")),
                source="webhook",
                payload=payload,
                files=ctx.files,
                record=ctx.record,
                webhook_id=target.id,
                application_id=target.application_id,
            )
        if not wait:
            return NO_CONTENT
        return ok(msg.to_payload())

    def _webhook_message(self, target: FakeWebhook | InteractionRecord, raw_id: str) -> StoredMessage | Reply:
        store = self.fake.store
        if isinstance(target, InteractionRecord):
            if raw_id == "@original":
                if target.original_message_id is None:
                    return err(404, 10008)
                msg = store.messages.get(target.original_message_id)
            elif raw_id.isdigit() and (
                int(raw_id) in target.followup_message_ids or int(raw_id) == target.original_message_id
            ):
                msg = store.messages.get(int(raw_id))
            else:
                return err(404, 10008)
        else:
            msg = store.messages.get(int(raw_id)) if raw_id.isdigit() else None
            if msg is not None and msg.webhook_id != target.id:
                msg = None
        if msg is None or msg.deleted:
            return err(404, 10008)
        return msg

    async def get_webhook_message(self, ctx: Ctx) -> Reply:
        target = self._lookup_token(ctx)
        if isinstance(target, Reply):
            return target
        msg = self._webhook_message(target, ctx.params["message_id"])
        if isinstance(msg, Reply):
            return msg
        return ok(msg.to_payload())

    async def edit_webhook_message(self, ctx: Ctx) -> Reply:
        target = self._lookup_token(ctx)
        if isinstance(target, Reply):
            return target
        msg = self._webhook_message(target, ctx.params["message_id"])
        if isinstance(msg, Reply):
            return msg
        payload = ctx.json if isinstance(ctx.json, dict) else {}
        msg = await self.fake.store.edit(msg, payload, ctx.files, clear_loading=True)
        return ok(msg.to_payload())

    async def delete_webhook_message(self, ctx: Ctx) -> Reply:
        target = self._lookup_token(ctx)
        if isinstance(target, Reply):
            return target
        msg = self._webhook_message(target, ctx.params["message_id"])
        if isinstance(msg, Reply):
            return msg
        await self.fake.store.delete(msg)
        return NO_CONTENT

    # ============================================================= interactions
    def _interaction_metadata(self, rec: InteractionRecord) -> dict[str, Any]:
        p = rec.payload
        user = (p.get("member") or {}).get("user") or p.get("user")
        meta: dict[str, Any] = {
            "id": str(rec.id),
            "type": rec.type,
            "user": user,
            "authorizing_integration_owners": p.get("authorizing_integration_owners", {}),
        }
        if rec.type == 2:
            meta["name"] = (p.get("data") or {}).get("name")
            meta["command_type"] = (p.get("data") or {}).get("type", 1)
        if rec.type == 3 and p.get("message"):
            meta["interacted_message_id"] = p["message"]["id"]
        return meta

    def _interaction_channel(self, rec: InteractionRecord) -> FakeChannel | None:
        if rec.channel_id is None:
            return None
        return self.fake.channels.get(rec.channel_id)

    async def _create_interaction_message(
        self, rec: InteractionRecord, ctx: Ctx, data: dict[str, Any], *, source: str, flags: int
    ) -> StoredMessage | Reply:
        channel = self._interaction_channel(rec)
        if channel is None:
            return err(404, 10003)
        return await self.fake.store.create(
            channel=channel,
            author=self._bot_author(),
            source=source,
            payload=data,
            files=ctx.files,
            record=ctx.record,
            webhook_id=self.fake.application_id,
            application_id=self.fake.application_id,
            interaction_metadata=self._interaction_metadata(rec),
            interaction_id=rec.id,
            extra_flags=flags,
            msg_type=20 if rec.type == 2 else 0,
            validate=not (flags & LOADING),
        )

    def _component_message(self, rec: InteractionRecord) -> StoredMessage | None:
        raw = (rec.payload.get("message") or {}).get("id")
        if raw is None:
            return None
        return self.fake.store.messages.get(int(raw))

    async def interaction_callback(self, ctx: Ctx) -> Reply:
        raw_id = ctx.params["interaction_id"]
        rec = self.fake.interactions.get(int(raw_id)) if raw_id.isdigit() else None
        body = ctx.json if isinstance(ctx.json, dict) else {}
        cb_type = body.get("type")
        data = body.get("data") or {}
        if rec is None or rec.token != ctx.params["interaction_token"]:
            return err(404, 10062)

        def reject(reply: Reply) -> Reply:
            rec.callbacks.append(
                InteractionCallback(
                    cb_type if isinstance(cb_type, int) else -1,
                    data,
                    ctx.files,
                    False,
                    reply.status,
                    self.fake.now(),
                )
            )
            self.fake._bump()
            return reply

        if rec.acknowledged:
            return reject(err(400, 40060))
        deadline = self.fake.interaction_ack_deadline
        if deadline is not None and self.fake.now() - rec.created > deadline:
            return reject(err(404, 10062))
        if not isinstance(cb_type, int) or cb_type not in _ALLOWED_CALLBACKS.get(rec.type, set()):
            return reject(err(400, 50035, "Invalid interaction response type for this interaction"))

        message: StoredMessage | None = None
        try:
            if cb_type == 4:
                made = await self._create_interaction_message(
                    rec, ctx, data, source="interaction_response", flags=0
                )
                if isinstance(made, Reply):
                    return reject(made)
                message = made
                rec.original_message_id = message.id
            elif cb_type == 5:
                flags = LOADING | (int(data.get("flags") or 0) & EPHEMERAL)
                made = await self._create_interaction_message(
                    rec, ctx, {}, source="interaction_response", flags=flags
                )
                if isinstance(made, Reply):
                    return reject(made)
                message = made
                rec.original_message_id = message.id
            elif cb_type == 6:
                target = self._component_message(rec)
                rec.original_message_id = target.id if target else None
            elif cb_type == 7:
                target = self._component_message(rec)
                if target is None:
                    return reject(err(404, 10008))
                message = await self.fake.store.edit(target, data, ctx.files)
                rec.original_message_id = target.id
            elif cb_type == 8:
                rec.autocomplete_choices = list(data.get("choices") or [])
            elif cb_type == 9:
                if not data.get("custom_id") or not data.get("title"):
                    return reject(err(400, 50035, "Invalid Form Body (modal)"))
                rec.modal = data
        except Exception as exc:  # a MessageError from validation
            from .messages import MessageError

            if isinstance(exc, MessageError):
                return reject(Reply(exc.status, exc.body))
            raise

        rec.callbacks.append(InteractionCallback(cb_type, data, ctx.files, True, 200, self.fake.now()))
        self.fake._bump()
        if not _truthy(ctx.query.get("with_response")):
            return NO_CONTENT
        interaction: dict[str, Any] = {"id": str(rec.id), "type": rec.type}
        if message is not None:
            interaction["response_message_id"] = str(message.id)
            interaction["response_message_loading"] = bool(message.flags & LOADING)
            interaction["response_message_ephemeral"] = bool(message.flags & EPHEMERAL)
        resource: dict[str, Any] = {"type": cb_type}
        if message is not None and cb_type in (4, 5, 7):
            resource["message"] = message.to_payload()
        return ok({"interaction": interaction, "resource": resource})

    async def _followup(
        self, rec: InteractionRecord, ctx: Ctx, payload: dict[str, Any]
    ) -> StoredMessage | Reply:
        if not rec.acknowledged:
            return err(404, 10015)
        store = self.fake.store
        original = store.messages.get(rec.original_message_id) if rec.original_message_id else None
        if rec.response_type == 5 and original is not None and original.loading:
            # Discord: the first followup after a "thinking" defer replaces the loading
            # message (and keeps the defer's ephemerality).
            msg = await store.edit(original, payload, ctx.files, clear_loading=True)
            rec.followup_message_ids.append(msg.id)
            self.fake._bump()
            return msg
        made = await self._create_interaction_message(rec, ctx, payload, source="followup", flags=0)
        if isinstance(made, Reply):
            return made
        rec.followup_message_ids.append(made.id)
        self.fake._bump()
        return made
