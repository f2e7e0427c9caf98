"""A database made by an earlier release opens, migrates and keeps what its users set up."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot import guild_config as gc
from storage import guild_state
from storage import subscriptions as subs
from storage.db import applied_migrations, open_db, pending_migrations

DATA = Path(__file__).parent / "data"
G1, G2 = 111111111111111111, 222222222222222222


def release_db(tmp_path: Path, name: str = "release_0_1_0.sql") -> Path:
    """Materialise the dump of a released database as a real SQLite file."""
    path = tmp_path / "old.db"
    con = sqlite3.connect(path)
    con.executescript((DATA / name).read_text())
    con.close()
    return path


def test_release_0_1_0_migrates_with_its_state_intact(tmp_path: Path) -> None:
    path = release_db(tmp_path)
    with sqlite3.connect(path) as con:
        before_alerts = con.execute("SELECT COUNT(*) FROM alerts").fetchone()[0]
        before_deliveries = con.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0]
    db = open_db(path)
    try:
        assert pending_migrations(db) == []
        assert applied_migrations(db)[:4] == [
            "0001_initial",
            "0002_earnings_calendar",
            "0003_btc_liq_raw",
            "0004_discord_guild_state",
        ]
        g1 = {(s.channel_id, s.signal): s for s in subs.list_subscriptions(db, G1)}
        assert set(g1) == {
            (900000000000000001, "vix_term"),
            (900000000000000001, "btc_liq"),
            (900000000000000002, "ratecut"),
        }
        assert g1[(900000000000000001, "btc_liq")].role_id == 700000000000000007
        assert g1[(900000000000000001, "vix_term")].min_level == "watch"
        g2 = {(s.channel_id, s.signal): s for s in subs.list_subscriptions(db, G2)}
        assert g2[(900000000000000004, "vix_term")].enabled is False
        assert guild_state.snoozed_until(db, G1, "ratecut", 1_780_000_000) == 4_102_444_800
        assert gc.admin_channel(db, G1) == 900000000000000009
        quiet = gc.quiet_hours(db, G2)
        assert quiet is not None and quiet.describe() == "22:00–07:00 Europe/London"
        sched = gc.summary_schedule(db, G1)
        assert sched is not None and sched.describe() == "08:30 America/New_York"
        assert gc.threshold_overrides(db, G1, "vix_term") == {"alert": pytest.approx(1.02)}
        assert db.execute("SELECT COUNT(*) FROM alerts").fetchone()[0] == before_alerts == 42
        assert db.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0] == before_deliveries
        ack = guild_state.get_ack(db, "1300000000000000000")
        assert ack is not None and ack.user_id == 555
    finally:
        db.close()


def test_release_0_1_0_deliveries_after_0006(tmp_path: Path) -> None:
    """0006_delivery_at_scale: every old delivery keeps its status, attempts and message id, with
    no ambiguous attempt and no chart hash; routing's indexes exist; the sink still finds the
    message of an old episode to edit."""
    from storage import alerts as alert_repo

    path = release_db(tmp_path)
    with sqlite3.connect(path) as con:
        old = con.execute("SELECT id, status, attempts, external_id FROM deliveries ORDER BY id").fetchall()
    db = open_db(path)
    try:
        assert "0006_delivery_at_scale" in applied_migrations(db)
        new = db.execute(
            "SELECT id, status, attempts, external_id, ambiguous, chart_sha FROM deliveries ORDER BY id"
        ).fetchall()
        assert [r[:4] for r in new] == old
        assert all(r[4] == 0 and r[5] is None for r in new)
        indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"subscriptions_by_signal", "subscriptions_by_channel"} <= indexes
        sent = db.execute(
            "SELECT a.episode, d.destination, d.external_id, a.id FROM deliveries d JOIN alerts a ON a.id = d.alert_id "
            "WHERE d.status = 'sent' AND d.external_id IS NOT NULL AND a.episode IS NOT NULL ORDER BY a.id LIMIT 1"
        ).fetchone()
        if sent is not None:
            found = alert_repo.episode_message_chart(db, sent[0], sent[1], sent[3] + 10**6)
            assert found is not None and found[1] is None  # an unknown chart: the edit uploads it again
        assert len(subs.subscriptions_of_channel(db, 900000000000000001)) == 2
    finally:
        db.close()
