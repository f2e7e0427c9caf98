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
