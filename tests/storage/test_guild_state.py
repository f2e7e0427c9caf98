"""Guild snoozes, acknowledgements, digest records, and their retention."""

from __future__ import annotations

from typing import Any

from storage import alerts as alert_repo
from storage import guild_state
from storage.alerts import AlertEvent

G = 1


def test_snoozes(db: Any) -> None:
    guild_state.snooze(db, G, "vix_term", 200, 7, 100)
    guild_state.snooze(db, G, "ratecut", 150, 7, 100)
    assert guild_state.active_snoozes(db, G, 120) == {"ratecut": 150, "vix_term": 200}
    assert guild_state.snoozed_until(db, G, "vix_term", 200) is None  # ends at `until`
    assert guild_state.active_snoozes(db, 2, 120) == {}
    guild_state.snooze(db, G, "vix_term", 500, 8, 120)  # extending replaces
    assert guild_state.snoozed_until(db, G, "vix_term", 300) == 500
    assert guild_state.unsnooze(db, G, "vix_term") == 1 and guild_state.unsnooze(db, G) == 1


def test_first_acknowledgement_wins(db: Any) -> None:
    first = guild_state.acknowledge(db, "m1", G, 5, 42, 1000)
    second = guild_state.acknowledge(db, "m1", G, 5, 43, 2000)
    assert first == second and (second.user_id, second.acked_at) == (42, 1000)
    assert guild_state.get_ack(db, "m2") is None


def test_open_digest_by_destination_and_time(db: Any) -> None:
    guild_state.save_digest(db, "d1", "discord:1", "storm", 1000)
    guild_state.save_digest(db, "q1", "discord:1", "quiet", 1100)
    assert guild_state.open_digest(db, "discord:1", "storm", 900) == "d1"
    assert guild_state.open_digest(db, "discord:1", "storm", 1001) is None
    guild_state.save_digest(db, "d1", "discord:1", "storm", 1500)  # edited: still open
    assert guild_state.open_digest(db, "discord:1", "storm", 1400) == "d1"
    assert guild_state.is_digest(db, "q1") and not guild_state.is_digest(db, "x")


def test_prune(db: Any) -> None:
    ev = AlertEvent(signal="vix_term", key="vix3m", event="fired", level="alert", ts=10, summary="s")
    alert_id = alert_repo.insert_event(db, "live", ev, [])
    assert alert_id is not None
    guild_state.acknowledge(db, "m1", G, alert_id, 1, 10)
    guild_state.acknowledge(db, "m2", G, alert_id + 99, 1, 10)  # its alert was pruned
    guild_state.snooze(db, G, "vix_term", 50, None, 10)
    guild_state.snooze(db, G, "ratecut", 10**10, None, 10)
    guild_state.save_digest(db, "d", "discord:1", "storm", 10)
    now = 10 + 401 * 86400
    assert guild_state.prune(db, now, 400, dry_run=True) == {
        "expired guild snoozes": 1,
        "acknowledgements of pruned alerts": 1,
        "digest records older than 400 days": 1,
    }
    guild_state.prune(db, now, 400)
    assert guild_state.get_ack(db, "m1") is not None and guild_state.get_ack(db, "m2") is None
    assert guild_state.prune(db, now, 400, dry_run=True) == dict.fromkeys(
        ["expired guild snoozes", "acknowledgements of pruned alerts", "digest records older than 400 days"],
        0,
    )
