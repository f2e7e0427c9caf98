"""Discord embeds for alerts, digests, notices, status, history and the daily summary.

Pure functions from our data to :class:`discord.Embed`; Discord's size limits are enforced
here (title 256, description 4096, field 1024, 25 fields, 6000 in total).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import discord

from bot.formatting import fmt_amount, level_word
from bot.queries import KeyStatus
from signals import registry
from signals.base import Level
from storage.alerts import AlertEvent, StoredAlert
from storage.guild_state import Ack

if TYPE_CHECKING:
    from bot.guild_summary import GuildSummary

LEVEL_COLOURS = {"ok": 0x2E7D32, "watch": 0xF9A825, "alert": 0xEF6C00, "severe": 0xC62828}
LEVEL_EMOJI = {"ok": "🟢", "watch": "🟡", "alert": "🟠", "severe": "🔴"}
NOTICE_COLOUR = 0x607D8B
MAX_FIELDS = 25
MAX_TOTAL = 5800  # under Discord's 6000, leaving room for the footer


def clip(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def ts_tag(ts: int | float | datetime, style: str = "R") -> str:
    """Discord's timestamp markup: each reader sees it in their own timezone."""
    t = int(ts.timestamp()) if isinstance(ts, datetime) else int(ts)
    return f"<t:{t}:{style}>"


_UTC_TIME = re.compile(r"\b(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2})(?::\d{2})? ?(?:UTC|Z)\b")


def discord_times(text: str) -> str:
    """A time the signals wrote in UTC ("was due 2025-11-28 21:30 UTC", for the console and the
    logs) as a Discord timestamp, which each reader sees in their own zone; dates stay dates."""

    def tag(m: re.Match[str]) -> str:
        at = datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}").replace(tzinfo=UTC)
        return ts_tag(at, "f")

    return _UTC_TIME.sub(tag, text)


def signal_title(signal_id: str) -> str:
    sig = registry().get(signal_id)
    return sig.title if sig else signal_id


def chart_filename(alert: AlertEvent) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in f"{alert.signal}-{alert.key}")
    return f"{safe}.png"


def level_colour(level: str) -> int:
    return LEVEL_COLOURS.get(level, NOTICE_COLOUR)


def _add_field(embed: discord.Embed, name: str, value: str, inline: bool = True) -> None:
    if len(embed.fields) >= MAX_FIELDS or not value.strip() or not name.strip():
        return
    if len(embed) + len(name) + len(value) > MAX_TOTAL:
        return
    embed.add_field(name=clip(name, 256), value=clip(value, 1024), inline=inline)


def alert_embed(
    alert: StoredAlert,
    *,
    image: str | None = None,
    grade: Level | None = None,
    ack: Ack | None = None,
) -> discord.Embed:
    """One alert event: the headline with its number and level in words, the level's colour, one
    first line, what the move usually means, the figures, the as-of time (a Discord timestamp, so
    each reader sees their own time zone), the source, and the chart."""
    from bot.alert_text import present

    colour_level = "ok" if alert.event == "resolved" else alert.level
    as_of = alert.as_of or alert.ts
    text = present(alert, lambda t: ts_tag(t, "f"))
    lines = [text.first_line]
    if text.pending:
        lines.append(f"⏳ {text.pending}")
    if text.meaning:
        lines.append(f"*{text.meaning}*")
    embed = discord.Embed(
        title=clip(f"{LEVEL_EMOJI.get(colour_level, '')} {text.title}".strip(), 256),
        description=clip("\n".join(x for x in lines if x), 4096),
        colour=level_colour(colour_level),
    )
    for label, value in list(text.fields.items())[:18]:
        _add_field(embed, label, value)
    _add_field(embed, "As of", f"{ts_tag(as_of, 'f')} ({ts_tag(as_of)})")
    if alert.source:
        _add_field(embed, "Source", alert.source)
    if grade is not None and grade.label != alert.level and alert.event not in ("resolved", "deescalated"):
        _add_field(
            embed,
            "This server",
            f"{LEVEL_EMOJI.get(grade.label, '')} graded **{level_word(grade.label)}** by this server's thresholds",
            inline=False,
        )
    if ack is not None:
        _add_field(embed, "Acknowledged", f"by <@{ack.user_id}> {ts_tag(ack.acked_at)}", inline=False)
    if image:
        embed.set_image(url=f"attachment://{image}")
    embed.set_footer(text=f"flowwatch · {alert.signal}/{alert.key} · {alert.event} ({alert.level})")
    return embed


