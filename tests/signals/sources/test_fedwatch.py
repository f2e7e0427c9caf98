from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from signals.sources import fedwatch, fred
from signals.sources.base import BackfillContext, SourceError
from storage import observations as obs_repo
from tests.conftest import fixture_text

NOW = datetime(2026, 11, 21, tzinfo=UTC)
TRADE_DATES = {0: date(2015, 8, 14), 1: date(2022, 9, 12), 2: date(2026, 11, 20)}


def _month(text: str) -> tuple[int, int]:
    y, m = text.split("-")
    return int(y), int(m)


def _rounded(d: dict[Any, float]) -> dict[str, float]:
    return {str(k): round(v, 4) for k, v in d.items()}


@pytest.mark.parametrize("case", [0, 1, 2])
def test_reproduces_the_cme_worked_examples(case: int) -> None:
    spec = json.loads(fixture_text("fedwatch/test_vectors.json"))["cases"][case]
    inputs, expected = spec["inputs"], spec["expected"]
    prices = {_month(c["month"]): c["price"] for c in inputs["contracts"]}
    decisions = [date(*_month(c["month"]), c["decision_day"]) for c in inputs["contracts"] if c["has_fomc"]]
    got = fedwatch.fedwatch(
        prices, decisions, TRADE_DATES[case], target=tuple(inputs["current_target_range"])
    )
    wanted = expected.get("meetings") or [expected]
    assert len(got) == len(wanted)
    for g, w in zip(got, wanted, strict=True):
        assert g.start_rate == pytest.approx(w["start_rate"], abs=1e-6)
        assert g.end_rate == pytest.approx(w["end_rate"], abs=1e-6)
        assert g.change_bp == pytest.approx(w["change_bp"], abs=1e-4)
        if "days_before" in w:
            assert g.days == (w["days_before"], w["days_from_decision"])
        own = w.get("meeting_only_probabilities_by_change_bp") or w["probabilities_by_change_bp"]
        assert _rounded(g.meeting) == own
        if "cumulative_probabilities_by_change_bp" in w:  # the probability tree across meetings
            assert _rounded(g.cumulative) == w["cumulative_probabilities_by_change_bp"]
            assert _rounded(g.by_range) == w["cumulative_probabilities_by_range"]
        else:
            assert _rounded(g.by_range) == w["probabilities_by_range"]


def test_split_move_handles_cuts() -> None:
    assert fedwatch.split_move(-13.4) == pytest.approx({-25: 0.536, 0: 0.464})
    assert fedwatch.split_move(0.0) == {0: 1.0}
    assert fedwatch.split_move(-50.0) == {-50: 1.0}


def test_back_to_back_meetings_chain_and_effr_anchors_the_current_month() -> None:
    # trade date 2026-06-01: May has expired, the June meeting (17th) is followed by July (29th)
    prices = {(2026, 6): 96.30, (2026, 7): 96.45, (2026, 8): 96.55}
    decisions = [date(2026, 6, 17), date(2026, 7, 29), date(2026, 9, 16)]
    got = fedwatch.fedwatch(prices, decisions, date(2026, 6, 1), effr=3.62)
    assert [g.decision_date for g in got] == [date(2026, 6, 17), date(2026, 7, 29)]
    june, july = got
    assert "EFFR" in june.how and june.start_rate == 3.62
    assert june.end_rate == pytest.approx((3.70 - 3.62 * 16 / 30) / (14 / 30))
    assert "2026-08 average" in july.how and july.end_rate == pytest.approx(3.45)
    # without the EFFR nothing anchors June, and the chain stops there
    assert fedwatch.fedwatch(prices, decisions, date(2026, 6, 1)) == []


def test_outcome_probabilities_of_a_cut() -> None:
    prices = {(2026, 11): 96.115, (2026, 12): 96.20}  # December implies a cut
    (dec,) = fedwatch.fedwatch(prices, [date(2026, 12, 9)], date(2026, 11, 20))
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
    )
    with caplog.at_level(logging.WARNING):
        got = fedwatch.parse_zq_csv(body, now=NOW)
    assert got == {date(2022, 9, 12): {(2022, 9): 97.4475}}
    (line,) = [r.getMessage() for r in caplog.records]
    assert "skipped 3 row(s)" in line and "does not match contract_month" in line
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
    message = await fedwatch._backfill(BackfillContext(db=db, client=client, now=NOW, file=f))
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
    await fedwatch._backfill(BackfillContext(db=db, client=client, now=NOW, file=f))
    await client.aclose()


async def test_backfill_without_fred_still_imports_when_no_effr_is_needed(db: Any, tmp_path: Path) -> None:
    f = tmp_path / "zq.csv"
    f.write_text(fixture_text("fedwatch/zq_settlements_2022-09-12.csv"))
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(404)))
    message = await fedwatch._backfill(BackfillContext(db=db, client=client, now=NOW, file=f))
    await client.aclose()
    assert "FRED EFFR unavailable" in message and "load it with flowwatch backfill fred" in message
    assert "2 meetings" in message


async def test_backfill_needs_a_file(db: Any) -> None:
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(500)))
    with pytest.raises(ValueError, match="no free live source"):
        await fedwatch._backfill(BackfillContext(db=db, client=client, now=NOW))
    await client.aclose()


async def test_cme_meeting_export_against_the_fred_range(db: Any, tmp_path: Path) -> None:
    obs_repo.upsert(db, fred.parse_csv(fixture_text("fred/DFEDTARU.csv"), now=NOW))
    obs_repo.upsert(db, fred.parse_csv(fixture_text("fred/DFEDTARL.csv"), now=NOW))
    obs_repo.upsert(db, fred.parse_csv(fixture_text("fred/EFFR.csv"), now=NOW))
    f = tmp_path / "fedwatch_meeting_export_20261209.csv"
    f.write_bytes(fixture_text("cme/fedwatch_meeting_export_20261209.csv").encode("utf-8"))
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(500)))
    message = await fedwatch._backfill(BackfillContext(db=db, client=client, now=NOW, file=f))
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
