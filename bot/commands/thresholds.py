"""``/thresholds show|set|reset`` (Manage Server): per-server thresholds.

Thresholds and lifecycles are global; a server's values re-grade the global events for that
server only (what it is shown and pinged). Only parameters that change a signal's grading
(:func:`bot.guild_config.settable_keys`) can be set per server.
"""

from __future__ import annotations

import discord
from discord import app_commands
from sqlite_utils import Database

from bot import guild_config
from bot.commands._common import (
    PARAM_MAX,
    PARAM_MIN,
    UserInputError,
    bot_of,
    check_signal,
    check_text,
    db_call,
    db_read,
    defer_private,
    parse_or_refuse,
    reply,
    require_manage_guild,
    signal_choices,
)
from signals import registry


def _overrides(db: Database, guild_id: int, signal_ids: list[str]) -> dict[str, dict[str, float]]:
    """This server's overrides of each signal (one read-only connection for all of them)."""
    return {sid: guild_config.threshold_overrides(db, guild_id, sid) for sid in signal_ids}


def _fmt(v: float) -> str:
    return f"{v:g}"


async def key_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    sig = registry().get(str(getattr(interaction.namespace, "signal", "") or ""))
    sigs = [sig] if sig is not None else list(registry().values())
    out = []
    for s in sigs:
        specs = {p.name: p for p in s.params}
        for k in guild_config.settable_keys(s.id):
            if current.lower() in k.lower():
                out.append(app_commands.Choice(name=f"{k} ({specs[k].describe_range()})"[:100], value=k))
    return out[:25]


class ThresholdsGroup(app_commands.Group):
    def __init__(self) -> None:
        super().__init__(
            name="thresholds",
            description="Per-server thresholds: what this server is shown and pinged (needs Manage Server)",
            default_permissions=discord.Permissions(manage_guild=True),
            guild_only=True,
        )

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        require_manage_guild(interaction)
        return True

    @app_commands.command(name="show", description="Global thresholds and this server's overrides")
    @app_commands.describe(signal="Which signal (default: all)")
    @app_commands.choices(signal=signal_choices())
    async def show(self, interaction: discord.Interaction, signal: str | None = None) -> None:
        sigs = [check_signal(signal)] if signal is not None else list(registry().values())
        gid = require_manage_guild(interaction)
        bot = bot_of(interaction)
        await defer_private(interaction)
        embed = discord.Embed(
            title="Thresholds",
            description="Global values run the alert lifecycle; this server's values re-grade its events.",
        )
        overrides = await db_read(interaction, _overrides, gid, [s.id for s in sigs])
        for sig in sigs:
            over = overrides[sig.id]
            glob = bot.settings.signal_params(sig.id)
            keys = guild_config.settable_keys(sig.id)
            lines = []
            for p in sig.params:
                mine = f" → **{_fmt(over[p.name])}** here" if p.name in over else ""
                tag = "" if p.name in keys else " *(global only)*"
                lines.append(f"`{p.name}` {_fmt(glob[p.name])}{mine}{tag}")
            embed.add_field(name=sig.title, value="\n".join(lines)[:1024] or "no thresholds", inline=False)
        await reply(interaction, embed=embed, ephemeral=True)

    @app_commands.command(name="set", description="Set one threshold for this server")
    @app_commands.describe(
        signal="Which signal", key="Which threshold (the list shows each allowed range)", value="New value"
    )
    @app_commands.choices(signal=signal_choices())
    @app_commands.autocomplete(key=key_autocomplete)
    async def set_(
        self,
        interaction: discord.Interaction,
        signal: str,
        key: app_commands.Range[str, 1, 60],
        value: app_commands.Range[float, PARAM_MIN, PARAM_MAX],
    ) -> None:
        sig = check_signal(signal)
        name = check_text("key", key, 60)
        gid = require_manage_guild(interaction)
        bot = bot_of(interaction)
        keys = guild_config.settable_keys(sig.id)
        if name not in keys:
            allowed = ", ".join(f"`{k}`" for k in keys) or "none"
            raise UserInputError(f"{sig.title} has no per-server threshold `{name}`; allowed: {allowed}.")
        # the value's own range needs no database: a bad one is refused at once; the rules among
        # this server's thresholds (levels must rise) need its other overrides, read after the defer
        spec = next(p for p in sig.params if p.name == name)
        parse_or_refuse(spec.parse, value)
        await defer_private(interaction)
        parsed = await db_call(
            interaction,
            lambda db: parse_or_refuse(
                guild_config.set_threshold, db, bot.settings, gid, sig.id, name, value
            ),
        )
        glob = bot.settings.signal_params(sig.id)[name]
        await reply(
            interaction,
            f"✅ {sig.title} `{name}` is {_fmt(parsed)} in this server (global {_fmt(glob)}). "
            "It changes how this server grades events; the global alert lifecycle is unchanged.",
            ephemeral=True,
        )

    @app_commands.command(name="reset", description="Back to the global thresholds")
    @app_commands.describe(signal="Which signal", key="Only this threshold (default: all of the signal's)")
    @app_commands.choices(signal=signal_choices())
    @app_commands.autocomplete(key=key_autocomplete)
    async def reset(
        self, interaction: discord.Interaction, signal: str, key: app_commands.Range[str, 1, 60] | None = None
    ) -> None:
        sig = check_signal(signal)
        gid = require_manage_guild(interaction)
        await defer_private(interaction)
        n = await db_call(interaction, guild_config.reset_thresholds, gid, sig.id, key)
        text = (
            f"Removed {n} override(s) of {sig.title}; the global values apply." if n else "Nothing to reset."
        )
        await reply(interaction, text, ephemeral=True)


def commands() -> list[app_commands.Group]:
    return [ThresholdsGroup()]
