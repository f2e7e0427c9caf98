"""Damaged earnings and Coinglass files are refused whole: nothing imported, the reason shown.

Observed: a cut-off or garbled earnings CSV added the rows that happened to parse, and a
Coinglass export with a junk row added a 1970 bucket.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from storage.db import open_db

GOOD_EARNINGS = "ticker,earnings_date,time\n" + "".join(
    f"T{i:02d},2025-0{1 + i % 9}-15,{'bmo' if i % 2 else 'amc'}\n" for i in range(40)
)
GOOD_COINGLASS = "time_ms,long_liquidation_usd,short_liquidation_usd\n" + "".join(
    f"{(1_675_209_600 + i * 86_400) * 1000},{2_125_001.27 + i},{3_883_950.57 + i}\n" for i in range(30)
)


def _count(db: Path, sql: str) -> int:
    conn = open_db(db)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def _backfill(tmp_path: Path, source: str, name: str, text: str, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    f = tmp_path / name
    f.write_text(text)
    db = tmp_path / "x.db"
    code = main(["backfill", source, "--file", str(f), "--db", str(db)])
    out = capsys.readouterr()
    return code, out.out, out.err, db


def test_good_files_load(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err, db = _backfill(tmp_path, "earnings", "e.csv", GOOD_EARNINGS, capsys)
    assert code == 0, err
    code, _, err, db = _backfill(tmp_path, "coinglass", "binance_1d.csv", GOOD_COINGLASS, capsys)
    assert code == 0, err
    assert _count(db, "SELECT COUNT(*) FROM observations WHERE series LIKE 'liq.btc.coinglass.%'") == 60


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (GOOD_EARNINGS[: len(GOOD_EARNINGS) * 2 // 3], "ends in the middle of a line"),
        (GOOD_EARNINGS + "!!!,not a date,xx\n", "1 damaged row(s), nothing imported"),
        (GOOD_EARNINGS + "T99,2025-13-45,bmo\n", "1 damaged row(s), nothing imported"),
    ],
)
def test_damaged_earnings_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, needle: str
) -> None:
    code, _, err, db = _backfill(tmp_path, "earnings", "e.csv", text, capsys)
    assert code == 1 and needle in err, err
    assert _count(db, "SELECT COUNT(*) FROM earnings") == 0


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (GOOD_COINGLASS[: len(GOOD_COINGLASS) - 9], "ends in the middle of a line"),
        (GOOD_COINGLASS + "5000,1.0,2.0\n", "implausible"),  # a 1970 bucket
        (GOOD_COINGLASS + "garbage,x,y\n", "1 damaged row(s), nothing imported"),
        (GOOD_COINGLASS + f"{1_700_000_000_000},-5,3\n", "damaged row(s)"),
    ],
)
def test_damaged_coinglass_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, needle: str
) -> None:
    code, _, err, db = _backfill(tmp_path, "coinglass", "binance_1d.csv", text, capsys)
    assert code == 1 and needle in err, err
    assert _count(db, "SELECT COUNT(*) FROM observations") == 0
