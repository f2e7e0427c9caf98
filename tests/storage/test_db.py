from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from storage import alerts as alert_repo
from storage import observations as obs_repo
from storage import state as state_repo
from storage.alerts import AlertEvent
from storage.db import (
    AsyncStore,
    StorageError,
    applied_migrations,
    check_writable,
    open_db,
    pending_migrations,
)
from storage.observations import Observation
from storage.state import KeyState


def test_open_applies_migrations_and_wal(tmp_path: Path) -> None:
    db = open_db(tmp_path / "a.db")
    applied = applied_migrations(db)
    assert applied[0] == "0001_initial" and len(set(applied)) == len(applied)
    assert pending_migrations(db) == []
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {"observations", "alerts", "deliveries", "signal_state", "subscriptions", "guild_settings"} <= set(
        db.table_names()
    )
    db.close()
    # reopening is a no-op
    db = open_db(tmp_path / "a.db")
    assert applied_migrations(db) == applied
    db.close()


def test_check_writable_messages(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="does not exist"):
        check_writable(tmp_path / "missing" / "x.db")
    with pytest.raises(StorageError, match="is a directory"):
        check_writable(tmp_path)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        import os

        if os.geteuid() != 0:  # root can write anywhere
            with pytest.raises(StorageError, match="not writable"):
                check_writable(ro / "x.db")
    finally:
        ro.chmod(0o700)


def test_upsert_is_idempotent_and_counts(db) -> None:  # type: ignore[no-untyped-def]
    t = 1_700_000_000
    rows = [Observation("cboe.vix.close", t + 100 + i, 10.0 + i, "cboe") for i in range(5)]
    first = obs_repo.upsert(db, rows)
    assert (first.new, first.updated, first.unchanged) == (5, 0, 0)
    again = obs_repo.upsert(db, rows)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 5)
    changed = obs_repo.upsert(
        db,
        [
            Observation("cboe.vix.close", t + 100, 99.0, "fred"),
            Observation("cboe.vix.close", t + 200, 1.0, "cboe"),
        ],
    )
    assert (changed.new, changed.updated, changed.unchanged) == (1, 1, 0)
    latest = obs_repo.latest(db, "cboe.vix.close")
    assert latest is not None and latest.ts == t + 200
    assert db.execute("SELECT value, source FROM observations WHERE ts = ?", [t + 100]).fetchone() == (
        99.0,
        "fred",
    )


def test_upsert_refuses_nan(db) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="non-finite"):
        obs_repo.upsert(db, [Observation("a.b", 1, float("nan"), "x")])
    assert db.execute("SELECT COUNT(*) FROM observations").fetchone()[0] == 0


def test_load_inputs_wide_frame_with_patterns(db) -> None:  # type: ignore[no-untyped-def]
    obs_repo.upsert(
        db,
        [
            Observation("kalshi.fomc.2025-12-10.cut", 1_700_086_400, 0.3, "kalshi"),
            Observation("kalshi.fomc.2026-01-28.cut", 1_700_086_400, 0.1, "kalshi"),
            Observation("cboe.vix.close", 1_700_000_000, 20.0, "cboe"),
            Observation("cboe.vix.close", 1_700_086_400, 21.0, "fred"),
        ],
    )
    inp = obs_repo.load_inputs(db, ["kalshi.fomc.%", "cboe.vix.close"])
    assert list(inp.values.columns) == [
        "cboe.vix.close",
        "kalshi.fomc.2025-12-10.cut",
        "kalshi.fomc.2026-01-28.cut",
    ]
    assert str(inp.values.index.tz) == "UTC"
    assert inp.last_source["cboe.vix.close"] == "fred"
    assert inp.series("cboe.vix.close").tolist() == [20.0, 21.0]
    assert inp.series("nope.nope").empty


def test_series_id_validation() -> None:
    assert obs_repo.validate_series_id("liq.btc.bybit.long_usd.1m")
    for bad in ("VIX", "cboe..vix", "cboe vix.close", "", ".a.b"):
        with pytest.raises(ValueError, match="invalid series id"):
            obs_repo.validate_series_id(bad)