def with_ack(embed: discord.Embed, ack: Ack) -> discord.Embed:
    """A copy of a message's embed with the acknowledgement shown (replacing an older one)."""
    new = embed.copy()
    for i in reversed(range(len(new.fields))):
        if new.fields[i].name == "Acknowledged":
            new.remove_field(i)
    _add_field(new, "Acknowledged", f"by <@{ack.user_id}> {ts_tag(ack.acked_at)}", inline=False)
    return new


def event_line(alert: AlertEvent) -> str:
    """One event in a digest, the history or the summary: time, colour, headline."""
    from bot.alert_text import present

    emoji = LEVEL_EMOJI.get("ok" if alert.event == "resolved" else alert.level, "")
    if alert.kind != "alert":
        return f"{ts_tag(alert.ts, 'f')} ⚙️ notice · {clip(alert.summary, 160)}"
    head = present(alert, lambda t: ts_tag(t, "f")).title
    return f"{ts_tag(alert.ts, 'f')} {emoji} **{clip(head, 180)}**"


def digest_embed(kind: str, alerts: Sequence[StoredAlert], note: str = "") -> discord.Embed:
    """Several events in one message: an alert storm folded, or what quiet hours held back."""
    worst = max((Level.parse(a.level) for a in alerts if a.event != "resolved"), default=Level.OK)
    if kind == "quiet":
        head = f"While quiet hours were on{f' ({note})' if note else ''}: {len(alerts)} event(s)"
    else:
        head = f"Alert storm: {len(alerts)} event(s) folded into this message{f' ({note})' if note else ''}"
    lines = [event_line(a) for a in alerts]
    shown: list[str] = []
    size = 0
    for line in reversed(lines):  # newest last; drop the oldest when too long
        if size + len(line) + 1 > 3900:
            break
        shown.insert(0, line)
        size += len(line) + 1
    if len(shown) < len(lines):
        shown.insert(0, f"… and {len(lines) - len(shown)} earlier event(s)")
    embed = discord.Embed(
        title=clip(head, 256), description="\n".join(shown), colour=level_colour(worst.label)
    )
    embed.set_footer(text="flowwatch · digest · /alerts snooze silences a signal for this server")
    return embed


def notice_embed(alert: StoredAlert) -> discord.Embed:
    """An operational notice (stale data, a feed that stopped): grey, marked as not a market alert."""
    stale = alert.level != "ok"
    icon = "⚙️" if stale else "✅"
    what = stale_text(alert)
    embed = discord.Embed(
        title=clip(f"{icon} Operational notice · {what}", 256),
        description=clip(
            f"{discord_times(alert.summary)}\n-# Not a market alert: this is about flowwatch's data feeds.",
            4096,
        ),
        colour=NOTICE_COLOUR,
    )
    embed.add_field(name="Since" if stale else "At", value=f"{ts_tag(alert.ts, 'f')} ({ts_tag(alert.ts)})")
    embed.set_footer(text=f"flowwatch · operational notice · {alert.signal}")
    return embed


def stale_text(alert: AlertEvent) -> str:
    from bot.pipeline import stale_subject

    subject = stale_subject(alert.signal, alert.key)
    return f"stale data: {subject}" if alert.level != "ok" else f"fresh data again: {subject}"


