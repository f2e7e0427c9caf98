"""The Discord bot: a thin discord.py client around :class:`bot.runner.App`.

* One gateway intent, ``guilds`` (guilds, channels, roles): slash commands and buttons arrive
  as interactions, which need none, and nothing reads messages.
* ``setup_hook`` starts the App (database owner thread, scheduler, pipeline, dispatcher) with
  the Discord channel sink (and the webhook sink when ``DISCORD_WEBHOOK_URL`` is set), the
  subscription router, the persistent alert buttons, the quiet-hours release job and one
  daily-summary job per guild (cron in the guild's timezone, DST-correct).
* ``close`` stops the App first (no delivery is cut in half), then the client.

``flowwatch run`` calls :func:`run_discord` when ``DISCORD_TOKEN`` is set;
``flowwatch sync-commands`` uses :func:`command_payload` / :func:`sync_commands`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import aiohttp
import discord
import httpx
from apscheduler.triggers.cron import CronTrigger

from bot import guild_config
from bot.clock import Clock, SystemClock
from bot.commands import build_commands
from bot.commands._common import Cooldowns, FlowwatchTree
from bot.config import Settings
from bot.discord_embeds import summary_embed
from bot.discord_views import AlertButton
from bot.guild_summary import build_summary
from bot.pacing import ChannelPacer
from bot.routing import SubscriptionRouter
from bot.runner import STOP_SIGNALS, App
from bot.sinks.discord_base import ChartFn, DiscordDeliveryError, batch_nonce
from bot.sinks.discord_channel import ChannelSink
from bot.sinks.webhook import WebhookSink

log = logging.getLogger("flowwatch.discord")

# flowwatch never joins voice: skip discord.py's start-up warnings about voice libraries.
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False

#: What the invite asks for: see the channels, post, embed, attach the chart.
INVITE_PERMISSIONS = discord.Permissions(
    view_channel=True, send_messages=True, embed_links=True, attach_files=True
)
INVITE_SCOPES = ("bot", "applications.commands")
SUMMARY_JOB_PREFIX = "guild-summary:"
#: seconds between attempts to reach Discord at start-up (then every 5 minutes)
CONNECT_BACKOFF = (5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 300.0)


def bot_intents() -> discord.Intents:
    """The guilds intent only (no privileged one: slash commands and buttons need none).

    Not ``Intents.default()``: its ``guild_messages`` has Discord send the bot a MESSAGE_CREATE
    for every message in every channel it can see, its own posts included, each decompressed,
    parsed into a ``discord.Message`` and dispatched on the event loop for nothing (nothing here
    reads messages). One alert to 1,000 channels came back as 1,000 such events, work a ``/vix``
    answered meanwhile waited behind (``bench``: ``fanout.slash.p95``)."""
    intents = discord.Intents.none()
    intents.guilds = True
    return intents


def build_tree(client: discord.Client) -> FlowwatchTree:
    tree = FlowwatchTree(client)
    for cmd in build_commands():
        tree.add_command(cmd)
    return tree


def command_payload() -> list[dict[str, Any]]:
    """Exactly the JSON list ``sync-commands`` PUTs to Discord (no token, no network)."""
    client = discord.Client(intents=bot_intents())
    tree = build_tree(client)
    return [cmd.to_dict(tree) for cmd in tree.get_commands()]


def summary_trigger(schedule: guild_config.SummarySchedule) -> CronTrigger:
    """A daily cron in the guild's own timezone (DST-correct: 08:30 stays 08:30 local)."""
    return CronTrigger(hour=schedule.at.hour, minute=schedule.at.minute, timezone=schedule.tz)


def invite_url(application_id: int) -> str:
    return discord.utils.oauth_url(application_id, permissions=INVITE_PERMISSIONS, scopes=INVITE_SCOPES)


