from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.backfills import run_backfill
from signals.sources import fedwatch, fred
from signals.sources.base import SourceError
from storage import observations as obs_repo
from tests.conftest import fixture_text

NOW = datetime(2026, 11, 21, tzinfo=UTC)


def test_outcome_probabilities_of_a_cut() -> None:
    prices = {(2026, 11): 96.115, (2026, 12): 96.20}  # December implies a cut
    (dec,) = fedwatch.fedwatch(prices, [date(2026, 12, 9)], date(2026, 11, 20))  # the method, re-exported
    p = dec.outcome_probs()
    assert p["cut"] > 0.3 and p["hike"] == 0.0 and sum(p.values()) == pytest.approx(1.0)


def test_zq_csv_parse_and_bad_rows(caplog: pytest.LogCaptureFixture) -> None:
    by_day = fedwatch.parse_zq_csv(fixture_text("fedwatch/zq_settlements_2022-09-12.csv"), now=NOW)
    assert by_day == {date(2022, 9, 12): {(2022, 9): 97.4475, (2022, 10): 96.94, (2022, 11): 96.43}}
    body = (
        "trade_date,symbol,contract_month,settle\n"
        "2022-09-12,ZQU2,2022-09,97.4475\n"
        "2022-09-12,ZQZ2,2022-10,96.94\n"  # Z is December
        "2022-09-12,ZQX2,2022-11,abc\n"
        "2022-09-12,ZQX2,2022-11,0\n"
        "2022-09-12,ZQV2,2022-10,100.25\n"
        "2022-09-12,ZQV2,2022-10,96,94\n"  # a decimal comma: not 96
    )
    refused: dict[date, set[tuple[int, int]]] = {}
    with caplog.at_level(logging.WARNING):
        got = fedwatch.parse_zq_csv(body, now=NOW, refused=refused)
    assert got == {date(2022, 9, 12): {(2022, 9): 97.4475}}
    # well-formed rows of a listed contract whose settlement is refused: gaps for the method
    assert refused == {date(2022, 9, 12): {(2022, 10), (2022, 11)}}
    (line,) = [r.getMessage() for r in caplog.records]
    assert "skipped 5 row(s)" in line and "does not match contract_month" in line
    assert "settle 'abc' is not a number" in line and "line 7: 5 fields, expected 4" in line
    assert (
        "settle 100.25 is above 100: a negative average rate, which the FedWatch method cannot price" in line
    )
    with pytest.raises(SourceError, match="unexpected header"):
        fedwatch.parse_zq_csv("date,price\n2022-09-12,97\n")


FRED_2022 = {
    "DFEDTARU": "observation_date,DFEDTARU\n2022-09-01,2.50\n2022-09-12,2.50\n",
    "DFEDTARL": "observation_date,DFEDTARL\n2022-09-01,2.25\n2022-09-12,2.25\n",
    "EFFR": "observation_date,EFFR\n2022-09-01,2.33\n2022-09-09,2.33\n",
}


async def test_backfill_of_zq_settlements_downloads_fred_inputs(db: Any, tmp_path: Path) -> None:
    f = tmp_path / "zq.csv"
    f.write_text(fixture_text("fedwatch/zq_settlements_2022-09-12.csv"))
    asked = []

    def handler(request: httpx.Request) -> httpx.Response:
        fid = request.url.params["id"]
        asked.append(fid)
        return httpx.Response(200, text=FRED_2022[fid])

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    message = await run_backfill(fedwatch.BACKFILL, db, client=client, now=NOW, file=f)
    await client.aclose()
    assert sorted(asked) == ["DFEDTARL", "DFEDTARU", "EFFR"]
    assert "1 trading day(s)" in message and "2 meetings (2022-09-21..2022-11-02)" in message
    ts = int(datetime(2022, 9, 12, tzinfo=UTC).timestamp())
    rows = dict(
        db.execute(
            "SELECT series, value FROM observations WHERE ts = ? AND series LIKE 'fedwatch.%'", [ts]
        ).fetchall()
    )
    assert rows["fedwatch.fomc.2022-09-21.hike"] == pytest.approx(1.0)  # 75 or 100 bp: all hikes
    assert rows["fedwatch.fomc.2022-11-02.hike"] == pytest.approx(1.0)
    assert rows["fedwatch.fomc.2022-09-21.cut"] == 0.0
    # FRED is stored now: a second import does not download again
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(500)))
    await run_backfill(fedwatch.BACKFILL, db, client=client, now=NOW, file=f)
    await client.aclose()


