"""Builders for realistic INTERACTION_CREATE payloads.

Options::

    option("threshold", 0.25)                     # NUMBER (type inferred from the value)
    option("channel", fake.channel("alerts"))     # CHANNEL, added to data.resolved.channels
    option("role", guild.role_named("Trader"))    # ROLE, added to data.resolved.roles
    option("who", DEFAULT_MEMBER)                 # USER, resolved users + members
    subcommand_group("alerts", subcommand("set", option("kind", "vix"))) # nested

Then ``fake.build_slash_command("config", subcommand_group(...), user=DEFAULT_MEMBER)``.
``user`` picks who invokes it; in a guild the ``member.permissions`` string is computed from
roles and channel overwrites (so the default admin has Manage Server and the default member
does not), or forced with ``permissions=...``. ``dm=True`` builds the DM variant (``user``
instead of ``member``, no ``guild_id``, a DM channel).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .records import StoredMessage
from .world import FakeChannel, FakeGuild, FakeMember, FakeRole, FakeUser

if TYPE_CHECKING:
    from .server import FakeDiscord

# option types
SUB_COMMAND = 1
SUB_COMMAND_GROUP = 2
STRING = 3
INTEGER = 4
BOOLEAN = 5
USER = 6
CHANNEL = 7
ROLE = 8
MENTIONABLE = 9
NUMBER = 10
ATTACHMENT = 11

_MISSING: Any = object()


def option(name: str, value: Any, *, type: int | None = None, focused: bool = False) -> dict:
    """One command option; the type is inferred from ``value`` unless given."""
    if type is None:
        if isinstance(value, FakeChannel):
            type = CHANNEL
        elif isinstance(value, FakeRole):
            type = ROLE
        elif isinstance(value, FakeUser | FakeMember):
            type = USER
        elif isinstance(value, bool):
            type = BOOLEAN
        elif isinstance(value, int):
            type = INTEGER
        elif isinstance(value, float):
            type = NUMBER
        else:
            type = STRING
    if isinstance(value, FakeMember):
        value = value.user
    if isinstance(value, FakeChannel | FakeRole | FakeUser):
        value = str(value.id)
    data: dict[str, Any] = {"name": name, "type": type, "value": value}
    if focused:
        data["focused"] = True
    return data


def subcommand(name: str, *options: dict) -> dict:
    return {"name": name, "type": SUB_COMMAND, "options": list(options)}


def subcommand_group(name: str, *subcommands: dict) -> dict:
    return {"name": name, "type": SUB_COMMAND_GROUP, "options": list(subcommands)}


# ---------------------------------------------------------------------------


def _as_user(fake: FakeDiscord, user: FakeUser | FakeMember | int | None) -> FakeUser:
    if user is None:
        return fake.application_owner
    if isinstance(user, FakeMember):
        return user.user
    if isinstance(user, int):
        return fake.users[user]
    return user


def _as_guild(fake: FakeDiscord, guild: FakeGuild | int | None) -> FakeGuild:
    if guild is None:
        return fake.guild
    if isinstance(guild, int):
        return fake.guilds[guild]
    return guild


def _default_channel(guild: FakeGuild) -> FakeChannel:
    for channel in guild.channels:
        if channel.name == "alerts":
            return channel
    return next(c for c in guild.channels if c.type == 0)


def _context(
    fake: FakeDiscord,
    *,
    itype: int,
    user: FakeUser | FakeMember | int | None,
    channel: FakeChannel | int | None,
    guild: FakeGuild | int | None,
    dm: bool,
    locale: str,
    permissions: int | None,
    app_permissions: int | None,
) -> tuple[dict[str, Any], FakeGuild | None, FakeChannel, FakeUser]:
    the_user = _as_user(fake, user)
    if dm:
        dm_channel = fake.dm_channel_for(the_user.id)
        perms = fake.member_permissions(the_user.id, None)
        payload = {
            "type": itype,
            "channel_id": str(dm_channel.id),
            "channel": dict(dm_channel.to_payload(), permissions=str(perms)),
            "user": the_user.to_payload(),
            "app_permissions": str(fake.bot_permissions(dm_channel)),
            "locale": locale,
            "context": 1,
            "authorizing_integration_owners": {"0": "0"},
        }
        return payload, None, dm_channel, the_user
    the_guild = _as_guild(fake, guild)
    if channel is None:
        the_channel = _default_channel(the_guild)
    elif isinstance(channel, int):
        the_channel = fake.channels[channel]
    else:
        the_channel = channel
    member = the_guild.get_member(the_user.id)
    if member is None:
        raise ValueError(f"user {the_user.id} is not a member of guild {the_guild.id}")
    perms = permissions if permissions is not None else the_guild.permissions_for(the_user.id, the_channel)
    app_perms = app_permissions if app_permissions is not None else fake.bot_permissions(the_channel)
    payload = {
        "type": itype,
        "guild_id": str(the_guild.id),
        "channel_id": str(the_channel.id),
        "channel": dict(the_channel.to_payload(), permissions=str(perms)),
        "guild": {
            "id": str(the_guild.id),
            "locale": the_guild.preferred_locale,
            "features": list(the_guild.features),
        },
        "guild_locale": the_guild.preferred_locale,
        "member": dict(member.to_payload(), permissions=str(perms)),
        "app_permissions": str(app_perms),
        "locale": locale,
        "context": 0,
        "authorizing_integration_owners": {"0": str(the_guild.id)},
    }
    return payload, the_guild, the_channel, the_user


def _resolve(
    fake: FakeDiscord,
    options: list[dict],
    guild: FakeGuild | None,
    invoker: FakeUser,
    resolved: dict[str, dict[str, Any]],
) -> None:
    for opt in options:
        if opt["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP):
            _resolve(fake, opt.get("options", []), guild, invoker, resolved)
            continue
        value = opt.get("value")
        if opt["type"] not in (USER, CHANNEL, ROLE, MENTIONABLE) or value is None:
            continue
        oid = int(value)
        if opt["type"] in (USER, MENTIONABLE) and oid in fake.users:
            resolved.setdefault("users", {})[str(oid)] = fake.users[oid].to_payload()
            member = guild.get_member(oid) if guild else None
            if member is not None and guild is not None:
                perms = guild.permissions_for(oid, None)
                resolved.setdefault("members", {})[str(oid)] = dict(
                    member.to_payload(with_user=False), permissions=str(perms)
                )
        if opt["type"] in (ROLE, MENTIONABLE) and guild is not None:
            role = guild.get_role(oid)
            if role is not None:
                resolved.setdefault("roles", {})[str(oid)] = role.to_payload()
        if opt["type"] == CHANNEL and oid in fake.channels:
            ch = fake.channels[oid]
            perms = fake.member_permissions(invoker.id, ch)
            data = {
                "id": str(ch.id),
                "name": ch.name,
                "type": ch.type,
                "permissions": str(perms),
                "parent_id": str(ch.parent_id) if ch.parent_id else None,
                "position": ch.position,
                "nsfw": ch.nsfw,
                "topic": ch.topic,
                "rate_limit_per_user": ch.rate_limit_per_user,
                "flags": 0,
            }
            if ch.guild_id is not None:
                data["guild_id"] = str(ch.guild_id)
            resolved.setdefault("channels", {})[str(oid)] = data


def _command_identity(
    fake: FakeDiscord, name: str, cmd_type: int, guild: FakeGuild | None, scope: str
) -> tuple[str, int | None]:
    """(command id, guild id of the command) as Discord would send them."""
    if scope in ("auto", "guild") and guild is not None:
        for cmd in fake.commands.get(guild.id, []):
            if cmd["name"] == name and cmd["type"] == cmd_type:
                return cmd["id"], guild.id
        if scope == "guild":
            return str(fake.snowflakes.next()), guild.id
    for cmd in fake.commands.get(None, []):
        if cmd["name"] == name and cmd["type"] == cmd_type:
            return cmd["id"], None
    return str(fake.snowflakes.next()), None


def slash_command(
    fake: FakeDiscord,
    name: str,
    *options: dict,
    user: FakeUser | FakeMember | int | None = None,
    channel: FakeChannel | int | None = None,
    guild: FakeGuild | int | None = None,
    dm: bool = False,
    locale: str = "en-US",
    permissions: int | None = None,
    app_permissions: int | None = None,
    scope: str = "auto",
    command_type: int = 1,
    target_id: int | None = None,
    interaction_type: int = 2,
) -> dict[str, Any]:
    """An APPLICATION_COMMAND (type 2) interaction.

    ``scope``: ``"auto"`` uses the synced command's id and guild (``data.guild_id`` is set
    for guild commands, which is how discord.py's CommandTree finds guild-scoped commands);
    ``"guild"``/``"global"`` force it. ``user`` defaults to the application owner (the default
    admin user).
    """
    payload, the_guild, _channel, invoker = _context(
        fake,
        itype=interaction_type,
        user=user,
        channel=channel,
        guild=guild,
        dm=dm,
        locale=locale,
        permissions=permissions,
        app_permissions=app_permissions,
    )
    cmd_id, cmd_guild = _command_identity(fake, name, command_type, the_guild, scope)
    data: dict[str, Any] = {"id": cmd_id, "name": name, "type": command_type}
    if options:
        data["options"] = list(options)
    if cmd_guild is not None:
        data["guild_id"] = str(cmd_guild)
    resolved: dict[str, dict[str, Any]] = {}
    _resolve(fake, list(options), the_guild, invoker, resolved)
    if target_id is not None:
        data["target_id"] = str(target_id)
    if resolved:
        data["resolved"] = resolved
    payload["data"] = data
    return payload


def autocomplete(fake: FakeDiscord, name: str, *options: dict, **kw: Any) -> dict[str, Any]:
    """An APPLICATION_COMMAND_AUTOCOMPLETE (type 4); mark one option ``focused=True``."""
    return slash_command(fake, name, *options, interaction_type=4, **kw)


def component(
    fake: FakeDiscord,
    message: StoredMessage | dict[str, Any],
    custom_id: str,
    *,
    component_type: int = 2,
    values: list[str] | None = None,
    user: FakeUser | FakeMember | int | None = None,
    locale: str = "en-US",
    permissions: int | None = None,
) -> dict[str, Any]:
    """A MESSAGE_COMPONENT (type 3) interaction: a button click (or select with ``values``)
    on ``message`` (a stored message, or any message payload)."""
    msg_payload = message.to_payload() if isinstance(message, StoredMessage) else dict(message)
    channel = fake.channels.get(int(msg_payload["channel_id"]))
    dm = channel is not None and channel.is_dm
    payload, _g, _c, _u = _context(
        fake,
        itype=3,
        user=user,
        channel=None if dm else channel,
        guild=channel.guild_id if channel is not None and not dm else None,
        dm=dm,
        locale=locale,
        permissions=permissions,
        app_permissions=None,
    )
    data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
    if values is not None:
        data["values"] = list(values)
    payload["data"] = data
    payload["message"] = msg_payload
    return payload


def modal_submit(
    fake: FakeDiscord,
    custom_id: str,
    values: dict[str, str],
    *,
    message: StoredMessage | dict[str, Any] | None = None,
    user: FakeUser | FakeMember | int | None = None,
    channel: FakeChannel | int | None = None,
    dm: bool = False,
    locale: str = "en-US",
) -> dict[str, Any]:
    """A MODAL_SUBMIT (type 5) with one text input (wrapped in a Label) per ``values`` entry."""
    payload, _g, _c, _u = _context(
        fake,
        itype=5,
        user=user,
        channel=channel,
        guild=None,
        dm=dm,
        locale=locale,
        permissions=None,
        app_permissions=None,
    )
    components = [
        {
            "type": 18,
            "id": i * 2 + 1,
            "component": {"type": 4, "id": i * 2 + 2, "custom_id": k, "value": v},
        }
        for i, (k, v) in enumerate(values.items())
    ]
    payload["data"] = {"custom_id": custom_id, "components": components}
    if message is not None:
        payload["message"] = message.to_payload() if isinstance(message, StoredMessage) else message
    return payload
