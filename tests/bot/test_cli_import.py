"""Hostile imports: absurd values, impossible dates, conflicting duplicates, a full disk, a big file.

Each was observed: 1e308 into cboe.vix.close fired a severe alert with a 300-digit ratio; a
negative VIX and the year 0001 were stored; a timestamp twice with two values was silently
last-wins (and a re-import said "updated" every time); a full disk ended in a traceback; a
210 MB file took 2.9 GB of memory.
"""

from __future__ import annotations

import sqlite3
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from bot import cli
from storage.db import open_db
from storage.importer import import_csv
from storage.timeutil import parse_ts


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def rows(db_path: Path) -> int:
    if not db_path.exists():
        return 0
    db = open_db(db_path)
    try:
        return int(db.execute("SELECT COUNT(*) FROM observations").fetchone()[0])
    finally:
        db.close()


@pytest.mark.parametrize(
    ("series", "content", "needle"),
    [
        ("cboe.vix.close", "ts,value\n2024-01-02,13.1\n2024-01-03,1e308\n", "outside the plausible range"),
        ("cboe.vix.close", "ts,value\n2024-01-02,-4.5\n", "allowed 1 to 250 index points"),
        ("cboe.vix.close", "ts,value\n0001-01-01,13.0\n", "outside the plausible dates"),
        ("kalshi.fomc.2025-12-10.cut", "ts,value\n2025-11-01,7\n", "allowed 0 to 1 probability"),
        ("btc.usd.close.1d", "ts,value\n1970-01-02,50000\n", "from 2009-01-03"),
        ("liq.btc.okx.long_usd.1h", "ts,value\n2024-01-02,-1\n", "allowed 0 to 1e+11 USD"),
        ("some.other", "ts,value\n2024-01-02,1e300\n", "outside the plausible range"),
    ],
)
def test_implausible_values_are_refused_and_nothing_is_imported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], series: str, content: str, needle: str
) -> None:
    f = tmp_path / "bad.csv"
    f.write_text(content)
    db = tmp_path / "x.db"
    code, _out, err = run(capsys, "import", series, str(f), "--db", str(db), "--custom")
    assert code == 1 and needle in err and "nothing imported" in err, err
    assert rows(db) == 0


def test_conflicting_duplicates_are_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "dup.csv"
    f.write_text("ts,value\n2024-01-02,13.1\n2024-01-03,14.0\n2024-01-02T00:00:00Z,13.9\n")
    db = tmp_path / "x.db"
    code, _, err = run(capsys, "import", "cboe.vix.close", str(f), "--db", str(db))
    assert code == 1 and "1 timestamp(s) appear more than once with different values" in err
    assert "2024-01-02T00:00:00Z: lines 2: 13.1, 4: 13.9" in err
    assert rows(db) == 0


def test_same_value_duplicates_count_once_and_a_reimport_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "dup.csv"
    f.write_text("ts,value\n2024-01-02,13.1\n2024-01-03,14.0\n1704153600,13.1\n")
    db = tmp_path / "x.db"
    code, out, _ = run(capsys, "import", "cboe.vix.close", str(f), "--db", str(db))
    assert code == 0 and "2 rows read from dup.csv; 2 new, 0 updated, 0 unchanged" in out
    assert "1 repeated row(s) with the same value counted once" in out
    code, out, _ = run(capsys, "import", "cboe.vix.close", str(f), "--db", str(db))
    assert code == 0 and "2 rows read from dup.csv; 0 new, 0 updated, 2 unchanged" in out
    assert rows(db) == 2


def test_disk_full_during_import_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database that cannot grow (``max_page_count``: SQLite's own SQLITE_FULL, as on a full disk)."""
    db_path = tmp_path / "x.db"
    open_db(db_path).close()
    real_open = cli._open

    def small(settings: Any) -> Any:
        db = real_open(settings)
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages + 2}")
        return db

    monkeypatch.setattr(cli, "_open", small)
    f = tmp_path / "v.csv"
    f.write_text("ts,value\n" + "".join(f"{1_000_000_000 + i * 60},{15 + i % 7}\n" for i in range(20_000)))
    code, _, err = run(capsys, "import", "cboe.vix.close", str(f), "--db", str(db_path))
    assert code == 1 and "is full" in err and "nothing imported" in err and "Traceback" not in err
    monkeypatch.undo()
    assert rows(db_path) == 0


