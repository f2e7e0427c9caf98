from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.backfills import run_backfill
from signals.sources import fred
from signals.sources.base import SourceError
from storage.timeutil import iso
from tests.conftest import fixture_text

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def test_new_layout_empty_is_missing() -> None:
    rows = fred.parse_csv(fixture_text("fred/VIXCLS.csv"), now=NOW)
    dates = [iso(r.ts)[:10] for r in rows]
    assert "2026-04-03" not in dates  # Good Friday: empty value
    assert rows[0].series == "cboe.vix.close" and rows[0].source == "fred" and rows[0].value == 24.54


def test_legacy_layout_dot_is_missing() -> None:
    rows = fred.parse_csv(fixture_text("fred/VIXCLS_legacy_layout.csv"), now=NOW)
    assert len(rows) == 5 and "2026-04-03" not in [iso(r.ts)[:10] for r in rows]


def test_vxvcls_maps_to_vix3m() -> None:
    rows = fred.parse_csv(fixture_text("fred/VXVCLS.csv"), now=NOW)
    assert {r.series for r in rows} == {"cboe.vix3m.close"}


def test_both_layouts_agree() -> None:
    new = {r.ts: r.value for r in fred.parse_csv(fixture_text("fred/VIXCLS.csv"), now=NOW)}
    old = {r.ts: r.value for r in fred.parse_csv(fixture_text("fred/VIXCLS_legacy_layout.csv"), now=NOW)}
    assert all(new[t] == v for t, v in old.items())


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("<html><body>Service Unavailable</body></html>", "HTML page"),
        ("observation_date,VIXCLS,EXTRA\n", "no series is mapped for FRED id EXTRA"),
        ("observation_date,VIXCLS,VIXCLS\n", "unexpected header"),
        ("when,VIXCLS\n2026-01-01,1\n", "unexpected header"),
        ("observation_date,UNKNOWN\n2026-01-01,1\n", "no series is mapped"),
    ],
)
def test_errors(body: str, needle: str) -> None:
    with pytest.raises(SourceError, match=needle):
        fred.parse_csv(body, now=NOW)


@pytest.mark.parametrize("first", ["observation_date", "DATE", "date"])
def test_every_date_header_variant(first: str) -> None:
    rows = fred.parse_csv(
        f"{first},EFFR\n2026-11-09,3.88\n2026-11-10,.\n2026-11-11,\n", now=NOW.replace(year=2027)
    )
    assert [(r.series, iso(r.ts)[:10], r.value) for r in rows] == [("fred.effr", "2026-11-09", 3.88)]


def test_dff_is_the_effr_on_weekdays() -> None:
    # 2019-05-03 is a Friday: FRED's DFF repeats its value on Saturday and Sunday
    body = "date,DFF\n2019-05-02,2.38\n2019-05-03,2.37\n2019-05-04,2.37\n2019-05-05,2.37\n2019-05-06,2.36\n"
    rows = fred.parse_csv(body, now=NOW)
    assert [(r.series, iso(r.ts)[:10], r.value) for r in rows] == [
        ("fred.effr", "2019-05-02", 2.38),
        ("fred.effr", "2019-05-03", 2.37),
        ("fred.effr", "2019-05-06", 2.36),
    ]


def test_several_series_in_one_file() -> None:
    body = (
        "observation_date,DFEDTARL,DFEDTARU\n2020-03-15,1.00,1.25\n2020-03-16,0.00,0.25\n2020-03-17,,0.25\n"
    )
    rows = fred.parse_csv(body, now=NOW)
    got = sorted((r.series, iso(r.ts)[:10], r.value) for r in rows)
    assert got == [
        ("fred.target_lower", "2020-03-15", 1.0),
        ("fred.target_lower", "2020-03-16", 0.0),  # zero is a real lower bound
        ("fred.target_upper", "2020-03-15", 1.25),
        ("fred.target_upper", "2020-03-16", 0.25),
        ("fred.target_upper", "2020-03-17", 0.25),
    ]


def test_bad_cells_are_skipped_with_their_reason(caplog: pytest.LogCaptureFixture) -> None:
    body = "date,DFF\n2019-05-02,2.38\n2019-05-03,abc\n2019-05-06,2.36,9\n2019-05-07,-1\n"
    with caplog.at_level("WARNING"):
        rows = fred.parse_csv(body, now=NOW)
    assert [r.value for r in rows] == [2.38]
    text = " ".join(r.getMessage() for r in caplog.records)
    assert (
        "'abc' is not a number" in text
        and "3 fields, expected 2" in text
        and "non-positive value -1.0" in text
    )


