"""Upkeep: online backup and retention pruning."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from storage.db import connect_readonly


class MaintenanceError(RuntimeError):
    pass


def backup(src_path: Path, dest: Path, progress: Callable[[int, int], None] | None = None) -> int:
    """Copy the live database to ``dest`` with SQLite's online backup API (safe while the bot
    writes); returns the size in bytes. The copy is checked with ``PRAGMA integrity_check``."""
    if not src_path.is_file():
        raise MaintenanceError(f"no database at {src_path}")
    if dest.exists():
        raise MaintenanceError(f"{dest} already exists; choose a new file name")
    if dest.resolve() == src_path.resolve():
        raise MaintenanceError("the backup file must differ from the database")
    if not dest.parent.is_dir():
        raise MaintenanceError(f"folder {dest.parent} does not exist")
    try:
        src = connect_readonly(src_path, timeout=30)  # (a read-only file system too)
    except sqlite3.Error as exc:
        raise MaintenanceError(f"backup failed: cannot read {src_path}: {exc}") from exc
    out: sqlite3.Connection | None = None
    try:
        out = sqlite3.connect(dest)
        src.backup(
            out,
            pages=4096,
            progress=(lambda _s, remaining, total: progress(total - remaining, total)) if progress else None,
        )
        problems = [str(r[0]) for r in out.execute("PRAGMA integrity_check(10)").fetchall()]
        if problems != ["ok"]:
            raise MaintenanceError(
                f"the copy failed its integrity check ({'; '.join(problems)[:300]}): the database itself is "
                "damaged; keep your last good backup (see docs/operations.md, 'A damaged database')"
            )
        out.close()
        out = None
    except BaseException as exc:
        # every failure (disk full, a damaged source, Ctrl-C) leaves no partial copy behind,
        # so the same name can be used again
        if out is not None:
            out.close()
        remove_partial(dest)
        if isinstance(exc, sqlite3.Error):
            raise MaintenanceError(f"backup failed: {exc}; nothing was left at {dest}") from exc
        raise
    finally:
        src.close()
    return dest.stat().st_size


def remove_partial(dest: Path) -> None:
    for p in (dest, *(dest.with_name(dest.name + s) for s in ("-journal", "-wal", "-shm"))):
        p.unlink(missing_ok=True)


@dataclass(frozen=True)
class Retention:
    """Observations of series matching ``pattern`` (SQL LIKE) are kept for ``days``."""

    pattern: str
    days: float
    why: str = ""


def prune_observations(
    db: Database, rules: list[Retention], now: int, dry_run: bool = False
) -> dict[str, int]:
    out = {}
    for rule in rules:
        cutoff = now - int(rule.days * 86400)
        if dry_run:
            n = db.execute(
                "SELECT COUNT(*) FROM observations WHERE series LIKE ? AND ts < ?", [rule.pattern, cutoff]
            ).fetchone()[0]
        else:
            with db.atomic():
                n = db.execute(
                    "DELETE FROM observations WHERE series LIKE ? AND ts < ?", [rule.pattern, cutoff]
                ).rowcount
        out[f"observations {rule.pattern} older than {rule.days:g} days"] = int(n or 0)
    return out


def prune_alerts(db: Database, days: float, now: int, dry_run: bool = False) -> dict[str, int]:
    """Alert events (and their deliveries) older than ``days`` whose lifecycle is over."""
    cutoff = now - int(days * 86400)
    where = (
        "ts < ? AND (episode IS NULL OR episode NOT IN (SELECT episode FROM signal_state "
        "WHERE episode IS NOT NULL))"
    )
    if dry_run:
        n = db.execute(f"SELECT COUNT(*) FROM alerts WHERE {where}", [cutoff]).fetchone()[0]
    else:
        with db.atomic():
            n = db.execute(f"DELETE FROM alerts WHERE {where}", [cutoff]).rowcount
    return {f"alert events older than {days:g} days": int(n or 0)}


def checkpoint(db: Database) -> None:
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
