"""Upkeep: online backup and retention pruning."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database


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
    src = sqlite3.connect(f"file:{src_path}?mode=ro", uri=True, timeout=30)
    out = sqlite3.connect(dest)
    try:
        src.backup(
            out,
            pages=4096,
            progress=(lambda _s, remaining, total: progress(total - remaining, total)) if progress else None,
        )
        check = out.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise MaintenanceError(f"the backup failed its integrity check: {check}")
    except sqlite3.Error as exc:
        out.close()
        dest.unlink(missing_ok=True)
        raise MaintenanceError(f"backup failed: {exc}") from exc
    finally:
        src.close()
    out.close()
    return dest.stat().st_size


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
