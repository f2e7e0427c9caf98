"""What the console and the webhook are shown: per-signal on/off and a minimum level.

The Discord bot has ``/alerts subscribe`` for this; the console and the webhook have settings:
``FLOWWATCH_CONSOLE_SIGNALS`` / ``FLOWWATCH_CONSOLE_MIN_LEVEL`` and ``FLOWWATCH_WEBHOOK_SIGNALS`` /
``FLOWWATCH_WEBHOOK_MIN_LEVEL``. The webhook starts at ``alert`` (about 80 % of the VIX events over
2009-2026 are heads-ups, too many for a shared channel); the console shows everything.

A destination hears the end of an episode (resolved, stepped down) only when it saw the episode,
as a subscribed channel does; operational notices reach it for the signals it follows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlite_utils import Database

from signals.base import Level
from storage import alerts as alert_repo
from storage.alerts import AlertEvent

CLOSING_EVENTS = ("resolved", "deescalated")


@dataclass(frozen=True)
class SinkFilter:
    #: the signal ids shown (None: every signal)
    signals: frozenset[str] | None = None
    min_level: Level = Level.WATCH

    def wants(self, db: Database, destination: str, ev: AlertEvent) -> bool:
        if self.signals is not None and ev.signal not in self.signals:
            return False
        if ev.kind != "alert":
            return True
        if ev.event in CLOSING_EVENTS:
            return ev.episode is not None and alert_repo.episode_seen(db, ev.episode, destination)
        return Level.parse(ev.level) >= self.min_level

    def describe(self) -> str:
        which = "every signal" if self.signals is None else (", ".join(sorted(self.signals)) or "no signal")
        return f"{which}, from {self.min_level.label}"


def parse_signals(text: str) -> frozenset[str] | None:
    """``all`` (or empty), ``none``, or a comma-separated list of signal ids."""
    from signals import registry

    t = text.strip().lower()
    if t in ("", "all"):
        return None
    if t == "none":
        return frozenset()
    names = [v.strip() for v in t.split(",") if v.strip()]
    known = list(registry())
    bad = [n for n in names if n not in known]
    if bad:
        raise ValueError(
            f"unknown signal {bad[0]!r}: use all, none or a comma-separated list of {', '.join(known)}"
        )
    return frozenset(names)


def parse_min_level(text: str) -> Level:
    t = text.strip().lower()
    if t not in ("watch", "alert", "severe"):
        raise ValueError(f"{text!r} is not a level: use watch (every heads-up), alert or severe")
    return Level.parse(t)


def console_router_for(
    console: SinkFilter,
) -> Callable[[Database, str, AlertEvent], tuple[list[str], list[str]]]:
    """The console-mode router: the console hears what its filter lets through."""

    def route(db: Database, scope: str, ev: AlertEvent) -> tuple[list[str], list[str]]:
        return (["console"] if console.wants(db, "console", ev) else []), []

    return route