class FlowwatchBot(discord.AutoShardedClient):
    """The bot. Sharded when Discord requires it (from 2,500 guilds): discord.py asks the gateway
    for the recommended shard count at login and runs that many connections in this process."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        http_client: httpx.AsyncClient | None = None,
        initial_poll: bool = True,
        schedule: bool = True,
        pacer: ChannelPacer | None = None,
        charts: ChartFn | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        report_stream: Any = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        **options: Any,
    ) -> None:
        options.setdefault("max_ratelimit_timeout", 30.0)
        super().__init__(intents=bot_intents(), allowed_mentions=discord.AllowedMentions.none(), **options)
        self.settings = settings
        self.clock = clock or SystemClock()
        self.tree = build_tree(self)
        self.cooldowns = Cooldowns(settings.chart_cooldown, monotonic)
        self.app: App | None = None
        self.sink: ChannelSink | None = None
        self.webhook_sink: WebhookSink | None = None
        self._http_client = http_client
        self._initial_poll = initial_poll
        self._schedule = schedule
        self._pacer = pacer or ChannelPacer()
        self._charts = charts
        self._stopped = False
        self._frozen = False
        self._report_stream = report_stream  # where the start-up report goes (None: nowhere)
        self._sleep = sleep  # the sources' backoff sleep (None: asyncio.sleep)

    def now(self) -> datetime:
        return self.clock.now()

    # -- lifecycle ----------------------------------------------------------------------------

    async def setup_hook(self) -> None:
        """Discord answered the login: start the app (unless it already runs without Discord),
        then what needs Discord (buttons, the servers' summaries, quiet-hours releases)."""
        self.add_dynamic_items(AlertButton)
        if self.app is None:
            await self._start_app()
        else:
            log.info("reached Discord: channel alerts held meanwhile go out now")
            self.app.dispatcher.kick()
        app = self.app
        assert app is not None
        if app.scheduler is not None and app.scheduler.get_job("quiet-release") is None:
            app.scheduler.add_job(
                self.release_quiet,
                "interval",
                minutes=1,
                id="quiet-release",
                name="release quiet-hours digests",
            )
        await self.reschedule_summaries()
        await self.release_quiet()

    async def start_without_discord(self, reason: str) -> None:
        """Discord cannot be reached at start (an outage, DNS, no network): the app starts anyway
        (polls, evaluations, the webhook), channel deliveries wait in the outbox, and the start-up
        report says so; :meth:`setup_hook` completes the start once the login goes through."""
        if self.app is not None:
            return
        webhook = ", and alerts go to the webhook" if self.settings.webhook_url else ""
        note = (
            f"DISCORD IS UNREACHABLE ({reason}): retrying in the background (5 s, 10 s, 20 s ... then every "
            f"5 min). Polls and evaluations run meanwhile{webhook}; channel alerts wait in the outbox and go "
            "out once Discord answers. Check this machine's network (DNS, proxy, firewall) and "
            "https://discordstatus.com."
        )
        await self._start_app(notes=[note])

    async def _start_app(self, notes: Sequence[str] = ()) -> None:
        settings = self.settings
        webhook_url = settings.webhook_url.get() if settings.webhook_url else None
        router = SubscriptionRouter(settings, self.clock, webhook=bool(webhook_url))
        app = App(
            settings,
            clock=self.clock,
            client=self._http_client,
            sinks=[],
            router=router,
            mode="discord",
            sleep=self._sleep,
        )
        charts = self._charts or app.chart_for_alert
        self.sink = ChannelSink(self, app.store, settings, charts=charts, clock=self.clock, pacer=self._pacer)
        app.add_sink(self.sink)
        if webhook_url:
            from bot.sinks.webhook import message_finder
            from bot.webhook_url import parse_webhook_url

            self.webhook_sink = WebhookSink(
                webhook_url,
                app.store,
                settings,
                charts=charts,
                clock=self.clock,
                pacer=self._pacer,
                finder=message_finder(self, parse_webhook_url(webhook_url).id),
            )
            app.add_sink(self.webhook_sink)
            app.on_summary.append(self._webhook_summary)
        self.app = app
        app.report_stream = self._report_stream
        app.report_notes.extend(notes)
        await app.start(schedule=self._schedule, initial_poll=self._initial_poll)

    async def on_ready(self) -> None:
        if not self._frozen:
            # Move everything built at start-up (modules, caches, pandas/matplotlib internals)
            # out of the cyclic collector's sight: full collections otherwise pause the loop for
            # 200-300 ms in the middle of slash commands (measured with bench/slash.py).
            self._frozen = True
            gc.collect()
            gc.freeze()
        user = self.user
        log.info(
            "connected to Discord as %s in %d server(s); invite: %s",
            user,
            len(self.guilds),
            invite_url(self.application_id or (user.id if user else 0)),
        )

    async def close(self) -> None:
        if self.app is not None and not self._stopped:
            self._stopped = True
            await self.app.stop()
        await super().close()

    # -- jobs -----------------------------------------------------------------------------------

    async def release_quiet(self) -> int:
        """Post the quiet-hours digests that are due (runs every minute and at start)."""
        if self.sink is None:
            return 0
        try:
            return await self.sink.release_held()
        except Exception:
            log.exception("releasing quiet-hours digests failed")
            return 0

    async def reschedule_summaries(self) -> dict[int, datetime]:
        """(Re)build one cron job per guild summary schedule; returns each guild's next run."""
        assert self.app is not None
        # a read: on a read-only connection, so no alert write waits behind it (the schedule a
        # command just set is committed on the owner thread before this runs, and WAL shows it)
        schedules = await self.app.store.read(guild_config.all_summary_schedules)
        now = self.now()
        nxt: dict[int, datetime] = {}
        sched = self.app.scheduler
        if sched is not None:
            for job in sched.get_jobs():
                if (
                    job.id.startswith(SUMMARY_JOB_PREFIX)
                    and int(job.id[len(SUMMARY_JOB_PREFIX) :]) not in schedules
                ):
                    job.remove()
        for gid, s in schedules.items():
            trigger = summary_trigger(s)
            when = trigger.get_next_fire_time(None, now)
            if when is not None:
                nxt[gid] = when
            if sched is not None:
                sched.add_job(
                    self.post_guild_summary,
                    trigger,
                    args=[gid],
                    id=f"{SUMMARY_JOB_PREFIX}{gid}",
                    name=f"daily summary of guild {gid} at {s.describe()}",
                    replace_existing=True,
                )
        return nxt

    async def summary_message(self, guild_id: int | None) -> tuple[discord.Embed, discord.File]:
        """The daily summary's embed and dashboard image for ``guild_id`` (now)."""
        assert self.app is not None
        # a read behind /summary now: on a read-only connection, never the owner thread
        sched = await self.app.store.read(guild_config.summary_schedule, guild_id) if guild_id else None
        tz = sched.tz if sched else self.settings.timezone
        summary = await self.app.store.read(build_summary, self.settings, self.now(), guild_id, tz)
        png = await self.app.renderer.render(summary.dashboard_data())
        return summary_embed(summary, "dashboard.png"), discord.File(
            io.BytesIO(png), filename="dashboard.png"
        )

    async def post_guild_summary(self, guild_id: int) -> str | None:
        """The scheduled daily summary of one guild; returns the message id."""
        assert self.app is not None and self.sink is not None
        # read beside the owner thread, like /summary now: an alert's write never waits behind it
        sched = await self.app.store.read(guild_config.summary_schedule, guild_id)
        if sched is None:
            return None
        embed, file = await self.summary_message(guild_id)
        day = self.now().astimezone(sched.tz).date().toordinal()
        channel = self.get_partial_messageable(sched.channel_id, type=discord.ChannelType.text)
        slot = await self.sink.pacer.acquire(
            f"discord:{sched.channel_id}"
        )  # a scheduled job may wait its turn
        try:
            msg = await self.sink.guard(
                channel.send(embed=embed, file=file, nonce=batch_nonce("sum", [guild_id, day]))
            )
        except DiscordDeliveryError as exc:
            log.warning("daily summary of guild %s to channel %s failed: %s", guild_id, sched.channel_id, exc)
            return None
        finally:
            self.sink.pacer.finish(slot)
        log.info("posted the daily summary of guild %s", guild_id)
        return str(msg.id)

    async def _webhook_summary(self, text: str) -> None:
        if self.webhook_sink is None or self.app is None:
            return
        summary = await self.app.store.read(
            build_summary, self.settings, self.now(), None, self.settings.timezone
        )
        png = await self.app.renderer.render(summary.dashboard_data())
        await self.webhook_sink.post_summary(text, png)


async def login_with_retry(
    bot: discord.Client, token: str, sleep: Callable[[float], Awaitable[bool]] | None = None
) -> bool:
    """Log in, retrying with backoff while Discord cannot be reached (no network, DNS, a Discord
    outage): one WARNING for the outage, the retries at DEBUG, one INFO when it answers.

    ``sleep(delay)`` waits and returns True when the bot should stop instead (Ctrl-C). A refused
    token (:class:`discord.LoginFailure`) is not retried. Returns False when stopped first.
    """
    sleep = sleep or _plain_sleep
    attempt = 0
    while True:
        try:
            await bot.login(token)
        except (aiohttp.ClientError, OSError, TimeoutError, discord.DiscordServerError) as exc:
            delay = CONNECT_BACKOFF[min(attempt, len(CONNECT_BACKOFF) - 1)]
            attempt += 1
            reason = str(exc) or type(exc).__name__
            if attempt == 1:
                log.warning(
                    "cannot reach Discord (%s); retrying in 5 s, 10 s, 20 s ... then every 5 min until it "
                    "answers (Ctrl-C to stop)",
                    reason,
                )
                if isinstance(bot, FlowwatchBot):
                    await bot.start_without_discord(reason)  # polls and the other sinks go on meanwhile
            else:
                log.debug(
                    "Discord still unreachable (%s); attempt %d, next in %.0f s", reason, attempt, delay
                )
            with contextlib.suppress(Exception):
                await bot.http.close()  # the failed attempt's session; the next login makes a new one
            bot.http.connector = discord.utils.MISSING
            if await sleep(delay):
                return False
            continue
        if attempt:
            log.info("reached Discord after %d attempt(s)", attempt + 1)
        return True


async def _plain_sleep(delay: float) -> bool:
    await asyncio.sleep(delay)
    return False


async def sync_commands(settings: Settings, guild_id: int | None = None) -> list[str]:
    """Register the commands: in one guild (instant, for testing) or globally."""
    if not settings.discord_token:
        raise ValueError("DISCORD_TOKEN is not set")
    client = discord.Client(intents=bot_intents())
    tree = build_tree(client)
    async with client:
        await client.login(settings.discord_token.get())
        if guild_id is not None:
            guild = discord.Object(guild_id)
            tree.copy_global_to(guild=guild)
            cmds = await tree.sync(guild=guild)
        else:
            cmds = await tree.sync()
    return [c.name for c in cmds]


def run_discord(settings: Settings, initial_poll: bool = True) -> int:
    """``flowwatch run`` with a token: the bot until SIGINT/SIGTERM, then a clean shutdown."""
    from bot.cli import CliError

    assert settings.discord_token is not None
    token = settings.discord_token.get()

    async def main() -> None:
        bot = FlowwatchBot(settings, initial_poll=initial_poll, report_stream=sys.stdout)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)

        async def stop_or(delay: float) -> bool:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            return stop.is_set()

        async def start() -> None:
            if await login_with_retry(bot, token, stop_or):
                await bot.connect(reconnect=True)

        async with bot:
            runner = asyncio.create_task(start(), name="discord")
            stopper = asyncio.create_task(stop.wait(), name="stop")
            done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
            log.info("shutting down")
            await bot.close()
            stopper.cancel()
            if runner in done:
                runner.result()
            else:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(runner, timeout=10)

    print(f"flowwatch: Discord bot; database {settings.db_path}; Ctrl-C to stop", file=sys.stderr)
    try:
        asyncio.run(main())
    except discord.LoginFailure:
        raise CliError(
            "Discord rejected DISCORD_TOKEN (401 Unauthorized): copy the token again from the Developer "
            "Portal (Bot tab, Reset Token)",
            code=2,
        ) from None
    except discord.PrivilegedIntentsRequired:
        raise CliError(
            "Discord refused the gateway intents; flowwatch needs no privileged intents", code=2
        ) from None
    return 0
