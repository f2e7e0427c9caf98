"""The outbox: every write commits (or joins the caller's transaction), never leaves one open."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from storage import alerts as alert_repo
from storage.alerts import AlertEvent
from storage.db import open_db


def event(i: int) -> AlertEvent:
    return AlertEvent("vix_term", "vix3m", "fired", "alert", 1_700_000_000 + i, f"event {i}")


def statuses(path: Path) -> list[tuple[str, str, str | None]]:
    """What another connection (another process: the next start, `flowwatch health`) sees."""
    other = open_db(path, migrate=False)
    try:
        return other.execute(
            "SELECT destination, status, external_id FROM deliveries ORDER BY alert_id, destination"
        ).fetchall()
    finally:
        other.close()


def test_set_status_commits_and_leaves_no_transaction_open(db: Any, tmp_path: Path) -> None:
    """A held digest released: its deliveries move at once. A transaction left open here would
    capture every later write of the bot (savepoints inside it) until the process died."""
    alert_repo.insert_event(db, "live", event(1), [], now=100, held=["discord:1", "discord:2"])
    assert not db.conn.in_transaction
    ids = [d.id for d in alert_repo.deliveries_for(db, 1)]
    alert_repo.set_status(db, ids, "sent", "m1", None, 200)
    assert not db.conn.in_transaction
    alert_repo.insert_event(db, "live", event(2), ["discord:1"], now=300)
    assert not db.conn.in_transaction
    assert statuses(tmp_path / "test.db") == [
        ("discord:1", "sent", "m1"),
        ("discord:2", "sent", "m1"),
        ("discord:1", "pending", None),
    ]


def test_an_event_and_its_deliveries_are_one_write(db: Any) -> None:
    """Inside a caller's transaction they roll back with it; alone, they commit together."""
    try:
        with db.atomic():
            alert_repo.insert_event(db, "live", event(1), ["discord:1", "console"], now=100)
            raise RuntimeError("the engine's state write failed")
    except RuntimeError:
        pass
    assert db.execute("SELECT COUNT(*) FROM alerts").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0] == 0
    assert alert_repo.insert_event(db, "live", event(1), ["discord:1", "console"], now=100) == 1
    assert alert_repo.insert_event(db, "live", event(1), ["discord:1"], now=100) is None  # deduped
    assert [d.destination for d in alert_repo.deliveries_for(db, 1)] == ["discord:1", "console"]
    assert not db.conn.in_transaction
