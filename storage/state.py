"""Persisted alert-engine state, one row per (scope, signal, key)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, fields

from sqlite_utils import Database


@dataclass
class KeyState:
    signal: str
    key: str
    state: str = "ok"  # ok | pending | firing
    level: str = "ok"
    since: int | None = None
    level_since: int | None = None
    last_ts: int | None = None
    last_value: float | None = None
    peak: float | None = None
    peak_ts: int | None = None
    peak_level: str | None = None
    reported_value: float | None = None
    pending_level: str | None = None
    pending_count: int = 0
    cooldown_until: int | None = None
    snoozed_until: int | None = None
    episode: str | None = None

    def copy(self) -> KeyState:
        return KeyState(**asdict(self))


_COLUMNS = [f.name for f in fields(KeyState)]


def load_states(db: Database, scope: str, signal: str | None = None) -> dict[tuple[str, str], KeyState]:
    sql = f"SELECT {', '.join(_COLUMNS)} FROM signal_state WHERE scope = ?"
    params: list[object] = [scope]
    if signal is not None:
        sql += " AND signal = ?"
        params.append(signal)
    out = {}
    for row in db.execute(sql, params).fetchall():
        st = KeyState(**dict(zip(_COLUMNS, row, strict=True)))
        out[(st.signal, st.key)] = st
    return out


def save_states(db: Database, scope: str, states: list[KeyState], now: int | None = None) -> None:
    """Upsert states; call inside the caller's transaction so state and events commit together
    (alone, it commits by itself)."""
    if not states:
        return
    now = int(time.time()) if now is None else now
    cols = ["scope", *_COLUMNS, "updated_at"]
    sql = (
        f"INSERT INTO signal_state ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
        "ON CONFLICT (scope, signal, key) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in cols[3:])
    )
    with db.atomic():
        db.conn.executemany(sql, [(scope, *(getattr(s, c) for c in _COLUMNS), now) for s in states])


def delete_scope(db: Database, scope: str, signal: str | None = None) -> None:
    if signal is None:
        db.execute("DELETE FROM signal_state WHERE scope = ?", [scope])
    else:
        db.execute("DELETE FROM signal_state WHERE scope = ? AND signal = ?", [scope, signal])


def set_snooze(db: Database, scope: str, signal: str, until: int | None) -> int:
    """Snooze (or unsnooze, ``until=None``) every key of a signal; creates rows if needed."""
    cur = db.execute(
        "UPDATE signal_state SET snoozed_until = ?, updated_at = ? WHERE scope = ? AND signal = ?",
        [until, int(time.time()), scope, signal],
    )
    return int(cur.rowcount or 0)
