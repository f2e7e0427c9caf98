"""Buttons on every alert message, as persistent dynamic items (they work after a restart).

Each button's ``custom_id`` carries its action and the alert id (``fw:<action>:<alert id>``);
the bot registers :class:`AlertButton` once with ``add_dynamic_items``, so a click on any
alert message, however old, reaches :func:`on_click` without per-message state.

* Acknowledge: records who and when (per server) and shows it on the message.
* Snooze 1 h / 24 h: silences the alert's signal in this server (needs Manage Server).
* Chart 30 d: the signal's last 30 days, only for the user who clicked.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import discord

from bot.commands._common import (
    NotAllowed,
    UserInputError,
    bot_of,
    db_call,
    db_read,
    defer_private,
    handle_error,
    require_guild,
)
from bot.discord_embeds import signal_title, with_ack
from storage import alerts as alert_repo
from storage import guild_state
from storage.timeutil import to_epoch

log = logging.getLogger("flowwatch.buttons")

BUTTONS: dict[str, tuple[str, discord.ButtonStyle, str]] = {
    "ack": ("Acknowledge", discord.ButtonStyle.success, "✅"),
    "s1h": ("Snooze 1 h", discord.ButtonStyle.secondary, "🔕"),
    "s24h": ("Snooze 24 h", discord.ButtonStyle.secondary, "🔕"),
    "c30": ("Chart 30 d", discord.ButtonStyle.primary, "📈"),
}
SNOOZE_SECONDS = {"s1h": 3600, "s24h": 86400}


class AlertButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"fw:(?P<action>ack|s1h|s24h|c30):(?P<alert>[0-9]{1,18})",
):
    def __init__(self, action: str, alert_id: int) -> None:
        label, style, emoji = BUTTONS[action]
        super().__init__(
            discord.ui.Button(label=label, style=style, emoji=emoji, custom_id=f"fw:{action}:{alert_id}")
        )
        self.action = action
        self.alert_id = alert_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> AlertButton:
        return cls(match["action"], int(match["alert"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        await on_click(interaction, self.action, self.alert_id)


def alert_view(alert_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for action in BUTTONS:
        view.add_item(AlertButton(action, alert_id))
    return view


async def on_click(interaction: discord.Interaction, action: str, alert_id: int) -> None:
    """Check who may do it, answer Discord (within its 3 s, whatever the database is doing),
    then read the alert, write and follow up."""
    try:
        if action == "c30":
            from bot.commands._charts import send_signal_chart

            bot_of(interaction).cooldowns.hit(interaction.user.id)
            await defer_private(interaction)
            alert = await _alert(interaction, alert_id)
            await send_signal_chart(interaction, alert.signal, 30, ephemeral=True)
            return
        gid = require_guild(interaction)
        if action == "ack" and interaction.message is None:
            raise UserInputError("I cannot see the message this button belongs to.")
        # the component defer: the message stays as it is until the edit or follow-up below
        await interaction.response.defer()
        alert = await _alert(interaction, alert_id)
        if action == "ack":
            await acknowledge(interaction, gid, alert.id)
        elif action in SNOOZE_SECONDS:
            await snooze(interaction, gid, alert.signal, SNOOZE_SECONDS[action])
    except Exception as exc:  # the same handler as slash commands: short message, traceback in the log
        await handle_error(interaction, exc)


async def _alert(interaction: discord.Interaction, alert_id: int) -> alert_repo.StoredAlert:
    alert = await db_read(interaction, alert_repo.get_alert, alert_id)
    if alert is None:
        raise UserInputError("This alert is no longer in flowwatch's database.")
    return alert


async def acknowledge(interaction: discord.Interaction, guild_id: int, alert_id: int) -> None:
    """Record the acknowledgement (after the component defer) and show it on the message."""
    message = interaction.message
    assert message is not None  # checked before the defer
    now = to_epoch(bot_of(interaction).now())
    ack = await db_call(
        interaction, guild_state.acknowledge, str(message.id), guild_id, alert_id, interaction.user.id, now
    )
    if ack.user_id != interaction.user.id or ack.acked_at != now:
        await interaction.followup.send(
            f"Already acknowledged by <@{ack.user_id}> <t:{ack.acked_at}:R>.",
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )
        return
    if message.embeds:
        await interaction.edit_original_response(embed=with_ack(message.embeds[0], ack))
    else:
        await interaction.followup.send(
            f"Acknowledged by <@{ack.user_id}>.", allowed_mentions=discord.AllowedMentions.none()
        )


async def snooze(interaction: discord.Interaction, guild_id: int, signal_id: str, seconds: int) -> None:
    """Store the server's snooze (after the component defer) and say so in the channel."""
    from bot.commands.alerts import snooze_signal

    if not interaction.permissions.manage_guild:
        raise NotAllowed(
            f"Snoozing silences {signal_title(signal_id)} for the whole server, so it needs the "
            "**Manage Server** permission; nothing was changed. Use Acknowledge instead."
        )
    text = await snooze_signal(interaction, guild_id, signal_id, seconds)
    await interaction.followup.send(
        f"{text} (by {interaction.user.mention})", allowed_mentions=discord.AllowedMentions.none()
    )
