"""What every slash command shares: validation, permission checks, cooldowns, the error handler.

Discord shows ``Range`` and ``choices`` to users but does not enforce them on the payload,
so every value is validated again here (:func:`check_range`, :func:`check_signal`, ...),
with a message that says what is allowed. All errors end in :func:`handle_error`: a short
ephemeral message for the user, the traceback in the log.
"""

from __future__ import annotations

import logging
import time
import zoneinfo
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands

from signals import get_signal, registry
from signals.base import Level
from signals.contract import Signal

if TYPE_CHECKING:
    from bot.discord_client import FlowwatchBot

log = logging.getLogger("flowwatch.commands")

T = TypeVar("T")

LEVEL_CHOICES = ("watch", "alert", "severe")
#: The widest range any signal parameter allows: the Discord-side bounds of ``/thresholds set
#: value`` (each key's own range is checked by the bot).
PARAM_MIN = min((p.lo for s in registry().values() for p in s.params), default=0.0)
PARAM_MAX = max((p.hi for s in registry().values() for p in s.params), default=1.0)
DAYS_MIN, DAYS_MAX = 7, 3650
HISTORY_DAYS_MAX = 365


class UserInputError(app_commands.AppCommandError):
    """Bad input or a refused request: the message is shown to the user as is."""


class NotAllowed(app_commands.CheckFailure):
    """The user may not do this (the message says why); nothing was changed."""


class OnCooldown(app_commands.AppCommandError):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"on cooldown for {retry_after:.1f} s")
        self.retry_after = retry_after


# --- the bot behind an interaction ---------------------------------------------------------


def bot_of(interaction: discord.Interaction) -> FlowwatchBot:
    from bot.discord_client import FlowwatchBot

    client = interaction.client
    if not isinstance(client, FlowwatchBot) or client.app is None:
        raise UserInputError("flowwatch is still starting up; try again in a moment.")
    return client


async def db_call(interaction: discord.Interaction, fn: Callable[..., T], *args: Any) -> T:
    """Run a repository function that writes on the database owner thread."""
    bot = bot_of(interaction)
    assert bot.app is not None
    return await bot.app.store.call(fn, *args)


async def db_read(interaction: discord.Interaction, fn: Callable[..., T], *args: Any) -> T:
    """Run a query on a read-only connection of its own, never on the owner thread: however long
    it reads, an alert's write does not wait behind it (``AsyncStore.read``)."""
    bot = bot_of(interaction)
    assert bot.app is not None
    return await bot.app.store.read(fn, *args)


async def defer_private(interaction: discord.Interaction) -> None:
    """Answer "thinking…" (only the user sees it) before any database work: Discord fails an
    interaction not answered within 3 s, and a long write on the owner thread (the daily prune,
    a big flush) may hold a command's write longer than that. Validate the options first, so a
    bad one still gets its immediate error; the reply then follows up (:func:`reply`)."""
    await interaction.response.defer(ephemeral=True, thinking=True)


def now_of(interaction: discord.Interaction) -> datetime:
    return bot_of(interaction).now()


# --- checks --------------------------------------------------------------------------------


def require_guild(interaction: discord.Interaction) -> int:
    if interaction.guild_id is None:
        raise NotAllowed("This works in a server only: run it in a channel of your server, not in DMs.")
    return interaction.guild_id


def require_manage_guild(interaction: discord.Interaction) -> int:
    """Refuse unless the user has Manage Server in this guild (Discord checks too; we check again)."""
    gid = require_guild(interaction)
    if not interaction.permissions.manage_guild:
        raise NotAllowed(
            "You need the **Manage Server** permission to change flowwatch settings; nothing was changed."
        )
    return gid


