"""The configured "world" the fake serves: users, guilds, roles, channels, webhooks.

Everything here is plain data plus ``to_payload`` methods producing Discord API v10 JSON.
:func:`default_guild` builds one realistic guild; :class:`Defaults` names its ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import permissions as P
from .snowflake import fixed_snowflake, make_token

# Channel types used here.
GUILD_TEXT = 0
DM = 1
GUILD_CATEGORY = 4
GUILD_ANNOUNCEMENT = 5

JOINED_AT = "2024-01-02T10:00:00.000000+00:00"


@dataclass
class FakeUser:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    avatar: str | None = None

    def to_payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "global_name": self.global_name,
            "discriminator": "0",
            "avatar": self.avatar,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass
class FakeRole:
    id: int
    name: str
    permissions: int
    position: int = 0
    color: int = 0
    hoist: bool = False
    managed: bool = False
    mentionable: bool = False
    bot_id: int | None = None

    def to_payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": self.color,
            "colors": {
                "primary_color": self.color,
                "secondary_color": None,
                "tertiary_color": None,
            },
            "hoist": self.hoist,
            "managed": self.managed,
            "mentionable": self.mentionable,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass
class Overwrite:
    """A channel permission overwrite; ``type`` 0 = role, 1 = member."""

    id: int
    type: int = 0
    allow: int = 0
    deny: int = 0

    def to_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.type,
            "allow": str(self.allow),
            "deny": str(self.deny),
        }


@dataclass
class FakeChannel:
    id: int
    name: str
    type: int = GUILD_TEXT
    guild_id: int | None = None
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    nsfw: bool = False
    rate_limit_per_user: int = 0
    permission_overwrites: list[Overwrite] = field(default_factory=list)
    recipients: list[FakeUser] = field(default_factory=list)  # DM channels only
    last_message_id: int | None = None

    @property
    def is_dm(self) -> bool:
        return self.type == DM

    def to_payload(self) -> dict[str, Any]:
        if self.type == DM:
            return {
                "id": str(self.id),
                "type": DM,
                "last_message_id": str(self.last_message_id) if self.last_message_id else None,
                "flags": 0,
                "recipients": [u.to_payload() for u in self.recipients],
            }
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "name": self.name,
            "position": self.position,
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "permission_overwrites": [ow.to_payload() for ow in self.permission_overwrites],
            "nsfw": self.nsfw,
            "flags": 0,
        }
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        if self.type != GUILD_CATEGORY:
            data["topic"] = self.topic
            data["rate_limit_per_user"] = self.rate_limit_per_user
            data["last_message_id"] = str(self.last_message_id) if self.last_message_id else None
        return data


@dataclass
class FakeMember:
    user: FakeUser
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = JOINED_AT

    def to_payload(self, *, with_user: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "roles": [str(r) for r in self.roles],
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.user.to_payload()
        return data


@dataclass
class FakeGuild:
    id: int
    name: str
    owner_id: int
    roles: list[FakeRole] = field(default_factory=list)
    channels: list[FakeChannel] = field(default_factory=list)
    members: list[FakeMember] = field(default_factory=list)
    system_channel_id: int | None = None
    preferred_locale: str = "en-US"
    features: list[str] = field(default_factory=list)
    description: str | None = None

    def __post_init__(self) -> None:
        if not any(r.id == self.id for r in self.roles):
            self.roles.insert(0, FakeRole(self.id, "@everyone", P.EVERYONE_DEFAULT))
        for channel in self.channels:
            channel.guild_id = self.id

    # lookups -----------------------------------------------------------------
    @property
    def everyone_role(self) -> FakeRole:
        role = self.get_role(self.id)
        assert role is not None
        return role

    def get_role(self, role_id: int) -> FakeRole | None:
        return next((r for r in self.roles if r.id == role_id), None)

    def get_channel(self, channel_id: int) -> FakeChannel | None:
        return next((c for c in self.channels if c.id == channel_id), None)

    def channel_named(self, name: str) -> FakeChannel:
        for channel in self.channels:
            if channel.name == name:
                return channel
        raise KeyError(name)

    def role_named(self, name: str) -> FakeRole:
        for role in self.roles:
            if role.name == name:
                return role
        raise KeyError(name)

    def get_member(self, user_id: int) -> FakeMember | None:
        return next((m for m in self.members if m.user.id == user_id), None)

    def permissions_for(self, user_id: int, channel: FakeChannel | None = None) -> int:
        return P.compute_permissions(self, user_id, channel)

    # payloads ----------------------------------------------------------------
    def to_payload(self) -> dict[str, Any]:
        """The REST ``GET /guilds/{id}`` shape."""
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "icon_hash": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": self.description,
            "owner_id": str(self.owner_id),
            "region": "us-east",
            "afk_channel_id": None,
            "afk_timeout": 300,
            "widget_enabled": False,
            "widget_channel_id": None,
            "verification_level": 1,
            "default_message_notifications": 1,
            "explicit_content_filter": 2,
            "roles": [r.to_payload() for r in self.roles],
            "emojis": [],
            "stickers": [],
            "features": list(self.features),
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": str(self.system_channel_id) if self.system_channel_id else None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "max_presences": None,
            "max_members": 500000,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": self.preferred_locale,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "approximate_member_count": len(self.members),
            "approximate_presence_count": 0,
            "incidents_data": None,
        }

    def to_gateway_payload(self, *, members: list[FakeMember]) -> dict[str, Any]:
        """The GUILD_CREATE shape (channels without guild_id, plus member/thread lists)."""
        data = self.to_payload()
        data.pop("approximate_member_count", None)
        data.pop("approximate_presence_count", None)
        channels = []
        for channel in self.channels:
            payload = channel.to_payload()
            payload.pop("guild_id", None)
            channels.append(payload)
        data.update(
            {
                "joined_at": JOINED_AT,
                "large": False,
                "unavailable": False,
                "member_count": len(self.members),
                "voice_states": [],
                "members": [m.to_payload() for m in members],
                "channels": channels,
                "threads": [],
                "presences": [],
                "stage_instances": [],
                "guild_scheduled_events": [],
                "soundboard_sounds": [],
                "embedded_activities": [],
                "lazy": True,
            }
        )
        return data


@dataclass
class FakeWebhook:
    """An incoming webhook (the "webhook URL" mode, no bot)."""

    id: int
    channel_id: int
    guild_id: int | None
    name: str = "Flowwatch Alerts"
    token: str = field(default_factory=make_token)
    application_id: int | None = None

    @property
    def url(self) -> str:
        """The canonical URL a user would paste into config (matches ``Webhook.from_url``)."""
        return f"https://discord.com/api/webhooks/{self.id}/{self.token}"

    def author_payload(self, username: str | None = None) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": username or self.name,
            "discriminator": "0000",
            "avatar": None,
            "global_name": None,
            "bot": True,
            "public_flags": 0,
            "flags": 0,
        }

    def to_payload(self, *, with_token: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": 1,
            "guild_id": str(self.guild_id) if self.guild_id else None,
            "channel_id": str(self.channel_id),
            "name": self.name,
            "avatar": None,
            "application_id": str(self.application_id) if self.application_id else None,
        }
        if with_token:
            data["token"] = self.token
        return data


# ---------------------------------------------------------------------------
# Defaults
# ---------------------------------------------------------------------------


def _sf(increment: int) -> int:
    return fixed_snowflake(2024, 1, 2, increment)


class Defaults:
    """Ids of the default world (19-digit snowflakes, stable across runs)."""

    BOT_ID = fixed_snowflake(2023, 11, 5, 7)
    APPLICATION_ID = BOT_ID  # modern applications share the bot user's id
    TOKEN = "MTE3MDg0NTQ1NjcwODkyMzUyNw.GfAkeT.fake-flowwatch-bot-token-for-tests-only"

    GUILD_ID = _sf(1)
    ADMIN_USER_ID = fixed_snowflake(2019, 3, 14, 3)
    MEMBER_USER_ID = fixed_snowflake(2020, 6, 1, 9)

    ADMIN_ROLE_ID = _sf(10)
    TRADER_ROLE_ID = _sf(11)
    BOT_ROLE_ID = _sf(12)

    CATEGORY_ID = _sf(20)
    ALERTS_CHANNEL_ID = _sf(21)
    ADMIN_CHANNEL_ID = _sf(22)
    GENERAL_CHANNEL_ID = _sf(23)  # the system channel
    READONLY_CHANNEL_ID = _sf(24)  # the bot can see it but not send


DEFAULT_BOT = FakeUser(Defaults.BOT_ID, "Flowwatch", bot=True)
DEFAULT_ADMIN = FakeUser(Defaults.ADMIN_USER_ID, "alice_admin", global_name="Alice")
DEFAULT_MEMBER = FakeUser(Defaults.MEMBER_USER_ID, "bob_trader", global_name="Bob")


def default_guild(bot: FakeUser = DEFAULT_BOT) -> FakeGuild:
    """One guild: #alerts, #admin (admins + bot only), #general (system), #readonly.

    Roles: @everyone (Discord defaults, no Manage Server), ``Admin`` (Manage Server 0x20),
    ``Trader``, and the bot's managed role. Members: the admin (owner is *not* the admin, so
    admin-ness comes from the role, not ownership), a normal member and the bot.
    """
    d = Defaults
    owner = FakeUser(fixed_snowflake(2018, 8, 8, 1), "server_owner")
    everyone = FakeRole(d.GUILD_ID, "@everyone", P.EVERYONE_DEFAULT)
    admin_role = FakeRole(
        d.ADMIN_ROLE_ID,
        "Admin",
        P.EVERYONE_DEFAULT | P.MANAGE_GUILD | P.MANAGE_MESSAGES,
        position=3,
        color=0xE74C3C,
        hoist=True,
    )
    trader_role = FakeRole(d.TRADER_ROLE_ID, "Trader", P.EVERYONE_DEFAULT, position=1, color=0x3498DB)
    bot_role = FakeRole(d.BOT_ROLE_ID, bot.username, P.BOT_DEFAULT, position=2, managed=True, bot_id=bot.id)
    hidden = Overwrite(d.GUILD_ID, 0, deny=P.VIEW_CHANNEL)
    channels = [
        FakeChannel(d.CATEGORY_ID, "Market", type=GUILD_CATEGORY, position=0),
        FakeChannel(
            d.ALERTS_CHANNEL_ID,
            "alerts",
            position=1,
            parent_id=d.CATEGORY_ID,
            topic="Market flow alerts",
        ),
        FakeChannel(
            d.ADMIN_CHANNEL_ID,
            "admin",
            position=2,
            parent_id=d.CATEGORY_ID,
            permission_overwrites=[
                hidden,
                Overwrite(d.ADMIN_ROLE_ID, 0, allow=P.VIEW_CHANNEL),
                Overwrite(d.BOT_ROLE_ID, 0, allow=P.VIEW_CHANNEL | P.SEND_MESSAGES),
            ],
        ),
        FakeChannel(d.GENERAL_CHANNEL_ID, "general", position=3),
        FakeChannel(
            d.READONLY_CHANNEL_ID,
            "readonly",
            position=4,
            permission_overwrites=[Overwrite(d.BOT_ROLE_ID, 0, deny=P.SEND_MESSAGES)],
        ),
    ]
    members = [
        FakeMember(owner, []),
        FakeMember(DEFAULT_ADMIN, [d.ADMIN_ROLE_ID]),
        FakeMember(DEFAULT_MEMBER, [d.TRADER_ROLE_ID]),
        FakeMember(bot, [d.BOT_ROLE_ID]),
    ]
    return FakeGuild(
        id=d.GUILD_ID,
        name="Flowwatch Test Desk",
        owner_id=owner.id,
        roles=[everyone, admin_role, trader_role, bot_role],
        channels=channels,
        members=members,
        system_channel_id=d.GENERAL_CHANNEL_ID,
    )