async def test_backfill_without_fred_still_imports_when_no_effr_is_needed(db: Any, tmp_path: Path) -> None:
    f = tmp_path / "zq.csv"
    f.write_text(fixture_text("fedwatch/zq_settlements_2022-09-12.csv"))
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(404)))
    message = await run_backfill(fedwatch.BACKFILL, db, client=client, now=NOW, file=f)
    await client.aclose()
    assert "FRED EFFR unavailable" in message and "load it with flowwatch backfill fred" in message
    assert "2 meetings" in message


async def test_backfill_needs_a_file(db: Any) -> None:
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(500)))
    with pytest.raises(ValueError, match="no free live source"):
        await run_backfill(fedwatch.BACKFILL, db, client=client, now=NOW)
    await client.aclose()


async def test_cme_meeting_export_against_the_fred_range(db: Any, tmp_path: Path) -> None:
    obs_repo.upsert(db, fred.parse_csv(fixture_text("fred/DFEDTARU.csv"), now=NOW))
    obs_repo.upsert(db, fred.parse_csv(fixture_text("fred/DFEDTARL.csv"), now=NOW))
    obs_repo.upsert(db, fred.parse_csv(fixture_text("fred/EFFR.csv"), now=NOW))
    f = tmp_path / "fedwatch_meeting_export_20261209.csv"
    f.write_bytes(fixture_text("cme/fedwatch_meeting_export_20261209.csv").encode("utf-8"))
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(500)))
    message = await run_backfill(fedwatch.BACKFILL, db, client=client, now=NOW, file=f)
    await client.aclose()
    assert "CME meeting export for 2026-12-09" in message and "12 observations" in message
    ts = int(datetime(2026, 11, 16, tzinfo=UTC).timestamp())
    rows = dict(
        db.execute(
            "SELECT series, value FROM observations WHERE ts = ? AND series LIKE 'fedwatch.%'", [ts]
        ).fetchall()
    )
    total = 0.2122 + 0.7712 + 0.0166
    assert rows["fedwatch.fomc.2026-12-09.hold"] == pytest.approx(0.2122 / total, abs=1e-6)
    assert rows["fedwatch.fomc.2026-12-09.hike"] == pytest.approx(0.7878 / total, abs=1e-6)
    assert rows["fedwatch.fomc.2026-12-09.cut"] == 0.0


def test_fred_zero_rates_are_kept() -> None:
    rows = fred.parse_csv("observation_date,DFEDTARL\n2021-06-01,0.00\n", now=NOW)
    assert [(r.series, r.value) for r in rows] == [("fred.target_lower", 0.0)]


