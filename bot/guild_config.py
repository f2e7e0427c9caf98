"""What each guild configures for itself, stored in ``guild_settings`` (Discord-free).

* ``admin_channel``: where operational notices go (else the guild's system channel).
* ``quiet``: quiet hours ``{"start": "22:00", "end": "07:00", "tz": "Europe/London"}``.
* ``summary``: the daily summary ``{"time": "08:30", "tz": "...", "channel": id}``.
* ``thresholds:<signal>``: per-guild threshold overrides. Thresholds and lifecycles are global;
  a guild's values only re-grade the global events for that guild (what it is shown and
  pinged), through :meth:`signals.contract.Signal.grade` (from the event's own figures). They never create or fork a lifecycle.

Every parser raises ``ValueError`` with a message that says what is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from bot.config import Settings, parse_hhmm, parse_timezone
from signals import get_signal, registry
from signals.base import Level, Params
from signals.contract import Signal, guild_params_of, validate_of
from storage import guild_settings

ADMIN_CHANNEL = "admin_channel"
QUIET = "quiet"
SUMMARY = "summary"
THRESHOLDS_PREFIX = "thresholds:"

SNOOZE_MIN_S = 5 * 60
SNOOZE_MAX_S = 30 * 86400

_DURATION_RE = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*$", re.IGNORECASE)


def parse_duration(text: str, lo: int = SNOOZE_MIN_S, hi: int = SNOOZE_MAX_S) -> int:
    """``"90m"``, ``"1h30m"``, ``"24h"``, ``"7d"`` -> seconds, within [lo, hi]."""
    allowed = f"use minutes, hours or days such as 30m, 1h, 24h or 7d ({_human(lo)} to {_human(hi)})"
    m = _DURATION_RE.match(text or "")
    if not text or not text.strip() or m is None or not any(m.groups()):
        raise ValueError(f"{text!r} is not a duration: {allowed}")
    d, h, mins = (int(g) if g else 0 for g in m.groups())
    seconds = d * 86400 + h * 3600 + mins * 60
    if not lo <= seconds <= hi:
        raise ValueError(f"{text.strip()} is out of range: {allowed}")
    return seconds


def _human(seconds: int) -> str:
    if seconds % 86400 == 0 and seconds >= 2 * 86400:
        return f"{seconds // 86400} d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min"


# --- admin channel ---------------------------------------------------------------------


def admin_channel(db: Database, guild_id: int) -> int | None:
    v = guild_settings.get_value(db, guild_id, ADMIN_CHANNEL)
    return int(v) if v else None


def set_admin_channel(db: Database, guild_id: int, channel_id: int | None) -> None:
    if channel_id is None:
        guild_settings.delete_value(db, guild_id, ADMIN_CHANNEL)
    else:
        guild_settings.set_value(db, guild_id, ADMIN_CHANNEL, int(channel_id))


# --- quiet hours -----------------------------------------------------------------------


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time
    tz: ZoneInfo

    @classmethod
    def parse(cls, start: str, end: str, tz: str) -> QuietHours:
        s, e, z = parse_hhmm(start), parse_hhmm(end), parse_timezone(tz)
        if s == e:
            raise ValueError("quiet hours need different start and end times (e.g. 22:00 to 07:00)")
        return cls(s, e, z)

    def active(self, now: datetime) -> bool:
        local = now.astimezone(self.tz).time().replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # spans midnight

    def describe(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M} {self.tz.key}"

    def as_json(self) -> dict[str, str]:
        return {"start": f"{self.start:%H:%M}", "end": f"{self.end:%H:%M}", "tz": self.tz.key}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> QuietHours:
        return cls.parse(value["start"], value["end"], value.get("tz", "UTC"))


def quiet_hours(db: Database, guild_id: int) -> QuietHours | None:
    v = guild_settings.get_value(db, guild_id, QUIET)
    if not v:
        return None
    try:
        return QuietHours.from_json(v)
    except (ValueError, KeyError):
        return None


def set_quiet_hours(db: Database, guild_id: int, quiet: QuietHours | None) -> None:
    if quiet is None:
        guild_settings.delete_value(db, guild_id, QUIET)
    else:
        guild_settings.set_value(db, guild_id, QUIET, quiet.as_json())


# --- daily summary schedule --------------------------------------------------------------


@dataclass(frozen=True)
class SummarySchedule:
    at: time
    tz: ZoneInfo
    channel_id: int

    @classmethod
    def parse(cls, at: str, tz: str, channel_id: int) -> SummarySchedule:
        return cls(parse_hhmm(at), parse_timezone(tz), int(channel_id))

    def describe(self) -> str:
        return f"{self.at:%H:%M} {self.tz.key}"

    def as_json(self) -> dict[str, Any]:
        return {"time": f"{self.at:%H:%M}", "tz": self.tz.key, "channel": self.channel_id}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> SummarySchedule:
        return cls.parse(value["time"], value.get("tz", "UTC"), int(value["channel"]))


def summary_schedule(db: Database, guild_id: int) -> SummarySchedule | None:
    v = guild_settings.get_value(db, guild_id, SUMMARY)
    if not v:
        return None
    try:
        return SummarySchedule.from_json(v)
    except (ValueError, KeyError):
        return None


def set_summary_schedule(db: Database, guild_id: int, schedule: SummarySchedule | None) -> None:
    if schedule is None:
        guild_settings.delete_value(db, guild_id, SUMMARY)
    else:
        guild_settings.set_value(db, guild_id, SUMMARY, schedule.as_json())


def all_summary_schedules(db: Database) -> dict[int, SummarySchedule]:
    out = {}
    for gid, v in guild_settings.guilds_with(db, SUMMARY).items():
        try:
            out[gid] = SummarySchedule.from_json(v)
        except (ValueError, KeyError):
            continue
    return out


# --- per-guild thresholds ----------------------------------------------------------------


def settable_keys(signal_id: str) -> tuple[str, ...]:
    """The parameters of a signal a guild may set: those it declares with ``Param(guild=True)``,
    the thresholds its :meth:`~signals.contract.Signal.grade` grades a reading's figures by.
    Timing rules (confirm counts, cooldowns) and exit thresholds (hysteresis) belong to the
    global lifecycle and are never declared."""
    return guild_params_of(get_signal(signal_id))


def threshold_overrides(db: Database, guild_id: int, signal_id: str) -> dict[str, float]:
    v = guild_settings.get_value(db, guild_id, THRESHOLDS_PREFIX + signal_id) or {}
    return {str(k): float(x) for k, x in v.items()}


def guild_params(db: Database, settings: Settings, guild_id: int, signal_id: str) -> Params | None:
    """The guild's parameters for a signal, or None when it overrides nothing."""
    over = threshold_overrides(db, guild_id, signal_id)
    if not over:
        return None
    try:
        return settings.signal_params(signal_id).with_overrides(over)
    except ValueError:
        return None  # a parameter that no longer exists: ignore the stale override


