"""``flowwatch health``: is the bot alive, are its sources fresh, is delivery flowing?

Read-only over the database (safe while the bot runs). Used by the CLI (exit status for
systemd, Docker HEALTHCHECK, cron) and by the dead-man ping, which only calls its URL while
this says healthy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlite_utils import Database

from bot.pipeline import stale_subject
from signals import sources
from storage import meta
from storage.timeutil import human_duration, iso, to_epoch

HEARTBEAT_MAX_AGE = timedelta(minutes=5)
DELIVERY_OVERDUE = timedelta(minutes=15)


@dataclass
class HealthReport:
    problems: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    #: not unhealthy yet, but failing now (a source whose last poll failed within its silence limit)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        def n(k: int, word: str) -> str:
            return f"{k} {word}{'s' if k != 1 else ''}"

        head = "healthy" if self.ok else f"UNHEALTHY: {n(len(self.problems), 'problem')}"
        if self.warnings:
            head += f"{', ' if self.ok else '; '}{n(len(self.warnings), 'warning')}"
        lines = [head] + [f"  problem: {p}" for p in self.problems]
        lines += [f"  warning: {w}" for w in self.warnings] + [f"  {f}" for f in self.facts]
        return "\n".join(lines)


def check(db: Database, now: datetime, *, require_heartbeat: bool = True) -> HealthReport:
    rep = HealthReport()
    t = to_epoch(now)
    hb = meta.get_with_time(db, "heartbeat")
    if hb is None:
        if require_heartbeat:
            rep.problems.append("no heartbeat: flowwatch run has never run against this database")
    else:
        value, at = hb
        age = t - at
        if isinstance(value, dict) and value.get("stopped"):
            rep.problems.append(f"the bot stopped at {iso(at)} ({human_duration(age)} ago)")
        elif age > HEARTBEAT_MAX_AGE.total_seconds():
            rep.problems.append(
                f"last heartbeat {human_duration(age)} ago (at {iso(at)}): the bot is not running"
            )
        else:
            rep.facts.append(f"heartbeat {human_duration(age)} ago ({value.get('mode', '?')} mode)")

    for poll in sources.polls():
        rec = meta.get(db, f"source:{poll.name}")
        if rec is None:
            continue
        last_ok = rec.get("last_ok")
        if poll.max_silence is not None:
            if last_ok is None:
                rep.problems.append(f"source {poll.name} has never succeeded: {rec.get('error', 'no data')}")
                continue
            if t - last_ok > poll.max_silence.total_seconds():
                rep.problems.append(
                    f"source {poll.name}: last success {human_duration(t - last_ok)} ago; "
                    f"last error: {rec.get('error', 'none')}"
                )
                continue
        if rec.get("ok"):
            rep.facts.append(f"source {poll.name}: ok")
        else:
            rep.warnings.append(f"source {poll.name}: failing ({rec.get('error', '?')})")

    stale = db.execute(
        "SELECT signal, key, since FROM signal_state WHERE scope = 'live' AND key LIKE 'stale:%' "
        "AND state = 'firing'"
    ).fetchall()
    for signal, key, since in stale:
        rep.problems.append(f"stale data for {stale_subject(signal, key)} since {iso(since)}")

    overdue = db.execute(
        "SELECT COUNT(*), MIN(d.created_at), MAX(d.last_error) FROM deliveries d JOIN alerts a ON a.id = d.alert_id "
        "WHERE a.scope = 'live' AND d.status = 'pending' AND d.created_at < ?",
        [t - int(DELIVERY_OVERDUE.total_seconds())],
    ).fetchone()
    if overdue[0]:
        rep.problems.append(
            f"{overdue[0]} alert deliveries overdue (oldest from {iso(overdue[1])}); last error: {overdue[2] or 'none'}"
        )
    failed = db.execute(
        "SELECT COUNT(*) FROM deliveries d JOIN alerts a ON a.id = d.alert_id WHERE a.scope = 'live' "
        "AND d.status = 'failed' AND d.updated_at >= ?",
        [t - 86400],
    ).fetchone()[0]
    if failed:
        rep.facts.append(f"{failed} deliveries failed for good in the last 24 h (see the log)")
    return rep


#: a recorded integrity check older than this is run again by ``health`` (read-only, not saved)
RECHECK_S = 3600


def storage_report(
    db: Database, path: object, rep: HealthReport, now: datetime, *, recheck: bool = False
) -> None:
    """The database's own health: the integrity check (with its age; run again when it is over
    :data:`RECHECK_S` old or when ``recheck``), a bot that cannot write (a full disk, noted in
    the run lock file since the database cannot hold it), and possible losses."""
    from pathlib import Path

    from storage import runlock

    t = to_epoch(now)
    holder = runlock.holder(Path(str(path)))
    if holder and holder.get("storage_error"):
        since = holder.get("storage_error_since")
        when = f" since {iso(int(since))}" if since else ""
        rep.problems.append(f"the running bot cannot write the database{when}: {holder['storage_error']}")
    from bot.dbwatch import INTEGRITY_KEY, run_check
    from storage import meta

    found = None if recheck else meta.get_with_time(db, INTEGRITY_KEY)
    at: int | None
    if (
        found is not None
        and isinstance(found[0], dict)
        and (t - found[1] < RECHECK_S or not found[0].get("ok"))
    ):
        value, at = found[0], found[1]
    else:
        value, at = run_check(db), None  # read-only: the result is shown, not saved
    when = f"at {iso(at)}" if at is not None else "just now"
    if not value.get("ok", True):
        rep.problems.append(
            f"the integrity check {when} found damage ({'; '.join(value.get('problems', []))[:200]}); "
            "restore a backup: see docs/operations.md, 'A damaged database'"
        )
    elif at is not None:
        rep.facts.append(
            f"integrity: last check {human_duration(t - at)} ago: ok (damage since then would not show; "
            "`flowwatch health --integrity` checks now)"
        )
    else:
        rep.facts.append(f"integrity: checked just now: ok (quick_check, {value.get('seconds', 0):.1f} s)")
    unsure = db.execute(
        "SELECT COUNT(*) FROM deliveries WHERE status = 'unsure' AND updated_at >= ?", [t - 86400]
    ).fetchone()[0]
    if unsure:
        rep.facts.append(
            f"{unsure} webhook deliveries in the last 24 h may not have arrived (no answer; not re-sent, "
            "to post no copies): see the log for which"
        )
