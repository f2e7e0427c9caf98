"""Read-only queries shared by the CLI, the Discord commands and the daily summary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

from bot.config import Settings
from bot.formatting import fmt_amount, level_word
from bot.pipeline import load_signal_inputs, read_inputs, with_tables
from signals import get_signal, registry
from signals.base import Level, Params, Reading
from signals.charts import ChartData
from signals.contract import (
    Signal,
    alert_chart_of,
    chart_of,
    coverage_report_of,
    has,
    keys_at_of,
    latest_of,
    lookback_of,
    stale_reason_of,
    tables_of,
)
from storage import alerts as alert_repo
from storage import state as state_repo
from storage.alerts import AlertEvent, StoredAlert
from storage.state import KeyState
from storage.timeutil import to_epoch


@dataclass
class KeyStatus:
    signal: str
    key: str
    name: str
    reading: Reading | None
    stale: str | None
    state: KeyState | None
    change_1d: float | None
    #: when there is no reading: why (history that ends too early, nothing stored, ...)
    why_empty: str | None = None

    @property
    def level(self) -> Level:
        """The lifecycle level if the engine is firing, else the reading's entry level."""
        if self.state is not None and self.state.state == "firing":
            return Level[self.state.level.upper()]
        return self.reading.level if self.reading else Level.OK

    def distance(self) -> str:
        r = self.reading
        if r is None or r.next_threshold is None:
            return "at its highest level" if r is not None else "no data"
        gap = r.next_threshold.value - r.value
        word = level_word(r.next_threshold.level.label)
        return f"{fmt_amount(r.signal, abs(gap), r.unit)} {'to' if gap > 0 else 'past'} {word}"


def status(
    db: Database,
    settings: Settings,
    now: datetime,
    signal_id: str | None = None,
    params: dict[str, Params] | None = None,
    running: bool = True,
) -> list[KeyStatus]:
    """Every key's reading, staleness and lifecycle now. ``running``: for the running bot (see
    :func:`why_no_reading`); ``check`` and ``test-alert`` pass False."""
    sigs = [get_signal(signal_id)] if signal_id else list(registry().values())
    states = state_repo.load_states(db, "live")
    out = []
    for sig in sigs:
        p = (params or {}).get(sig.id) or settings.signal_params(sig.id)
        inputs = load_signal_inputs(db, sig, now)
        readings = {r.key: r for r in latest_of(sig, inputs, p, now)}
        day_ago = {r.key: r for r in latest_of(sig, inputs, p, now - timedelta(days=1))}
        for key, name in keys_at_of(sig, now).items():
            r = readings.get(key)
            prev = day_ago.get(key)
            change = (r.value - prev.value) if r and prev and prev.ts < r.ts else None
            out.append(
                KeyStatus(
                    signal=sig.id,
                    key=key,
                    name=name,
                    reading=r,
                    stale=stale_reason(sig, r, now) if r else None,
                    state=states.get((sig.id, key)),
                    change_1d=change,
                    why_empty=None if r is not None else why_no_reading(db, sig, now, running),
                )
            )
    return out


#: A reading older than this is stale whatever the signal's own rule says (imported history that
#: stopped, a feed no rule watches); a week clears every market holiday weekend.
GENERIC_STALE = timedelta(days=7)


def stale_reason(sig: Signal, r: Reading, now: datetime) -> str | None:
    """The signal's own staleness rule, or the generic one: data more than a week old."""
    from storage.timeutil import human_duration

    own = stale_reason_of(sig, r, now)
    if own:
        return own
    age = now - r.ts
    if age > GENERIC_STALE:
        return f"the latest data is from {r.ts:%Y-%m-%d} ({human_duration(age.total_seconds())} ago; source {r.source})"
    return None


