"""``flowwatch test-alert [--signal S]``: one clearly marked test alert through every configured
sink, and what each one answered (the "Test" button of alerting tools).

The alert is built from the signal's latest stored reading (its real figures and chart), or, on a
fresh install without data, from the signal's built-in demo scenario. It is never written to the
outbox or the alert history, never pings a role, and says on its face that it is a test.

Sinks: the console (always), ``DISCORD_WEBHOOK_URL`` when set, and with ``DISCORD_TOKEN`` every
channel subscribed to the signal (a REST login; the gateway is not needed). A sink that refuses
(403, 404, a deleted webhook, no network) is reported with Discord's own answer.
"""

from __future__ import annotations

import asyncio
import io
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import aiohttp
import discord
from sqlite_utils import Database

from bot.alert_text import alert_chart
from bot.charts import render_png
from bot.config import Settings
from bot.discord_embeds import alert_embed, chart_filename
from bot.formatting import event_line
from bot.queries import chart_data
from signals import get_signal
from signals.base import Level, Reading
from signals.contract import alert_chart_days_of, latest_of
from storage.alerts import AlertEvent, StoredAlert
from storage.timeutil import from_epoch, to_epoch

TEST_MARK = "🧪 TEST"
TEST_NOTE = "This is a test alert from `flowwatch test-alert`, not a market signal: no action needed."


@dataclass(frozen=True)
class SinkAnswer:
    sink: str
    ok: bool
    answer: str


@dataclass
class TestAlert:
    event: StoredAlert
    png: bytes | None
    #: where the figures came from: "stored data as of …" or "the built-in demo scenario"
    origin: str


def _event_from_reading(r: Reading) -> StoredAlert:
    level = r.level
    ts = to_epoch(r.ts)
    return StoredAlert(
        signal=r.signal,
        key=r.key,
        event="fired",
        level=level.label,
        prev_level="ok",
        ts=ts,
        summary=f"TEST: {r.summary}",
        value=r.value,
        fields=dict(r.fields),
        data=dict(r.data),
        source=r.source,
        as_of=ts,
        episode=None,
        kind="alert",
        id=0,
        scope="test",
        created_at=ts,
    )


def build_test_alert(db: Database, settings: Settings, signal_id: str, now: datetime) -> TestAlert | None:
    """The test alert from stored data (the signal's most urgent current reading, when it is above
    OK), or None."""
    sig = get_signal(signal_id)
    from bot.pipeline import load_signal_inputs

    params = settings.signal_params(signal_id)
    readings = latest_of(sig, load_signal_inputs(db, sig, now), params, now)
    if not readings:
        return None
    r = max(readings, key=lambda x: (x.level, x.ts))
    if r.level == Level.OK:
        return None  # a calm reading makes a poor picture of an alert: the demo's shows one
    ev = _event_from_reading(r)
    days = min(alert_chart_days_of(sig), 365)
    try:
        png: bytes | None = render_png(
            alert_chart(chart_data(db, settings, signal_id, r.ts + timedelta(seconds=1), days), ev)
        )
    except Exception:  # a chart must never stop the test
        png = None
    return TestAlert(ev, png, f"stored data as of {r.ts:%Y-%m-%d %H:%M} UTC")


def why_not_stored(db: Database, settings: Settings, signal_id: str, now: datetime) -> str:
    """Why stored data gave no test alert: the readings are calm, or stale (with their age: data a
    year old is not "calm"), or there is no current reading at all (and why)."""
    from bot.queries import status

    keys = status(db, settings, now, signal_id, running=False)
    current = [k for k in keys if k.reading is not None]
    if not current:
        why = next((k.why_empty for k in keys if k.why_empty), None)
        return f"no current reading: {why}" if why else "no current reading"
    fresh = [k for k in current if not k.stale]
    if not fresh:
        from storage.timeutil import human_duration

        newest = max(current, key=lambda k: k.reading.ts if k.reading else now)
        assert newest.reading is not None
        age = human_duration((now - newest.reading.ts).total_seconds())
        return (
            f"the stored data is stale, {age} old (latest reading {newest.reading.ts:%Y-%m-%d}), so there "
            f"is no current reading: {newest.stale}"
        )
    return "the current reading is calm"


