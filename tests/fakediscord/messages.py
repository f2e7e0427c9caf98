"""Message storage: create/edit/delete, attachments, validation, nonces, mentions, events."""

from __future__ import annotations

import asyncio
import mimetypes
import re
import struct
from typing import TYPE_CHECKING, Any

from . import permissions as P
from .faults import error_body
from .gateway import DIRECT_MESSAGES, GUILD_MESSAGES
from .records import (
    LOADING,
    MessageEdit,
    NonceHit,
    RecordedFile,
    RecordedRequest,
    StoredAttachment,
    StoredMessage,
)
from .snowflake import iso_now
from .validation import Invalid, validate_message_body

if TYPE_CHECKING:
    from .server import FakeDiscord
    from .world import FakeChannel

_FILE_FIELD = re.compile(r"^files\[(\d+)\]$|^file(\d*)$")
_USER_MENTION = re.compile(r"<@!?(\d{15,21})>")
_ROLE_MENTION = re.compile(r"<@&(\d{15,21})>")

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
EMBED_LIMITS = {"title": 256, "description": 4096}
FIELD_LIMITS = {"name": 256, "value": 1024}
MAX_FIELDS = 25
MAX_NONCE_LEN = 25


class MessageError(Exception):
    """Raised by the store; carries the Discord-shaped HTTP error."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("message"))
        self.status = status
        self.body = body


def _form_error(path: str, code: str, message: str) -> MessageError:
    errors: dict[str, Any] = {}
    node = errors
    parts = path.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = {"_errors": [{"code": code, "message": message}]}
    body = error_body(400, 50035)
    body["errors"] = errors
    return MessageError(400, body)


def png_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    return None


def file_index(field_name: str, position: int) -> int:
    m = _FILE_FIELD.match(field_name)
    if m is None:
        return position
    if m.group(1) is not None:
        return int(m.group(1))
    return int(m.group(2) or 0)


def validate_message(payload: dict[str, Any], files: list[RecordedFile], *, edit: bool) -> None:
    content = payload.get("content")
    if content is not None and not isinstance(content, str):
        content = str(content)
    if content and len(content) > MAX_CONTENT:
        raise _form_error("content", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CONTENT} or fewer in length.")
    embeds = payload.get("embeds") or []
    if len(embeds) > MAX_EMBEDS:
        raise _form_error("embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
    total = 0
    for i, embed in enumerate(embeds):
        for key, limit in EMBED_LIMITS.items():
            value = embed.get(key) or ""
            total += len(value)
            if len(value) > limit:
                raise _form_error(
                    f"embeds.{i}.{key}",
                    "BASE_TYPE_MAX_LENGTH",
                    f"Must be {limit} or fewer in length.",
                )
        fields = embed.get("fields") or []
        if len(fields) > MAX_FIELDS:
            raise _form_error(f"embeds.{i}.fields", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        for j, fld in enumerate(fields):
            for key, limit in FIELD_LIMITS.items():
                value = fld.get(key)
                if not value:
                    raise _form_error(
                        f"embeds.{i}.fields.{j}.{key}",
                        "BASE_TYPE_REQUIRED",
                        "This field is required",
                    )
                total += len(str(value))
                if len(str(value)) > limit:
                    raise _form_error(
                        f"embeds.{i}.fields.{j}.{key}",
                        "BASE_TYPE_MAX_LENGTH",
                        f"Must be {limit} or fewer in length.",
                    )
        total += len((embed.get("footer") or {}).get("text") or "")
        total += len((embed.get("author") or {}).get("name") or "")
    if total > MAX_EMBED_TOTAL:
        raise _form_error("embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")
    nonce = payload.get("nonce")
    if nonce is not None and len(str(nonce)) > MAX_NONCE_LEN:
        raise _form_error("nonce", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    if not edit:
        has_body = bool(
            content
            or embeds
            or files
            or payload.get("components")
            or payload.get("sticker_ids")
            or payload.get("poll")
            or payload.get("attachments")
        )
        if not has_body:
            raise MessageError(400, error_body(400, 50006))


def _check_body(payload: dict[str, Any], file_names: set[str]) -> None:
    try:
        validate_message_body(payload, file_names)
    except Invalid as exc:
        raise _form_error(exc.path, exc.code, exc.message) from None


class MessageStore:
    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.messages: dict[int, StoredMessage] = {}
        self.by_channel: dict[int, list[StoredMessage]] = {}
        self.attachments: dict[int, StoredAttachment] = {}
        self.nonce_hits: list[NonceHit] = []
        self._nonces: dict[tuple[int, int, str], tuple[int, float]] = {}

    # ------------------------------------------------------------------ helpers
    def _attachment_from_file(
        self, channel_id: int, file: RecordedFile, meta: dict[str, Any] | None
    ) -> StoredAttachment:
        meta = meta or {}
        att_id = self.fake.snowflakes.next()
        filename = str(meta.get("filename") or file.filename)
        url = f"{self.fake.http_base}/attachments/{channel_id}/{att_id}/{filename}"
        ctype = file.content_type
        if not ctype or ctype == "application/octet-stream":
            ctype = mimetypes.guess_type(filename)[0] or ctype
        size = png_size(file.data)
        att = StoredAttachment(
            id=att_id,
            filename=filename,
            size=len(file.data),
            url=url,
            proxy_url=url,
            content_type=ctype,
            data=file.data,
            description=meta.get("description"),
            width=size[0] if size else None,
            height=size[1] if size else None,
        )
        self.attachments[att_id] = att
        return att

    @staticmethod
    def _names_after(
        declared: list[dict[str, Any]] | None, files: list[RecordedFile], existing: list[StoredAttachment]
    ) -> set[str]:
        """The file names a message will carry once its attachments are built (for attachment://)."""
        names = {f.filename for f in files}
        if declared is None:
            names |= {a.filename for a in existing}
        else:
            kept = {str(e.get("id")) for e in declared if isinstance(e, dict)}
            names |= {a.filename for a in existing if str(a.id) in kept}
            names |= {str(e["filename"]) for e in declared if isinstance(e, dict) and e.get("filename")}
        return names

    def _build_attachments(
        self,
        channel_id: int,
        declared: list[dict[str, Any]] | None,
        files: list[RecordedFile],
        existing: list[StoredAttachment],
    ) -> list[StoredAttachment]:
        by_index = {file_index(f.field, i): f for i, f in enumerate(files)}
        used: set[int] = set()
        result: list[StoredAttachment] = []
        if declared is None:
            result.extend(existing)
        else:
            existing_by_id = {a.id: a for a in existing}
            for entry in declared:
                raw_id = entry.get("id")
                try:
                    num = int(raw_id) if raw_id is not None else -1
                except (TypeError, ValueError):
                    num = -1
                if num in existing_by_id:
                    result.append(existing_by_id[num])
                elif num in by_index and num not in used:
                    used.add(num)
                    result.append(self._attachment_from_file(channel_id, by_index[num], entry))
                else:
                    raise _form_error(
                        "attachments", "ATTACHMENT_NOT_FOUND", f"Unknown attachment id {raw_id}"
                    )
        for idx in sorted(by_index):
            if idx not in used:
                result.append(self._attachment_from_file(channel_id, by_index[idx], None))
        return result

    @staticmethod
    def _resolve_attachment_urls(embeds: list[dict[str, Any]], atts: list[StoredAttachment]):
        by_name = {a.filename: a for a in atts}
        for embed in embeds:
            embed.setdefault("type", "rich")
            for key in ("image", "thumbnail"):
                media = embed.get(key)
                if not isinstance(media, dict):
                    continue
                url = str(media.get("url") or "")
                if url.startswith("attachment://"):
                    att = by_name.get(url[len("attachment://") :])
                    if att is not None:
                        media["url"] = att.url
                        media["proxy_url"] = att.proxy_url
                        if att.width is not None:
                            media["width"] = att.width
                            media["height"] = att.height
                        media["content_type"] = att.content_type
                        media["flags"] = 0

    def _mentions(
        self,
        content: str,
        allowed: dict[str, Any] | None,
        channel: FakeChannel,
        author_perms: int,
    ) -> tuple[list[dict[str, Any]], list[str], bool]:
        parse = {"users", "roles", "everyone"} if allowed is None else set(allowed.get("parse", []))
        allowed_users = {int(u) for u in (allowed or {}).get("users", [])}
        allowed_roles = {int(r) for r in (allowed or {}).get("roles", [])}
        guild = self.fake.guilds.get(channel.guild_id) if channel.guild_id else None
        users: list[dict[str, Any]] = []
        for uid_s in dict.fromkeys(_USER_MENTION.findall(content)):
            uid = int(uid_s)
            if "users" in parse or uid in allowed_users:
                user = self.fake.users.get(uid)
                if user is not None:
                    payload = user.to_payload()
                    member = guild.get_member(uid) if guild else None
                    if member is not None:
                        payload["member"] = member.to_payload(with_user=False)
                    users.append(payload)
        roles: list[str] = []
        for rid_s in dict.fromkeys(_ROLE_MENTION.findall(content)):
            rid = int(rid_s)
            if guild and guild.get_role(rid) and ("roles" in parse or rid in allowed_roles):
                roles.append(rid_s)
        everyone = (
            ("@everyone" in content or "@here" in content)
            and "everyone" in parse
            and bool(author_perms & P.MENTION_EVERYONE)
        )
        return users, roles, everyone

    # ------------------------------------------------------------------ events
    async def _emit(self, event: str, msg: StoredMessage, data: dict[str, Any] | None = None):
        if not self.fake.emit_message_events or msg.ephemeral:
            return
        channel = self.fake.channels.get(msg.channel_id)
        intent = DIRECT_MESSAGES if channel is None or channel.is_dm else GUILD_MESSAGES
        payload = data if data is not None else msg.to_payload()
        if event != "MESSAGE_DELETE" and msg.guild_id is not None:
            guild = self.fake.guilds.get(msg.guild_id)
            member = guild.get_member(int(msg.author["id"])) if guild else None
            if member is not None and msg.webhook_id is None:
                payload["member"] = member.to_payload(with_user=False)
        strip = (
            event != "MESSAGE_DELETE"
            and msg.guild_id is not None
            and int(msg.author["id"]) != self.fake.bot.id
            and not any(int(u["id"]) == self.fake.bot.id for u in msg.mentions)
        )
        await self.fake.gateway.dispatch(event, payload, intent=intent, strip_content=strip)

    # ------------------------------------------------------------------ create
    def find_nonce(self, channel_id: int, author_id: int, nonce: Any) -> StoredMessage | None:
        entry = self._nonces.get((channel_id, author_id, str(nonce)))
        if entry is None:
            return None
        message_id, created = entry
        if asyncio.get_running_loop().time() - created > self.fake.nonce_window:
            return None
        return self.messages.get(message_id)

    def record_nonce_hit(self, msg: StoredMessage, author_id: int, rec: RecordedRequest) -> None:
        msg.nonce_duplicates += 1
        assert msg.nonce is not None
        self.nonce_hits.append(NonceHit(msg.channel_id, author_id, msg.nonce, msg.id, rec))
        self.fake._bump()

    async def create(
        self,
        *,
        channel: FakeChannel,
        author: dict[str, Any],
        source: str,
        payload: dict[str, Any],
        files: list[RecordedFile],
        record: RecordedRequest | None,
        author_perms: int = P.ALL_PERMISSIONS,
        webhook_id: int | None = None,
        application_id: int | None = None,
        interaction_metadata: dict[str, Any] | None = None,
        interaction_id: int | None = None,
        extra_flags: int = 0,
        msg_type: int = 0,
        validate: bool = True,
        emit: bool = True,
    ) -> StoredMessage:
        if validate:
            validate_message(payload, files, edit=False)
            _check_body(payload, self._names_after(payload.get("attachments"), files, []))
        msg_id = self.fake.snowflakes.next()
        attachments = self._build_attachments(channel.id, payload.get("attachments"), files, [])
        embeds = [dict(e) for e in (payload.get("embeds") or [])]
        self._resolve_attachment_urls(embeds, attachments)
        content = payload.get("content")
        content = "" if content is None else str(content)
        allowed = payload.get("allowed_mentions")
        mentions, mention_roles, everyone = self._mentions(content, allowed, channel, author_perms)
        reference = payload.get("message_reference")
        if reference is not None and msg_type == 0:
            msg_type = 19
        msg = StoredMessage(
            id=msg_id,
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author=author,
            source=source,
            content=content,
            embeds=embeds,
            components=list(payload.get("components") or []),
            attachments=attachments,
            allowed_mentions=allowed,
            nonce=payload.get("nonce"),
            flags=int(payload.get("flags") or 0) | extra_flags,
            tts=bool(payload.get("tts", False)),
            type=msg_type,
            timestamp=iso_now(),
            webhook_id=webhook_id,
            application_id=application_id,
            interaction_id=interaction_id,
            interaction_metadata=interaction_metadata,
            message_reference=reference,
            mentions=mentions,
            mention_roles=mention_roles,
            mention_everyone=everyone,
            created_by=record,
        )
        self.messages[msg_id] = msg
        self.by_channel.setdefault(channel.id, []).append(msg)
        channel.last_message_id = msg_id
        if msg.nonce is not None and payload.get("enforce_nonce"):
            key = (channel.id, int(author["id"]), str(msg.nonce))
            self._nonces[key] = (msg_id, asyncio.get_running_loop().time())
        self.fake._bump()
        if emit:
            await self._emit("MESSAGE_CREATE", msg)
        return msg

    # -------------------------------------------------------------------- edit
    async def edit(
        self,
        msg: StoredMessage,
        payload: dict[str, Any],
        files: list[RecordedFile],
        *,
        clear_loading: bool = False,
    ) -> StoredMessage:
        validate_message(payload, files, edit=True)
        if "attachments" in payload or files:
            names = self._names_after(payload.get("attachments"), files, msg.attachments)
        else:
            names = {a.filename for a in msg.attachments}
        _check_body(payload, names)
        was_loading = msg.loading
        before = msg.snapshot()
        if "content" in payload:
            msg.content = "" if payload["content"] is None else str(payload["content"])
        if "components" in payload:
            msg.components = list(payload["components"] or [])
        if "allowed_mentions" in payload:
            msg.allowed_mentions = payload["allowed_mentions"]
        if "attachments" in payload or files:
            msg.attachments = self._build_attachments(
                msg.channel_id, payload.get("attachments"), files, msg.attachments
            )
        if "embeds" in payload:
            msg.embeds = [dict(e) for e in (payload["embeds"] or [])]
        self._resolve_attachment_urls(msg.embeds, msg.attachments)
        if "flags" in payload and payload["flags"] is not None:
            # only SUPPRESS_EMBEDS / components-v2 style flags are editable; keep the rest
            keep = msg.flags & ~(4 | 32768)
            msg.flags = keep | (int(payload["flags"]) & (4 | 32768))
        if clear_loading:
            msg.flags &= ~LOADING
        channel = self.fake.channels.get(msg.channel_id)
        if channel is not None and "content" in payload:
            mentions, roles, everyone = self._mentions(
                msg.content, msg.allowed_mentions, channel, P.ALL_PERMISSIONS
            )
            msg.mentions, msg.mention_roles, msg.mention_everyone = mentions, roles, everyone
        if not (clear_loading and was_loading):
            msg.edited_timestamp = iso_now()
        msg.edits.append(MessageEdit(payload=payload, before=before, time=self.fake.now()))
        self.fake._bump()
        await self._emit("MESSAGE_UPDATE", msg)
        return msg

    async def delete(self, msg: StoredMessage) -> None:
        msg.deleted = True
        self.fake._bump()
        data: dict[str, Any] = {"id": str(msg.id), "channel_id": str(msg.channel_id)}
        if msg.guild_id is not None:
            data["guild_id"] = str(msg.guild_id)
        await self._emit("MESSAGE_DELETE", msg, data)

    # ------------------------------------------------------------------- query
    def in_channel(self, channel_id: int, *, include_deleted: bool = False) -> list[StoredMessage]:
        msgs = self.by_channel.get(channel_id, [])
        return [m for m in msgs if include_deleted or not m.deleted]
