"""``flowwatch health``, ``db backup`` and ``db prune``."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import load_settings
from bot.engine import Engine, Rules, persist
from bot.health import check
from bot.upkeep import prune
from signals.base import Level, Reading
from storage import liq_raw, meta
from storage import observations as obs_repo
from storage.alerts import AlertEvent
from storage.db import open_db
from storage.observations import Observation

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
T = int(NOW.timestamp())


def test_health_states(db) -> None:  # type: ignore[no-untyped-def]
    rep = check(db, NOW)
    assert not rep.ok and "never run" in rep.problems[0]
    meta.put(db, "heartbeat", {"pid": 1, "mode": "console"}, now=T - 30)
    meta.record_poll(db, "cboe_daily", True, 40, None, now=T - 3600)
    assert check(db, NOW).ok
    # the source has failed for 3 days
    meta.record_poll(db, "cboe_daily", False, 0, "cboe: HTTP 503", now=T)
    assert check(db, NOW).ok  # last success an hour ago: still fine
    assert not check(db, NOW + timedelta(days=3)).ok
    # heartbeat too old
    rep = check(db, NOW + timedelta(minutes=10))
    assert any("last heartbeat 10m" in p for p in rep.problems)
    meta.put(db, "heartbeat", {"pid": 1, "stopped": True}, now=T)
    assert any("the bot stopped" in p for p in check(db, NOW).problems)


def test_health_reports_overdue_deliveries_and_stale_data(db) -> None:  # type: ignore[no-untyped-def]
    meta.put(db, "heartbeat", {"pid": 1, "mode": "discord"}, now=T)
    ev = AlertEvent(signal="vix_term", key="vix3m", event="fired", level="alert", ts=T - 7200, summary="s")
    persist(db, "live", [], [ev], lambda d, s, e: (["discord:1"], []), now=T - 3600)
    db.execute("UPDATE deliveries SET last_error = 'HTTP 503'")
    rep = check(db, NOW)
    assert any("1 alert deliveries overdue" in p and "HTTP 503" in p for p in rep.problems)
    db.execute("UPDATE deliveries SET status = 'sent'")
    e = Engine()
    r = Reading(
        signal="vix_term",
        key="stale:vix3m",
        ts=NOW,
        value=90.0,
        level=Level.WATCH,
        hold=Level.WATCH,
        summary="stale",
        source="x",
        confirm=1,
    )
    persist(db, "live", [], [], now=T)
    persist(db, "live", [], e.step(r, Rules(), kind="notice"), now=T)
    persist(db, "live", e.take_dirty(), [], now=T)
    assert any("stale data for vix_term/vix3m" in p for p in check(db, NOW).problems)


def test_health_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "h.db"
    assert main(["health", "--db", str(path)]) == 1
    assert "no database" in capsys.readouterr().out
    db = open_db(path)
    meta.put(db, "heartbeat", {"pid": 1, "mode": "console"})
    db.close()
    assert main(["health", "--db", str(path)]) == 0
    assert capsys.readouterr().out.startswith("healthy")


def test_online_backup_while_writing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "live.db"
    db = open_db(path)
    obs_repo.upsert(db, [Observation("a.b", i, float(i + 1), "x") for i in range(20000)])
    db.close()
    stop = threading.Event()

    def writer() -> None:
        w = open_db(path)
        i = 10**6
        while not stop.is_set():
            obs_repo.upsert(w, [Observation("a.c", i, 1.0, "x")])
            i += 1
        w.close()

    th = threading.Thread(target=writer)
    th.start()
    try:
        code = main(["db", "backup", str(tmp_path / "copy.db"), "--db", str(path)])
    finally:
        stop.set()
        th.join()
    assert code == 0 and "integrity ok" in capsys.readouterr().out
    copy = sqlite3.connect(tmp_path / "copy.db")
    assert copy.execute("SELECT COUNT(*) FROM observations WHERE series = 'a.b'").fetchone()[0] == 20000
    copy.close()
    assert main(["db", "backup", str(tmp_path / "copy.db"), "--db", str(path)]) == 1
    assert "already exists" in capsys.readouterr().err


def test_prune_keeps_what_retention_says(db) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings(env={}, dotenv=None, check_db=False)
    day = 86400
    obs_repo.upsert(
        db,
        [Observation("yahoo.vix.5m", T - d * day, 20.0, "yahoo") for d in (1, 29, 31, 90)]
        + [Observation("cboe.vix.close", T - 5000 * day, 20.0, "cboe")],
    )
    old = AlertEvent(
        signal="vix_term",
        key="vix3m",
        event="resolved",
        level="ok",
        ts=T - 500 * day,
        summary="s",
        episode="vix_term:vix3m:1",
    )
    recent = AlertEvent(
        signal="vix_term",
        key="vix3m",
        event="fired",
        level="alert",
        ts=T - 10 * day,
        summary="s",
        episode="vix_term:vix3m:2",
    )
    persist(db, "live", [], [old, recent])
    raw = liq_raw.RawBatch()
    raw.add("bybit", "{}", (T - 8 * day) * 1000, (T - 8 * day) * 1000 + 500)
    raw.add("okx", "{}", (T - 6 * day) * 1000, (T - 6 * day) * 1000)
    liq_raw.insert_batch(db, raw)
    dry = prune(db, settings, T, dry_run=True)
    assert dry["observations yahoo.%.5m older than 30 days"] == 2
    assert dry["alert events older than 400 days"] == 1
    assert dry["raw liquidation frames older than 7 days"] == 1  # FLOWWATCH_LIQ_RETENTION_DAYS
    assert db.execute("SELECT COUNT(*) FROM observations").fetchone()[0] == 5
    prune(db, settings, T)
    left = [r[0] for r in db.execute("SELECT series FROM observations ORDER BY ts")]
    assert left == ["cboe.vix.close", "yahoo.vix.5m", "yahoo.vix.5m"]  # daily history is kept for ever
    assert db.execute("SELECT COUNT(*) FROM alerts").fetchone()[0] == 1
    assert db.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0] == 1  # cascade with the alert
    assert db.execute("SELECT venue FROM liq_raw").fetchall() == [("okx",)]


def test_health_counts_what_it_lists(db) -> None:  # type: ignore[no-untyped-def]
    """One problem above five failing sources used to read "UNHEALTHY: 1 problem(s)": the head
    now counts the problems and the failing sources (warnings) it lists below it."""
    meta.put(db, "heartbeat", {"pid": 1, "stopped": True}, now=T)
    for name in ("kalshi_fomc", "polymarket_fomc", "btc_price", "sp500_list", "earnings_calendar"):
        meta.record_poll(db, name, False, 0, f"{name}: connection failed", now=T)
    text = check(db, NOW).text()
    lines = text.splitlines()
    assert lines[0] == "UNHEALTHY: 1 problem; 5 warnings"
    assert sum(line.startswith("  problem: ") for line in lines) == 1
    assert sum(line.startswith("  warning: source ") and "failing" in line for line in lines) == 5
    meta.put(db, "heartbeat", {"pid": 1, "mode": "console"}, now=T)
    assert check(db, NOW).text().splitlines()[0] == "healthy, 5 warnings"
