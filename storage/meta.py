"""Small process-level facts (heartbeat, source health) as JSON in the ``meta`` table."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlite_utils import Database


def put(db: Database, key: str, value: Any, now: int | None = None) -> None:
    now = int(time.time()) if now is None else now
    db.execute(
        "INSERT INTO meta (key, value, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        [key, json.dumps(value), now],
    )


def get(db: Database, key: str, default: Any = None) -> Any:
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return default if row is None else json.loads(row[0])


def get_with_time(db: Database, key: str) -> tuple[Any, int] | None:
    row = db.execute("SELECT value, updated_at FROM meta WHERE key = ?", [key]).fetchone()
    return None if row is None else (json.loads(row[0]), int(row[1]))


def items(db: Database, prefix: str) -> dict[str, tuple[Any, int]]:
    rows = db.execute("SELECT key, value, updated_at FROM meta WHERE key LIKE ?", [prefix + "%"]).fetchall()
    return {k: (json.loads(v), int(t)) for k, v, t in rows}


def record_poll(
    db: Database, name: str, ok: bool, rows: int = 0, error: str | None = None, now: int | None = None
) -> None:
    """Remember a poll's outcome under ``source:<name>``, keeping the time of the last success."""
    now = int(time.time()) if now is None else now
    prev = get(db, f"source:{name}", {}) or {}
    rec: dict[str, Any] = {"ok": ok, "rows": rows, "at": now, "last_ok": now if ok else prev.get("last_ok")}
    if error:
        rec["error"] = error[:300]
    put(db, f"source:{name}", rec, now)
