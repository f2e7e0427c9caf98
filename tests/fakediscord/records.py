"""What the fake records: requests, messages, interactions, command syncs, gateway sessions."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .faults import FaultRule

EPHEMERAL = 1 << 6
LOADING = 1 << 7


@dataclass
class RecordedFile:
    """One multipart file part (``files[n]``) exactly as uploaded."""

    field: str
    filename: str
    content_type: str | None
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class RecordedRequest:
    """One HTTP request to the fake (REST, webhook or interaction route).

    ``path`` is relative to the API base (``/channels/1/messages``), ``route`` is the matched
    template (``/channels/{channel_id}/messages``) or ``None`` for unknown routes. ``json`` is
    the JSON body, or the parsed ``payload_json`` part of a multipart body.
    """

    index: int
    method: str
    path: str
    route: str | None
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    files: list[RecordedFile]
    time: float
    status: int | None = None
    response: Any = None
    fault: FaultRule | None = None
    multipart: bool = False

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    def __repr__(self) -> str:
        return f"<RecordedRequest #{self.index} {self.method} {self.path} -> {self.status}>"


@dataclass
class StoredAttachment:
    id: int
    filename: str
    size: int
    url: str
    proxy_url: str
    content_type: str | None
    data: bytes
    description: str | None = None
    width: int | None = None
    height: int | None = None
    ephemeral: bool = False

    def to_payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "filename": self.filename,
            "size": self.size,
            "url": self.url,
            "proxy_url": self.proxy_url,
            "content_type": self.content_type,
        }
        if self.description is not None:
            data["description"] = self.description
        if self.width is not None:
            data["width"] = self.width
            data["height"] = self.height
        if self.ephemeral:
            data["ephemeral"] = True
        return data


@dataclass
class MessageEdit:
    """One PATCH applied to a message: the request body and a snapshot from before it."""

    payload: dict[str, Any]
    before: dict[str, Any]
    time: float


@dataclass
class StoredMessage:
    """A message as the fake stores it.

    ``source`` is one of ``"bot"`` (``POST /channels/{id}/messages``), ``"webhook"``,
    ``"interaction_response"``, ``"followup"`` or ``"user"`` (injected by a test).
    """

    id: int
    channel_id: int
    guild_id: int | None
    author: dict[str, Any]
    source: str
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[StoredAttachment] = field(default_factory=list)
    allowed_mentions: dict[str, Any] | None = None
    nonce: str | int | None = None
    flags: int = 0
    tts: bool = False
    type: int = 0
    timestamp: str = ""
    edited_timestamp: str | None = None
    webhook_id: int | None = None
    application_id: int | None = None
    interaction_id: int | None = None
    interaction_metadata: dict[str, Any] | None = None
    message_reference: dict[str, Any] | None = None
    mentions: list[dict[str, Any]] = field(default_factory=list)
    mention_roles: list[str] = field(default_factory=list)
    mention_everyone: bool = False
    edits: list[MessageEdit] = field(default_factory=list)
    deleted: bool = False
    #: How many extra creates were collapsed into this message by ``enforce_nonce``.
    nonce_duplicates: int = 0
    created_by: RecordedRequest | None = None

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        return bool(self.flags & LOADING)

    @property
    def embed(self) -> dict[str, Any] | None:
        return self.embeds[0] if self.embeds else None

    def attachment(self, filename: str) -> StoredAttachment:
        for att in self.attachments:
            if att.filename == filename:
                return att
        raise KeyError(f"no attachment {filename!r} on message {self.id}")

    def snapshot(self) -> dict[str, Any]:
        return copy.deepcopy(
            {
                "content": self.content,
                "embeds": self.embeds,
                "components": self.components,
                "attachments": [a.to_payload() for a in self.attachments],
                "flags": self.flags,
                "allowed_mentions": self.allowed_mentions,
                "edited_timestamp": self.edited_timestamp,
            }
        )

    def to_payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "channel_id": str(self.channel_id),
            "author": copy.deepcopy(self.author),
            "content": self.content,
            "timestamp": self.timestamp,
            "edited_timestamp": self.edited_timestamp,
            "tts": self.tts,
            "mention_everyone": self.mention_everyone,
            "mentions": copy.deepcopy(self.mentions),
            "mention_roles": list(self.mention_roles),
            "mention_channels": [],
            "attachments": [a.to_payload() for a in self.attachments],
            "embeds": copy.deepcopy(self.embeds),
            "reactions": [],
            "pinned": False,
            "flags": self.flags,
            "components": copy.deepcopy(self.components),
        }
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        if self.nonce is not None:
            data["nonce"] = self.nonce
        if self.webhook_id is not None:
            data["webhook_id"] = str(self.webhook_id)
        if self.application_id is not None:
            data["application_id"] = str(self.application_id)
        if self.interaction_metadata is not None:
            data["interaction_metadata"] = copy.deepcopy(self.interaction_metadata)
        if self.message_reference is not None:
            data["message_reference"] = copy.deepcopy(self.message_reference)
        return data

    def __repr__(self) -> str:
        return (
            f"<StoredMessage id={self.id} channel={self.channel_id} source={self.source} "
            f"content={self.content[:40]!r} embeds={len(self.embeds)} "
            f"files={[a.filename for a in self.attachments]} edits={len(self.edits)}>"
        )


@dataclass
class InteractionCallback:
    """One ``POST /interactions/{id}/{token}/callback`` (accepted or rejected)."""

    type: int
    data: dict[str, Any] | None
    files: list[RecordedFile]
    accepted: bool
    status: int
    time: float


@dataclass
class InteractionRecord:
    """An interaction the fake dispatched, and everything the bot did with it."""

    id: int
    token: str
    application_id: int
    type: int
    payload: dict[str, Any]
    channel_id: int | None
    guild_id: int | None
    created: float
    callbacks: list[InteractionCallback] = field(default_factory=list)
    original_message_id: int | None = None
    followup_message_ids: list[int] = field(default_factory=list)
    autocomplete_choices: list[dict[str, Any]] | None = None
    modal: dict[str, Any] | None = None

    @property
    def response(self) -> InteractionCallback | None:
        """The accepted initial response, if any."""
        return next((cb for cb in self.callbacks if cb.accepted), None)

    @property
    def response_type(self) -> int | None:
        resp = self.response
        return resp.type if resp is not None else None

    @property
    def acknowledged(self) -> bool:
        return self.response is not None

    @property
    def deferred(self) -> bool:
        return self.response_type in (5, 6)

    def __repr__(self) -> str:
        return (
            f"<InteractionRecord id={self.id} type={self.type} response={self.response_type} "
            f"followups={len(self.followup_message_ids)}>"
        )


@dataclass
class CommandSync:
    """One bulk overwrite (``PUT .../commands``)."""

    application_id: int
    guild_id: int | None
    payload: list[dict[str, Any]]
    result: list[dict[str, Any]]
    time: float


@dataclass
class NonceHit:
    """A create that was collapsed into an earlier message because of ``enforce_nonce``."""

    channel_id: int
    author_id: int
    nonce: str | int
    message_id: int
    request: RecordedRequest


@dataclass
class GatewayConnectionInfo:
    """One websocket connection to the gateway."""

    index: int
    path: str
    query: dict[str, str]
    compression: str | None
    opened: float
    session_id: str | None = None
    identified: bool = False
    resumed: bool = False
    heartbeats: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    #: The close code: sent by the fake (``closed_by == "server"``) or by the client.
    close_code: int | None = None
    closed_by: str | None = None
    closed: bool = False
