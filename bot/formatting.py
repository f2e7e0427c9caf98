"""Text forms of events and readings shared by the CLI, the console sink and Discord."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from signals import registry
from signals.base import Reading
from signals.contract import key_label_of, value_format_of
from signals.presentation import level_word, usd
from storage.alerts import AlertEvent
from storage.timeutil import from_epoch, iso

EVENT_WORDS = {
    "fired": "FIRED",
    "escalated": "ESCALATED",
    "deescalated": "STEPPED DOWN",
    "updated": "UPDATED",
    "resolved": "RESOLVED",
}


def key_name(signal: str, key: str) -> str:
    sig = registry().get(signal)
    if sig is None:
        return key
    return key_label_of(sig, key)


def title(ev: AlertEvent) -> str:
    sig = registry().get(ev.signal)
    name = sig.title if sig else ev.signal
    if ev.kind == "notice":
        return f"Notice · {name}: {ev.summary.split(':')[0]}"
    level = ev.prev_level if ev.event == "resolved" else ev.level
    return f"{name} · {key_name(ev.signal, ev.key)}: {EVENT_WORDS.get(ev.event, ev.event)} ({level})"


def event_json(ev: AlertEvent) -> dict[str, Any]:
    """The ``replay --format jsonl`` object (public contract: keep the names)."""
    return {
        "signal": ev.signal,
        "key": ev.key,
        "event": ev.event,
        "ts": iso(ev.ts),
        "level": ev.level,
        "value": None if ev.value is None else round(float(ev.value), 6),
        "summary": ev.summary,
    }


def event_jsonl(ev: AlertEvent) -> str:
    return json.dumps(event_json(ev), ensure_ascii=False)


def when(ts: int | datetime, tz: ZoneInfo | None = None) -> str:
    dt = from_epoch(ts) if isinstance(ts, int | float) else ts
    if tz is None or tz.key == "UTC":
        return dt.strftime("%Y-%m-%d %H:%MZ")
    return dt.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def event_line(ev: AlertEvent, tz: ZoneInfo | None = None) -> str:
    """The console's line for one event: time, where it comes from, the headline with its level
    in words, and the first line. Operational notices are marked as such, never as alerts."""
    if ev.kind != "alert":
        what = "stale data" if ev.level != "ok" else "fresh data again"
        return f"{when(ev.ts, tz)}  NOTICE  {ev.signal}/{ev.key}  {what} (not a market alert): {ev.summary}"
    from bot.alert_text import present

    text = present(ev, lambda t: when(t, tz))
    pending = f"  [{text.pending}]" if text.pending else ""
    return f"{when(ev.ts, tz)}  {ev.signal}/{ev.key}  {text.title}. {text.first_line}{pending}"


def fmt_value(signal: str, value: float, signed: bool = False) -> str:
    """A value in its signal's ``value_format`` (``{:.3f}`` unless the signal says otherwise)."""
    sig = registry().get(signal)
    spec = value_format_of(sig) if sig else "{:.3f}"
    return (spec.replace("{:", "{:+", 1) if signed else spec).format(value)


def fmt_amount(signal: str, value: float, unit: str = "") -> str:
    """A reading's value with its unit in the one style every message uses: money as ``$13.8M``
    (readings in ``M USD``), anything else in its signal's ``value_format`` followed by its unit."""
    if unit.strip() == "M USD":
        return usd(value * 1e6)
    sep = " " if unit[:1].isalpha() else ""  # "20.3 pctl", "1.25x" is written "x" by its signal
    return f"{fmt_value(signal, value)}{sep}{unit}"


def reading_line(r: Reading, tz: ZoneInfo | None = None, stale: str | None = None) -> str:
    nxt = ""
    if r.next_threshold is not None:
        gap = r.next_threshold.value - r.value
        nxt = (
            f"; {fmt_amount(r.signal, abs(gap), r.unit)} {'below' if gap > 0 else 'past'} "
            f"{level_word(r.next_threshold.level.label)}"
        )
    st = f"  STALE: {stale}" if stale else ""
    summary = r.summary.rstrip(".") if nxt else r.summary  # "… via FRED; 20.3 pctl below", not ".;"
    return f"{r.signal}/{r.key}  {level_word(r.level.label):<8}  as of {when(r.ts, tz)}  {summary}{nxt}{st}"