async def test_days_the_method_cannot_price_are_skipped_with_their_reason(
    db: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A day without the contract of the next meeting's month, and a day only the EFFR could
    anchor when there is no EFFR: each skipped with one logged reason; the other days import."""
    f = tmp_path / "zq.csv"
    f.write_text(
        "trade_date,symbol,contract_month,settle\n"
        "2022-09-12,ZQU2,2022-09,97.4475\n"
        "2022-09-12,ZQV2,2022-10,96.9400\n"
        "2022-09-12,ZQX2,2022-11,96.4300\n"
        "2022-09-13,ZQV2,2022-10,96.9300\n"  # no September contract on the 13th
        "2022-09-13,ZQX2,2022-11,96.4200\n"
        "2024-11-07,ZQX4,2024-11,95.3300\n"  # December's meeting: only the EFFR could anchor it
        "2024-11-07,ZQZ4,2024-12,95.4700\n"
    )
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(404)))
    with caplog.at_level(logging.WARNING):
        message = await run_backfill(fedwatch.BACKFILL, db, client=client, now=NOW, file=f)
    await client.aclose()
    assert "3 trading day(s)" in message and "1 priced, 2 skipped (see the log)" in message
    (line,) = [r.getMessage() for r in caplog.records if "skipped 2 row(s)" in r.getMessage()]
    assert "2022-09-13: no settlement for 2022-09, the month of the 2022-09-21 meeting" in line
    assert (
        "2024-11-07: no anchor for the 2024-12-18 meeting" in line and "no EFFR before the trade date" in line
    )


async def test_a_contract_missing_among_the_days_others_is_logged_never_anchored_around(
    db: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """September 2022 is solved backward from October. A day without October (November is
    there) is skipped, not priced from another anchor; a day without December (the month of the
    December meeting) is priced up to November and says where and why it stopped."""
    f = tmp_path / "zq.csv"
    f.write_text(
        "trade_date,symbol,contract_month,settle\n"
        "2022-09-12,ZQU2,2022-09,97.4475\n"
        "2022-09-12,ZQV2,2022-10,96.9400\n"
        "2022-09-12,ZQX2,2022-11,96.4300\n"
        "2022-09-13,ZQU2,2022-09,97.4475\n"  # no October on the 13th
        "2022-09-13,ZQX2,2022-11,96.4300\n"
        "2022-09-14,ZQU2,2022-09,97.4475\n"
        "2022-09-14,ZQV2,2022-10,96.9400\n"
        "2022-09-14,ZQX2,2022-11,96.4300\n"  # no December on the 14th
        "2022-09-14,ZQF3,2023-01,95.9000\n"
    )
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(404)))
    obs_repo.upsert(db, fred.parse_csv(FRED_2022["EFFR"], now=NOW))
    with caplog.at_level(logging.WARNING):
        message = await run_backfill(fedwatch.BACKFILL, db, client=client, now=NOW, file=f)
    await client.aclose()
    assert "3 trading day(s)" in message and "2 priced, 1 skipped (see the log)" in message
    assert "1 of them only in part (a contract missing; see the log)" in message
    text = " ".join(r.getMessage() for r in caplog.records)
    assert (
        "2022-09-13: no settlement for 2022-10 (a gap among the day's contracts), the month that "
        "anchors the 2022-09-21 meeting" in text
    )
    assert (
        "2022-09-14: priced to the 2022-11-02 meeting: no settlement for 2022-12, the month of the "
        "2022-12-14 meeting" in text
    )
    days = db.execute(
        "SELECT DISTINCT ts FROM observations WHERE series = 'fedwatch.fomc.2022-09-21.cut'"
    ).fetchall()
    assert len(days) == 2  # the 12th and the 14th; nothing for the 13th


async def test_the_real_settlements_import_with_every_day_priced(db: Any, data_dir: Path) -> None:
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(404)))
    now = datetime(2026, 9, 1, tzinfo=UTC)
    for name in ("fred_dff_daily.csv", "fed_target_range_2015_2021_constructed.csv"):
        await run_backfill(fred.BACKFILL, db, client=client, now=now, file=data_dir / name)
    message = await run_backfill(
        fedwatch.BACKFILL, db, client=client, now=now, file=data_dir / "zq_settlements_2015_2021.csv"
    )
    await client.aclose()
    assert "1765 trading day(s)" in message and "1765 priced" in message
    ts = int(datetime(2022, 1, 1, tzinfo=UTC).timestamp())
    series = {
        r[0].rsplit(".", 1)[1]
        for r in db.execute(
            "SELECT DISTINCT series FROM observations WHERE series LIKE 'fedwatch.fomc.2019-07-31.%' AND ts < ?",
            [ts],
        )
    }
    assert {"cut", "hold", "hike", "cut25", "cut50", "move_bp", "path_bp", "rate"} <= series
    # the expected rate after the 2019-07-31 cut, on its eve: the range 2.25-2.50 less about 30 bp
    rate = db.execute(
        "SELECT value FROM observations WHERE series = 'fedwatch.fomc.2019-07-31.rate' AND ts = ?",
        [int(datetime(2019, 7, 30, tzinfo=UTC).timestamp())],
    ).fetchone()[0]
    assert 2.05 < rate < 2.10
