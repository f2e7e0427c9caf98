"""The outbox: alert events and their deliveries.

An event and the engine state that produced it are written in the same transaction
(see :func:`bot.engine.persist`). Deliveries are created with the event, one per
destination, and a dispatcher moves them from ``pending`` to ``sent``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

LEVELS = ("ok", "watch", "alert", "severe")
EVENTS = ("fired", "escalated", "deescalated", "updated", "resolved")


@dataclass
class AlertEvent:
    signal: str
    key: str
    event: str
    level: str
    ts: int
    summary: str
    value: float | None = None
    prev_level: str | None = None
    peak: float | None = None
    duration_s: int | None = None
    fields: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    source: str | None = None
    as_of: int | None = None
    episode: str | None = None
    kind: str = "alert"  # alert | notice

    def dedupe_key(self, scope: str) -> str:
        return f"{scope}|{self.kind}|{self.signal}|{self.key}|{self.event}|{self.ts}|{self.level}"


@dataclass
class StoredAlert(AlertEvent):
    id: int = 0
    scope: str = "live"
    created_at: int = 0


@dataclass
class Delivery:
    id: int
    alert_id: int
    destination: str
    status: str
    attempts: int
    last_error: str | None
    external_id: str | None
    next_attempt_at: int | None
    ambiguous: int = 0  # attempts whose outcome is unknown (sent, no answer)
    chart_sha: str | None = None  # the chart attached to the delivered message
    #: a request that cannot be repeated safely went out at this time and its outcome was never
    #: recorded (the process died mid-request): the attempt is ambiguous
    attempt_started_at: int | None = None


_ALERT_COLS = (
    "id, scope, kind, signal, key, event, level, prev_level, ts, value, peak, duration_s, "
    "summary, fields, data, source, as_of, episode, created_at"
)


def _row_to_alert(row: Sequence[Any]) -> StoredAlert:
    (
        id_,
        scope,
        kind,
        signal,
        key,
        event,
        level,
        prev_level,
        ts,
        value,
        peak,
        duration_s,
        summary,
        fields_,
        data,
        source,
        as_of,
        episode,
        created_at,
    ) = row
    return StoredAlert(
        id=id_,
        scope=scope,
        kind=kind,
        signal=signal,
        key=key,
        event=event,
        level=level,
        prev_level=prev_level,
        ts=ts,
        value=value,
        peak=peak,
        duration_s=duration_s,
        summary=summary,
        fields=json.loads(fields_),
        data=json.loads(data),
        source=source,
        as_of=as_of,
        episode=episode,
        created_at=created_at,
    )


def insert_event(
    db: Database,
    scope: str,
    ev: AlertEvent,
    destinations: Iterable[str],
    now: int | None = None,
    held: Iterable[str] = (),
) -> int | None:
    """Insert one event and its deliveries; ``None`` when the same event already exists.

    One write: inside the caller's transaction (the engine's) it joins it, alone it commits.
    """
    with db.atomic():
        return _insert_event(db, scope, ev, destinations, now, held)


def _insert_event(
    db: Database,
    scope: str,
    ev: AlertEvent,
    destinations: Iterable[str],
    now: int | None,
    held: Iterable[str],
) -> int | None:
    now = int(time.time()) if now is None else now
    cur = db.execute(
        "INSERT OR IGNORE INTO alerts (scope, kind, signal, key, event, level, prev_level, ts, value, "
        "peak, duration_s, summary, fields, data, source, as_of, episode, created_at, dedupe_key) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            scope,
            ev.kind,
            ev.signal,
            ev.key,
            ev.event,
            ev.level,
            ev.prev_level,
            ev.ts,
            ev.value,
            ev.peak,
            ev.duration_s,
            ev.summary,
            json.dumps(ev.fields),
            json.dumps(ev.data, default=float),
            ev.source,
            ev.as_of,
            ev.episode,
            now,
            ev.dedupe_key(scope),
        ],
    )
    if not cur.rowcount:
        return None
    alert_id = int(cur.lastrowid or 0)
    held_set = set(held)
    rows = [
        (alert_id, d, "held" if d in held_set else "pending", now, now, now)
        for d in dict.fromkeys([*destinations, *held_set])
    ]
    if rows:
        db.conn.executemany(
            "INSERT OR IGNORE INTO deliveries (alert_id, destination, status, next_attempt_at, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
    return alert_id


def get_alert(db: Database, alert_id: int) -> StoredAlert | None:
    row = db.execute(f"SELECT {_ALERT_COLS} FROM alerts WHERE id = ?", [alert_id]).fetchone()
    return _row_to_alert(row) if row else None


def list_alerts(
    db: Database,
    scope: str = "live",
    signal: str | None = None,
    since: int | None = None,
    until: int | None = None,
    kind: str | None = "alert",
    limit: int | None = None,
    newest_first: bool = False,
) -> list[StoredAlert]:
    sql = f"SELECT {_ALERT_COLS} FROM alerts WHERE scope = ?"
    params: list[Any] = [scope]
    if signal:
        sql += " AND signal = ?"
        params.append(signal)
    if kind:
        sql += " AND kind = ?"
        params.append(kind)
    if since is not None:
        sql += " AND ts >= ?"
        params.append(since)
    if until is not None:
        sql += " AND ts <= ?"
        params.append(until)
    sql += " ORDER BY ts DESC, id DESC" if newest_first else " ORDER BY ts, id"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return [_row_to_alert(r) for r in db.execute(sql, params).fetchall()]


def episode_alerts(db: Database, episode: str) -> list[StoredAlert]:
    return [
        _row_to_alert(r)
        for r in db.execute(f"SELECT {_ALERT_COLS} FROM alerts WHERE episode = ? ORDER BY id", [episode])
    ]


def delete_scope(db: Database, scope: str, signal: str | None = None) -> None:
    if signal is None:
        db.execute("DELETE FROM alerts WHERE scope = ?", [scope])
    else:
        db.execute("DELETE FROM alerts WHERE scope = ? AND signal = ?", [scope, signal])


# --- deliveries -----------------------------------------------------------------------

_DELIVERY_COLS = (
    "id, alert_id, destination, status, attempts, last_error, external_id, next_attempt_at, ambiguous, "
    "chart_sha, attempt_started_at"
)
_NDC = len(_DELIVERY_COLS.split(","))


def due_deliveries(
    db: Database, scope: str, destinations_like: Sequence[str], now: int, limit: int = 50
) -> list[tuple[Delivery, StoredAlert]]:
    """Pending deliveries whose next attempt is due, oldest alert first.

    A destination gets its messages in order: a delivery waits while an older one to the same
    destination is pending and not yet due (deferred by pacing, a chart still rendering, a
    retry's backoff), so a notice never overtakes the alert written before it."""
    likes = " OR ".join("d.destination LIKE ?" for _ in destinations_like) or "0"
    sql = (
        f"SELECT {', '.join('d.' + c.strip() for c in _DELIVERY_COLS.split(','))}, "
        f"{', '.join('a.' + c.strip() for c in _ALERT_COLS.split(','))} "
        "FROM deliveries d JOIN alerts a ON a.id = d.alert_id "
        f"WHERE d.status = 'pending' AND a.scope = ? AND ({likes}) "
        "AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?) "
        "ORDER BY a.id, d.id LIMIT ?"
    )
    # the oldest waiting delivery of each destination (few: a range of the (status,
    # next_attempt_at) index), so the due rows behind it are held back
    waiting = dict(
        db.execute(
            "SELECT d.destination, MIN(d.alert_id) FROM deliveries d JOIN alerts a ON a.id = d.alert_id "
            "WHERE d.status = 'pending' AND d.next_attempt_at > ? AND a.scope = ? GROUP BY d.destination",
            [now, scope],
        ).fetchall()
    )
    out = []
    for row in db.execute(sql, [scope, *destinations_like, now, limit]).fetchall():
        delivery = Delivery(*row[:_NDC])
        first = waiting.get(delivery.destination)
        if first is not None and first < delivery.alert_id:
            continue
        out.append((delivery, _row_to_alert(row[_NDC:])))
    return out


def next_due_at(db: Database, scope: str, destinations_like: Sequence[str]) -> int | None:
    likes = " OR ".join("d.destination LIKE ?" for _ in destinations_like) or "0"
    row = db.execute(
        "SELECT MIN(COALESCE(d.next_attempt_at, 0)) FROM deliveries d JOIN alerts a ON a.id = d.alert_id "
        f"WHERE d.status = 'pending' AND a.scope = ? AND ({likes})",
        [scope, *destinations_like],
    ).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def mark_sent(db: Database, delivery_id: int, external_id: str | None, now: int | None = None) -> None:
    now = int(time.time()) if now is None else now
    db.execute(
        "UPDATE deliveries SET status = 'sent', external_id = COALESCE(?, external_id), "
        "attempts = attempts + 1, last_error = NULL, updated_at = ? WHERE id = ?",
        [external_id, now, delivery_id],
    )


@dataclass(frozen=True)
class Outcome:
    """What became of one delivery attempt, for :func:`record_outcomes` (one transaction)."""

    delivery_id: int
    kind: str  # sent | retry | failed | unsure | defer | ambiguous
    external_id: str | None = None
    error: str | None = None
    next_attempt_at: int | None = None
    chart_sha: str | None = None


def record_outcomes(db: Database, outcomes: Sequence[Outcome], now: int) -> None:
    """Write a batch of delivery outcomes in one transaction (one trip, one fsync).

    ``ambiguous``: the attempt went out and no answer came back; it stays pending (to be looked
    for before any resend) and counts in ``ambiguous``. ``unsure``: final, the message may or
    may not have been posted (a possible loss, never re-sent blind).
    """
    if not outcomes:
        return
    with db.atomic():
        for o in outcomes:
            err = (o.error or "")[:500] or None
            if o.kind == "sent":
                db.conn.execute(
                    "UPDATE deliveries SET status = 'sent', external_id = COALESCE(?, external_id), "
                    "chart_sha = COALESCE(?, chart_sha), attempts = attempts + 1, last_error = NULL, "
                    "attempt_started_at = NULL, updated_at = ? WHERE id = ?",
                    [o.external_id or None, o.chart_sha, now, o.delivery_id],
                )
            elif o.kind in ("retry", "ambiguous"):
                db.conn.execute(
                    "UPDATE deliveries SET attempts = attempts + 1, ambiguous = ambiguous + ?, last_error = ?, "
                    "next_attempt_at = ?, attempt_started_at = NULL, updated_at = ? WHERE id = ?",
                    [int(o.kind == "ambiguous"), err, o.next_attempt_at, now, o.delivery_id],
                )
            elif o.kind == "defer":
                db.conn.execute(
                    "UPDATE deliveries SET next_attempt_at = ?, attempt_started_at = NULL, updated_at = ? "
                    "WHERE id = ? AND status = 'pending'",
                    [o.next_attempt_at, now, o.delivery_id],
                )
            elif o.kind in ("failed", "unsure"):
                db.conn.execute(
                    "UPDATE deliveries SET status = ?, attempts = attempts + 1, ambiguous = ambiguous + ?, "
                    "last_error = ?, attempt_started_at = NULL, updated_at = ? WHERE id = ?",
                    [o.kind, int(o.kind == "unsure"), err, now, o.delivery_id],
                )
            else:
                raise ValueError(f"unknown delivery outcome {o.kind!r}")


def mark_attempt(db: Database, delivery_id: int, now: int) -> None:
    """Record, before the request goes out, that an attempt which cannot be repeated safely is
    under way (its own transaction: durable before the request). :func:`record_outcomes` clears it."""
    with db.atomic():
        db.conn.execute(
            "UPDATE deliveries SET attempt_started_at = ?, updated_at = ? WHERE id = ?",
            [now, now, delivery_id],
        )


def unsure_since(
    db: Database, destination: str, after_id: int, limit: int = 5
) -> list[tuple[int, StoredAlert]]:
    """``unsure`` deliveries to ``destination`` with an id above ``after_id``, oldest first."""
    rows = db.execute(
        f"SELECT d.id, {', '.join('a.' + c.strip() for c in _ALERT_COLS.split(','))} FROM deliveries d "
        "JOIN alerts a ON a.id = d.alert_id WHERE d.destination = ? AND d.status = 'unsure' AND d.id > ? "
        "ORDER BY d.id LIMIT ?",
        [destination, after_id, limit],
    ).fetchall()
    return [(int(r[0]), _row_to_alert(r[1:])) for r in rows]


def mark_retry(
    db: Database, delivery_id: int, error: str, next_attempt_at: int, now: int | None = None
) -> None:
    now = int(time.time()) if now is None else now
    db.execute(
        "UPDATE deliveries SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, updated_at = ? "
        "WHERE id = ?",
        [error[:500], next_attempt_at, now, delivery_id],
    )


def mark_failed(
    db: Database, delivery_id: int, error: str, status: str = "failed", now: int | None = None
) -> None:
    now = int(time.time()) if now is None else now
    db.execute(
        "UPDATE deliveries SET status = ?, attempts = attempts + 1, last_error = ?, updated_at = ? WHERE id = ?",
        [status, error[:500], now, delivery_id],
    )


def deliveries_for(db: Database, alert_id: int) -> list[Delivery]:
    return [
        Delivery(*r)
        for r in db.execute(
            f"SELECT {_DELIVERY_COLS} FROM deliveries WHERE alert_id = ? ORDER BY id", [alert_id]
        )
    ]


def delivery_counts(db: Database) -> dict[str, int]:
    return {s: n for s, n in db.execute("SELECT status, COUNT(*) FROM deliveries GROUP BY status").fetchall()}


# --- per-destination queries (edit in place, digests, storm cap) ------------------------


def defer(db: Database, delivery_id: int, next_attempt_at: int, now: int | None = None) -> None:
    """Postpone a pending delivery without counting an attempt (pacing, not a failure)."""
    now = int(time.time()) if now is None else now
    db.execute(
        "UPDATE deliveries SET next_attempt_at = ?, updated_at = ? WHERE id = ? AND status = 'pending'",
        [next_attempt_at, now, delivery_id],
    )


def episode_message(db: Database, episode: str, destination: str, before_alert_id: int) -> str | None:
    """The external id (message id) of the latest earlier event of ``episode`` sent to ``destination``.

    Sinks use it to edit an earlier message in place (a cascade that grows).
    """
    found = episode_message_chart(db, episode, destination, before_alert_id)
    return None if found is None else found[0]


def episode_message_chart(
    db: Database, episode: str, destination: str, before_alert_id: int
) -> tuple[str, str | None] | None:
    """:func:`episode_message` and the SHA-256 of the chart that message shows (None: unknown)."""
    row = db.execute(
        "SELECT d.external_id, d.chart_sha FROM deliveries d JOIN alerts a ON a.id = d.alert_id "
        "WHERE a.episode = ? AND d.destination = ? AND d.status = 'sent' AND d.external_id IS NOT NULL "
        "AND a.id < ? ORDER BY a.id DESC LIMIT 1",
        [episode, destination, before_alert_id],
    ).fetchone()
    return None if row is None else (str(row[0]), None if row[1] is None else str(row[1]))


def episode_seen(db: Database, episode: str, destination: str) -> bool:
    """Whether an event of ``episode`` was (or is about to be) delivered to ``destination``."""
    row = db.execute(
        "SELECT 1 FROM deliveries d JOIN alerts a ON a.id = d.alert_id WHERE a.episode = ? "
        "AND d.destination = ? AND d.status IN ('pending', 'sent', 'held', 'unsure') LIMIT 1",
        [episode, destination],
    ).fetchone()
    return row is not None


def sent_since(db: Database, destination: str, since: int) -> int:
    """How many deliveries to ``destination`` were sent at or after ``since``."""
    row = db.execute(
        "SELECT COUNT(*) FROM deliveries WHERE destination = ? AND status = 'sent' AND updated_at >= ?",
        [destination, since],
    ).fetchone()
    return int(row[0])


def deliveries_with_status(
    db: Database,
    status: str,
    destinations_like: Sequence[str],
    scope: str = "live",
    destination: str | None = None,
) -> list[tuple[Delivery, StoredAlert]]:
    """Deliveries in ``status`` (e.g. ``held``) for matching destinations, oldest alert first."""
    likes = " OR ".join("d.destination LIKE ?" for _ in destinations_like) or "0"
    params: list[Any] = [status, scope, *destinations_like]
    extra = ""
    if destination is not None:
        extra = " AND d.destination = ?"
        params.append(destination)
    sql = (
        f"SELECT {', '.join('d.' + c.strip() for c in _DELIVERY_COLS.split(','))}, "
        f"{', '.join('a.' + c.strip() for c in _ALERT_COLS.split(','))} "
        "FROM deliveries d JOIN alerts a ON a.id = d.alert_id "
        f"WHERE d.status = ? AND a.scope = ? AND ({likes}){extra} ORDER BY a.id, d.id"
    )
    return [(Delivery(*row[:_NDC]), _row_to_alert(row[_NDC:])) for row in db.execute(sql, params).fetchall()]


def alerts_with_external_id(db: Database, destination: str, external_id: str) -> list[StoredAlert]:
    """The events whose delivery to ``destination`` landed in message ``external_id`` (a digest)."""
    return [
        _row_to_alert(r)
        for r in db.execute(
            f"SELECT {', '.join('a.' + c.strip() for c in _ALERT_COLS.split(','))} FROM deliveries d "
            "JOIN alerts a ON a.id = d.alert_id WHERE d.destination = ? AND d.external_id = ? "
            "AND d.status = 'sent' ORDER BY a.id",
            [destination, external_id],
        )
    ]


def set_status(
    db: Database,
    delivery_ids: Iterable[int],
    status: str,
    external_id: str | None = None,
    error: str | None = None,
    now: int | None = None,
) -> None:
    """Move several deliveries at once (a digest sent, held ones skipped, ...), in one transaction.

    (A bare ``executemany`` outside a transaction opens an implicit one that nothing commits:
    every later write of the bot would join it and be lost when the process ends.)
    """
    now = int(time.time()) if now is None else now
    with db.atomic():
        db.conn.executemany(
            "UPDATE deliveries SET status = ?, external_id = COALESCE(?, external_id), last_error = ?, "
            "updated_at = ? WHERE id = ?",
            [(status, external_id, error, now, i) for i in delivery_ids],
        )


def skip_pending(db: Database, destination: str, reason: str, now: int | None = None) -> int:
    """Mark every pending or held delivery to ``destination`` skipped (the channel is gone)."""
    now = int(time.time()) if now is None else now
    cur = db.execute(
        "UPDATE deliveries SET status = 'skipped', last_error = ?, updated_at = ? "
        "WHERE destination = ? AND status IN ('pending', 'held')",
        [reason[:500], now, destination],
    )
    return int(cur.rowcount or 0)