def demo_test_alert(
    settings: Settings, signal_id: str, why: str = "no stored data for this signal yet"
) -> TestAlert:
    """The test alert from the signal's built-in scenario: its most severe fired event."""
    from bot.demo import START
    from bot.replay import run_replay
    from storage import batches
    from storage.db import open_db

    sig = get_signal(signal_id)
    events: list[AlertEvent] = []
    with tempfile.TemporaryDirectory(prefix="flowwatch-test-alert-") as tmp:
        db = open_db(Path(tmp) / "demo.db")
        try:
            batches.write(db, sig.demo(START).batch(), live=False)
            run_replay(
                db,
                [sig],
                {sig.id: settings.signal_params(sig.id)},
                START,
                None,
                emit=lambda _id, ev: events.append(ev),
                resume=False,
            )
            firing = [e for e in events if e.event in ("fired", "escalated")]
            if not firing:
                raise ValueError(f"the {signal_id} demo scenario fires no alert")
            best = max(firing, key=lambda e: (Level.parse(e.level), -e.ts))
            ev = StoredAlert(
                **{
                    **vars(best),
                    "event": "fired",
                    "prev_level": "ok",
                    "summary": f"TEST: {best.summary}",
                    "episode": None,
                    "id": 0,
                    "scope": "test",
                    "created_at": best.ts,
                }
            )
            at = from_epoch(ev.ts) + timedelta(seconds=1)
            png = render_png(
                alert_chart(
                    chart_data(
                        db, settings, signal_id, at, min(120, alert_chart_days_of(sig)), marks_scope="replay"
                    ),
                    ev,
                )
            )
        finally:
            db.close()
    return TestAlert(ev, png, f"the built-in demo scenario ({why})")


def test_embed(alert: StoredAlert, png: bytes | None) -> discord.Embed:
    embed = alert_embed(alert, image=chart_filename(alert) if png else None)
    embed.title = f"{TEST_MARK} · {embed.title or ''}"[:256]
    embed.description = f"**{TEST_NOTE}**\n{embed.description or ''}"[:4096]
    embed.colour = discord.Colour(0x5865F2)  # never a level's colour: it is not a market alert
    embed.set_footer(text=f"flowwatch test alert · {alert.signal}/{alert.key}")
    return embed


def _file(alert: StoredAlert, png: bytes | None) -> discord.File | None:
    return discord.File(io.BytesIO(png), filename=chart_filename(alert)) if png else None


def _refusal(exc: BaseException) -> str:
    from bot.sinks.discord_base import as_delivery_error

    mapped = as_delivery_error(exc, 30.0)
    return str(mapped) if mapped is not None else f"{type(exc).__name__}: {exc}"


async def send_webhook(url: str, alert: StoredAlert, png: bytes | None, wait_s: float = 30.0) -> SinkAnswer:
    """Post through the very client ``flowwatch run`` uses (:class:`bot.sinks.webhook.WebhookClient`):
    one request, no retry of its own, the answer sorted the same way. (discord.py's webhook client
    crashed on a 200 that is not JSON and repeated a POST up to five times after a 500.)"""
    from bot.sinks import DeliveryError
    from bot.sinks.webhook import WebhookClient

    try:
        client = WebhookClient(url, wait_s)  # every form Discord hands out, /api/v10/ included
    except ValueError as exc:
        return SinkAnswer("webhook", False, str(exc))
    filename = chart_filename(alert) if png else None
    try:
        answer = await client.post_answer(test_embed(alert, png), png=png, filename=filename)
    except DeliveryError as exc:
        if exc.ambiguous:
            return SinkAnswer(
                "webhook",
                False,
                f"{exc}: the message may or may not have been posted (look in the channel); "
                "not sent again, as flowwatch run would not",
            )
        retry = " (flowwatch run would retry this)" if exc.transient else ""
        return SinkAnswer("webhook", False, f"{exc}{retry}")
    finally:
        await client.close()
    if answer is None or not answer.get("id"):
        ok, chart = chart_report(alert, png, None)
        return SinkAnswer(
            "webhook", ok, f"posted (the answer was not JSON: the message id is unknown); {chart}"
        )
    names = [str(a.get("filename")) for a in answer.get("attachments") or [] if isinstance(a, dict)]
    ok, chart = chart_report(alert, png, names)
    return SinkAnswer("webhook", ok, f"posted message {answer['id']}; {chart}")


