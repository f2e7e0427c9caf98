"""Who hears an event: subscriptions, minimum levels, guild snoozes, guild thresholds, quiet hours.

:class:`SubscriptionRouter` is the engine's :data:`bot.engine.Router`: it runs on the database
thread inside the transaction that writes the event, so the deliveries it returns are stored
atomically with the event. Discord-free; the Discord sink reads the same rules back with
:func:`plan` when it sends (which role to ping, how the guild grades the event).

Destinations:

* ``discord:<channel_id>`` — an alert channel of a subscription;
* ``discord-guild:<guild_id>`` — a guild's admin channel (or system channel): operational
  notices such as stale data go there, never to alert channels;
* ``webhook`` — the ``DISCORD_WEBHOOK_URL`` (alerts without a bot application);
* ``console`` — stdout.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.guild_config import QUIET, THRESHOLDS_PREFIX, QuietHours, guild_params, quiet_hours, regrade
from signals import registry
from signals.base import Level
from storage.alerts import AlertEvent
from storage.subscriptions import Subscription, list_subscriptions, subscriptions_of_channel
from storage.timeutil import to_epoch

CHANNEL_PREFIX = "discord:"
GUILD_PREFIX = "discord-guild:"
WEBHOOK = "webhook"
CONSOLE = "console"

#: Events that report the end (or easing) of an episode: they go to whoever saw it, never ping.
CLOSING_EVENTS = ("resolved", "deescalated")
#: Events that may ping a subscription's role when the guild grades them severe.
PINGING_EVENTS = ("fired", "escalated")


def channel_destination(channel_id: int) -> str:
    return f"{CHANNEL_PREFIX}{int(channel_id)}"


def guild_destination(guild_id: int) -> str:
    return f"{GUILD_PREFIX}{int(guild_id)}"


def destination_id(destination: str) -> int | None:
    """The channel or guild id in a ``discord:`` / ``discord-guild:`` destination."""
    for prefix in (GUILD_PREFIX, CHANNEL_PREFIX):
        if destination.startswith(prefix):
            tail = destination[len(prefix) :]
            return int(tail) if tail.isdigit() else None
    return None


def guild_level(db: Database, settings: Settings, guild_id: int, ev: AlertEvent) -> Level:
    """How ``guild_id`` grades a global event (its own thresholds re-grade the value)."""
    if ev.kind != "alert" or ev.event in CLOSING_EVENTS:
        return Level.parse(ev.level)
    sig = registry().get(ev.signal)
    if sig is None:
        return Level.parse(ev.level)
    return regrade(sig, ev.key, ev.value, ev.data, ev.level, guild_params(db, settings, guild_id, ev.signal))


def decide(db: Database, settings: Settings, sub: Subscription, ev: AlertEvent, now: int) -> str | None:
    """``"send"``, ``"hold"`` (quiet hours) or ``None`` (not for this subscription)."""
    return _EventRules(db, settings, ev, now).decide(sub)


class _EventRules:
    """The routing rules of one event, read once for every subscription it is checked against.

    At 1,000 subscribed channels the per-subscription reads (snooze, grading, quiet hours,
    episode seen) cost 2.2 ms a delivery; here they are a handful of indexed queries per event.
    """

    def __init__(self, db: Database, settings: Settings, ev: AlertEvent, now: int) -> None:
        from storage import guild_settings

        self.db, self.settings, self.ev, self.now = db, settings, ev, now
        self.snoozed = {
            int(g)
            for (g,) in db.execute(
                "SELECT guild_id FROM guild_snoozes WHERE signal = ? AND until > ?", [ev.signal, now]
            ).fetchall()
        }
        self.seen: set[str] = set()
        if ev.event in CLOSING_EVENTS and ev.episode:
            self.seen = {
                str(d)
                for (d,) in db.execute(
                    "SELECT DISTINCT d.destination FROM deliveries d JOIN alerts a ON a.id = d.alert_id "
                    "WHERE a.episode = ? AND d.status IN ('pending', 'sent', 'held', 'unsure')",
                    [ev.episode],
                ).fetchall()
            }
        self.overridden = set(guild_settings.guilds_with(db, THRESHOLDS_PREFIX + ev.signal))
        self.quiet_raw = guild_settings.guilds_with(db, QUIET)
        self._levels: dict[int, Level] = {}
        self._quiet: dict[int, QuietHours | None] = {}

    def level(self, guild_id: int) -> Level:
        if guild_id not in self.overridden:
            return Level.parse(self.ev.level)
        if guild_id not in self._levels:
            self._levels[guild_id] = guild_level(self.db, self.settings, guild_id, self.ev)
        return self._levels[guild_id]

    def quiet(self, guild_id: int) -> QuietHours | None:
        if guild_id not in self.quiet_raw:
            return None
        if guild_id not in self._quiet:
            self._quiet[guild_id] = quiet_hours(self.db, guild_id)
        return self._quiet[guild_id]

    def decide(self, sub: Subscription) -> str | None:
        ev = self.ev
        dest = channel_destination(sub.channel_id)
        if sub.guild_id in self.snoozed:
            return None
        if ev.event in CLOSING_EVENTS:
            # A channel that saw the episode hears how it eases and ends; others never do.
            if not ev.episode or dest not in self.seen:
                return None
            level = Level.parse(ev.level)
        else:
            level = self.level(sub.guild_id)
            if level == Level.OK or level < Level.parse(sub.min_level):
                return None
        quiet = self.quiet(sub.guild_id)
        if quiet is not None and level < Level.SEVERE:
            from storage.timeutil import from_epoch

            if quiet.active(from_epoch(self.now)):
                return "hold"
        return "send"


class SubscriptionRouter:
    """The live router: fans an event out to subscribed channels, the webhook and the console."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock | None = None,
        *,
        discord: bool = True,
        webhook: bool = False,
        console: bool = False,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.discord = discord
        self.webhook = webhook
        self.console = console

    def __call__(self, db: Database, scope: str, ev: AlertEvent) -> tuple[list[str], list[str]]:
        dests: list[str] = []
        held: list[str] = []
        # the console and the webhook have their own signal and level filters (bot.sink_filters)
        if self.console and self.settings.sink_filter("console").wants(db, CONSOLE, ev):
            dests.append(CONSOLE)
        if self.webhook and self.settings.sink_filter("webhook").wants(db, WEBHOOK, ev):
            dests.append(WEBHOOK)
        if not self.discord or scope != "live":
            return dests, held
        subs = list_subscriptions(db, signal=ev.signal, enabled_only=True)
        if ev.kind != "alert":
            # Operational notices go to each subscribed guild's admin channel, once per guild.
            for gid in sorted({s.guild_id for s in subs}):
                dests.append(guild_destination(gid))
            return dests, held
        rules = _EventRules(db, self.settings, ev, to_epoch(self.clock.now()))
        for sub in subs:
            what = rules.decide(sub)
            if what == "send":
                dests.append(channel_destination(sub.channel_id))
            elif what == "hold":
                held.append(channel_destination(sub.channel_id))
        return dests, held