class Cooldowns:
    """Per-user cooldown on chart work (rendering is the expensive part)."""

    def __init__(self, per: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.per = per
        self.clock = clock
        self._last: dict[int, float] = {}

    def hit(self, user_id: int) -> None:
        if self.per <= 0:
            return
        now = self.clock()
        last = self._last.get(user_id)
        if last is not None and now - last < self.per:
            raise OnCooldown(self.per - (now - last))
        self._last[user_id] = now
        if len(self._last) > 10_000:  # forget old entries
            self._last = {u: t for u, t in self._last.items() if now - t < self.per}


# --- validation ----------------------------------------------------------------------------


def check_range(name: str, value: Any, lo: int, hi: int, unit: str = "") -> int:
    u = f" {unit}" if unit else ""
    bad = UserInputError(f"`{name}` must be a whole number from {lo} to {hi}{u}.")
    if isinstance(value, bool):
        raise bad
    if isinstance(value, int):
        v = value
    else:
        try:
            f = float(value)
        except (TypeError, ValueError):
            raise bad from None
        if not f.is_integer():
            raise bad
        v = int(f)
    if not lo <= v <= hi:
        raise UserInputError(f"`{name}` must be from {lo} to {hi}{u} (you gave {v}).")
    return v


def check_signal(value: str | None) -> Signal:
    reg = registry()
    if not value or value not in reg:
        allowed = ", ".join(f"`{s}`" for s in reg) or "none"
        raise UserInputError(f"Unknown signal `{value}`; available: {allowed}.")
    return get_signal(value)


def check_level(value: str | None) -> str:
    v = (value or "").strip().lower()
    if v not in LEVEL_CHOICES:
        raise UserInputError(f"Unknown level `{value}`; use one of: {', '.join(LEVEL_CHOICES)}.")
    return Level.parse(v).label


def check_text(name: str, value: str | None, max_len: int = 100) -> str:
    v = (value or "").strip()
    if not v or len(v) > max_len:
        raise UserInputError(f"`{name}` must be 1 to {max_len} characters.")
    return v


def parse_or_refuse(fn: Callable[..., T], *args: Any) -> T:
    """Call a Discord-free parser; its ValueError becomes a message for the user."""
    try:
        return fn(*args)
    except ValueError as exc:
        raise UserInputError(_sentence(str(exc))) from None


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def signal_choices() -> list[app_commands.Choice[str]]:
    """Choices for a ``signal`` option: only signals that exist (at most 25, Discord's limit)."""
    return [app_commands.Choice(name=s.title[:100], value=s.id) for s in list(registry().values())[:25]]


def level_choices() -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=lv, value=lv) for lv in LEVEL_CHOICES]


async def timezone_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    cur = current.strip().lower()
    common = ["UTC", "America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/London",
              "Europe/Berlin", "Asia/Tokyo", "Asia/Singapore", "Australia/Sydney"]  # fmt: skip
    names = common if not cur else sorted(z for z in zoneinfo.available_timezones() if cur in z.lower())
    return [app_commands.Choice(name=z, value=z) for z in names[:25]]


# --- replies and the one error handler -------------------------------------------------------


async def reply(
    interaction: discord.Interaction,
    content: str | None = None,
    *,
    embed: discord.Embed | None = None,
    ephemeral: bool = False,
) -> None:
    kwargs: dict[str, Any] = {"ephemeral": ephemeral, "allowed_mentions": discord.AllowedMentions.none()}
    if embed is not None:
        kwargs["embed"] = embed
    if interaction.response.is_done():
        await interaction.followup.send(content or discord.utils.MISSING, **kwargs)
    else:
        await interaction.response.send_message(content, **kwargs)


def user_message(error: BaseException) -> tuple[str, bool]:
    """(the message for the user, whether it is our fault and belongs in the log)."""
    if isinstance(error, app_commands.CommandInvokeError) and error.original is not None:
        error = error.original
    if isinstance(error, UserInputError | NotAllowed):
        return str(error), False
    if isinstance(error, OnCooldown):
        return (
            f"Slow down: charts take a moment to draw. Try again in {max(1, round(error.retry_after))} s.",
            False,
        )
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down: try again in {max(1, round(error.retry_after))} s.", False
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This works in a server only, not in DMs.", False
    if isinstance(error, app_commands.MissingPermissions):
        return "You need the **Manage Server** permission for this; nothing was changed.", False
    if isinstance(error, app_commands.CheckFailure):
        return "You are not allowed to use this command here; nothing was changed.", False
    if isinstance(error, app_commands.TransformerError):
        kind = getattr(error.type, "name", "value")
        return f"`{error.value}` is not a valid {kind} here.", False
    if isinstance(error, MalformedOptions):
        return "Some option values could not be read; check them and try again. Nothing was changed.", False
    if isinstance(error, app_commands.CommandNotFound | app_commands.CommandSignatureMismatch):
        return "This command is out of date; ask the bot's operator to run `flowwatch sync-commands`.", True
    return "Something went wrong on our side; the error is in the bot's log. Nothing was changed.", True


async def handle_error(interaction: discord.Interaction, error: BaseException) -> None:
    """The one handler for app-command and button errors."""
    message, ours = user_message(error)
    data: dict[str, Any] = dict(interaction.data or {})
    name = interaction.command.qualified_name if interaction.command else data.get("custom_id")
    if ours:
        original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        log.error("command %s failed", name, exc_info=(type(original), original, original.__traceback__))
    else:
        log.info("command %s refused for user %s: %s", name, interaction.user.id, message)
    try:
        await reply(interaction, message, ephemeral=True)
    except discord.HTTPException as exc:
        log.warning("could not tell user about the error in %s: %s", name, exc)


class MalformedOptions(app_commands.AppCommandError):
    """The interaction's options could not even be read (a value of the wrong type)."""


class FlowwatchTree(app_commands.CommandTree):
    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        await handle_error(interaction, error)

    async def _call(self, interaction: discord.Interaction) -> None:
        # discord.py reads the options (e.g. float() of a NUMBER) before any check or handler
        # runs, and an error there is not an AppCommandError: the user would get no answer.
        # Discord itself sends well-typed values; a malformed payload still gets a clear reply.
        try:
            await super()._call(interaction)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise MalformedOptions(f"malformed option values: {exc}") from exc
