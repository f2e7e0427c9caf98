"""Local Discord-compatible fake server (placeholder docstring; see below)."""

from .faults import FaultRule, Faults, error_body
from .harness import FAST_GUILD_READY_TIMEOUT, bot_intents, running_client, tiny_png
from .patching import patch_discord, point_discord_at
from .payloads import option, subcommand, subcommand_group
from .records import (
    CommandSync,
    InteractionRecord,
    RecordedFile,
    RecordedRequest,
    StoredAttachment,
    StoredMessage,
)
from .server import FakeDiscord
from .world import (
    DEFAULT_ADMIN,
    DEFAULT_BOT,
    DEFAULT_MEMBER,
    Defaults,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeRole,
    FakeUser,
    FakeWebhook,
    Overwrite,
    default_guild,
)

__all__ = [
    "DEFAULT_ADMIN",
    "DEFAULT_BOT",
    "DEFAULT_MEMBER",
    "FAST_GUILD_READY_TIMEOUT",
    "CommandSync",
    "Defaults",
    "FakeChannel",
    "FakeDiscord",
    "FakeGuild",
    "FakeMember",
    "FakeRole",
    "FakeUser",
    "FakeWebhook",
    "FaultRule",
    "Faults",
    "InteractionRecord",
    "Overwrite",
    "RecordedFile",
    "RecordedRequest",
    "StoredAttachment",
    "StoredMessage",
    "bot_intents",
    "default_guild",
    "error_body",
    "option",
    "patch_discord",
    "point_discord_at",
    "running_client",
    "subcommand",
    "subcommand_group",
    "tiny_png",
]
