"""Per-guild state of the Discord layer: snoozes, acknowledgements, digest messages.

Snoozes here are per guild (a guild silences a signal for itself); the engine's global
``signal_state.snoozed_until`` is a different, operator-level switch.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

# --- snoozes ---------------------------------------------------------------------------


def snooze(db: Database, guild_id: int, signal: str, until: int, by: int | None, now: int) -> None:
    db.execute(
        "INSERT INTO guild_snoozes (guild_id, signal, until, created_by, created_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (guild_id, signal) DO UPDATE SET until = excluded.until, "
        "created_by = excluded.created_by, created_at = excluded.created_at",
        [guild_id, signal, until, by, now],
    )


def unsnooze(db: Database, guild_id: int, signal: str | None = None) -> int:
    """Lift one signal's snooze (or all of the guild's with ``signal=None``); how many were lifted."""
    if signal is None:
        cur = db.execute("DELETE FROM guild_snoozes WHERE guild_id = ?", [guild_id])
    else:
        cur = db.execute("DELETE FROM guild_snoozes WHERE guild_id = ? AND signal = ?", [guild_id, signal])
    return int(cur.rowcount or 0)


def snoozed_until(db: Database, guild_id: int, signal: str, now: int) -> int | None:
    row = db.execute(
        "SELECT until FROM guild_snoozes WHERE guild_id = ? AND signal = ? AND until > ?",
        [guild_id, signal, now],
    ).fetchone()
    return None if row is None else int(row[0])


def active_snoozes(db: Database, guild_id: int, now: int) -> dict[str, int]:
    """Signal -> until, for the snoozes of ``guild_id`` still in force at ``now``."""
    rows = db.execute(
        "SELECT signal, until FROM guild_snoozes WHERE guild_id = ? AND until > ? ORDER BY signal",
        [guild_id, now],
    ).fetchall()
    return {s: int(u) for s, u in rows}


# --- acknowledgements ------------------------------------------------------------------


@dataclass(frozen=True)
class Ack:
    message_id: str
    guild_id: int
    alert_id: int
    user_id: int
    acked_at: int


def acknowledge(db: Database, message_id: str, guild_id: int, alert_id: int, user_id: int, now: int) -> Ack:
    """Record the first acknowledgement of a message; a second click keeps the first."""
    db.execute(
        "INSERT OR IGNORE INTO alert_acks (message_id, guild_id, alert_id, user_id, acked_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [str(message_id), guild_id, alert_id, user_id, now],
    )
    ack = get_ack(db, str(message_id))
    assert ack is not None
    return ack


def get_ack(db: Database, message_id: str) -> Ack | None:
    row = db.execute(
        "SELECT message_id, guild_id, alert_id, user_id, acked_at FROM alert_acks WHERE message_id = ?",
        [str(message_id)],
    ).fetchone()
    return None if row is None else Ack(str(row[0]), int(row[1]), int(row[2]), int(row[3]), int(row[4]))


# --- digest messages -------------------------------------------------------------------


def save_digest(db: Database, message_id: str, destination: str, kind: str, now: int) -> None:
    db.execute(
        "INSERT INTO digests (message_id, destination, kind, opened_at, updated_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (message_id) DO UPDATE SET updated_at = excluded.updated_at",
        [str(message_id), destination, kind, now, now],
    )


def open_digest(db: Database, destination: str, kind: str, since: int) -> str | None:
    """The latest ``kind`` digest message of ``destination`` updated at or after ``since``."""
    row = db.execute(
        "SELECT message_id FROM digests WHERE destination = ? AND kind = ? AND updated_at >= ? "
        "ORDER BY updated_at DESC, opened_at DESC LIMIT 1",
        [destination, kind, since],
    ).fetchone()
    return None if row is None else str(row[0])


def is_digest(db: Database, message_id: str) -> bool:
    return db.execute("SELECT 1 FROM digests WHERE message_id = ?", [str(message_id)]).fetchone() is not None


# --- retention -------------------------------------------------------------------------


def prune(db: Database, now: int, keep_days: float, dry_run: bool = False) -> dict[str, int]:
    """Expired snoozes, acknowledgements of pruned alerts, digests older than ``keep_days``."""
    cutoff = now - int(keep_days * 86400)
    rules = {
        "expired guild snoozes": ("guild_snoozes", "until <= ?", [now]),
        "acknowledgements of pruned alerts": (
            "alert_acks",
            "alert_id NOT IN (SELECT id FROM alerts)",
            [],
        ),
        f"digest records older than {keep_days:g} days": ("digests", "updated_at < ?", [cutoff]),
    }
    out = {}
    for label, (table, where, params) in rules.items():
        if dry_run:
            n = db.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}", params).fetchone()[0]
        else:
            with db.atomic():
                n = db.execute(f"DELETE FROM {table} WHERE {where}", params).rowcount
        out[label] = int(n or 0)
    return out
