"""``flowwatch check``: offline it tries each source once (concurrently) and sums up in a few lines;
``--no-fetch`` flags stale data for every signal; "no data yet" says why."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.cli import main
from signals import registry

OFFLINE = "[Errno -2] Name or service not known"


@pytest.fixture
def loaded(tmp_path: Path, data_dir: Path) -> Path:
    """Real history (VIX closes to 2026-07, the Coinglass import to 2025-11, earnings to 2025, the
    S&P 500 to 2026-08, FRED's series to 2025-11 and 2026)."""
    folder = tmp_path / "files"
    folder.mkdir()
    for name in ("cboe_vix_daily.csv", "cboe_vix3m_daily.csv", "cboe_vix9d_daily.csv",
                 "btc_liquidations_binance_4h_coinglass.csv", "sp500_earnings_dates_2015_2025.csv",
                 # the flow signals' inputs: the S&P 500 to 2026-08, FRED's H.4.1, spreads and yields
                 "sp500_index_daily.csv", "fred_walcl_weekly.csv", "fred_wtregen_weekly.csv",
                 "fred_rrpontsyd_daily.csv", "fred_bamlh0a0hym2_daily.csv", "fred_dgs10_daily.csv",
                 "fred_dgs2_daily.csv"):  # fmt: skip
        shutil.copy(data_dir / name, folder / name)
    db = tmp_path / "h.db"
    assert main(["backfill", "all", "--dir", str(folder), "--db", str(db)]) == 0
    return db


def test_no_fetch_flags_stale_data_for_every_signal_and_says_why_there_is_none(
    loaded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["check", "--no-fetch", "--db", str(loaded)]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    by = {line.split()[0]: line for line in lines}
    # btc_liq from a Coinglass import that ends in 2025: stale, not "ok as of 2025-11-14"
    assert "STALE: the latest data is from 2025-11-" in by["btc_liq/cascade"]
    assert "STALE" in by["vix_term/vix3m"] and "STALE" in by["vix_term/vix9d"]
    # the four flow signals, each key: a value from old history is flagged, never shown as current
    for key in ("vol_control/selling", "vol_control/buying", "cta_trend/selling", "cta_trend/buying",
                "cta_trend/trigger", "net_liquidity/drain", "net_liquidity/injection", "credit/hy",
                "credit/curve"):  # fmt: skip
        assert "  STALE: " in by[key] and " as of 20" in by[key], by[key]
    assert ".; " not in out  # the distance follows the reading cleanly
    # history that exists but does not reach today: the line says so, and what to do
    assert by["buyback/share"].startswith("buyback/share  no data yet: ")
    assert "stored rows, none usable" in by["buyback/share"] and "backfill all" in by["buyback/share"]
    ratecut = [line for line in lines if line.startswith("ratecut/")]
    assert ratecut and all("no data yet: nothing stored" in line for line in ratecut)
    assert {line.split("/")[0] for line in lines} == set(registry())
    assert "reading(s) are STALE" in err


def test_offline_check_tries_each_source_once_and_sums_up(
    loaded: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.runner

    urls: Counter[str] = Counter()

    def refuse(request: httpx.Request) -> httpx.Response:
        urls[str(request.url)] += 1
        raise httpx.ConnectError(OFFLINE, request=request)

    real = httpx.AsyncClient

    def offline_client(*args: Any, **kwargs: Any) -> httpx.AsyncClient:
        return real(*args, transport=httpx.MockTransport(refuse), **kwargs)

    monkeypatch.setattr(bot.runner.httpx, "AsyncClient", offline_client)
    monkeypatch.setenv("FLOWWATCH_EARNINGS_SPACING", "0.5")  # the calendar scan's pause, shortened
    capsys.readouterr()
    assert main(["check", "--db", str(loaded)]) == 0
    out, err = capsys.readouterr()
    assert urls and max(urls.values()) == 1, urls  # one try per request, no retries
    # one try per source: the earnings calendar scan asks for its first day only, not five days
    assert sum("api.nasdaq.com" in u for u in urls) == 1, [u for u in urls if "nasdaq" in u]
    err_lines = err.splitlines()
    head = next(i for i, line in enumerate(err_lines) if line.startswith("fetch: "))
    assert err_lines[head].startswith("fetch: 0 of ") and err_lines[head].endswith(
        " sources reached (one try each)"
    )
    failed = [line for line in err_lines[head + 1 :] if line.startswith("  ")]
    assert failed and all(OFFLINE in line for line in failed)
    assert "nothing is reachable: check this machine's network" in err
    assert len(err_lines) <= len(failed) + 6  # a summary, not a page of retries
    assert "vix_term/vix3m" in out  # the stored data is still shown
