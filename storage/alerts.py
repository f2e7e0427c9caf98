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
    """Insert one event and its deliveries; ``None`` when the same event already exists."""
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

_DELIVERY_COLS = "id, alert_id, destination, status, attempts, last_error, external_id, next_attempt_at"


def due_deliveries(
    db: Database, scope: str, destinations_like: Sequence[str], now: int, limit: int = 50
) -> list[tuple[Delivery, StoredAlert]]:
    """Pending deliveries whose next attempt is due, oldest alert first."""
    likes = " OR ".join("d.destination LIKE ?" for _ in destinations_like) or "0"
    sql = (
        f"SELECT {', '.join('d.' + c.strip() for c in _DELIVERY_COLS.split(','))}, "
        f"{', '.join('a.' + c.strip() for c in _ALERT_COLS.split(','))} "
        "FROM deliveries d JOIN alerts a ON a.id = d.alert_id "
        f"WHERE d.status = 'pending' AND a.scope = ? AND ({likes}) "
        "AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?) ORDER BY a.id, d.id LIMIT ?"
    )
    out = []
    for row in db.execute(sql, [scope, *destinations_like, now, limit]).fetchall():
        out.append((Delivery(*row[:8]), _row_to_alert(row[8:])))
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
