"""One rule for every provider file (storage.filerules), through the commands a user runs.

Observed: ``backfill cboe --file`` with the last row repeated as 99 stored 99 (a Severe VIX/VIX3M
reading) and reported "ok"; a Coinglass 4 h row repeated with long_usd 99,999,999 replaced the
real one; ``import`` of a file cut off at ``2026-07-24,2`` stored VIX3M = 2; a Binance daily CSV
cut at ``2017-10-06,4300,4400,4200,43`` stored BTC = 43. Each reader had its own (or no) rule.

Now: a time given twice with the same value is kept once; with two values the file is refused
with both line numbers; a last line without a line break is refused; nothing of a refused file
is written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from storage.db import open_db

CBOE = (
    "DATE,OPEN,HIGH,LOW,CLOSE\n"
    "07/20/2026,18.900000,18.940000,17.410000,18.650000\n"
    "07/21/2026,17.480000,17.990000,16.860000,17.050000\n"
    "07/22/2026,17.420000,19.490000,16.640000,16.640000\n"
)
BINANCE_1D = (
    "timestamp,open,high,low,close,volume\n"
    "2017-10-03,4300,4400,4200,4310.5,10\n"
    "2017-10-04,4310,4400,4200,4220.1,10\n"
    "2017-10-05,4220,4400,4200,4370.0,10\n"
)
COINGLASS_4H = "time_ms,long_liquidation_usd,short_liquidation_usd\n" + "".join(
    f"{(1_731_542_400 + i * 14_400) * 1000},{835_057.5 + i},{1_298_003.8 + i}\n" for i in range(6)
)
FRED_DFF = "observation_date,DFF\n2015-01-02,0.12\n2015-01-05,0.12\n2015-01-06,0.13\n"
NOCHANGE = (
    "timestamp_ms,timestamp_et,poly_mid,poly_spread,poly_best_bid_yes,poly_best_bid_no,kalshi_mid,"
    "kalshi_spread,kalshi_best_bid_yes,kalshi_best_bid_no\n"
    "1763272880028,2025-11-16 01:01:20,0.505,0.01,0.5,0.49,0.51,0.02,0.5,0.48\n"
    "1763274751457,2025-11-16 01:32:31,0.505,0.01,0.5,0.49,0.51,0.02,0.5,0.48\n"
    "1763276551457,2025-11-16 02:02:31,0.515,0.01,0.51,0.48,0.52,0.02,0.51,0.47\n"
)
ZQ = (
    "trade_date,symbol,contract_month,settle\n"
    "2015-01-02,ZQF15,2015-01,99.8850\n"
    "2015-01-02,ZQG15,2015-02,99.8750\n"
)


def _rows(db: Path) -> int:
    if not db.exists():
        return 0
    conn = open_db(db)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM observations").fetchone()[0])
    finally:
        conn.close()


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def _backfill(
    tmp_path: Path, source: str, name: str, text: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str, Path]:
    f = tmp_path / name
    f.write_text(text)
    db = tmp_path / "x.db"
    code, out, err = _run(["backfill", source, "--file", str(f), "--db", str(db)], capsys)
    return code, out, err, db


# (source, file name, a good file, its line to repeat with another value, that line changed)
CASES = [
    ("cboe", "VIX_History.csv", CBOE, 4, "07/22/2026,99,99,99,99"),
    ("binance", "btc_usdt_binance_daily.csv", BINANCE_1D, 3, "2017-10-04,4310,4400,4200,43,10"),
    (
        "coinglass",
        "binance_4h.csv",
        COINGLASS_4H,
        3,
        f"{(1_731_542_400 + 14_400) * 1000},99999999,1298004.8",
    ),
    ("fred", "fred_dff.csv", FRED_DFF, 3, "2015-01-05,9.99"),
    (
        "kalshi",
        "nochange.csv",
        NOCHANGE,
        3,
        "1763274751457,2025-11-16 01:32:31,0.6,0.01,0.6,0.39,0.6,0.02,0.6,0.38",
    ),
    (
        "polymarket",
        "nochange.csv",
        NOCHANGE,
        2,
        "1763272880028,2025-11-16 01:01:20,0.7,0.01,0.7,0.29,0.7,0.02,0.7,0.28",
    ),
    ("fedwatch", "zq.csv", ZQ, 3, "2015-01-02,ZQG15,2015-02,99.5000"),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize(("source", "name", "good", "line", "other"), CASES, ids=IDS)
def test_a_time_given_two_values_refuses_the_file_naming_both_lines(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    source: str,
    name: str,
    good: str,
    line: int,
    other: str,
) -> None:
    code, _, err, db = _backfill(tmp_path, source, name, good + other + "\n", capsys)
    last = good.count("\n") + 1
    assert code == 1, err
    assert "appear more than once with different values, nothing imported" in err, err
    assert f"line {line}:" in err and f"line {last}:" in err, err
    assert _rows(db) == 0


@pytest.mark.parametrize(("source", "name", "good", "line", "other"), CASES, ids=IDS)
def test_a_file_cut_off_in_its_last_row_is_refused(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    source: str,
    name: str,
    good: str,
    line: int,
    other: str,
) -> None:
    cut = good[:-4]  # the last value cut short, no line break: it still reads as a number
    code, _, err, db = _backfill(tmp_path, source, name, cut, capsys)
    assert code == 1, err
    assert "ends in the middle of a line" in err and f"line {good.count(chr(10))}" in err, err
    assert "nothing imported" in err
    assert _rows(db) == 0


@pytest.mark.parametrize(
    ("source", "name", "good", "line"),
    [(c[0], c[1], c[2], c[3]) for c in CASES if c[0] != "fedwatch"],  # fedwatch needs FRED online
    ids=[c for c in IDS if c != "fedwatch"],
)
def test_a_repeated_identical_row_is_kept_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, name: str, good: str, line: int
) -> None:
    repeat = good.splitlines()[line - 1]
    code, _, err, db = _backfill(tmp_path, source, name, good + repeat + "\n", capsys)
    assert code == 0, err
    one = tmp_path / "one"
    one.mkdir()
    code, _, err, db_once = _backfill(one, source, name, good, capsys)
    assert code == 0, err
    assert _rows(db) == _rows(db_once) > 0


def test_binance_klines_json_with_two_closes_for_one_bar_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A JSON body has no lines: the file's batch is checked before it is written (the values named)."""
    day = 86_400_000
    t0 = 1_507_075_200_000  # 2017-10-04
    klines = [[t0 + i * day, "4300", "4400", "4200", f"{4300 + i}", "10"] for i in range(3)]
    klines.append([t0 + day, "4300", "4400", "4200", "43", "10"])
    code, _, err, db = _backfill(tmp_path, "binance", "klines_BTCUSDT_1d.json", json.dumps(klines), capsys)
    assert code == 1, err
    assert "btc.usd.close.1d at 2017-10-05T00:00:00Z (4301, 43)" in err, err
    assert _rows(db) == 0


