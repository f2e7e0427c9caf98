"""Bounded reads give the answers of the whole history: ``StoredHistory`` (roll-ups, a few days of
minutes, an import merged by the hour) against ``MemoryHistory`` (every bucket in memory)."""

from __future__ import annotations

import functools
import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlite_utils import Database

from signals.base import Level
from signals.btc_liq import SIGNAL, latest_reading
from signals.btc_liq._history import MemoryHistory
from signals.btc_liq._stored import StoredHistory
from signals.contract import default_params
from storage import liq_rollups
from storage import observations as obs_repo
from storage.liq_reads import LiqReader
from storage.observations import Observation
from storage.timeutil import to_epoch
from tests.signals.test_liquidations import inputs_of

START = datetime(2026, 1, 5, tzinfo=UTC)  # the demo: its cascade on 2026-01-06 13:30
DAY = 86400
VENUES = ("bybit", "binance", "okx")


@functools.cache
def history() -> tuple[list[Observation], list[tuple[int, str, float, float, int]]]:
    """200 days of hourly roll-ups (the minutes of that time pruned), then 20 days of 1-minute
    buckets with holes, then the demo's eleven days; a Binance-only Coinglass daily import over
    the month before the minutes start, overlapping the first of them."""
    demo = list(SIGNAL.demo(START).observations)
    first = min(o.ts for o in demo)
    minutes_from = first - 20 * DAY
    rng = random.Random(8)
    obs: list[Observation] = []
    for m in range(minutes_from, first, 60):
        if rng.random() < 0.01:
            continue  # no venue up: this minute's periods are incomplete
        for venue in VENUES:
            if venue == "okx" and rng.random() < 0.02:
                continue
            obs.append(
                Observation(f"liq.btc.{venue}.long_usd.1m", m, round(rng.expovariate(1 / 4e4), 2), venue)
            )
            obs.append(
                Observation(f"liq.btc.{venue}.short_usd.1m", m, round(rng.expovariate(1 / 3e4), 2), venue)
            )
    hours = []
    for h in range(minutes_from - 200 * DAY, minutes_from, 3600):
        spike = 25.0 if rng.random() < 0.002 else 1.0  # now and then a big hour
        for venue in VENUES:
            hours.append((h, venue, rng.expovariate(1 / 2.4e6) * spike, rng.expovariate(1 / 1.8e6), 120))
    daily = [
        Observation(f"liq.btc.coinglass.{side}_usd.1d", d, 9e6, "coinglass:binance")
        for d in range(minutes_from - 30 * DAY, minutes_from + 3 * DAY, DAY)
        for side in ("long", "short")
    ]
    return obs + demo + daily, hours


