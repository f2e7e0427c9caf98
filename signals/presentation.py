"""How an alert reads: the parts of a message and the words every presenter shares.

A signal may present its own alerts (``present(ev, stamp) -> AlertText | None``: a headline with
the number, one first line, one line on what such a move usually means, the figures the first
line does not give); the app's ``bot.alert_text`` turns them into embeds and console lines, and
presents every other alert generically. Pure: an :class:`~storage.alerts.AlertEvent` in, an
:class:`AlertText` out; times are written by the caller's ``stamp`` (Discord timestamps in
Discord, ``FLOWWATCH_TIMEZONE`` on the console).

The confirm rule (e.g. two daily closes) never makes the level contradict the words: when the
reading's number is already past a higher line than the level the event carries, the message says
so and that the higher level waits for confirmation (``data["awaiting"]``, set by the engine).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from storage.alerts import AlertEvent
from storage.timeutil import human_duration

Stamp = Callable[[int], str]

FIRST_LINE_MAX = 200
#: the level in words, for people (machine interfaces keep ok|watch|alert|severe)
LEVEL_WORDS = {"ok": "OK", "watch": "Heads-up", "alert": "Alert", "severe": "Severe"}


def level_word(level: str) -> str:
    return LEVEL_WORDS.get(level, level)


@dataclass(frozen=True)
class AlertText:
    #: the headline with the number, led by the level in words ("Alert: BTC longs liquidated: …")
    title: str
    #: the one line to read first (at most about 200 characters)
    first_line: str
    #: what such a move usually means, in one short line
    meaning: str = ""
    #: the figures that the first line does not already give
    fields: dict[str, str] = field(default_factory=dict)
    #: a level the number shows that still waits for the confirm rule, in words
    pending: str = ""


def usd(x: float) -> str:
    """One money style for every message: $950K, $14.6M, $1.46B."""
    a = abs(x)
    sign = "-" if x < 0 else ""
    if a >= 1e9:
        return f"{sign}${a / 1e9:.2f}B"
    if a >= 1e6:
        return f"{sign}${a / 1e6:.1f}M"
    if a >= 1e3:
        return f"{sign}${a / 1e3:.0f}K"
    return f"{sign}${a:.0f}"


def pct(x: float, digits: int = 0) -> str:
    return f"{x:.{digits}f}%"


def minutes(seconds: float) -> str:
    return f"{round(seconds / 60)} min" if seconds < 5400 else human_duration(seconds)


def window(seconds: float) -> str:
    return f"{round(seconds / 3600)} h" if seconds <= 86400 else human_duration(seconds)


def clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def lead(ev: AlertEvent) -> str:
    """The level in words, with the event's direction."""
    word = level_word(ev.level)
    if ev.event == "resolved":
        return f"Over (was {level_word(ev.prev_level or 'alert')})"
    if ev.event == "escalated":
        return f"{word} (up from {level_word(ev.prev_level or 'ok')})"
    if ev.event == "deescalated":
        return f"Easing to {word}"
    if ev.event == "updated":
        return f"{word}, growing"
    return word


def pending(ev: AlertEvent) -> str:
    aw = ev.data.get("awaiting") if isinstance(ev.data, Mapping) else None
    if not isinstance(aw, Mapping) or ev.event in ("resolved", "deescalated"):
        return ""
    lvl = level_word(str(aw.get("level", "")))
    n = max(int(aw.get("confirm") or 2), 2)
    unit = "close" if "close" in (ev.source or "").lower() else "reading"
    # this reading is the first at that level: the confirm rule wants n - 1 more
    more = n - 1
    return (
        f"Awaiting confirmation: the number is already at {lvl}; it becomes {lvl} after {more} more "
        f"{unit}{'s' if more != 1 else ''} at that level (the {n}-{unit} confirm rule)."
    )


def num(data: Mapping[str, Any], key: str) -> float | None:
    v = data.get(key)
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v)


# -- per signal ----------------------------------------------------------------------------


def message(
    ev: AlertEvent,
    head: str,
    first: str,
    meaning: str,
    fields: dict[str, str],
    peak_format: str | None,
    stamp: Stamp,
    peak_text: Callable[[float], str] | None = None,
    *,
    no_peak: bool = False,
    duration_shown: bool = False,
) -> AlertText:
    """An alert's message from a presenter's parts, with the common tail: resolve messages state
    the duration and the peak (one duration per message); the title leads with the level."""
    first = first or ev.summary  # an event without the signal's figures still says what it is
    if ev.event == "resolved":
        bits = []
        if ev.duration_s and not duration_shown:
            bits.append(f"over after {human_duration(ev.duration_s)}")
        if ev.peak is not None and not no_peak:
            shown = peak_text(ev.peak) if peak_text else (peak_format or "{:.3f}").format(ev.peak)
            peak_level = ev.data.get("peak_level") or ev.prev_level or "alert"
            bits.append(f"peak {shown} ({level_word(str(peak_level))})")
        if bits:
            first = (bits[0][0].upper() + "; ".join(bits)[1:] + ". " + first).strip()
        meaning = ""
    return AlertText(
        title=clip(f"{lead(ev)}: {head}", 256),
        first_line=clip(first, FIRST_LINE_MAX),
        meaning=meaning,
        fields=fields,
        pending=pending(ev),
    )


def ordinal(p: float) -> str:
    """A percentile's ordinal, floored (99.6 is the 99th: something was higher) and kept within
    1st..99th unless it is the highest (100th)."""
    n = 100 if p >= 100.0 else min(max(math.floor(p), 1), 99)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