async def test_backfill_of_the_real_dff_and_target_range_files(db: Any, data_dir: Path) -> None:
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(500)))
    now = datetime(2026, 9, 1, tzinfo=UTC)
    msg = await run_backfill(fred.BACKFILL, db, client=client, now=now, file=data_dir / "fred_dff_daily.csv")
    assert msg.startswith("fred.effr ") and "from fred_dff_daily.csv" in msg
    msg = await run_backfill(
        fred.BACKFILL,
        db,
        client=client,
        now=now,
        file=data_dir / "fed_target_range_2015_2021_constructed.csv",
    )
    await client.aclose()
    assert "fred.target_lower 2557 rows, fred.target_upper 2557 rows" in msg
    got = dict(
        db.execute(
            "SELECT series, value FROM observations WHERE ts = ? AND series LIKE 'fred.%'",
            [int(datetime(2020, 3, 16, tzinfo=UTC).timestamp())],
        ).fetchall()
    )
    assert got == {"fred.effr": 0.25, "fred.target_lower": 0.0, "fred.target_upper": 0.25}
    weekend = db.execute(
        "SELECT COUNT(*) FROM observations WHERE series = 'fred.effr' AND ts = ?",
        [int(datetime(2020, 3, 14, tzinfo=UTC).timestamp())],
    ).fetchone()[0]
    assert weekend == 0


# -- the flow series (net_liquidity, credit) ------------------------------------------------------

FLOW_IDS = ("WALCL", "WTREGEN", "RRPONTSYD", "BAMLH0A0HYM2", "DGS10")


@pytest.mark.parametrize("fid", FLOW_IDS)
def test_recorded_flow_series_keep_freds_units(fid: str) -> None:
    missing: dict[str, int] = {}
    rows = fred.parse_csv(
        fixture_text(f"fred/{fid}.csv"), now=datetime(2027, 1, 1, tzinfo=UTC), missing=missing
    )
    assert (
        rows and {r.series for r in rows} == {f"fred.{fid.lower()}"} and {r.source for r in rows} == {"fred"}
    )
    first = {
        "WALCL": 7712781.0,
        "WTREGEN": 731405.0,
        "RRPONTSYD": 1018.483,
        "BAMLH0A0HYM2": 3.12,
        "DGS10": 5.21,
    }
    assert rows[0].value == first[fid]  # millions, millions, billions, percent: as FRED gives them
    # the holiday rows FRED leaves empty (2024-01-01 reverse repo, Veterans Day 2026 yields)
    assert missing == (
        {"fred.rrpontsyd": 1} if fid == "RRPONTSYD" else {"fred.dgs10": 1} if fid == "DGS10" else {}
    )


def test_zero_and_negative_where_real() -> None:
    body = "observation_date,RRPONTSYD\n2010-06-01,0\n2010-06-02,0.000\n"
    assert [r.value for r in fred.parse_csv(body, now=NOW)] == [0.0, 0.0]  # no operations for years
    body = "observation_date,DGS2\n2020-05-01,0.00\n2020-05-04,-0.01\n"
    assert [r.value for r in fred.parse_csv(body, now=NOW)] == [0.0, -0.01]  # yields can be 0 or below
    body = "DATE,WTREGEN\n2002-12-18,0\n"
    assert [r.value for r in fred.parse_csv(body, now=NOW)] == [0.0]


def test_impossible_flow_values_are_refused_with_the_range(caplog: pytest.LogCaptureFixture) -> None:
    body = "observation_date,RRPONTSYD\n2024-01-02,-5\n2024-01-03,2400000\n2024-01-04,700\n"  # a negative amount; millions where billions belong
    with caplog.at_level("WARNING"):
        rows = fred.parse_csv(body, now=NOW)
    assert [r.value for r in rows] == [700.0]
    text = " ".join(r.getMessage() for r in caplog.records)
    assert (
        "non-positive value -5.0" in text
        and "outside the plausible range (allowed 0 to 5000 billion USD" in text
    )
    with caplog.at_level("WARNING"):
        assert fred.parse_csv("date,DGS10\n2024-01-02,-7.5\n", now=NOW) == []
    assert "allowed -2 to 20 percent" in caplog.text


@pytest.mark.parametrize("first", ["observation_date", "DATE", "date"])
def test_dot_missing_values_are_skipped_and_counted(first: str) -> None:
    missing: dict[str, int] = {}
    body = f"{first},BAMLH0A0HYM2\n2026-11-09,3.12\n2026-11-10,.\n2026-11-11,\n2026-11-12,3.20\n"
    rows = fred.parse_csv(body, now=NOW.replace(year=2027), missing=missing)
    assert [r.value for r in rows] == [3.12, 3.20] and missing == {"fred.bamlh0a0hym2": 2}


