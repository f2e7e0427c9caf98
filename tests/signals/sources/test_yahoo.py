from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from signals.sources import yahoo
from signals.sources.base import SourceError
from storage.timeutil import iso
from tests.conftest import fixture_text

NOW = datetime(2026, 4, 27, tzinfo=UTC)


def test_daily_bars_use_exchange_local_date_and_round() -> None:
    rows = yahoo.parse_chart(
        fixture_text("yahoo/chart_VIX_1d.json"), "cboe.vix.close", interval="1d", now=NOW
    )
    assert [iso(r.ts)[:10] for r in rows] == [
        "2026-04-20",
        "2026-04-21",
        "2026-04-22",
        "2026-04-23",
        "2026-04-24",
    ]
    assert [r.value for r in rows] == [18.87, 19.5, 18.92, 19.31, 18.71]  # matches Cboe's closes


def test_vix3m_daily_matches_cboe_fixture() -> None:
    rows = yahoo.parse_chart(
        fixture_text("yahoo/chart_VIX3M_1d.json"), "cboe.vix3m.close", interval="1d", now=NOW
    )
    cboe = fixture_text("cboe/VIX3M_History.csv")
    for r in rows:
        d = datetime.fromtimestamp(r.ts, UTC)
        assert f"{d:%m/%d/%Y}," in cboe and f"{r.value:.2f}" in cboe


def test_error_envelope() -> None:
    with pytest.raises(SourceError, match="Not Found: No data found"):
        yahoo.parse_chart(fixture_text("yahoo/chart_error_not_found.json"), "yahoo.vix.5m")


def test_intraday_drops_nulls_and_the_forming_bar() -> None:
    doc = json.loads(fixture_text("yahoo/chart_VIX_1d.json"))
    res = doc["chart"]["result"][0]
    base = 1777037400
    res["timestamp"] = [base + 300 * i for i in range(4)]
    res["indicators"]["quote"][0]["close"] = [18.1, None, 18.300000190734863, 18.4]
    now = datetime.fromtimestamp(base + 300 * 3 + 60, UTC)  # the 4th bar is still forming
    rows = yahoo.parse_chart(json.dumps(doc), "yahoo.vix.5m", interval="5m", now=now)
    assert [(r.ts - base, r.value) for r in rows] == [(0, 18.1), (600, 18.3)]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (
            '{"chart": {"result": [{"meta": {}, "timestamp": [1], "indicators": {"quote": [{"close": [1, 2]}]}}]}}',
            "1 timestamps but 2 closes",
        ),
        ('{"chart": {"result": [', "malformed JSON"),
        ("<html>blocked</html>", "HTML page"),
        ('{"finance": {"error": "x"}}', "no 'chart' object"),
        ('{"chart": {"result": [], "error": null}}', "empty"),
    ],
)
def test_malformed(body: str, needle: str) -> None:
    with pytest.raises(SourceError, match=needle):
        yahoo.parse_chart(body, "yahoo.vix.5m", now=NOW)


def test_nan_and_negative_rejected() -> None:
    doc = {
        "chart": {
            "result": [
                {
                    "meta": {"exchangeTimezoneName": "America/Chicago"},
                    "timestamp": [1777037400, 1777037700],
                    "indicators": {"quote": [{"close": [-3.0, 19.0]}]},
                }
            ],
            "error": None,
        }
    }
    text = json.dumps(doc).replace("-3.0", "NaN", 0)
    rows = yahoo.parse_chart(text, "yahoo.vix.5m", now=NOW, drop_forming=False)
    assert [r.value for r in rows] == [19.0]