def test_alert_insert_dedupes_and_creates_deliveries(db) -> None:  # type: ignore[no-untyped-def]
    ev = AlertEvent(
        signal="vix_term", key="vix3m", event="fired", level="alert", ts=1000, summary="s", value=1.02
    )
    with db.atomic():
        a = alert_repo.insert_event(db, "live", ev, ["console", "discord:1"], now=5, held=["discord:2"])
    assert a is not None
    with db.atomic():
        assert alert_repo.insert_event(db, "live", ev, ["console"], now=6) is None
    assert alert_repo.insert_event(db, "replay", ev, ["console"]) is not None  # other scope
    ds = {d.destination: d.status for d in alert_repo.deliveries_for(db, a)}
    assert ds == {"console": "pending", "discord:1": "pending", "discord:2": "held"}
    due = alert_repo.due_deliveries(db, "live", ["discord:%"], now=10)
    assert [d.destination for d, _ in due] == ["discord:1"]
    d = due[0][0]
    alert_repo.mark_retry(db, d.id, "HTTP 500", next_attempt_at=100, now=10)
    assert alert_repo.due_deliveries(db, "live", ["discord:%"], now=50) == []
    assert alert_repo.next_due_at(db, "live", ["discord:%"]) == 100
    alert_repo.mark_sent(db, d.id, "123456", now=101)
    got = alert_repo.deliveries_for(db, a)
    sent = next(x for x in got if x.destination == "discord:1")
    assert (sent.status, sent.attempts, sent.external_id, sent.last_error) == ("sent", 2, "123456", None)


def test_state_roundtrip(db) -> None:  # type: ignore[no-untyped-def]
    st = KeyState(
        signal="vix_term", key="vix3m", state="firing", level="alert", since=5, peak=1.2, episode="e"
    )
    with db.atomic():
        state_repo.save_states(db, "live", [st], now=1)
    loaded = state_repo.load_states(db, "live")
    assert loaded[("vix_term", "vix3m")] == st
    assert state_repo.load_states(db, "replay") == {}


def test_async_store_owns_one_thread(tmp_path: Path) -> None:
    async def go() -> set[str]:
        store = await AsyncStore(tmp_path / "s.db").open()
        names = set()
        for _ in range(5):
            names.add(await store.call(lambda db: threading.current_thread().name))
        await store.call(obs_repo.upsert, [Observation("a.b", 1, 1.0, "x")])
        assert await store.call(lambda db: db.execute("SELECT COUNT(*) FROM observations").fetchone()[0]) == 1
        await store.close()
        return names

    names = asyncio.run(go())
    assert len(names) == 1 and next(iter(names)).startswith("sqlite-owner")


def test_a_destination_gets_its_messages_in_order(db) -> None:  # type: ignore[no-untyped-def]
    """A delivery waits while an older one to the same destination waits for its retry: a later
    alert never overtakes it; other destinations are not held up."""

    def event(i: int) -> AlertEvent:
        return AlertEvent(
            signal="vix_term", key="vix3m", event="fired", level="alert", ts=1000 + i, summary="s"
        )

    with db.atomic():
        first = alert_repo.insert_event(db, "live", event(0), ["discord:1"], now=5)
        alert_repo.insert_event(db, "live", event(1), ["discord:1", "discord:2"], now=6)
    (d1,) = alert_repo.deliveries_for(db, first)
    alert_repo.mark_retry(db, d1.id, "HTTP 503", next_attempt_at=100, now=10)
    due = alert_repo.due_deliveries(db, "live", ["discord:%"], now=50)
    assert [(d.destination, a.ts) for d, a in due] == [("discord:2", 1001)]
    due = alert_repo.due_deliveries(db, "live", ["discord:%"], now=100)
    assert [(d.destination, a.ts) for d, a in due] == [
        ("discord:1", 1000),
        ("discord:1", 1001),
        ("discord:2", 1001),
    ]