async def test_backfill_file_says_how_many_values_were_missing(db: Any, tmp_path: Path) -> None:
    f = tmp_path / "WALCL.csv"
    f.write_text("DATE,WALCL\n2024-01-03,7681024\n2024-01-10,.\n2024-01-17,7677000\n")
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(500)))
    msg = await run_backfill(fred.BACKFILL, db, client=client, now=NOW, file=f)
    await client.aclose()
    assert msg.startswith("fred.walcl 2 rows (1 missing values, '.' or empty, skipped) from WALCL.csv"), msg


def test_an_unknown_fred_id_is_refused_naming_the_ids_flowwatch_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    f = tmp_path / "T10Y2Y.csv"
    f.write_text("observation_date,T10Y2Y\n2024-01-02,-0.38\n")
    code = main(["backfill", "fred", "--file", str(f), "--db", str(tmp_path / "x.db")])
    err = capsys.readouterr().err
    assert code != 0
    assert "no series is mapped for FRED id T10Y2Y" in err
    for fid in ("WALCL", "WTREGEN", "RRPONTSYD", "BAMLH0A0HYM2", "DGS10", "DGS2", "VIXCLS", "DFF"):
        assert fid in err, fid


def _recorded_fred(seen: list[httpx.Request], fail: frozenset[str] = frozenset()) -> httpx.MockTransport:
    """FRED's graph CSV endpoint answering with the recorded files (DGS2: DGS10's rows renamed)."""

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        fid = request.url.params["id"]
        if fid in fail:
            return httpx.Response(503, text="upstream unavailable")
        name = "DGS10" if fid == "DGS2" else fid
        try:
            text = fixture_text(f"fred/{name}.csv").replace(name, fid)
        except FileNotFoundError:
            return httpx.Response(404, text="<html>Series not found</html>")
        return httpx.Response(200, text=text, headers={"Content-Type": "text/csv"})

    return httpx.MockTransport(handle)


def _ctx(client: httpx.AsyncClient, now: datetime) -> Any:
    from signals.sources.base import SourceContext

    async def no_sleep(_s: float) -> None:
        return None

    return SourceContext(client=client, now=lambda: now, settings=None, reader=None, sleep=no_sleep)  # type: ignore[arg-type]


async def test_liquidity_poll_one_request_per_series_after_the_release() -> None:
    seen: list[httpx.Request] = []
    now = datetime(2024, 1, 11, 21, 45, tzinfo=UTC)  # Thursday 16:45 ET
    async with httpx.AsyncClient(transport=_recorded_fred(seen)) as client:
        batch = await fred.poll_liquidity(_ctx(client, now))
    assert [r.url.params["id"] for r in seen] == ["WALCL", "WTREGEN", "RRPONTSYD"]
    assert {r.url.params["cosd"] for r in seen} == {"2023-09-13"}  # the last 120 days (FRED revises)
    got = {(o.series, iso(o.ts)[:10]): o.value for o in batch.observations}
    assert got[("fred.walcl", "2024-01-10")] == 7686710.0 and got[("fred.rrpontsyd", "2024-01-03")] == 719.897
    assert ("fred.rrpontsyd", "2024-01-01") not in got  # New Year's Day: empty, never a zero


async def test_credit_poll_goes_on_when_one_series_fails(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[httpx.Request] = []
    now = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
    async with httpx.AsyncClient(transport=_recorded_fred(seen, fail=frozenset({"DGS10"}))) as client:
        with caplog.at_level("WARNING"):
            batch = await fred.poll_credit(_ctx(client, now))
    assert {o.series for o in batch.observations} == {"fred.bamlh0a0hym2", "fred.dgs2"}
    assert "fred DGS10: HTTP 503" in caplog.text
    assert [p.name for p in fred.POLLS] == ["fred_liquidity", "fred_credit"]
    assert fred.POLLS[0].signals == ("net_liquidity",) and fred.POLLS[1].signals == ("credit",)


async def test_backfill_without_a_file_fetches_the_whole_history_of_every_series(db: Any) -> None:
    seen: list[httpx.Request] = []
    async with httpx.AsyncClient(transport=_recorded_fred(seen)) as client:
        msg = await run_backfill(fred.BACKFILL, db, client=client, now=datetime(2027, 1, 1, tzinfo=UTC))
    ids = [r.url.params["id"] for r in seen]
    for fid in ("VIXCLS", "VXVCLS", "EFFR", "DFEDTARU", "DFEDTARL", *FLOW_IDS, "DGS2"):
        assert ids.count(fid) == 1, fid  # one request per series
    assert all("cosd" not in r.url.params for r in seen)  # no start: FRED's whole history
    assert "fred.rrpontsyd 3 rows (1 missing values, '.' or empty, skipped) from FRED RRPONTSYD" in msg
    assert "fred.bamlh0a0hym2 9 rows from FRED BAMLH0A0HYM2 (FRED serves about the last 3 years" in msg
    n = db.execute("SELECT COUNT(*) FROM observations WHERE series LIKE 'fred.%'").fetchone()[0]
    assert n > 20