def status_value(ks: KeyStatus) -> str:
    r = ks.reading
    if r is None:
        return "no data yet"
    if r.headline:  # the signal's own one-line form
        parts = [f"{r.headline} ({level_word(ks.level.label)})", f"as of {ts_tag(r.ts)}"]
    else:
        parts = [
            f"**{fmt_amount(ks.signal, r.value, r.unit)}** ({level_word(ks.level.label)})",
            f"as of {ts_tag(r.ts)}",
            ks.distance(),
        ]
        if ks.change_1d is not None:
            parts.append(f"{ks.change_1d:+.3f} vs yesterday")
    text = " · ".join(parts)
    if ks.stale:
        text += f"\n⚠️ stale: {discord_times(ks.stale)}"
    return text


def status_embed(rows: Sequence[KeyStatus], title_text: str = "flowwatch status") -> discord.Embed:
    worst = max((ks.level for ks in rows), default=Level.OK)
    embed = discord.Embed(title=title_text, colour=level_colour(worst.label))
    for ks in sorted(rows, key=lambda k: -k.level):  # the most urgent first, if not all fit
        _add_field(
            embed,
            f"{LEVEL_EMOJI[ks.level.label]} {signal_title(ks.signal)} · {ks.name}",
            status_value(ks),
            inline=False,
        )
    if not rows:
        embed.description = "No signals are registered."
    elif len(embed.fields) < len(rows):
        embed.set_footer(
            text=f"{len(rows) - len(embed.fields)} more reading(s) not shown: /chart shows each signal"
        )
    return embed


def history_embed(alerts: Sequence[StoredAlert], heading: str) -> discord.Embed:
    if not alerts:
        return discord.Embed(title=heading, description="No alert events in this period.")
    worst = max((Level.parse(a.level) for a in alerts if a.event != "resolved"), default=Level.OK)
    lines = [event_line(a) for a in alerts]
    out: list[str] = []
    for line in lines:
        if sum(len(x) + 1 for x in out) + len(line) > 3900:
            out.append(f"… and {len(lines) - len(out)} more")
            break
        out.append(line)
    return discord.Embed(
        title=clip(heading, 256), description="\n".join(out), colour=level_colour(worst.label)
    )


def summary_embed(summary: GuildSummary, image: str | None = None) -> discord.Embed:
    """The daily summary: levels with colour, values, changes, distances, alerts, snoozes, stale data."""
    worst = max((ks.level for ks in summary.rows), default=Level.OK)
    local = summary.now.astimezone(summary.tz)
    embed = discord.Embed(
        title=clip(f"flowwatch daily summary · {local:%a %d %b %Y, %H:%M} {summary.tz.key}", 256),
        colour=level_colour(worst.label),
        timestamp=summary.now,
    )
    lines = [
        f"{LEVEL_EMOJI[ks.level.label]} **{signal_title(ks.signal)} · {ks.name}**: {status_value(ks)}"
        for ks in summary.rows
    ]
    embed.description = clip("\n".join(lines) or "No signals are registered.", 4096)
    alerts = [event_line(a) for a in summary.alerts[-10:]]
    more = len(summary.alerts) - len(alerts)
    if more > 0:
        alerts.insert(0, f"… and {more} earlier")
    _add_field(embed, "Alerts in the last 24 h", "\n".join(alerts) if alerts else "none", inline=False)
    if summary.snoozes:
        _add_field(
            embed,
            "Snoozed in this server",
            "\n".join(f"{signal_title(s)} until {ts_tag(u, 'f')}" for s, u in summary.snoozes.items()),
            inline=False,
        )
    if summary.stale:
        _add_field(
            embed, "Stale data", "\n".join(f"⚠️ {discord_times(s)}" for s in summary.stale), inline=False
        )
    if image:
        embed.set_image(url=f"attachment://{image}")
    embed.set_footer(text="flowwatch · /status for now, /history for more")
    return embed
