from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from signals.sources import earnings as earnings_src
from storage import earnings as repo
from storage.db import open_db

NOW = datetime(2026, 1, 10, tzinfo=UTC)

GOOD = """ticker,earnings_date,time,market_cap,fiscal_quarter_end,estimated
AAPL,2025-01-30,after,"$3,500,000,000,000",2024-12-31,0
brk-b,2025-02-22,bmo,,Dec/2024,
MSFT,1/29/2025,time-after-hours,3.1e12,,
JPM,2025-01-15,pre-market,,,1
"""


def test_parse_every_column() -> None:
    rows = earnings_src.parse_csv(GOOD, now=NOW)
    assert [(r.ticker, r.date, r.time, r.market_cap, r.fiscal_quarter_end, r.estimated) for r in rows] == [
        ("AAPL", date(2025, 1, 30), "amc", 3.5e12, date(2024, 12, 31), False),
        ("BRK.B", date(2025, 2, 22), "bmo", None, date(2024, 12, 31), False),
        ("MSFT", date(2025, 1, 29), "amc", 3.1e12, None, False),
        ("JPM", date(2025, 1, 15), "bmo", None, None, True),
    ]


def test_only_the_two_required_columns(caplog: pytest.LogCaptureFixture) -> None:
    rows = earnings_src.parse_csv("Ticker,Earnings_Date\nA,2025-05-28\nA,2025-02-26\n", now=NOW)
    assert [(r.ticker, r.date, r.time) for r in rows] == [
        ("A", date(2025, 5, 28), "unknown"),
        ("A", date(2025, 2, 26), "unknown"),
    ]


def test_bad_rows_are_rejected_with_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    text = (
        "ticker,earnings_date,time,market_cap\n"
        "AAPL,2025-01-30,amc,\n"
        "^^^,2025-01-30,,\n"
        "MSFT,2025-13-01,,\n"
        "NVDA,2025-02-26,lunchtime,\n"
        "AMZN,2025-02-06,,-5\n"
        "META,2028-02-06,,\n"
    )
    rows = earnings_src.parse_csv(text, now=NOW)
    assert [r.ticker for r in rows] == ["AAPL"]
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(lines) == 1 and "skipped 5 row(s)" in lines[0] and "lunchtime" in lines[0]


def test_a_wrong_header_says_what_is_allowed() -> None:
    with pytest.raises(ValueError, match="the header must hold ticker,earnings_date"):
        earnings_src.parse_csv("ts,value\n2025-01-01,1\n")


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(args)
    out, err = capsys.readouterr()
    return rc, out, err


def test_cli_backfill_replay_chart_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "fw.db")
    rows = ["ticker,earnings_date,time"]
    for q in range(8):
        year, month = 2024 + q // 4, 3 * (q % 4) + 1
        for i in range(30):
            d = date(year, month, 15) + timedelta(days=(i * 20) // 30)
            rows.append(f"T{i:02d},{d.isoformat()},{'bmo' if i % 2 else 'amc'}")
    f = tmp_path / "cal.csv"
    f.write_text("\n".join(rows) + "\n")
    rc, out, err = run(["backfill", "earnings", "--file", str(f), "--db", db], capsys)
    assert rc == 0 and "240 rows for 30 tickers" in out, err
    rc, out, err = run(["replay", "buyback", "--format", "jsonl", "--db", db], capsys)
    assert rc == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert events and {e["signal"] for e in events} == {"buyback"}
    kinds = [(e["event"], e["level"]) for e in events]
    assert ("fired", "watch") in kinds and ("escalated", "alert") in kinds and ("resolved", "ok") in kinds
    assert all(set(e) == {"signal", "key", "event", "ts", "level", "value", "summary"} for e in events)
    rc, out, err = run(
        ["replay", "buyback", "--set", "alert=60", "--set", "alert_exit=55", "--db", db], capsys
    )
    assert rc == 0 and "buyback/share" in out
    png = tmp_path / "b.png"
    rc, out, err = run(
        ["chart", "buyback", "--at", "2024-04-10", "--days", "200", "-o", str(png), "--db", db], capsys
    )
    assert rc == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", err
    rc, out, err = run(["check", "buyback", "--no-fetch", "--db", db], capsys)
    assert rc == 0 and "buyback/share" in out
    conn = open_db(db)
    assert repo.calendar_stats(conn)["rows"] == 240
    conn.close()


def test_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "fw.db")
    rc, _, err = run(["replay", "buyback", "--db", db], capsys)
    assert rc == 1 and "no stored data for buyback" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("symbol,date\nAAPL,2025-01-30\n")
    rc, _, err = run(["backfill", "earnings", "--file", str(bad), "--db", db], capsys)
    assert rc == 1 and "the header must hold ticker,earnings_date" in err
    rc, _, err = run(["backfill", "earnings", "--dir", str(tmp_path), "--db", db], capsys)
    assert rc == 2 and "does not take --dir" in err
    rc, _, err = run(["replay", "buyback", "--set", "alert_exit=60", "--db", db], capsys)
    assert rc == 2 and "alert_exit (60) must be below alert (50)" in err