def chart_report(alert: StoredAlert, png: bytes | None, attached: list[str] | None) -> tuple[bool, str]:
    """What became of the chart in a Discord message, from Discord's answer (``attached``: the file
    names of the posted message's attachments; None when the answer did not say)."""
    if not png:
        return True, "no chart (none could be rendered)"
    name = chart_filename(alert)
    if attached is None:
        return True, f"chart sent as {name} (the answer does not say whether it was kept)"
    if name in attached:
        return True, f"chart attached ({name})"
    return False, f"the chart {name} was sent but the posted message has no such attachment"


async def send_channels(
    token: str, channels: list[tuple[int, int]], alert: StoredAlert, png: bytes | None
) -> list[SinkAnswer]:
    """Post to each ``(guild_id, channel_id)`` through a REST login of the bot."""
    from bot.discord_client import bot_intents

    out: list[SinkAnswer] = []
    client = discord.Client(intents=bot_intents(), allowed_mentions=discord.AllowedMentions.none())
    async with client:
        try:
            await client.login(token)
        except discord.LoginFailure:
            return [SinkAnswer("bot", False, "Discord rejected DISCORD_TOKEN (401 Unauthorized)")]
        except (discord.DiscordException, aiohttp.ClientError, OSError, TimeoutError) as exc:
            return [SinkAnswer("bot", False, f"cannot reach Discord: {_refusal(exc)}")]
        for guild_id, channel_id in channels:
            name = f"channel {channel_id} (server {guild_id})"
            ch = client.get_partial_messageable(channel_id, type=discord.ChannelType.text)
            kwargs: dict[str, Any] = {"file": f} if (f := _file(alert, png)) else {}
            try:
                async with asyncio.timeout(30):
                    msg = await ch.send(embed=test_embed(alert, png), **kwargs)
                ok, chart = chart_report(alert, png, [a.filename for a in msg.attachments])
                out.append(SinkAnswer(name, ok, f"posted message {msg.id}; {chart}"))
            except (discord.DiscordException, aiohttp.ClientError, OSError, TimeoutError) as exc:
                out.append(SinkAnswer(name, False, _refusal(exc)))
    return out


def subscribed_channels(db: Database, signal_id: str) -> list[tuple[int, int]]:
    from storage.subscriptions import list_subscriptions

    subs = list_subscriptions(db, signal=signal_id, enabled_only=True)
    return sorted({(s.guild_id, s.channel_id) for s in subs})


async def run_test_alert(
    settings: Settings,
    db: Database,
    signal_id: str,
    now: datetime,
    stream: TextIO,
    report: Callable[[str], None],
) -> list[SinkAnswer]:
    """Build the test alert, send it through every configured sink, report each answer."""
    from bot.cli import _has_data

    test = build_test_alert(db, settings, signal_id, now)
    if test is None:
        why = "no stored data yet"
        if _has_data(db, get_signal(signal_id)):
            why = why_not_stored(db, settings, signal_id, now)
        test = demo_test_alert(settings, signal_id, why)
    alert = test.event
    # what each sink did with the chart is its own answer below: the console shows none
    report(
        f"test alert for {signal_id} from {test.origin}; "
        + ("chart rendered" if test.png else "no chart (none could be rendered)")
    )
    answers: list[SinkAnswer] = []
    try:
        suffix = ""
        if not test.png:
            chart = "no chart (none could be rendered)"
        elif settings.chart_dir is None:
            chart = "chart rendered, not shown: set FLOWWATCH_CHART_DIR to save it"
        else:  # as the console sink of flowwatch run does
            settings.chart_dir.mkdir(parents=True, exist_ok=True)
            path = settings.chart_dir / f"test-{alert.signal}-{alert.key}.png"
            path.write_bytes(test.png)
            suffix, chart = f"  [chart: {path}]", f"chart saved to {path}"
        stream.write(f"{TEST_MARK} (not a market signal)  {event_line(alert, settings.timezone)}{suffix}\n")
        stream.flush()
        answers.append(SinkAnswer("console", True, f"printed on stdout; {chart}"))
    except (OSError, ValueError) as exc:
        answers.append(SinkAnswer("console", False, str(exc)))
    if settings.webhook_url:
        answers.append(await send_webhook(settings.webhook_url.get(), alert, test.png))
    if settings.discord_token:
        channels = subscribed_channels(db, signal_id)
        if channels:
            answers += await send_channels(settings.discord_token.get(), channels, alert, test.png)
        else:
            answers.append(
                SinkAnswer(
                    "bot", False, f"no channel is subscribed to {signal_id}: /alerts subscribe in your server"
                )
            )
    return answers
