"""``flowwatch backfill all [--dir D]``: history for every signal in one documented step."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.backfill_all import LIVE_ORDER, backfill_all, plan_dir, recognise
from bot.cli import main
from bot.config import load_settings
from signals.sources.base import SourceError
from storage.db import open_db


def test_recognises_every_shared_provider_file(data_dir: Path, fixtures_dir: Path) -> None:
    got = {p.name: recognise(p) for p in sorted(data_dir.iterdir())}
    assert got["cboe_vix_daily.csv"] == ["cboe"] and got["cboe_vix3m_daily.csv"] == ["cboe"]
    assert got["btc_liquidations_binance_4h_coinglass.csv"] == ["coinglass"]
    assert got["zq_settlements_2015_2021.csv"] == ["fedwatch"]
    assert got["sp500_earnings_dates_2015_2025.csv"] == ["earnings"]
    assert got["fed_dec2025_nochange_polymarket_kalshi_30min.csv"] == ["kalshi", "polymarket"]
    assert got["btc_usdt_binance_daily.csv"] == ["binance"]
    # S&P 500 daily bars (date,open,high,low,close,volume), named for the index
    assert got["sp500_index_daily.csv"] == ["spx"]
    # the FedWatch method's inputs: DFF (read as the EFFR) and the constructed target range,
    # two series in one FRED layout; loaded before the settlements (FRED before fedwatch)
    assert got["fred_dff_daily.csv"] == ["fred"]
    assert got["fed_target_range_2015_2021_constructed.csv"] == ["fred"]
    order = [name for name, _path in plan_dir(data_dir)[0]]
    assert order.index("fred") < order.index("fedwatch")
    # the flow series (net_liquidity, credit), each in FRED's layout
    for fid in (
        "walcl_weekly",
        "wtregen_weekly",
        "rrpontsyd_daily",
        "bamlh0a0hym2_daily",
        "dgs10_daily",
        "dgs2_daily",
    ):
        assert got[f"fred_{fid}.csv"] == ["fred"], fid
    # not a provider's file: never guessed at
    for name in ("SOURCES.md", "fomc_meetings.csv"):
        assert got[name] == [], name
    assert recognise(fixtures_dir / "fred" / "VIXCLS.csv") == ["fred"]
    assert recognise(fixtures_dir / "cboe" / "VIX_History.csv") == ["cboe"]
    assert recognise(fixtures_dir / "sp500" / "constituents.csv") == ["sp500"]
    assert recognise(fixtures_dir / "nasdaq" / "earnings_2026-10-05.json") == ["nasdaq"]


def test_dir_loads_each_file_through_its_provider(
    tmp_path: Path, data_dir: Path, fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    for src in (data_dir / "cboe_vix_daily.csv", data_dir / "cboe_vix3m_daily.csv", fixtures_dir / "fred" / "VXVCLS.csv",
                data_dir / "sp500_earnings_dates_2015_2025.csv", data_dir / "SOURCES.md"):  # fmt: skip
        shutil.copy(src, folder / src.name)
    (folder / "earnings_2026-10-05.json").write_text("<html>maintenance</html>")  # a Nasdaq day, broken
    db = tmp_path / "b.db"
    code = main(["backfill", "all", "--dir", str(folder), "--db", str(db)])
    out = capsys.readouterr().out
    assert code == 1  # one provider file failed; the others loaded
    assert "ok    cboe (cboe_vix_daily.csv): cboe.vix.close: 9234 rows" in out
    assert "ok    fred (VXVCLS.csv)" in out and "ok    earnings (sp500_earnings_dates_2015_2025.csv)" in out
    assert "FAIL  nasdaq (earnings_2026-10-05.json)" in out
    assert "skipped 1 file(s), not in a provider's format: SOURCES.md" in out
    conn = open_db(db)
    try:
        series = {r[0] for r in conn.execute("SELECT DISTINCT series FROM observations")}
    finally:
        conn.close()
    assert {"cboe.vix.close", "cboe.vix3m.close"} <= series


async def test_live_runs_every_live_provider_once_and_goes_on_after_a_failure() -> None:
    calls: list[str] = []

    async def run_one(bf: object, file: Path | None) -> str:
        name = bf.name  # type: ignore[attr-defined]
        calls.append(name)
        if name == "kalshi":
            raise SourceError("kalshi", "connection failed")
        return f"{name}: loaded"

    settings = load_settings(env={}, dotenv=None, check_db=False)
    outcomes = await backfill_all(run_one, None, settings)
    assert calls == [n for n in LIVE_ORDER if n != "coinglass"]  # coinglass needs a paid key
    by = {o.provider: o for o in outcomes}
    assert by["kalshi"].ok is False and "connection failed" in by["kalshi"].message
    assert by["polymarket"].ok is True  # the next one still ran
    assert by["coinglass"].ok is None and "FLOWWATCH_COINGLASS_API_KEY" in by["coinglass"].message
    assert by["nasdaq"].ok is None and by["alphavantage"].ok is None


def test_all_refuses_file_and_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "x.db")
    assert main(["backfill", "all", "--file", "x.csv", "--db", db]) == 2
    assert "backfill all takes --dir D" in capsys.readouterr().err
    assert main(["backfill", "all", "--dir", str(tmp_path / "nope"), "--db", db]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_dir_loads_the_flow_series_and_names_a_fred_series_it_does_not_read(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "fred"
    folder.mkdir()
    for fid in (
        "walcl_weekly",
        "wtregen_weekly",
        "rrpontsyd_daily",
        "bamlh0a0hym2_daily",
        "dgs10_daily",
        "dgs2_daily",
    ):
        shutil.copy(data_dir / f"fred_{fid}.csv", folder / f"fred_{fid}.csv")
    (folder / "fred_t10y2y_daily.csv").write_text("observation_date,T10Y2Y\n2024-01-02,-0.38\n")
    db = tmp_path / "f.db"
    code = main(["backfill", "all", "--dir", str(folder), "--db", str(db)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "ok    fred (fred_rrpontsyd_daily.csv): fred.rrpontsyd 3124 rows (2822 missing values" in out
    assert "ok    fred (fred_dgs2_daily.csv): fred.dgs2 6645 rows" in out
    assert "fred_t10y2y_daily.csv" in out and "FRED series flowwatch does not read" in out and "WALCL" in out
    conn = open_db(db)
    try:
        got = dict(conn.execute("SELECT series, COUNT(*) FROM observations GROUP BY series").fetchall())
    finally:
        conn.close()
    assert got == {
        "fred.walcl": 1197,
        "fred.wtregen": 1197,
        "fred.rrpontsyd": 3124,
        "fred.bamlh0a0hym2": 7634,
        "fred.dgs10": 5896,
        "fred.dgs2": 6645,
    }