@functools.cache
def memory_inputs() -> object:
    obs, hours = history()
    rows = [
        Observation(f"liq.btc.{v}.{metric}.1h", h, value, v)
        for h, v, lo, sh, n in hours
        for metric, value in (("long_usd", lo), ("short_usd", sh), ("minutes", n // 2))
    ]
    return inputs_of(obs + rows)


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Database:
    from storage.db import open_db

    db = open_db(tmp_path_factory.mktemp("stored") / "s.db")
    obs, hours = history()
    obs_repo.upsert(db, obs)
    db.conn.executemany(
        "INSERT INTO liq_rollup (res, venue, ts, long_usd, short_usd, rows, gap_s) VALUES (3600, ?, ?, ?, ?, ?, 0)",
        [(v, h, lo, sh, n) for h, v, lo, sh, n in hours],
    )
    db.conn.commit()
    liq_rollups.derive(db, 3600)  # the minutes' own roll-ups stay as the writes made them
    return db


def test_the_rollups_keep_what_the_writes_made(stored: Database) -> None:
    five = stored.execute(
        "SELECT COUNT(*), SUM(long_usd + short_usd) FROM liq_rollup WHERE res = 300"
    ).fetchone()
    minutes = stored.execute(
        "SELECT COUNT(*), SUM(MAX(value, 0)) FROM observations WHERE series LIKE 'liq.btc.%.%_usd.1m' "
        "AND series NOT LIKE 'liq.btc.coinglass%'"
    ).fetchone()
    assert five[1] == pytest.approx(minutes[1], rel=1e-9)


@pytest.mark.parametrize(
    "at",
    [
        START + timedelta(days=1, hours=13, minutes=31),  # the cascade has just begun
        START + timedelta(days=1, hours=14, minutes=10),  # at its height
        START + timedelta(days=1, hours=18),  # over
        START - timedelta(days=18),  # the minutes' first days, where the import overlaps them
        START + timedelta(days=5),  # calm
    ],
)
def test_latest_readings_agree(stored: Database, at: datetime) -> None:
    p = default_params(SIGNAL)
    mem = latest_reading(MemoryHistory(memory_inputs(), p), p, to_epoch(at))  # type: ignore[arg-type]
    got = latest_reading(StoredHistory(LiqReader(stored), p), p, to_epoch(at))
    assert mem is not None and got is not None
    assert (got.level, got.hold, got.summary) == (mem.level, mem.hold, mem.summary)
    assert got.value == pytest.approx(mem.value, rel=1e-9)
    for name, w in mem.data["windows"].items():
        g = got.data["windows"][name]
        assert (g["level"], g["rank"], g["multiple_rank"]) == (w["level"], w["rank"], w["multiple_rank"]), (
            name
        )
        assert g["median_usd"] == pytest.approx(w["median_usd"], rel=1e-9), name
    assert (got.next_threshold is None) == (mem.next_threshold is None)
    if mem.next_threshold is not None and got.next_threshold is not None:
        assert got.next_threshold.value == pytest.approx(mem.next_threshold.value, rel=1e-6)


def test_the_cascade_is_ranked_against_the_year(stored: Database) -> None:
    p = default_params(SIGNAL)
    r = latest_reading(StoredHistory(LiqReader(stored), p), p, to_epoch(START + timedelta(days=1, hours=14)))
    assert r is not None and r.level == Level.SEVERE
    assert "largest 1h in the stored history" in r.summary or "largest 5m" in r.summary


def test_charts_and_catch_up_agree(stored: Database) -> None:
    p = default_params(SIGNAL)
    end = START + timedelta(days=1, hours=16)
    mem = SIGNAL.chart(memory_inputs(), p, end, 3, episodes=[])  # type: ignore[arg-type]
    from storage.liq_reads import load_inputs

    got = SIGNAL.chart(load_inputs(stored), p, end, 3, episodes=[])
    assert got.res == mem.res == 900 and len(got.x) == len(mem.x)
    np.testing.assert_allclose(got.long, mem.long, rtol=1e-9)
    np.testing.assert_allclose(got.short, mem.short, rtol=1e-9)
    year = SIGNAL.chart(load_inputs(stored), p, end, 250, episodes=[])
    assert year.res == 86400 and year.long.sum() > 0 and year.title.endswith("per day: longs vs shorts")
    after = START + timedelta(days=1, hours=13)
    now = START + timedelta(days=1, hours=15)
    a = SIGNAL.readings_since(memory_inputs(), p, after, now)  # type: ignore[arg-type]
    b = SIGNAL.readings_since(load_inputs(stored), p, after, now)
    assert [(r.ts, r.level, r.hold, r.summary) for r in a] == [(r.ts, r.level, r.hold, r.summary) for r in b]


def test_a_top_five_day_of_three_venues_alerts(tmp_path: object) -> None:
    """A year of three live venues (its minutes pruned: hourly roll-ups), then the minutes of the
    last days: a day that ranks 3rd of its trailing year is an alert, read by range."""
    from storage.db import open_db

    db = open_db(tmp_path / "three.db")  # type: ignore[operator]
    end = int(datetime(2026, 11, 20, tzinfo=UTC).timestamp())
    first_minute = end - 3 * DAY
    rng = random.Random(21)
    big = {end - 300 * DAY: 9.0, end - 200 * DAY: 8.0, end - 100 * DAY: 7.0, end - 50 * DAY: 4.0}
    hours = []
    for d in range(first_minute - 400 * DAY, first_minute, DAY):
        scale = big.get(d, 1.0)
        for h in range(d, d + DAY, 3600):
            for venue in VENUES:  # about $100M a day across the three venues
                v = 100e6 / 24 / 3 * rng.uniform(0.7, 1.3) * scale
                hours.append((h, venue, round(v * 0.6, 2), round(v * 0.4, 2), 120))
    db.conn.executemany(
        "INSERT INTO liq_rollup (res, venue, ts, long_usd, short_usd, rows, gap_s) VALUES (3600, ?, ?, ?, ?, ?, 0)",
        [(v, h, lo, sh, n) for h, v, lo, sh, n in hours],
    )
    db.conn.commit()
    liq_rollups.derive(db, 3600)
    obs = []
    for m in range(first_minute, end, 60):
        spike = 7.5 if m >= end - DAY else 1.0  # the last day: $750M, between the 2nd and the 3rd
        for venue in VENUES:
            v = 100e6 / 1440 / 3 * spike
            obs.append(Observation(f"liq.btc.{venue}.long_usd.1m", m, round(v * 0.8, 2), venue))
            obs.append(Observation(f"liq.btc.{venue}.short_usd.1m", m, round(v * 0.2, 2), venue))
    obs_repo.upsert(db, obs)
    p = default_params(SIGNAL)
    r = latest_reading(StoredHistory(LiqReader(db), p), p, end)
    db.close()
    assert r is not None and r.level == Level.ALERT
    w = r.data["windows"]["24h"]
    assert w["rank"] == 3 and w["level"] == "alert"
    assert "3rd-largest 24h of the last 365 days" in r.summary and "coverage: 100%" in r.summary


def test_minutes_are_read_only_for_the_range_and_its_warm_up(
    stored: Database, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A month of 1-minute buckets is stored; what is shown or replayed is the last days. check's
    evaluation, a two-day chart, an alert's chart and a replay of the last day read 1-minute rows
    only from a few days back (the range and the tracker's warm-up), and a 30-day chart none:
    everything older comes from the roll-ups."""
    from bot.config import load_settings
    from bot.queries import alert_chart_data, chart_data, status
    from bot.replay import run_replay
    from signals.btc_liq._vocab import CHUNK_OVERLAP_S, WARMUP_S
    from storage.alerts import AlertEvent
    from storage.db import open_db

    path = tmp_path_factory.mktemp("bounded") / "b.db"
    copy = open_db(path)
    stored.conn.backup(copy.conn)  # the replay writes its own state: not into the shared fixture
    settings = load_settings(env={"FLOWWATCH_DB": str(path)}, dotenv=None)
    first = copy.execute("SELECT MIN(ts) FROM observations WHERE series LIKE 'liq.btc.%.1m'").fetchone()[0]
    end = copy.execute("SELECT MAX(ts) FROM observations WHERE series LIKE 'liq.btc.%.1m'").fetchone()[0] + 60
    assert end - first > 25 * DAY
    now = datetime.fromtimestamp(end, UTC)
    reads: list[tuple[int, int]] = []
    real = LiqReader.series

    def spy(self: LiqReader, names: list[str], a: int, b: int) -> object:
        if any(n.startswith("liq.btc.") and n.endswith(".1m") for n in names):
            reads.append((a, b))
        return real(self, names, a, b)

    monkeypatch.setattr(LiqReader, "series", spy)

    def earliest(what: str, must_read: bool = True) -> int:
        assert reads or not must_read, f"{what} read no 1-minute rows"
        got = min((a for a, _b in reads), default=end)
        reads.clear()
        return got

    status(copy, settings, now, "btc_liq", running=False)
    # the reading now and the one a day ago, each with the tracker's warm-up and its 24-hour window
    assert earliest("check") >= end - DAY - WARMUP_S - DAY
    chart_data(copy, settings, "btc_liq", now, 2)
    # (its 5-minute bars come from the roll-ups; the tracker's minutes, if any, are bounded)
    assert earliest("a two-day chart", must_read=False) >= end - 2 * DAY - WARMUP_S - DAY
    alert = AlertEvent("btc_liq", "cascade", "updated", "alert", end - 600, "a cascade", value=120.0,
                       data={"start": end - 6000, "total_usd": 120e6, "long_usd": 1e8, "short_usd": 2e7})  # fmt: skip
    assert alert_chart_data(copy, settings, alert) is not None
    assert earliest("the alert chart") >= end - 6000 - WARMUP_S - DAY
    chart_data(copy, settings, "btc_liq", now, 30)
    assert not reads, "a 30-day chart reads roll-ups, not minutes"
    day = datetime.fromtimestamp(end // DAY * DAY, UTC) - timedelta(days=1)
    res = run_replay(copy, [SIGNAL], {SIGNAL.id: default_params(SIGNAL)}, day, None, resume=False)
    assert res.readings > 1000
    # the replay steps through the warm-up (WARMUP_S) before --from; the windows and run totals of
    # its first step reach CHUNK_OVERLAP_S further back: four days in all, whatever is stored
    assert earliest("the replay") >= to_epoch(day) - WARMUP_S - CHUNK_OVERLAP_S - 60
    copy.close()


# -- cascade spans where no lifecycle was recorded -------------------------------------------------

CRASH = to_epoch(START) + DAY + 13 * 3600 + 30 * 60  # the demo's cascade: about $1.4B from 13:30


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Database:
    """The demo's eleven days of 1-minute buckets as ``flowwatch import`` brings them in (one
    ``ts,value`` CSV per series): the roll-ups are written with them, no alert was ever recorded."""
    import csv

    from storage.db import open_db
    from storage.importer import import_csv

    folder = tmp_path_factory.mktemp("imported")
    db = open_db(folder / "i.db")
    series: dict[str, list[tuple[int, float]]] = {}
    for o in SIGNAL.demo(START).observations:
        series.setdefault(o.series, []).append((o.ts, o.value))
    for name, rows in series.items():
        path = folder / f"{name}.csv"
        with path.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["ts", "value"])
            w.writerows(rows)
        import_csv(db, name, path, now_ts=to_epoch(START) + 30 * DAY)
    assert db.execute("SELECT COUNT(*) FROM alerts").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM liq_rollup WHERE res = 300").fetchone()[0] > 3 * 3000
    return db


def copy_of(db: Database, tmp_path: object) -> Database:
    from storage.db import open_db

    out = open_db(tmp_path / "copy.db")  # type: ignore[operator]
    db.conn.backup(out.conn)
    return out


def spans(chart: object) -> list[tuple[int, int, str]]:
    return [
        (int(a.astype("int64")), int(b.astype("int64")), lv)
        for a, b, lv in chart.cascades  # type: ignore[attr-defined]
    ]


@pytest.mark.parametrize("days", [2, 11])
def test_imported_minutes_without_lifecycles_show_their_cascade(
    imported: Database, days: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No lifecycle was recorded for the imported days: the chart finds the cascade in the
    roll-ups (5-minute ones for two days, hourly for eleven), reading no 1-minute row and
    stepping the tracker only around it, not over every period of the range."""
    from signals.btc_liq import _tracker
    from storage.liq_reads import load_inputs

    def no_minutes(*_a: object) -> object:
        raise AssertionError("the chart read 1-minute rows")

    monkeypatch.setattr(LiqReader, "minutes", no_minutes)
    steps: list[int] = []
    real = _tracker.Tracker.advance

    def counted(self: _tracker.Tracker, t: int, *a: object) -> object:
        steps.append(t)
        return real(self, t, *a)  # type: ignore[arg-type]

    monkeypatch.setattr(_tracker.Tracker, "advance", counted)
    end = START + timedelta(days=3)
    got = spans(SIGNAL.chart(load_inputs(imported), default_params(SIGNAL), end, days))
    # the cascade: $40M a minute at its height 25 minutes in, over after about 90 minutes
    around = [s for s in got if s[0] < CRASH + 90 * 60 and s[1] > CRASH]
    assert len(around) == 1, got
    a, b, level = around[0]
    assert a <= CRASH + 300 and b >= CRASH + 90 * 60 and level in ("alert", "severe")
    assert b <= CRASH + 6 * 3600  # it ends once the liquidations calm down, not at the range's end
    periods = (days + 3) * DAY // (300 if days == 2 else 3600)
    assert 0 < len(steps) < periods / 8, (len(steps), periods)


def test_a_recorded_lifecycle_is_drawn_not_a_duplicate(imported: Database, tmp_path: object) -> None:
    """Where the engine recorded the cascade, its lifecycle is the span: the roll-ups' own
    reading of the same cascade (which begins at 13:30, earlier than this lifecycle) is not
    drawn beside it. A replay's lifecycles (``scope='replay'``) are used the same way."""
    from bot.replay import run_replay
    from storage import alerts as alert_repo
    from storage.alerts import AlertEvent
    from storage.liq_reads import load_inputs

    db = copy_of(imported, tmp_path)
    p = default_params(SIGNAL)
    end = START + timedelta(days=3)
    ep = "btc_liq:cascade:test"
    t0, t1 = CRASH + 15 * 60, CRASH + 3 * 3600
    for ev, lv, ts in (("fired", "severe", t0), ("resolved", "ok", t1)):
        alert_repo.insert_event(
            db,
            "live",
            AlertEvent("btc_liq", "cascade", ev, lv, ts, "a cascade", episode=ep, data={"start": t0}),
            [],
        )
    for days in (2, 11):
        got = spans(SIGNAL.chart(load_inputs(db), p, end, days))
        # (eleven days reach back to the import's first days: a watch there, found in the roll-ups)
        assert [s for s in got if s[1] > CRASH - DAY] == [(t0, t1, "severe")], (days, got)
    run_replay(db, [SIGNAL], {SIGNAL.id: p}, None, None, resume=False)
    replayed = LiqReader(db, "replay").episodes(to_epoch(end) - 2 * DAY, to_epoch(end))
    assert len(replayed) == 1 and replayed[0][0] < CRASH + 300 and replayed[0][2] in ("alert", "severe")
    got = spans(SIGNAL.chart(load_inputs(db, scope="replay"), p, end, 2))
    assert got == [(replayed[0][0], replayed[0][1], replayed[0][2])]
    db.close()


@pytest.mark.parametrize(
    ("end", "days"),
    [
        (START + timedelta(days=1, hours=12), 2),  # the calm days before the cascade
        (START + timedelta(days=1, hours=12), 8),
        (START + timedelta(days=3), 1),  # the calm day after it
    ],
)
def test_a_calm_range_has_no_span(imported: Database, end: datetime, days: int) -> None:
    from storage.liq_reads import load_inputs

    chart = SIGNAL.chart(load_inputs(imported), default_params(SIGNAL), end, days)
    assert chart.long.sum() > 0 and len(chart.x) > 20  # liquidations there, just no cascade
    assert chart.cascades == []


@pytest.mark.parametrize(("end_day", "days"), [(3, 2), (3, 11), (2, 4), (3, 6)])
def test_the_fallback_steps_where_the_tracker_would_open_a_cascade(
    imported: Database, end_day: int, days: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Skipping the periods where no window can open a cascade changes nothing: the same spans
    as the tracker stepping every period of the roll-ups (a watch at the import's cold start, the
    cascade, the calm after it, with and without the cascade's fence in range)."""
    from signals.btc_liq import _chart
    from signals.btc_liq._stored import StoredHistory

    p = default_params(SIGNAL)
    h = StoredHistory(LiqReader(imported), p)
    end = to_epoch(START) + end_day * DAY
    a = end - days * DAY
    fast = _chart.fallback_spans(h, p, a, end)
    monkeypatch.setattr(_chart, "_may_start", lambda _tl, idx, *_a: np.ones(len(idx), dtype=bool))
    every = _chart.fallback_spans(h, p, a, end)
    assert fast == every
    assert fast or end_day == 2


def test_a_rollup_range_is_read_by_seeks_per_venue(stored: Database) -> None:
    """``liq_rollup``'s key is (res, venue, ts): a range read that does not name the venues walks
    every period of that resolution ever stored (a two-day chart read 400 days of 5-minute rows)."""
    sqls: list[str] = []
    stored.conn.set_trace_callback(sqls.append)
    try:
        end = to_epoch(START)
        got = liq_rollups.rollups(stored, 300, end - 2 * DAY, end)
    finally:
        stored.conn.set_trace_callback(None)
    assert len(got) > 3 * 500
    (sql,) = [s for s in sqls if "FROM liq_rollup" in s]
    plan = " ".join(str(row[-1]) for row in stored.execute("EXPLAIN QUERY PLAN " + sql).fetchall())
    assert "venue=?" in plan and "ts>?" in plan, plan
