"""The start-up report of ``flowwatch run``: does it work, right now?

Printed once, after the start-up poll (or at once with ``--no-initial-poll``): every signal's
current value and level (what ``/status`` shows), each source reached or not, when the next
poll is due, and, when no source could be reached, one line that says so and what to do.
Pure over the database and the facts the runner collected, so it is tested without a network.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from bot.config import Settings
from bot.formatting import level_word, when
from bot.queries import KeyStatus, status
from signals import sources
from storage import meta
from storage.timeutil import human_duration


@dataclass(frozen=True)
class PollOutcome:
    """What one poll answered at start-up (``ok`` None: it did not run)."""

    ok: bool | None
    rows: int = 0
    error: str | None = None
    note: str = ""


@dataclass(frozen=True)
class SourceLine:
    name: str
    kind: str  # "poll" or "stream"
    ok: bool | None  # None: not tried at start-up
    detail: str


@dataclass
class StartupReport:
    now: datetime
    mode: str
    rows: list[KeyStatus]
    sources: list[SourceLine]
    next_poll: tuple[str, datetime] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def tried(self) -> list[SourceLine]:
        return [s for s in self.sources if s.ok is not None]

    @property
    def reached(self) -> list[SourceLine]:
        return [s for s in self.sources if s.ok]

    @property
    def nothing_reachable(self) -> bool:
        return bool(self.tried) and not self.reached

    def text(self, tz: ZoneInfo | None = None) -> str:
        lines = [f"flowwatch is running ({self.mode} mode) at {when(self.now, tz)}", "Signals now:"]
        width = max((len(f"{r.signal}/{r.key}") for r in self.rows), default=10)
        for ks in self.rows:
            lines.append(f"  {f'{ks.signal}/{ks.key}':<{width}}  {_status_text(ks, tz)}")
        if not self.rows:
            lines.append("  (no signals registered)")
        tried = self.tried
        lines.append(f"Sources: {len(self.reached)} of {len(tried)} reached" if tried else "Sources:")
        nw = max((len(s.name) for s in self.sources), default=10)
        for s in self.sources:
            mark = {True: "ok  ", False: "FAIL", None: "-   "}[s.ok]
            lines.append(f"  {mark}  {s.name:<{nw}}  {_clip(s.detail, 160)}")
        if self.next_poll is not None:
            name, at = self.next_poll
            lines.append(
                f"Next poll: {name} at {when(at, tz)} (in {human_duration((at - self.now).total_seconds())})"
            )
        if self.nothing_reachable:
            lines.append(
                f"NOTHING IS REACHABLE: 0 of {len(tried)} sources answered. Check this machine's network "
                "(DNS, proxy, firewall); flowwatch keeps retrying on its schedule. Meanwhile "
                "`flowwatch demo` shows the whole pipeline offline, and `flowwatch backfill all --dir D` "
                "loads history from provider files."
            )
        lines += self.notes
        return "\n".join(lines)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _status_text(ks: KeyStatus, tz: ZoneInfo | None) -> str:
    r = ks.reading
    if r is None:
        return f"no data yet ({ks.why_empty or 'nothing stored'})"
    head = r.headline or r.summary
    parts = [f"{level_word(ks.level.label):<8}", head, f"as of {when(r.ts, tz)}"]
    if ks.reading is not None and ks.reading.next_threshold is not None:
        parts.append(ks.distance())
    text = "  ".join(parts[:1]) + "  " + "; ".join(parts[1:])
    if ks.stale:
        text += f"  STALE: {ks.stale}"
    return text


def _stream_lines(records: Mapping[str, tuple[Any, int]], since: int) -> list[SourceLine]:
    out = []
    for key, (rec, at) in sorted(records.items()):
        if not isinstance(rec, dict) or "venue" not in rec or at < since:
            continue  # a poll's record, or a stream of an earlier run
        name = key.removeprefix("source:") + " (stream)"
        if rec.get("unavailable"):
            out.append(SourceLine(name, "stream", False, f"stream unavailable: {rec['unavailable']}"))
        elif rec.get("connected"):
            out.append(SourceLine(name, "stream", True, f"stream connected ({rec.get('events', 0)} events)"))
        else:
            out.append(
                SourceLine(name, "stream", False, f"stream down ({rec.get('error') or 'not connected yet'})")
            )
    return out


def build_report(
    db: Database,
    settings: Settings,
    now: datetime,
    *,
    mode: str,
    outcomes: Mapping[str, PollOutcome],
    started_at: int,
    next_runs: Iterable[tuple[str, datetime]] = (),
) -> StartupReport:
    """The report from the database (readings, stream health) and this run's poll outcomes."""
    rows = status(db, settings, now)
    lines: list[SourceLine] = []
    for poll in sources.polls():
        out = outcomes.get(poll.name)
        if out is None or out.ok is None:
            lines.append(SourceLine(poll.name, "poll", None, (out.note if out else "") or "not polled yet"))
        elif out.ok:
            lines.append(SourceLine(poll.name, "poll", True, f"{out.rows} rows"))
        else:
            lines.append(
                SourceLine(poll.name, "poll", False, (out.error or "failed").removeprefix(f"{poll.name}: "))
            )
    lines += _stream_lines(meta.items(db, "source:"), started_at)
    upcoming = sorted(next_runs, key=lambda x: x[1])
    return StartupReport(now, mode, rows, lines, upcoming[0] if upcoming else None)