@dataclass(frozen=True)
class Plan:
    """What the sink needs to know about one delivery to a channel."""

    guild_id: int | None
    role_id: int | None  # the role to ping, or None
    level: Level  # the guild's grading of the event
    regraded: bool  # the guild's thresholds graded it differently from the global level


def plan(db: Database, settings: Settings, destination: str, alert: AlertEvent) -> Plan:
    """Recompute, at send time, the ping and grading rules for ``destination``."""
    global_level = Level.parse(alert.level)
    if not destination.startswith(CHANNEL_PREFIX):
        return Plan(None, None, global_level, False)
    channel_id = destination_id(destination)
    subs = subscriptions_of_channel(db, channel_id, alert.signal) if channel_id is not None else []
    if not subs:
        return Plan(None, None, global_level, False)
    sub = subs[0]
    level = guild_level(db, settings, sub.guild_id, alert)
    ping = (
        sub.role_id is not None
        and alert.kind == "alert"
        and alert.event in PINGING_EVENTS
        and level == Level.SEVERE
    )
    return Plan(sub.guild_id, sub.role_id if ping else None, level, level != global_level)


def guild_of_channel(db: Database, channel_id: int) -> int | None:
    row = db.execute(
        "SELECT guild_id FROM subscriptions WHERE channel_id = ? LIMIT 1", [channel_id]
    ).fetchone()
    return None if row is None else int(row[0])
