"""``/ratecut [meeting]`` without Discord: parse the option, build the answer and its chart.

The slash command (and any other front end) does three things:

1. ``meeting = parse_meeting(option_text, now)`` — raises :class:`RatecutInputError` whose
   message says what is allowed (reply with it, ephemeral);
2. ``answer = await store.call(ratecut_answer, settings, now, meeting)`` — on the database
   thread; ``answer.title``, ``answer.fields``, ``answer.level`` and ``answer.text`` fill the
   embed or the console;
3. ``png = await renderer.render(answer.chart)`` — the chart (``render_png`` elsewhere).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlite_utils import Database

from bot.config import Settings
from signals import fomc, get_signal
from signals.base import Level, Reading
from signals.contract import lookback_of
from signals.ratecut import (
    KINDS,
    LAGS,
    LIVE_VENUES,
    VENUE_NAMES,
    VENUES,
    RateCut,
    RateCutChart,
    meeting_label,
)
from storage import observations as obs_repo
from storage import state as state_repo
from storage.timeutil import human_duration, to_epoch

MONTHS = {
    name: i
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
ALLOWED = (
    "use next, 2 (the meeting after next), a decision date such as 2026-12-09, "
    "a month such as 2026-12 or dec 2026, or a month name for its next meeting"
)


#: the series of a meeting the answer reads (the signal's inputs for that meeting)
MEETING_SUFFIXES = ("cut", "hold", "cut_%", "hike_%", "move_bp", "path_bp", "rate")


class RatecutInputError(ValueError):
    pass


def parse_meeting(text: str | None, now: datetime) -> fomc.Meeting:
    """The meeting a user means; the default is the next one."""
    upcoming = fomc.upcoming(now, 8)
    t = " ".join((text or "").strip().lower().replace(",", " ").split())
    if t in ("", "next", "1"):
        if not upcoming:
            raise RatecutInputError("the FOMC calendar has no meeting after today; update signals/data")
        return upcoming[0]
    if t in ("2", "second", "after next"):
        if len(upcoming) < 2:
            raise RatecutInputError("the FOMC calendar has no second upcoming meeting")
        return upcoming[1]
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", t)
    if m:
        for mt in fomc.meetings():
            if t in (mt.id, mt.meeting_start.isoformat()):
                return mt
        raise RatecutInputError(f"{text!r} is not an FOMC decision date in the calendar; {_hint(now)}")
    year = month = None
    m = re.fullmatch(r"(\d{4})-(\d{1,2})", t)
    if m:
        year, month = int(m.group(1)), int(m.group(2))
    else:
        m = re.fullmatch(r"([a-z]+)(?:\s+(\d{4}))?", t)
        if m and m.group(1) in MONTHS:
            month = MONTHS[m.group(1)]
            year = int(m.group(2)) if m.group(2) else None
    if month is None or not 1 <= month <= 12:
        raise RatecutInputError(f"cannot read meeting {text!r}: {ALLOWED}")
    hits = [mt for mt in fomc.meetings() if mt.decision_date.month == month]
    if year is not None:
        hits = [mt for mt in hits if mt.decision_date.year == year]
    else:
        hits = [mt for mt in hits if mt.is_open(now)] or hits[-1:]
    if not hits:
        raise RatecutInputError(f"no FOMC meeting in {text!r}; {_hint(now)}")
    return hits[0]


def _hint(now: datetime) -> str:
    nxt = ", ".join(m.id for m in fomc.upcoming(now, 3))
    return f"next meetings: {nxt}" if nxt else ALLOWED


@dataclass
class RatecutAnswer:
    meeting: fomc.Meeting
    title: str
    level: Level
    lines: list[str]
    fields: dict[str, str]
    chart: RateCutChart
    readings: list[Reading] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join([self.title, *self.lines])


def _latest(db: Database, series: str, end: int) -> tuple[int, float] | None:
    row = db.execute(
        "SELECT ts, value FROM observations WHERE series = ? AND ts <= ? ORDER BY ts DESC LIMIT 1",
        [series, end],
    ).fetchone()
    return (int(row[0]), float(row[1])) if row else None


def ratecut_answer(
    db: Database, settings: Settings, now: datetime, meeting: fomc.Meeting | None = None, days: int = 45
) -> RatecutAnswer:
    """Everything ``/ratecut`` shows for one meeting as of ``now`` (runs on the database thread)."""
    meeting = meeting or parse_meeting(None, now)
    prev = fomc.previous(meeting)
    sig = get_signal("ratecut")
    assert isinstance(sig, RateCut)
    params = settings.signal_params(sig.id)
    lookback = lookback_of(sig) or timedelta(0)
    start = to_epoch(now - timedelta(days=days) - lookback)
    end = to_epoch(now)
    patterns = [f"{v}.fomc.{meeting.id}.{suffix}" for v in VENUES for suffix in MEETING_SUFFIXES]
    if prev is not None:  # the nearer meeting's path, for the size key's echo rule
        patterns += [f"{v}.fomc.{prev.id}.path_bp" for v in VENUES]
    inputs = obs_repo.load_inputs(db, patterns, start=start, end=end)
    readings = sig.meeting_readings(inputs, params, meeting, now)
    chart = sig.chart_for(inputs, params, meeting, now, days)
    states = state_repo.load_states(db, "live", sig.id)
    level = Level.OK
    status = []
    for kind in KINDS:
        st = states.get((sig.id, f"{meeting.id}.{kind}"))
        lv = Level[st.level.upper()] if st is not None and st.state == "firing" else Level.OK
        level = max(level, lv)
        status.append(f"{kind} {lv.label}")
    when = meeting.statement_utc
    if meeting.is_open(now):
        timing = f"statement {when:%Y-%m-%d %H:%M} UTC, in {human_duration((when - now).total_seconds())}"
    else:
        timing = f"decided {when:%Y-%m-%d %H:%M} UTC; the markets have closed"
    title = f"{meeting_label(meeting.id)} ({timing})"
    lines: list[str] = []
    fields: dict[str, str] = {"Meeting": f"{meeting.label} ({timing})"}
    swing = next((r for r in readings if r.key.endswith(".swing")), None)
    if swing is not None and not swing.data.get("closed"):
        lines.append(swing.headline)
    elif swing is not None:
        lines.append(swing.summary)
    size = next((r for r in readings if r.key.endswith(".size") and r.headline), None)
    if size is not None:
        lines.append(f"Size: {size.headline}")
        fields["Size"] = size.headline
    for venue in VENUES:
        cut = _latest(db, f"{venue}.fomc.{meeting.id}.cut", end)
        if cut is None:
            if venue == "fedwatch":
                note = "not imported (no free live source of ZQ prices: flowwatch backfill fedwatch --file)"
            else:
                note = "no market stored for this meeting"
            fields[VENUE_NAMES[venue]] = note
            lines.append(f"{VENUE_NAMES[venue]}: {note}")
            continue
        parts = [f"{cut[1] * 100:.0f}% cut"]
        for outcome in ("hold", "hike"):
            o = _latest(db, f"{venue}.fomc.{meeting.id}.{outcome}", end)
            if o is not None and o[0] == cut[0]:
                parts.append(f"{o[1] * 100:.0f}% {outcome}")
        move = _latest(db, f"{venue}.fomc.{meeting.id}.move_bp", end)
        if move is not None and move[0] == cut[0]:
            parts.append(f"expected move {move[1]:+.0f} bp")
        ago = ""
        row = (swing.data.get("venues") or {}).get(venue) if swing is not None else None
        if row:
            ago = " · " + " · ".join(
                f"{label} ago {'n/a' if row.get(label) is None else f'{row[label] * 100:.0f}%'}"
                for label, _, _ in LAGS
            )
        asof = datetime.fromtimestamp(cut[0], UTC)
        text = f"{' · '.join(parts)} (as of {asof:%m-%d %H:%M} UTC){ago}"
        fields[VENUE_NAMES[venue]] = text
        lines.append(f"{VENUE_NAMES[venue]}: {text}")
    fields["Alerts"] = ", ".join(status)
    lines.append("Alerts: " + ", ".join(status))
    live = [v for v in LIVE_VENUES if _latest(db, f"{v}.fomc.{meeting.id}.cut", end) is not None]
    if not live and meeting.is_open(now):
        lines.append(
            "No Kalshi or Polymarket data for this meeting yet: run flowwatch run, or backfill kalshi / polymarket"
        )
    lines.append(chart.source)
    return RatecutAnswer(meeting, title, level, lines, fields, chart, readings)
