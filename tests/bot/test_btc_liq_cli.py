"""btc_liq through the command line: backfills, replay over the real history, chart, check, demo."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import pytest

from bot.backfills import run_backfill
from bot.cli import main
from bot.config import load_settings
from bot.liquidations import liquidations_chart, liquidations_report, liquidations_text, validate_hours
from bot.queries import status
from bot.summary import status_line, summary_text
from signals.contract import default_params
from signals.sources import coinbase, coinglass, okx
from signals.sources import liquidations as liq_source
from signals.sources.base import BackfillContext, SourceError
from storage import observations as obs_repo
from storage.db import SyncReader, open_db
from storage.timeutil import from_epoch
from tests.conftest import fixture_text, source_context
from tests.signals.test_liquidations import LOW, T0, minute_history


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def dbfile(tmp_path: Path) -> str:
    return str(tmp_path / "fw.db")


def test_backfill_and_replay_the_real_history(
    data_dir: Path, dbfile: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("btc_liquidations_binance_daily_coinglass.csv", "btc_liquidations_binance_4h_coinglass.csv"):
        code, out, _ = run(capsys, "backfill", "coinglass", "--file", str(data_dir / name), "--db", dbfile)
        assert code == 0 and "liq.btc.coinglass" in out
    code, out, _ = run(
        capsys, "backfill", "binance", "--file", str(data_dir / "btc_usdt_binance_4h.csv"), "--db", dbfile
    )
    assert code == 0 and "btc.usd.close.4h: 18370 closes" in out
    code, out, _ = run(capsys, "replay", "btc_liq", "--format", "jsonl", "--db", dbfile)
    assert code == 0
    events = [json.loads(line) for line in out.splitlines()]
    assert {e["signal"] for e in events} == {"btc_liq"} and set(events[0]) == {
        "signal",
        "key",
        "event",
        "ts",
        "level",
        "value",
        "summary",
    }
    oct10 = [e for e in events if e["ts"] == "2025-10-11T00:00:00Z"]
    # the 20:00 bar of 2025-10-10 (judged when complete): the largest 4h of the stored history
    assert oct10 and oct10[0]["event"] in ("fired", "escalated") and oct10[0]["level"] == "severe"
    assert "BTC -" in oct10[0]["summary"]  # the price move from the kline history
    assert [e for e in events if e["event"] == "resolved"]
    # replay --set: the top 10 of a year alert, not the top 5: more alerts
    code, out2, _ = run(
        capsys, "replay", "btc_liq", "--format", "jsonl", "--set", "top_n=10", "--restart", "--db", dbfile
    )

    def alerting(lines: list[dict[str, str]]) -> int:
        return sum(1 for e in lines if e["event"] == "fired" and e["level"] in ("alert", "severe"))

    more = [json.loads(line) for line in out2.splitlines()]
    assert code == 0 and alerting(more) > alerting(events)
    code, out, _ = run(
        capsys,
        "chart",
        "btc_liq",
        "--days",
        "365",
        "-o",
        str(Path(dbfile).with_suffix(".png")),
        "--db",
        dbfile,
    )
    assert code == 0 and "btc_liq over 365 days" in out
    code, out, _ = run(capsys, "check", "btc_liq", "--no-fetch", "--db", dbfile)
    assert code == 0 and out.startswith("btc_liq/cascade")
    assert "M USD" not in out and re.search(r"; \$[\d.]+[KMB] (below|past) ", out), out


def test_bad_input_is_refused_clearly(
    tmp_path: Path, dbfile: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "liq_4h.csv"
    bad.write_text("when,amount\n1,2\n")
    code, _, err = run(capsys, "backfill", "coinglass", "--file", str(bad), "--db", dbfile)
    assert code == 1 and "need time_ms (or date_utc)" in err
    code, _, err = run(capsys, "replay", "btc_liq", "--set", "k_alert=0", "--db", dbfile)
    assert code == 2 and "k_alert" in err and "allowed 2 to 100" in err
    code, _, err = run(capsys, "backfill", "binance", "--db", dbfile)
    assert code == 2 and "needs --file" in err


def test_backfill_coinbase_and_okx_files(
    tmp_path: Path, dbfile: str, capsys: pytest.CaptureFixture[str], fixtures_dir: Path
) -> None:
    code, out, _ = run(
        capsys,
        "backfill",
        "coinbase",
        "--file",
        str(fixtures_dir / "coinbase/candles_BTC-USD_86400.json"),
        "--db",
        dbfile,
    )
    assert code == 0 and "btc.usd.close.1d" in out
    code, out, _ = run(
        capsys,
        "backfill",
        "okx",
        "--file",
        str(fixtures_dir / "okx/liquidation_orders.json"),
        "--since",
        "2026-11-20",
        "--db",
        dbfile,
    )
    assert code == 0 and "okx:" in out


# -- live backfills and polls through httpx.MockTransport ------------------------------------


async def test_coinglass_live_needs_the_key_and_sends_it(db: object) -> None:
    now = datetime(2023, 2, 5, tzinfo=UTC)
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(200, text=fixture_text("coinglass/liquidation_history.json"))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        reader = SyncReader(db)  # type: ignore[arg-type]
        ctx = BackfillContext(
            client=client, now=now, settings=load_settings(env={}, dotenv=None), reader=reader
        )
        with pytest.raises(SourceError, match="FLOWWATCH_COINGLASS_API_KEY"):
            await coinglass.fetch(ctx)
        settings = load_settings(env={"FLOWWATCH_COINGLASS_API_KEY": "k-123"}, dotenv=None)
        ctx = BackfillContext(
            client=client, now=now, settings=settings, reader=reader, since=datetime(2023, 1, 1, tzinfo=UTC)
        )
        bucket, rows = await coinglass.fetch(ctx, interval="1d")
    assert (
        seen[0].headers["CG-API-KEY"] == "k-123"
        and seen[0].url.params["exchange_list"] == "Binance,OKX,Bybit"
    )
    assert bucket == "1d" and len(rows) == 4 and rows[0].source == "coinglass:binance,okx,bybit"


async def test_price_poll_falls_back_to_binance() -> None:
    now = datetime(2026, 11, 20, 0, 30, tzinfo=UTC)

    def handler(req: httpx.Request) -> httpx.Response:
        if req.url.host == "api.exchange.coinbase.com":
            return httpx.Response(404, text='{"message":"NotFound"}')
        assert req.url.params["symbol"] == "BTCUSDT"
        return httpx.Response(200, text=fixture_text("binance/klines_BTCUSDT_1d.json"))

    async def nosleep(_s: float) -> None:
        return None

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        ctx = source_context(client, now, sleep=nosleep)
        rows = (await coinbase.poll_price(ctx)).observations  # type: ignore[arg-type]
    assert rows and rows[0].source == "binance" and rows[0].series == "btc.usd.close.1m"


async def test_okx_live_backfill_pages_back_and_fills_gaps(db: object) -> None:
    now = datetime.fromtimestamp(1795185070, tz=UTC)
    pages: list[dict[str, str]] = []

    def handler(req: httpx.Request) -> httpx.Response:
        pages.append(dict(req.url.params))
        if "after" in req.url.params or req.url.params["uly"] != "BTC-USDT":
            return httpx.Response(200, json={"code": "0", "data": [], "msg": ""})
        return httpx.Response(200, text=fixture_text("okx/liquidation_orders.json"))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        since = datetime.fromtimestamp(1795184000, tz=UTC)
        msg = await run_backfill(okx.BACKFILL, db, client=client, now=now, since=since)  # type: ignore[arg-type]
    assert pages[1]["after"] == "1795184152598" and "3 BTC liquidations" in msg
    n = db.execute("SELECT COUNT(*) FROM observations WHERE series = 'liq.btc.okx.long_usd.1m'").fetchone()[0]  # type: ignore[attr-defined]
    assert n > 10


# -- /liquidations and /status ------------------------------------------------------------------


def test_liquidations_view_and_status_line(tmp_path: Path) -> None:
    db = open_db(tmp_path / "v.db")
    surge = {600 + k: 0.4e6 for k in range(30)}
    obs = minute_history(surge, 900, gaps=range(700, 703))
    obs_repo.upsert(db, obs)
    db.execute(
        "INSERT INTO meta (key, value, updated_at) VALUES ('source:okx', ?, 0)",
        [json.dumps({"venue": "okx", "connected": True, "unavailable": None})],
    )
    settings = load_settings(env=LOW_ENV, dotenv=None)
    now = from_epoch(T0 + 900 * 60)
    rep = liquidations_report(db, settings, now, 24)
    usd = sum(o.value for o in obs if "_usd." in o.series)
    assert rep.venues == ["okx"] and rep.total == pytest.approx(usd)
    assert rep.largest and rep.largest[0].total == pytest.approx(0.4e6) and rep.gaps_s == {"okx": 180.0}
    text = liquidations_text(rep)
    assert (
        "Total $12." in text
        and "OKX: $12." in text
        and "Stream gaps: OKX 3 min" in text
        and "okx live" in text
    )
    assert "Data covers" in text  # 15 hours of data in a 24-hour range
    data = liquidations_chart(db, settings, now, 6)
    # none recorded: the surge is found in its 5-minute periods (not by re-running every minute)
    assert len(data.x) == 360 and len(data.cascades) == 1
    a, b, level = data.cascades[0]
    assert (
        a <= np.datetime64(T0 + 600 * 60, "s") < np.datetime64(T0 + 630 * 60, "s") <= b and level == "alert"
    )
    # once the engine has recorded its lifecycle, that is the span drawn, alone
    from bot.engine import persist
    from storage.alerts import AlertEvent

    persist(
        db,
        "live",
        [],
        [
            AlertEvent(
                "btc_liq",
                "cascade",
                "fired",
                "alert",
                T0 + 601 * 60,
                "s",
                episode="e1",
                data={"start": T0 + 596 * 60},
            ),
            AlertEvent("btc_liq", "cascade", "resolved", "ok", T0 + 645 * 60, "s", episode="e1"),
        ],
    )
    data = liquidations_chart(db, settings, now, 6)
    assert data.cascades == [(np.datetime64(T0 + 596 * 60, "s"), np.datetime64(T0 + 645 * 60, "s"), "alert")]
    assert len(data.marks) == 1
    with pytest.raises(ValueError, match="1 to 720"):
        validate_hours(0)
    with pytest.raises(ValueError, match="whole number"):
        validate_hours("1.5")
    assert validate_hours("48") == 48
    (ks,) = status(db, settings, now, "btc_liq")
    line = status_line(ks)
    assert line.startswith("[      OK] btc_liq · liquidation cascade (all venues):")
    # money in the one style of every message: "$211.9M to Heads-up", never "211.9M USD"
    assert re.search(r": \$[\d.]+[KMB]; \$[\d.]+[KMB] to Heads-up", line), line
    summary = summary_text(db, settings, now)
    assert "btc_liq" in summary and "M USD" not in summary
    db.close()


LOW_ENV = {f"FLOWWATCH_BTC_LIQ_{k.upper()}": str(v) for k, v in LOW.items()}


# -- coverage, retention, streaming replay -------------------------------------------------------


def test_check_reports_the_measured_coverage_of_an_import(
    dbfile: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Where live minutes cover an import's buckets, check says what share of the live total the
    import carried, beside the setting the levels use."""
    t0 = 1_793_836_800  # 2026-11-05 00:00 UTC
    db = open_db(dbfile)
    imp = []
    for k in range(18):  # three days of a Binance-only 4-hour import
        imp.append(
            obs_repo.Observation(
                "liq.btc.coinglass.long_usd.4h", t0 + 14400 * k, 216_000.0, "coinglass:binance"
            )
        )
        imp.append(
            obs_repo.Observation("liq.btc.coinglass.short_usd.4h", t0 + 14400 * k, 0.0, "coinglass:binance")
        )
    live = []
    for m in range(2 * 1440):  # live venues over the last two of those days: $3,000 a minute
        ts = t0 + 86400 + 60 * m
        for venue in ("bybit", "binance", "okx"):
            live.append(obs_repo.Observation(f"liq.btc.{venue}.long_usd.1m", ts, 1000.0, venue))
            live.append(obs_repo.Observation(f"liq.btc.{venue}.short_usd.1m", ts, 0.0, venue))
    obs_repo.upsert(db, imp + live)
    db.close()
    code, out, _ = run(capsys, "check", "btc_liq", "--no-fetch", "--db", dbfile)
    assert code == 0
    note = next(line for line in out.splitlines() if "import coverage" in line)
    assert "measured 30%" in note and "over 12 overlapping 4h buckets" in note
    assert "levels use 35% (FLOWWATCH_BTC_LIQ_IMPORT_COVERAGE)" in note