def test_import_of_a_file_cut_off_in_its_last_row_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The review's repro: ``2026-07-24,2`` (from 21.x) became VIX3M = 2, a Severe inversion."""
    f = tmp_path / "v3.csv"
    f.write_text("ts,value\n2026-07-23,19.1\n2026-07-24,2")
    db = tmp_path / "x.db"
    code, _, err = _run(["import", "cboe.vix3m.close", str(f), "--db", str(db)], capsys)
    assert code == 1
    assert "ends in the middle of a line ('2026-07-24,2'" in err and "nothing imported" in err, err
    assert _rows(db) == 0
    f.write_text("ts,value\n2026-07-23,19.1\n2026-07-24,21.37\n")
    code, _out, err = _run(["import", "cboe.vix3m.close", str(f), "--db", str(db)], capsys)
    assert code == 0, err
    assert _rows(db) == 2


def test_backfill_all_refuses_a_cut_off_file_and_loads_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = tmp_path / "files"
    d.mkdir()
    (d / "VIX_History.csv").write_text(CBOE)
    (d / "VIX3M_History.csv").write_text(CBOE.replace("16.640000\n", "16.6"))  # cut off
    db = tmp_path / "x.db"
    code, out, _err = _run(["backfill", "all", "--dir", str(d), "--db", str(db)], capsys)
    assert code == 1
    assert "FAIL  cboe (VIX3M_History.csv)" in out and "ends in the middle of a line" in out, out
    assert "ok    cboe (VIX_History.csv)" in out, out
    conn = open_db(db)
    try:
        series = {s for (s,) in conn.execute("SELECT DISTINCT series FROM observations")}
    finally:
        conn.close()
    assert series == {"cboe.vix.close"}