def test_import_streams(tmp_path: Path) -> None:
    """Python's own allocations stay bounded, well below the file's size (the list of parsed rows
    it used to build took about fourteen times the file)."""
    f = tmp_path / "big.csv"
    with f.open("w") as fh:
        fh.write("ts,value\n")
        for i in range(150_000):
            fh.write(f"{1_000_000_000 + i * 60},{15 + (i % 97) / 10:.2f}\n")
    size = f.stat().st_size
    db = open_db(tmp_path / "x.db")
    tracemalloc.start()
    try:
        res = import_csv(db, "cboe.vix.close", f, parse_ts("2030-01-01"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        db.close()
    assert res.new == 150_000
    assert peak < size / 2 and peak < 4_000_000, (peak, size)


def test_the_database_is_untouched_by_a_refused_file(tmp_path: Path) -> None:
    db = open_db(tmp_path / "x.db")
    f = tmp_path / "v.csv"
    f.write_text("ts,value\n2024-01-02,13.1\n")
    import_csv(db, "cboe.vix.close", f, parse_ts("2030-01-01"))
    f.write_text("ts,value\n2024-01-02,20\n2024-01-03,oops\n")
    with pytest.raises(ValueError, match="nothing imported"):
        import_csv(db, "cboe.vix.close", f, parse_ts("2030-01-01"))
    assert db.execute("SELECT ts, value FROM observations").fetchall() == [(parse_ts("2024-01-02"), 13.1)]
    with pytest.raises(sqlite3.OperationalError):
        db.execute("SELECT * FROM temp.import_rows")
    db.close()


def test_an_unknown_series_id_is_refused_with_the_nearest_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Observed: ``import cboe.vix.clsoe ok.csv`` gave "1 new", rc 0: a typo started a series that
    no signal reads, and the real one stayed empty."""
    f = tmp_path / "ok.csv"
    f.write_text("ts,value\n2026-07-23,19.1\n")
    db = tmp_path / "x.db"
    code, _, err = run(capsys, "import", "cboe.vix.clsoe", str(f), "--db", str(db))
    assert code == 2, err
    assert "'cboe.vix.clsoe' is not a series flowwatch knows; did you mean cboe.vix.close" in err, err
    assert "docs/series.md" in err and "--custom" in err and "nothing imported" in err
    assert not db.exists()
    code, _, err = run(capsys, "import", "kalshi.fomc.2025-12-10.ct", str(f), "--db", str(db))
    assert code == 2 and "did you mean kalshi.fomc.2025-12-10.cut" in err, err
    # a series of the user's own, said so
    code, out, err = run(capsys, "import", "my.own.series", str(f), "--db", str(db), "--custom")
    assert code == 0 and "1 new" in out, err
    assert rows(db) == 1
    # every declared shape is accepted as it is
    for series in ("cboe.vix.close", "fedwatch.fomc.2025-12-10.cut125", "liq.btc.coinglass.long_usd.4h"):
        g = tmp_path / f"{series}.csv"
        g.write_text("ts,value\n2025-11-03,0.5\n")
        code, _, err = run(capsys, "import", series, str(g), "--db", str(db))
        assert code == 0 or "not a series flowwatch knows" not in err, err


def test_every_id_docs_series_lists_is_declared() -> None:
    """docs/series.md and storage.series.DECLARED say the same: a new id goes into both."""
    import re

    from storage import series as series_ids

    text = (Path(__file__).resolve().parents[2] / "docs" / "series.md").read_text()
    table = [ln.split("|")[1] for ln in text.splitlines() if ln.startswith("| `")]
    shown = [t for cell in table for t in re.findall(r"`([^`]+)`", cell)]
    assert len(shown) >= 10
    fill = {"<venue>": "kalshi", "<decision-date>": "2025-12-10", "<bucket>": "4h", "<N>": "25"}
    checked = 0
    for raw in shown:
        if raw.startswith("."):
            continue  # a suffix (`.hike<N>`), covered by the whole ids around it
        for venue in ("bybit", "binance", "okx", "coinglass") if raw.startswith("liq.") else ("kalshi",):
            sid = raw.replace("<venue>", venue)
            for k, v in fill.items():
                sid = sid.replace(k, v)
            for part in sid.split("\\|") if "\\|" in sid else [sid]:
                full = (
                    part
                    if part == sid or part.count(".") >= 2 or part.startswith("fred.")
                    else sid.rsplit(".", 1)[0] + "." + part
                )
                assert series_ids.declared(full), (raw, full)
                checked += 1
    assert checked >= 20
