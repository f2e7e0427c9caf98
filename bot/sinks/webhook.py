"""The webhook sink: alerts (embed + chart) to ``DISCORD_WEBHOOK_URL``, no bot application needed.

Uses ``discord.Webhook.from_url`` on its own aiohttp session. Webhook messages cannot carry
interactive buttons and webhooks take no nonce, so a resend after a crash between "sent" and
"marked" may post twice (the bot mode does not have this limit). Updated events edit their
earlier message in place, and storms fold into one digest, exactly as in bot mode.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import aiohttp
import discord

from bot.config import Settings
from bot.discord_embeds import clip
from bot.routing import WEBHOOK
from bot.sinks.discord_base import DiscordSinkBase, file_of, role_mentions
from storage.alerts import Delivery, StoredAlert
from storage.db import AsyncStore

if TYPE_CHECKING:
    from bot.runner import App

log = logging.getLogger("flowwatch.webhook")


class WebhookSink(DiscordSinkBase):
    name = "webhook"
    patterns: tuple[str, ...] = (WEBHOOK,)

    def __init__(self, url: str, store: AsyncStore, settings: Settings, **kwargs: Any) -> None:
        super().__init__(store, settings, **kwargs)
        self.url = url
        self._session: aiohttp.ClientSession | None = None
        self._webhook: discord.Webhook | None = None

    def webhook(self) -> discord.Webhook:
        if self._webhook is None:
            self._session = aiohttp.ClientSession()
            self._webhook = discord.Webhook.from_url(self.url, session=self._session)
        return self._webhook

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
        kwargs: dict[str, Any] = {}
        file = file_of(png, filename)
        if file is not None:
            kwargs["file"] = file
        msg = await self.webhook().send(
            content=content or discord.utils.MISSING,
            embed=embed,
            allowed_mentions=role_mentions(role_id),
            wait=True,
            **kwargs,
        )
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
    ) -> None:
        kwargs: dict[str, Any] = {"embed": embed}
        file = file_of(png, filename)
        if file is not None:
            kwargs["attachments"] = [file]
        await self.webhook().edit_message(int(message_id), **kwargs)

    async def on_permanent_failure(self, delivery: Delivery, alert: StoredAlert, exc: Exception) -> None:
        log.error(
            "the webhook refused alert %d (%s); check DISCORD_WEBHOOK_URL (deleted webhook or wrong token?)",
            alert.id,
            exc,
        )

    async def post_summary(self, text: str, png: bytes | None = None) -> None:
        """The daily summary (console/webhook mode): text and the dashboard image."""
        embed = discord.Embed(title="flowwatch daily summary", description=clip(f"```\n{text}\n```", 4096))
        filename = "dashboard.png" if png else None
        if filename:
            embed.set_image(url=f"attachment://{filename}")
        try:
            await self.guard(self._post(WEBHOOK, embed=embed, png=png, filename=filename))
        except Exception as exc:
            log.warning("daily summary to the webhook failed: %s", exc)

    async def close(self) -> None:
        await super().close()
        if self._session is not None:
            await self._session.close()
            self._session = None
            self._webhook = None


def webhook_app(settings: Settings, **app_kwargs: Any) -> App:
    """``flowwatch run`` without a token but with ``DISCORD_WEBHOOK_URL``: console and webhook sinks."""
    from bot.routing import SubscriptionRouter
    from bot.runner import App
    from bot.sinks.console import ConsoleSink

    assert settings.webhook_url is not None
    router = SubscriptionRouter(settings, app_kwargs.get("clock"), discord=False, webhook=True, console=True)
    app = App(settings, sinks=[], router=router, mode="webhook", **app_kwargs)
    app.add_sink(ConsoleSink(tz=settings.timezone, chart_dir=settings.chart_dir, charts=app.chart_for_alert))
    hook = WebhookSink(
        settings.webhook_url.get(), app.store, settings, charts=app.chart_for_alert, clock=app.clock
    )
    app.add_sink(hook)

    async def summary(text: str) -> None:
        from bot.guild_summary import build_summary

        data = await app.store.read(build_summary, settings, app.clock.now(), None, settings.timezone)
        png = await app.renderer.render(data.dashboard_data())
        print(text, flush=True)
        await hook.post_summary(text, png)

    app.on_summary.append(summary)
    return app
