"""The btc_liq roll-ups equal the 1-minute rows they are made of, whoever wrote them and however
often: no liquidation counted twice (rewrites, late minutes, imports beside live buckets), none
lost when the 1-minute rows are pruned."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

from storage import liq_rollups
from storage import observations as obs_repo
from storage.db import open_db
from storage.importer import import_csv
from storage.observations import Observation
from tests.storage.test_release_db import release_db

T0 = 1_795_000_000 // 86400 * 86400  # 2026-11-18 00:00 UTC
VENUES = ("bybit", "binance", "okx")


def expected(db: Database) -> dict[tuple[int, str, int], tuple[float, float, int, float]]:
    """The roll-ups recomputed in Python from the 1-minute rows stored."""
    out: dict[tuple[int, str, int], list[float]] = {}
    for series, ts, value in db.execute("SELECT series, ts, value FROM observations").fetchall():
        if not liq_rollups.tracked(series):
            continue
        venue, metric = series.split(".")[2], series.split(".")[3]
        for res in liq_rollups.ROLLUP_RES:
            acc = out.setdefault((res, venue, ts // res * res), [0.0, 0.0, 0, 0.0])
            if metric == "gap_s":
                acc[3] += value
            else:
                acc[0 if metric == "long_usd" else 1] += max(value, 0.0)
                acc[2] += 1
    return {k: (a, b, int(c), d) for k, (a, b, c, d) in out.items()}


def stored(db: Database) -> dict[tuple[int, str, int], tuple[float, float, int, float]]:
    return {
        (res, v, ts): (a, b, n, g)
        for res, v, ts, a, b, n, g in db.execute(
            "SELECT res, venue, ts, long_usd, short_usd, rows, gap_s FROM liq_rollup"
        ).fetchall()
        if a or b or n or g
    }


def assert_consistent(db: Database) -> None:
    want, got = expected(db), stored(db)
    assert set(got) == set(want)
    for k, (a, b, n, g) in want.items():
        ga, gb, gn, gg = got[k]
        assert ga == pytest.approx(a, rel=1e-9, abs=1e-6) and gb == pytest.approx(b, rel=1e-9, abs=1e-6), k
        assert gn == n and gg == pytest.approx(g), k
    # the all-venue totals are the sums of the venues' roll-ups
    for res in liq_rollups.TOTAL_RES:
        src = 3600 if res == 14400 else res
        sums: dict[int, float] = {}
        for (r, _v, ts), (a, b, _n, _g) in want.items():
            if r == src:
                sums[ts // res * res] = sums.get(ts // res * res, 0.0) + a + b
        rows = dict(db.execute("SELECT ts, usd FROM liq_total WHERE res = ?", [res]).fetchall())
        assert set(rows) == set(sums), res
        for ts, usd in sums.items():
            assert rows[ts] == pytest.approx(usd, rel=1e-9, abs=1e-6), (res, ts)


def minute_rows(rng: random.Random, minutes: range, venues: tuple[str, ...] = VENUES) -> list[Observation]:
    out = []
    for m in minutes:
        for v in venues:
            out.append(Observation(f"liq.btc.{v}.long_usd.1m", T0 + 60 * m, round(rng.uniform(0, 5e5), 2), v))
            out.append(
                Observation(f"liq.btc.{v}.short_usd.1m", T0 + 60 * m, round(rng.uniform(0, 5e5), 2), v)
            )
    return out


def test_rewrites_late_minutes_and_imports_never_count_twice(db: Database) -> None:
    rng = random.Random(4)
    # the flusher: each minute written while open, then again when closed (with more in it)
    for m in range(0, 600, 2):
        open_rows = minute_rows(rng, range(m, m + 2))
        obs_repo.write_many(db, [(o.series, o.ts, round(o.value * 0.5, 2), o.source) for o in open_rows])
        obs_repo.write_many(db, [(o.series, o.ts, o.value, o.source) for o in open_rows])
    # late liquidations for minutes already written, and a stream gap
    late = minute_rows(rng, range(100, 130))
    obs_repo.write_many(db, [(o.series, o.ts, o.value, o.source) for o in late])
    obs_repo.write_many(db, [("liq.btc.okx.gap_s.1m", T0 + 60 * m, 60.0, "okx") for m in range(200, 210)])
    # an import of the same rows (idempotent), a REST fill of minutes the stream missed, a
    # Coinglass import of the same hours (another series: never in the live roll-ups)
    obs_repo.upsert(db, late)
    obs_repo.upsert(db, minute_rows(rng, range(700, 760), ("okx",)))
    obs_repo.upsert(
        db,
        [
            Observation("liq.btc.coinglass.long_usd.4h", T0 + 14400 * k, 5e7, "coinglass:binance")
            for k in range(3)
        ],
    )
    # the same row twice in one batch: the last value is stored and counted once
    obs_repo.write_many(
        db, [("liq.btc.bybit.long_usd.1m", T0, 1.0, "bybit"), ("liq.btc.bybit.long_usd.1m", T0, 7.0, "bybit")]
    )
    assert_consistent(db)
    assert (
        db.execute("SELECT COUNT(*) FROM liq_rollup WHERE venue NOT IN ('bybit','binance','okx')").fetchone()[
            0
        ]
        == 0
    )
    # the incremental roll-ups equal a rebuild from scratch
    before = stored(db)
    liq_rollups.rebuild(db)
    after = stored(db)
    assert set(before) == set(after)
    for k in before:
        assert before[k][:3] == pytest.approx(after[k][:3], rel=1e-9, abs=1e-6)


def test_flowwatch_import_of_a_minute_series_keeps_its_rollups(db: Database, tmp_path: Path) -> None:
    """``flowwatch import liq.btc.bybit.long_usd.1m F`` streams the file through a staging table;
    the roll-ups move with it, in the same transaction, and a re-import changes nothing."""
    rng = random.Random(11)
    obs_repo.write_many(db, [(o.series, o.ts, o.value, o.source) for o in minute_rows(rng, range(0, 50))])
    csv = tmp_path / "bybit.csv"
    lines = ["ts,value"] + [f"{T0 + 60 * m},{round(rng.uniform(0, 5e5), 2)}" for m in range(30, 400)]
    csv.write_text("\n".join(lines) + "\n")
    res = import_csv(db, "liq.btc.bybit.long_usd.1m", csv, now_ts=T0 + 86400 * 2)
    assert res.total == 370 and res.new == 350 and res.updated == 20
    assert_consistent(db)
    again = import_csv(db, "liq.btc.bybit.long_usd.1m", csv, now_ts=T0 + 86400 * 2)
    assert again.unchanged == 370
    assert_consistent(db)


def test_pruned_minutes_live_on_in_the_rollups(db: Database) -> None:
    rng = random.Random(7)
    obs_repo.upsert(db, minute_rows(rng, range(0, 3 * 1440, 7)))
    want = expected(db)
    db.execute("DELETE FROM observations WHERE ts < ?", [T0 + 2 * 86400])
    db.conn.commit()
    # a late rewrite of a kept minute changes its periods by the difference only
    obs_repo.write_many(db, [("liq.btc.bybit.long_usd.1m", T0 + 2 * 86400 + 7 * 60 * 5, 0.0, "bybit")])
    got = stored(db)
    for (res, v, ts), vals in want.items():
        if ts + res <= T0 + 2 * 86400:
            assert got[(res, v, ts)] == pytest.approx(vals), (res, v, ts)


def test_pruned_minutes_written_again_are_not_counted_twice(db: Database) -> None:
    """After ``db prune`` the roll-ups hold the pruned minutes alone: writing those minutes again
    (``flowwatch import`` of an export, a late fill) must not add them a second time, while a
    minute of a period the venue never had data for is still counted."""
    rng = random.Random(5)
    rows = minute_rows(rng, range(0, 3 * 1440, 11))
    obs_repo.upsert(db, rows)
    want = stored(db)
    cut = T0 + 2 * 86400
    while liq_rollups.prune_minutes_step(db, cut):
        pass
    assert liq_rollups.pruned_before(db) == cut
    assert (
        db.execute("SELECT MIN(ts) FROM observations WHERE series LIKE 'liq.btc.%.1m'").fetchone()[0] >= cut
    )
    obs_repo.upsert(db, rows)  # every minute again: the pruned ones and the kept ones
    obs_repo.write_many(db, [(o.series, o.ts, o.value, o.source) for o in rows[:300]])
    obs_repo.write_many(db, [("liq.btc.okx.gap_s.1m", T0 + 60 * 11 * k, 30.0, "okx") for k in range(3)])
    got = stored(db)
    gapped = {(res, "okx", T0 + 60 * 11 * k // res * res) for k in range(3) for res in liq_rollups.ROLLUP_RES}
    for k, vals in want.items():
        assert got[k][:3] == pytest.approx(vals[:3], rel=1e-9, abs=1e-6), k
        if k not in gapped:
            assert got[k][3] == pytest.approx(vals[3]), k
    # a pruned-range minute of a period nobody had data for: its liquidations are new
    fresh = T0 + 60 * 3  # minute 3 (rows above are every 11th minute): its 5-minute period is held
    empty = T0 + 60 * 6  # 00:05-00:10 of day 0 holds none of the minutes above (0, 11, 22, ...)
    assert (300, "bybit", empty // 300 * 300) not in want
    obs_repo.write_many(
        db,
        [
            ("liq.btc.bybit.long_usd.1m", fresh, 1e6, "bybit"),
            ("liq.btc.bybit.long_usd.1m", empty, 2e6, "bybit"),
        ],
    )
    after = stored(db)
    assert after[(300, "bybit", fresh // 300 * 300)][0] == pytest.approx(
        want[(300, "bybit", fresh // 300 * 300)][0]
    )
    assert after[(300, "bybit", empty // 300 * 300)][:3] == pytest.approx((2e6, 0.0, 1))
    day = (86400, "bybit", T0)
    assert after[day][0] == pytest.approx(want[day][0] + 2e6)


def test_migration_builds_the_rollups_of_an_existing_database(tmp_path: Path) -> None:
    path = release_db(tmp_path)  # a database of release 0.1.0, then a year's worth of minutes in it
    rng = random.Random(2)
    rows = [
        (f"liq.btc.{v}.{s}_usd.1m", T0 + 60 * m, round(rng.uniform(-1, 4e5), 2), v)
        for m in range(0, 2000, 3)
        for v in VENUES
        for s in ("long", "short")
    ] + [("liq.btc.binance.gap_s.1m", T0 + 60 * m, 12.0, "binance") for m in range(0, 50)]
    with sqlite3.connect(path) as con:
        con.executemany("INSERT INTO observations VALUES (?, ?, ?, ?)", rows)
    db = open_db(path)
    try:
        assert "0005_liq_rollups" in [
            m for (m,) in db.execute("SELECT name FROM _sqlite_migrations").fetchall()
        ]
        assert_consistent(db)
    finally:
        db.close()


def test_bounded_reads(db: Database) -> None:
    rng = random.Random(9)
    obs_repo.upsert(db, minute_rows(rng, range(0, 1440)))
    day = liq_rollups.totals(db, 86400, T0, T0 + 86400)
    assert day["minutes"].tolist() == [1440]
    five = liq_rollups.totals(db, 300, T0, T0 + 86400)
    assert len(five) == 288 and five["usd"].sum() == pytest.approx(day["usd"][0])
    big = liq_rollups.totals(db, 300, T0, T0 + 86400, min_usd=float(sorted(five["usd"])[-10]))
    assert len(big) == 10 and big["ts"].tolist() == sorted(big["ts"].tolist())
    per_venue = liq_rollups.rollups(db, 3600, T0, T0 + 7200)
    assert len(per_venue) == 6 and set(per_venue["venue"].tolist()) == {0, 1, 2}
    assert liq_rollups.first_minute(db) == T0 and liq_rollups.first_total(db, 86400, 1152) == T0


def test_the_rollups_move_in_the_buckets_transaction(
    db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A write that fails after its buckets are in (here: the roll-up update itself, as a full
    disk would) leaves neither: the stream flusher's batch and an import keep buckets and roll-ups
    together or not at all."""
    rng = random.Random(3)
    obs_repo.upsert(db, minute_rows(rng, range(0, 30)))
    want = stored(db)
    n = db.execute("SELECT COUNT(*) FROM observations").fetchone()[0]
    real = liq_rollups.apply

    def failing(db_: Database, pending: liq_rollups.Pending | None) -> None:
        real(db_, pending)
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(liq_rollups, "apply", failing)
    more = minute_rows(rng, range(20, 60))
    with pytest.raises(sqlite3.OperationalError):
        obs_repo.write_many(db, [(o.series, o.ts, o.value, o.source) for o in more])
    with pytest.raises(sqlite3.OperationalError):
        obs_repo.upsert(db, more)
    csv = tmp_path / "okx.csv"
    csv.write_text("ts,value\n" + "".join(f"{T0 + 60 * m},{1000 + m}\n" for m in range(0, 90)))
    with pytest.raises(sqlite3.OperationalError):
        import_csv(db, "liq.btc.okx.long_usd.1m", csv, now_ts=T0 + 86400)
    assert db.execute("SELECT COUNT(*) FROM observations").fetchone()[0] == n
    assert stored(db) == want
    monkeypatch.setattr(liq_rollups, "apply", real)
    obs_repo.write_many(db, [(o.series, o.ts, o.value, o.source) for o in more])
    assert_consistent(db)
