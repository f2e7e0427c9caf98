"""The daily summary: every signal's level, value, change, distance to trigger, recent alerts."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from bot.config import Settings
from bot.formatting import event_line, fmt_amount, fmt_value, level_word, when
from bot.queries import KeyStatus, recent_alerts, status


def status_line(ks: KeyStatus, tz: ZoneInfo | None = None) -> str:
    r = ks.reading
    if r is None:
        return f"{ks.signal} · {ks.name}: no data yet"
    chg = (
        f" ({fmt_value(ks.signal, ks.change_1d, signed=True)} vs yesterday)"
        if ks.change_1d is not None
        else ""
    )
    stale = f" — STALE: {ks.stale}" if ks.stale else ""
    body = r.headline or f"{fmt_amount(ks.signal, r.value, r.unit)}{chg}; {ks.distance()}"
    return f"[{level_word(ks.level.label):>8}] {ks.signal} · {ks.name}: {body}; as of {when(r.ts, tz)}{stale}"


def summary_text(
    db: Database, settings: Settings, now: datetime, tz: ZoneInfo | None = None, *, judge_stale: bool = True
) -> str:
    """The summary text; ``judge_stale=False`` for recorded data (the demo), which is never stale."""
    tz = tz or settings.timezone
    rows = status(db, settings, now)
    if not judge_stale:
        for ks in rows:
            ks.stale = None
    lines = [f"flowwatch daily summary — {when(now, tz)}", ""]
    lines += [status_line(ks, tz) for ks in rows]
    alerts = recent_alerts(db, now, 24)
    lines += ["", f"Alerts in the last 24 h: {len(alerts) or 'none'}"]
    for a in alerts[-15:]:
        lines.append(f"  {event_line(a, tz)}")
    stale = [ks for ks in rows if ks.stale]
    if stale:
        lines += ["", "Stale data:"] + [f"  {ks.signal}/{ks.key}: {ks.stale}" for ks in stale]
    return "\n".join(lines)