def test_db_prune_keeps_minutes_for_the_retention_and_their_rollups_for_good(
    dbfile: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    now = int(datetime.now(UTC).timestamp()) // 60 * 60
    first = now - 10 * 86400
    rows = []
    for m in range(first, now - 3600, 60):
        rows.append(obs_repo.Observation("liq.btc.okx.long_usd.1m", m, 1000.0, "okx"))
        rows.append(obs_repo.Observation("liq.btc.okx.short_usd.1m", m, 500.0, "okx"))
        rows.append(obs_repo.Observation("btc.usd.close.1m", m, 90000.0 + (m - first) / 60, "coinbase"))
    db = open_db(dbfile)
    obs_repo.upsert(db, rows)
    before = db.execute(
        "SELECT SUM(long_usd), SUM(short_usd), SUM(rows) FROM liq_rollup WHERE res = 86400"
    ).fetchone()
    db.close()
    monkeypatch.setenv("FLOWWATCH_LIQ_MINUTE_RETENTION_DAYS", "5")
    code, out, _ = run(capsys, "db", "prune", "--dry-run", "--db", dbfile)
    assert code == 0 and "would remove" in out and "older than 5 days" in out
    code, out, _ = run(capsys, "db", "prune", "--db", dbfile)
    cut = (now - 5 * 86400) // 86400 * 86400
    pruned = (cut - first) // 60
    assert code == 0 and f"removed {3 * pruned:>8} 1-minute liquidation buckets and BTC closes" in out
    db = open_db(dbfile)
    try:
        left = db.execute(
            "SELECT MIN(ts) FROM observations WHERE series = 'liq.btc.okx.long_usd.1m'"
        ).fetchone()[0]
        assert left == cut
        after = db.execute(
            "SELECT SUM(long_usd), SUM(short_usd), SUM(rows) FROM liq_rollup WHERE res = 86400"
        ).fetchone()
        assert after == pytest.approx(before)  # every minute lives on in the roll-ups
        hours = db.execute(
            "SELECT COUNT(*), MIN(ts) FROM observations WHERE series = 'btc.usd.close.1h'"
        ).fetchone()
        assert (
            hours[0] == (cut - first) // 3600 + (1 if first % 3600 else 0)
            and hours[1] == first // 3600 * 3600
        )
    finally:
        db.close()
    # the chart still draws the pruned days, from the roll-ups, with the hourly closes
    png = Path(dbfile).with_suffix(".png")
    code, out, _ = run(capsys, "chart", "btc_liq", "--days", "9", "-o", str(png), "--db", dbfile)
    assert code == 0 and png.stat().st_size > 1000


def test_replay_streams_from_the_database(db: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """Replay reads the database a week at a time and never builds the whole history's readings."""
    from bot.replay import run_replay
    from signals.btc_liq import SIGNAL

    start = datetime(2026, 1, 5, tzinfo=UTC)
    obs_repo.upsert(db, SIGNAL.demo(start).observations)
    monkeypatch.setattr(type(SIGNAL), "history", lambda *a: pytest.fail("the whole history was built"))
    res = run_replay(db, [SIGNAL], {SIGNAL.id: default_params(SIGNAL)}, start, None, resume=False)
    kinds = [e.event for e in res.events if e.kind == "alert"]
    assert kinds[0] == "fired" and kinds[-1] == "resolved" and res.readings > 4000


def test_the_minute_retention_setting_is_validated() -> None:
    from bot.config import ConfigError

    assert load_settings(env={}, dotenv=None).get(liq_source.MINUTE_RETENTION_DAYS) == 90
    assert (
        load_settings(env={"FLOWWATCH_LIQ_MINUTE_RETENTION_DAYS": "0"}, dotenv=None).get(
            liq_source.MINUTE_RETENTION_DAYS
        )
        == 0
    )
    with pytest.raises(ConfigError, match=r"FLOWWATCH_LIQ_MINUTE_RETENTION_DAYS.*3 to 36500 days, or 0"):
        load_settings(env={"FLOWWATCH_LIQ_MINUTE_RETENTION_DAYS": "1"}, dotenv=None)
