"""Per-guild settings, one JSON value per key."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlite_utils import Database


def set_value(db: Database, guild_id: int, key: str, value: Any) -> None:
    db.execute(
        "INSERT INTO guild_settings (guild_id, key, value, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (guild_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        [guild_id, key, json.dumps(value), int(time.time())],
    )


def get_value(db: Database, guild_id: int, key: str, default: Any = None) -> Any:
    row = db.execute(
        "SELECT value FROM guild_settings WHERE guild_id = ? AND key = ?", [guild_id, key]
    ).fetchone()
    return default if row is None else json.loads(row[0])


def delete_value(db: Database, guild_id: int, key: str) -> bool:
    cur = db.execute("DELETE FROM guild_settings WHERE guild_id = ? AND key = ?", [guild_id, key])
    return bool(cur.rowcount)


def all_values(db: Database, guild_id: int) -> dict[str, Any]:
    rows = db.execute("SELECT key, value FROM guild_settings WHERE guild_id = ?", [guild_id]).fetchall()
    return {k: json.loads(v) for k, v in rows}


def guilds_with(db: Database, key: str) -> dict[int, Any]:
    rows = db.execute("SELECT guild_id, value FROM guild_settings WHERE key = ?", [key]).fetchall()
    return {int(g): json.loads(v) for g, v in rows}
