"""Subscriptions: which channel of which guild hears which signal, from which level."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlite_utils import Database


@dataclass(frozen=True)
class Subscription:
    id: int
    guild_id: int
    channel_id: int
    signal: str
    min_level: str
    role_id: int | None
    enabled: bool
    disabled_reason: str | None


_COLS = "id, guild_id, channel_id, signal, min_level, role_id, enabled, disabled_reason"


def _sub(row: tuple) -> Subscription:
    return Subscription(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]), row[7])


def subscribe(
    db: Database,
    guild_id: int,
    channel_id: int,
    signal: str,
    min_level: str = "alert",
    role_id: int | None = None,
    created_by: int | None = None,
) -> Subscription:
    db.execute(
        "INSERT INTO subscriptions (guild_id, channel_id, signal, min_level, role_id, enabled, created_by, "
        "created_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?) ON CONFLICT (guild_id, channel_id, signal) DO UPDATE SET "
        "min_level = excluded.min_level, role_id = excluded.role_id, enabled = 1, disabled_reason = NULL",
        [guild_id, channel_id, signal, min_level, role_id, created_by, int(time.time())],
    )
    row = db.execute(
        f"SELECT {_COLS} FROM subscriptions WHERE guild_id = ? AND channel_id = ? AND signal = ?",
        [guild_id, channel_id, signal],
    ).fetchone()
    return _sub(row)


def unsubscribe(db: Database, guild_id: int, signal: str, channel_id: int | None = None) -> int:
    sql = "DELETE FROM subscriptions WHERE guild_id = ? AND signal = ?"
    params: list[object] = [guild_id, signal]
    if channel_id is not None:
        sql += " AND channel_id = ?"
        params.append(channel_id)
    return int(db.execute(sql, params).rowcount or 0)


def list_subscriptions(
    db: Database, guild_id: int | None = None, signal: str | None = None, enabled_only: bool = False
) -> list[Subscription]:
    sql = f"SELECT {_COLS} FROM subscriptions WHERE 1"
    params: list[object] = []
    if guild_id is not None:
        sql += " AND guild_id = ?"
        params.append(guild_id)
    if signal is not None:
        sql += " AND signal = ?"
        params.append(signal)
    if enabled_only:
        sql += " AND enabled = 1"
    sql += " ORDER BY guild_id, signal, channel_id"
    return [_sub(r) for r in db.execute(sql, params).fetchall()]


def subscriptions_of_channel(db: Database, channel_id: int, signal: str | None = None) -> list[Subscription]:
    """The subscriptions of one channel (an index probe, not a scan of a signal's subscribers)."""
    sql = f"SELECT {_COLS} FROM subscriptions WHERE channel_id = ?"
    params: list[object] = [channel_id]
    if signal is not None:
        sql += " AND signal = ?"
        params.append(signal)
    return [_sub(r) for r in db.execute(sql + " ORDER BY guild_id, signal", params).fetchall()]


def disable_channel(db: Database, channel_id: int, reason: str) -> list[Subscription]:
    """Disable every subscription of a channel (gone or forbidden); returns those changed."""
    subs = [s for s in subscriptions_of_channel(db, channel_id) if s.enabled]
    db.execute(
        "UPDATE subscriptions SET enabled = 0, disabled_reason = ? WHERE channel_id = ? AND enabled = 1",
        [reason[:300], channel_id],
    )
    return subs