def set_threshold(
    db: Database, settings: Settings, guild_id: int, signal_id: str, key: str, value: str | float
) -> float:
    """Validate and store one override; returns the parsed value."""
    sig = _signal(signal_id)
    keys = settable_keys(sig.id)
    if not keys:
        raise ValueError(f"{sig.id} has no per-server thresholds")
    if key not in keys:
        raise ValueError(f"{sig.id} has no per-server threshold {key!r}; allowed: {', '.join(keys)}")
    spec = next(p for p in sig.params if p.name == key)
    parsed = spec.parse(value)
    over = {**threshold_overrides(db, guild_id, sig.id), key: parsed}
    params = settings.signal_params(sig.id).with_overrides(over)
    # Rules that tie a threshold to a global-only parameter (an exit below its entry) do not
    # apply to a guild's grading; rules among the guild's own thresholds (levels must rise) do.
    global_only = [p.name for p in sig.params if p.name not in keys]
    problems = [
        msg
        for msg in validate_of(sig, params)
        if not any(re.search(rf"\b{re.escape(n)}\b", msg) for n in global_only)
    ]
    if problems:
        raise ValueError("; ".join(problems))
    guild_settings.set_value(db, guild_id, THRESHOLDS_PREFIX + sig.id, over)
    return float(parsed)


def reset_thresholds(db: Database, guild_id: int, signal_id: str, key: str | None = None) -> int:
    """Drop one override (or all of a signal's); how many were dropped."""
    over = threshold_overrides(db, guild_id, signal_id)
    if key is None:
        guild_settings.delete_value(db, guild_id, THRESHOLDS_PREFIX + signal_id)
        return len(over)
    if key not in over:
        return 0
    del over[key]
    if over:
        guild_settings.set_value(db, guild_id, THRESHOLDS_PREFIX + signal_id, over)
    else:
        guild_settings.delete_value(db, guild_id, THRESHOLDS_PREFIX + signal_id)
    return 1


def regrade(
    sig: Signal,
    key: str,
    value: float | None,
    figures: Mapping[str, Any],
    level: str,
    params: Params | None,
) -> Level:
    """The level of a global event for a guild: its own thresholds re-grade the event's figures
    (the reading's value and data, which the event carries)."""
    lvl = Level.parse(level)
    if params is None or value is None:
        return lvl
    return sig.grade(key, float(value), figures, params)


def _signal(signal_id: str) -> Signal:
    try:
        return get_signal(signal_id)
    except KeyError:
        raise ValueError(f"unknown signal {signal_id!r}; available: {', '.join(registry())}") from None


def until_text(seconds: int) -> str:
    return _human(seconds)


def expires(now: datetime, seconds: int) -> datetime:
    return now + timedelta(seconds=seconds)
