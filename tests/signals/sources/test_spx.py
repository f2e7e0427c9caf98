"""S&P 500 daily closes: Yahoo ^GSPC (recorded chart v8 envelope), FRED SP500 as the fallback, and
daily-bar files refused whole when a close is zero or a session is missing."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bot.backfills import run_backfill
from bot.cli import main
from signals.sources import spx
from signals.sources.base import SourceError, years_back
from storage.db import open_db
from storage.timeutil import iso
from tests.conftest import DATA, fixture_text, source_context

#: Friday 2026-11-20, 16:30 ET: the fixture's last bar (that session) has closed
AFTER_CLOSE = datetime(2026, 11, 20, 21, 30, tzinfo=UTC)
#: the same day at 15:00 ET: its bar still moves with the index
DURING = datetime(2026, 11, 20, 20, 0, tzinfo=UTC)


def test_recorded_gspc_bars_are_dated_in_new_york_and_the_open_session_is_left_out() -> None:
    text = fixture_text("yahoo/chart_GSPC_1d.json")
    rows = spx.parse_yahoo(text, now=AFTER_CLOSE)
    assert [iso(r.ts)[:10] for r in rows] == [
        "2026-11-16",
        "2026-11-17",
        "2026-11-18",
        "2026-11-19",
        "2026-11-20",
    ]
    assert [r.value for r in rows] == [6822.71, 6845.96, 6870.12, 6859.4, 6893.05]  # float32 noise rounded
    assert {r.series for r in rows} == {"spx.close"} and {r.source for r in rows} == {"yahoo"}
    during = spx.parse_yahoo(text, now=DURING)
    assert [iso(r.ts)[:10] for r in during][-1] == "2026-11-19"  # today's bar is not a close yet


def test_fred_fallback_layout_agrees_with_yahoo() -> None:
    fred_rows = spx.parse_fred(fixture_text("fred/SP500.csv"), now=AFTER_CLOSE)
    yahoo_rows = spx.parse_yahoo(fixture_text("yahoo/chart_GSPC_1d.json"), now=AFTER_CLOSE)
    by_ts = {r.ts: r.value for r in fred_rows}
    assert all(by_ts[r.ts] == r.value for r in yahoo_rows if r.ts in by_ts)
    assert {r.source for r in fred_rows} == {"fred"} and len(fred_rows) == 9


def _world(yahoo_status: int = 200, fred_status: int = 200) -> tuple[httpx.AsyncClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "query1.finance.yahoo.com":
            assert request.url.path.endswith("/%5EGSPC") or request.url.path.endswith("/^GSPC")
            if yahoo_status != 200:
                return httpx.Response(yahoo_status, text="<html>unavailable</html>")
            return httpx.Response(200, text=fixture_text("yahoo/chart_GSPC_1d.json"))
        if request.url.host == "fred.stlouisfed.org":
            assert request.url.params["id"] == "SP500"
            if fred_status != 200:
                return httpx.Response(fred_status, text="<html>unavailable</html>")
            return httpx.Response(200, text=fixture_text("fred/SP500.csv"))
        return httpx.Response(404)

    return httpx.AsyncClient(transport=httpx.MockTransport(handler)), seen


async def _no_sleep(_s: float) -> None:
    return None


async def test_poll_reads_yahoo_first(caplog: pytest.LogCaptureFixture) -> None:
    client, seen = _world()
    batch = await spx.poll_daily(source_context(client, AFTER_CLOSE, sleep=_no_sleep))  # type: ignore[arg-type]
    assert len(batch.observations) == 5 and {o.source for o in batch.observations} == {"yahoo"}
    assert [r.url.host for r in seen] == ["query1.finance.yahoo.com"]
    assert seen[0].url.params["interval"] == "1d" and seen[0].url.params["range"] == "1mo"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_poll_falls_back_to_fred_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    client, seen = _world(yahoo_status=503)
    batch = await spx.poll_daily(source_context(client, AFTER_CLOSE, sleep=_no_sleep))  # type: ignore[arg-type]
    assert {o.source for o in batch.observations} == {"fred"} and len(batch.observations) == 9
    assert seen[-1].url.params["cosd"] == "2026-10-20"
    loud = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(loud) == 1 and "yahoo ^GSPC" in loud[0] and "FRED fallback (SP500)" in loud[0]


async def test_poll_fails_when_both_fail() -> None:
    client, _seen = _world(yahoo_status=503, fred_status=503)
    with pytest.raises(SourceError, match=r"spx: no usable data: .*yahoo \^GSPC.*fred SP500"):
        await spx.poll_daily(source_context(client, AFTER_CLOSE, sleep=_no_sleep))  # type: ignore[arg-type]


async def test_live_backfill_asks_yahoo_for_25_years_and_falls_back_to_fred(tmp_path: Path) -> None:
    db = open_db(tmp_path / "b.db")
    client, seen = _world()
    msg = await run_backfill(spx.BACKFILL, db, client=client, now=AFTER_CLOSE)
    start = datetime.fromtimestamp(int(seen[0].url.params["period1"]), UTC)
    assert start.date().isoformat() == "2001-11-20" and "range" not in seen[0].url.params
    assert "spx.close: 5 closes 2026-11-16 to 2026-11-20 from Yahoo ^GSPC (5 new, 0 updated)" in msg
    client, seen = _world(yahoo_status=404)
    msg = await run_backfill(spx.BACKFILL, db, client=client, now=AFTER_CLOSE)
    assert "from FRED SP500" in msg and "only the last 10 years" in msg
    assert seen[-1].url.params["cosd"] == "2016-11-20"
    db.close()


def _bars(rows: list[tuple[str, str]]) -> str:
    return "date,open,high,low,close,volume\n" + "".join(f"{d},1,1,1,{c},0\n" for d, c in rows)


GOOD = [
    ("2024-07-01", "5475.09"),
    ("2024-07-02", "5509.01"),
    ("2024-07-03", "5537.02"),
    ("2024-07-05", "5567.19"),
]


def test_a_file_of_consecutive_sessions_loads() -> None:
    rows = spx.parse_file(_bars(GOOD), "spx.csv", now=AFTER_CLOSE)  # 07-04 is a holiday
    assert [iso(r.ts)[:10] for r in rows] == [d for d, _c in GOOD] and rows[-1].value == 5567.19


@pytest.mark.parametrize(
    ("rows", "needle"),
    [
        (
            [*GOOD[:2], ("2024-07-03", "0"), GOOD[3]],
            "line 4 (2024-07-03): close 0 is zero or negative; closes must be above zero",
        ),
        ([*GOOD[:3], ("2024-07-05", "-5567.19")], "line 5 (2024-07-05): close -5567.19 is zero or negative"),
        (
            [GOOD[0], GOOD[2], GOOD[3]],
            "the NYSE session 2024-07-02 is missing (between line 2, 2024-07-01, and line 3, 2024-07-03); "
            "a file must hold every session from its first date to its last, nothing imported",
        ),
        ([*GOOD[:3], ("2024-07-04", "5550"), GOOD[3]], "line 5: 2024-07-04 is not an NYSE session"),
        ([*GOOD[:2], GOOD[1], GOOD[3]], "line 4: the date 2024-07-02 repeats; dates must rise"),
        ([*GOOD[:2], ("2024-07-03", "n/a")], "line 4 (2024-07-03): close 'n/a' is not a number"),
        ([*GOOD[:2], ("07/03/2024", "5537.02")], "line 4: bad date '07/03/2024' (allowed: YYYY-MM-DD)"),
        ([("2026-11-23", "6900")], "line 2: the date 2026-11-23 is in the future"),
    ],
)
def test_a_bad_file_is_refused_with_the_line_date_and_rule(rows: list[tuple[str, str]], needle: str) -> None:
    with pytest.raises(SourceError) as exc:
        spx.parse_file(_bars(rows), "spx.csv", now=AFTER_CLOSE)
    assert needle in str(exc.value)
    assert str(exc.value).startswith("spx spx.csv: ")


def test_wrong_header_and_cut_off_files_are_refused() -> None:
    with pytest.raises(SourceError, match=r"expected date,open,high,low,close \(then optionally volume\)"):
        spx.parse_file("observation_date,SP500\n2024-07-01,5475.09\n", "x.csv", now=AFTER_CLOSE)
    with pytest.raises(SourceError, match="cut off"):
        spx.parse_file(_bars(GOOD).rstrip("\n"), "x.csv", now=AFTER_CLOSE)
    with pytest.raises(SourceError, match="got an HTML page"):
        spx.parse_file("<html><body>Sign in</body></html>\n", "x.csv", now=AFTER_CLOSE)


def test_since_starts_after_a_gap() -> None:
    text = _bars([GOOD[0], GOOD[2], GOOD[3]])
    rows = spx.parse_file(text, "spx.csv", now=AFTER_CLOSE, since=datetime(2024, 7, 3).date())
    assert [iso(r.ts)[:10] for r in rows] == ["2024-07-03", "2024-07-05"]


def test_cli_refused_file_writes_nothing_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "spx.csv"
    f.write_text(_bars([*GOOD[:2], ("2024-07-03", "0"), GOOD[3]]))
    db = tmp_path / "x.db"
    assert main(["backfill", "spx", "--file", str(f), "--db", str(db)]) != 0
    err = capsys.readouterr().err
    assert "line 4 (2024-07-03): close 0 is zero or negative; closes must be above zero" in err
    conn = open_db(db)
    try:
        assert conn.execute("SELECT COUNT(*) FROM observations").fetchone()[0] == 0
    finally:
        conn.close()


def test_cli_loads_the_shared_history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = DATA / "sp500_index_daily.csv"
    if not path.exists():
        pytest.skip(f"{path} is not available (the shared data folder lives beside the checkout in CI)")
    db = tmp_path / "x.db"
    assert main(["backfill", "spx", "--file", str(path), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert (
        "spx.close: 6319 closes 2001-07-06 to 2026-08-21 from sp500_index_daily.csv (6319 new, 0 updated)"
        in out
    )
    conn = open_db(db)
    try:
        row = conn.execute(
            "SELECT value, source FROM observations WHERE series='spx.close' AND ts=?", [1722816000]
        )
        assert row.fetchone() == (pytest.approx(5186.33, abs=0.01), "file")  # 2024-08-05
    finally:
        conn.close()


def test_yahoo_body_with_a_zero_close_drops_that_bar() -> None:
    doc = json.loads(fixture_text("yahoo/chart_GSPC_1d.json"))
    doc["chart"]["result"][0]["indicators"]["quote"][0]["close"][2] = 0.0
    rows = spx.parse_yahoo(json.dumps(doc), now=AFTER_CLOSE)
    assert "2026-11-18" not in [iso(r.ts)[:10] for r in rows] and len(rows) == 4


def test_years_back_from_a_leap_day() -> None:
    assert years_back(datetime(2028, 2, 29).date(), 25).isoformat() == "2003-02-28"
    assert years_back(datetime(2028, 2, 29).date(), 4).isoformat() == "2024-02-29"


def test_a_file_saved_during_the_session_leaves_out_its_moving_bar() -> None:
    rows = [("2026-11-18", "6870.12"), ("2026-11-19", "6859.40"), ("2026-11-20", "6880.00")]
    got = spx.parse_file(_bars(rows), "spx.csv", now=DURING)
    assert [iso(r.ts)[:10] for r in got] == ["2026-11-18", "2026-11-19"]
    assert len(spx.parse_file(_bars(rows), "spx.csv", now=AFTER_CLOSE)) == 3
