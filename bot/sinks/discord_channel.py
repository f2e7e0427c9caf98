"""The Discord channel sink: alerts to subscribed channels, notices to admin channels.

Destinations ``discord:<channel_id>`` (alert channels) and ``discord-guild:<guild_id>`` (the
guild's admin channel, else its system channel). Messages carry the persistent alert
buttons (:mod:`bot.discord_views`). A 403 or 404 from a channel disables its subscriptions
and tells the guild once; quiet-hours holds are released as one digest per channel.
"""

from __future__ import annotations

import logging
from typing import Any

import discord

from bot import guild_config, routing
from bot.config import Settings
from bot.discord_embeds import digest_embed
from bot.sinks import DeliveryDeferred
from bot.sinks.discord_base import (
    DiscordDeliveryError,
    DiscordSinkBase,
    batch_nonce,
    file_of,
    role_mentions,
)
from storage import alerts as alert_repo
from storage import guild_state
from storage.alerts import Delivery, StoredAlert
from storage.db import AsyncStore
from storage.subscriptions import disable_channel
from storage.timeutil import to_epoch

log = logging.getLogger("flowwatch.discord")


class ChannelSink(DiscordSinkBase):
    name = "discord"
    patterns: tuple[str, ...] = (routing.CHANNEL_PREFIX + "%", routing.GUILD_PREFIX + "%")
    buttons = True

    def __init__(self, client: discord.Client, store: AsyncStore, settings: Settings, **kwargs: Any) -> None:
        super().__init__(store, settings, **kwargs)
        self.client = client

    async def send(self, alert: StoredAlert, delivery: Delivery) -> str | None:
        if self.client.user is None:  # not logged in yet (Discord unreachable at start): wait
            raise DeliveryDeferred(60.0, "Discord not reached yet")
        return await super().send(alert, delivery)

    # -- targets ----------------------------------------------------------------------------

    async def lane(self, destination: str) -> str:
        """The channel a destination's messages land in (a guild's admin channel resolved), so
        the dispatcher keeps one order per channel."""
        target = routing.destination_id(destination)
        if not destination.startswith(routing.GUILD_PREFIX) or target is None:
            return destination
        # what is known without a request: the configured admin channel, else the cached guild's
        # system channel
        channel_id = await self.store.call(guild_config.admin_channel, target)
        if channel_id is None:
            guild = self.client.get_guild(target)
            if guild is not None and guild.system_channel is not None:
                channel_id = guild.system_channel.id
        return destination if channel_id is None else f"{routing.CHANNEL_PREFIX}{channel_id}"

    async def _channel_id(self, destination: str) -> int:
        target = routing.destination_id(destination)
        if target is None:
            raise DiscordDeliveryError(f"bad destination {destination!r}", transient=False)
        if destination.startswith(routing.GUILD_PREFIX):
            channel_id = await self.admin_channel(target)
            if channel_id is None:
                raise DiscordDeliveryError(
                    f"guild {target} has no admin channel (/alerts admin-channel) and no system channel",
                    transient=False,
                )
            return channel_id
        return target

    async def admin_channel(self, guild_id: int, exclude: int | None = None) -> int | None:
        """The guild's configured admin channel, else its system channel."""
        configured = await self.store.call(guild_config.admin_channel, guild_id)
        if configured is not None and configured != exclude:
            return configured
        guild = self.client.get_guild(guild_id)
        system_id: int | None = None
        if guild is not None:
            system_id = guild.system_channel.id if guild.system_channel is not None else None
        else:
            try:
                data = await self.guard(self.client.http.get_guild(guild_id))
            except DiscordDeliveryError:
                return None
            raw = data.get("system_channel_id")
            system_id = int(raw) if raw else None
        return system_id if system_id != exclude else None

    def _messageable(self, channel_id: int) -> discord.PartialMessageable:
        return self.client.get_partial_messageable(channel_id, type=discord.ChannelType.text)

    async def _post(
        self,
        destination: str,
        *,
        embed: discord.Embed,
        png: bytes | None = None,
        filename: str | None = None,
        content: str | None = None,
        role_id: int | None = None,
        view: discord.ui.View | None = None,
        nonce: str | None = None,
    ) -> str:
        channel = self._messageable(await self._channel_id(destination))
        file = file_of(png, filename)
        kwargs: dict[str, object] = {}
        if file is not None:
            kwargs["file"] = file
        if view is not None:
            kwargs["view"] = view
        if nonce is not None:
            kwargs["nonce"] = nonce
        msg = await channel.send(
            content=content, embed=embed, allowed_mentions=role_mentions(role_id), **kwargs
        )  # type: ignore[call-overload]
        return str(msg.id)

    async def _edit(
        self,
        destination: str,
        message_id: str,
        *,
        embed: discord.Embed,
        png: bytes | None = None,
        filename: str | None = None,
        view: discord.ui.View | None = None,
        keep_attachments: bool = False,
    ) -> None:
        channel = self._messageable(await self._channel_id(destination))
        kwargs: dict[str, object] = {"embed": embed}
        file = file_of(png, filename)
        if file is not None:
            kwargs["attachments"] = [file]
        elif not keep_attachments:
            kwargs["attachments"] = []
        if view is not None:
            kwargs["view"] = view
        await channel.get_partial_message(int(message_id)).edit(**kwargs)  # type: ignore[arg-type]

    def _view(self, alert: StoredAlert) -> discord.ui.View | None:
        from bot.discord_views import alert_view

        return alert_view(alert.id)

    # -- permanent failures: disable the channel's subscriptions, tell the guild once ----------

    async def on_permanent_failure(self, delivery: Delivery, alert: StoredAlert, exc: Exception) -> None:
        if isinstance(exc, DiscordDeliveryError) and exc.channel_gone:
            await self.channel_gone(delivery.destination, exc)

    async def channel_gone(self, destination: str, exc: DiscordDeliveryError) -> None:
        if not destination.startswith(routing.CHANNEL_PREFIX):
            log.error("cannot post to %s: %s", destination, exc)
            return
        channel_id = routing.destination_id(destination)
        if channel_id is None:
            return
        now = to_epoch(self.clock.now())
        reason = f"{exc} (at {now})"
        subs = await self.store.call(disable_channel, channel_id, reason)
        skipped = await self.store.call(alert_repo.skip_pending, destination, f"channel disabled: {exc}", now)
        if not subs:
            return  # already disabled and reported
        signals = ", ".join(sorted({s.signal for s in subs}))
        log.warning(
            "channel %s refused delivery (%s): disabled %d subscription(s) (%s), skipped %d pending",
            channel_id,
            exc,
            len(subs),
            signals,
            skipped,
        )
        why = "it no longer exists" if exc.status == 404 else "I am not allowed to post there"
        text = (
            f"⚠️ flowwatch could not post alerts in <#{channel_id}>: {why} ({exc}). "
            f"Its subscriptions ({signals}) are disabled. Fix the channel's permissions for me "
            "(View Channel, Send Messages, Embed Links, Attach Files), then run `/alerts subscribe` again."
        )
        for guild_id in sorted({s.guild_id for s in subs}):
            target = await self.admin_channel(guild_id, exclude=channel_id)
            if target is None:
                log.warning("guild %s has no admin or system channel to tell about %s", guild_id, channel_id)
                continue
            try:
                await self.guard(
                    self._messageable(target).send(
                        text,
                        allowed_mentions=discord.AllowedMentions.none(),
                        nonce=batch_nonce("gone", [channel_id, now // 3600]),
                    )
                )
            except DiscordDeliveryError as err:
                log.warning("could not tell guild %s about channel %s: %s", guild_id, channel_id, err)

    # -- quiet hours: held deliveries become one digest per channel when they end ----------------

    async def release_held(self) -> int:
        """Post one digest per channel whose guild's quiet hours are over; returns events released."""
        now_dt = self.clock.now()
        now = to_epoch(now_dt)
        held = await self.store.call(
            alert_repo.deliveries_with_status, "held", [routing.CHANNEL_PREFIX + "%"]
        )
        by_dest: dict[str, list[tuple[Delivery, StoredAlert]]] = {}
        for d, a in held:
            by_dest.setdefault(d.destination, []).append((d, a))
        released = 0
        for dest, items in by_dest.items():
            ids = [d.id for d, _ in items]
            channel_id = routing.destination_id(dest)
            guild_id = await self.store.call(routing.guild_of_channel, channel_id) if channel_id else None
            if guild_id is None:
                await self.store.call(
                    alert_repo.set_status,
                    ids,
                    "skipped",
                    None,
                    "no subscription for this channel any more",
                    now,
                )
                continue
            quiet = await self.store.call(guild_config.quiet_hours, guild_id)
            if quiet is not None and quiet.active(now_dt):
                continue
            embed = digest_embed("quiet", [a for _, a in items], quiet.describe() if quiet else "")
            try:
                with self._paced(dest):
                    msg = await self.guard(self._post(dest, embed=embed, nonce=batch_nonce("q", ids)))
            except DeliveryDeferred:
                continue  # the channel's window is full: the next run posts it
            except DiscordDeliveryError as exc:
                if exc.transient:
                    log.warning("quiet-hours digest to %s failed (%s); will retry", dest, exc)
                    continue
                await self.store.call(alert_repo.set_status, ids, "failed", None, str(exc), now)
                if exc.channel_gone:
                    await self.channel_gone(dest, exc)
                continue
            await self.store.call(alert_repo.set_status, ids, "sent", msg, None, now)
            await self.store.call(guild_state.save_digest, msg, dest, "quiet", now)
            released += len(ids)
            log.info("released %d held event(s) to %s as one digest", len(ids), dest)
        return released