def why_no_reading(db: Database, sig: Signal, now: datetime, running: bool = True) -> str:
    """Why a key of ``sig`` has no reading at ``now``: what is stored, and what to do. ``running``:
    said by the running bot (the start-up report, Discord), whose polls fetch the data, rather
    than by a command beside it (``check``, ``test-alert``)."""
    from storage.observations import _series_clause
    from storage.timeutil import human_duration, iso

    where, args = _series_clause(sig.inputs) if sig.inputs else ("0", [])
    row = db.execute(f"SELECT MAX(ts) FROM observations WHERE {where} AND ts <= ?", [*args, to_epoch(now)])
    last = row.fetchone()[0]
    if last is not None:
        age = to_epoch(now) - int(last)
        if age < 2 * 86400:
            return "none of the stored data covers it yet"
        lookback = lookback_of(sig)
        reads = f"; the signal reads the last {human_duration(lookback.total_seconds())}" if lookback else ""
        current = "the polls keep it current from now on" if running else "flowwatch run keeps it current"
        return (
            f"stored history ends {iso(int(last))[:10]}, {human_duration(age)} ago{reads}: "
            f"flowwatch backfill all loads recent data, {current}"
        )
    rows = sum(len(load(db, None)) for load in tables_of(sig).values())
    if rows:
        return f"{rows} stored rows, none usable at {now:%Y-%m-%d}: flowwatch backfill all refreshes them"
    if running:
        return (
            "nothing stored yet: the polls store it as it is published; flowwatch backfill all loads history"
        )
    return "nothing stored: flowwatch backfill all loads history (or flowwatch run polls it)"


def recent_alerts(
    db: Database, now: datetime, hours: float = 24, signal: str | None = None, scope: str = "live"
) -> list[StoredAlert]:
    return alert_repo.list_alerts(
        db,
        scope=scope,
        signal=signal,
        since=to_epoch(now - timedelta(hours=hours)),
        until=to_epoch(now),
    )


def chart_data(
    db: Database,
    settings: Settings,
    signal_id: str,
    now: datetime,
    days: int,
    marks_scope: str = "live",
    params: Params | None = None,
) -> ChartData:
    sig = get_signal(signal_id)
    p = params or settings.signal_params(signal_id)
    since = to_epoch(now - timedelta(days=days))
    # the chart's whole range, plus what the signal needs before it for its baselines
    lookback = lookback_of(sig)
    start = None if lookback is None else to_epoch(now - timedelta(days=days) - lookback)
    inputs = with_tables(db, sig, read_inputs(db, sig, start, to_epoch(now), marks_scope), to_epoch(now))
    marks = [
        (a.ts, a.level, a.key)
        for a in alert_repo.list_alerts(
            db, scope=marks_scope, signal=signal_id, since=since, until=to_epoch(now)
        )
        if a.event in ("fired", "escalated")
    ]
    from storage.timeutil import from_epoch

    return chart_of(sig, inputs, p, now, days, [(from_epoch(t), lv, k) for t, lv, k in marks])


def coverage_note(db: Database, settings: Settings, signal_id: str) -> str | None:
    """A signal's note on the coverage of its data (btc_liq: where live buckets overlap an
    import, the import's measured share of the live total next to the setting in use)."""
    sig = get_signal(signal_id)
    if not has(sig, "coverage"):
        return None
    inputs = load_signal_inputs(db, sig, None)
    return coverage_report_of(sig, inputs, settings.signal_params(signal_id))


def alert_chart_data(
    db: Database, settings: Settings, alert: AlertEvent, scope: str = "live"
) -> ChartData | None:
    """The chart a signal draws for one of its alerts (btc_liq: the cascade from a little before
    it began, cumulative, with its headline figure), read by range; None when the signal has
    none (callers draw its history chart with the alert marked)."""
    sig = get_signal(alert.signal)
    p = settings.signal_params(alert.signal)
    inputs = with_tables(db, sig, read_inputs(db, sig, None, alert.ts + 1, scope), alert.ts + 1)
    fields = ("ts", "event", "level", "prev_level", "value", "data", "summary")
    return alert_chart_of(sig, inputs, p, {k: getattr(alert, k) for k in fields})
