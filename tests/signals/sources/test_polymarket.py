from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.backfills import run_backfill
from signals.sources import polymarket
from signals.sources.base import Rejects, SourceError
from storage.observations import Observation
from tests.conftest import fixture_text, source_context

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def gamma() -> list[dict[str, Any]]:
    return json.loads(fixture_text("polymarket/gamma_events.json"))


def probs(rows: list[Observation], meeting: str) -> dict[str, float]:
    return {r.series.rsplit(".", 1)[1]: r.value for r in rows if f".{meeting}." in r.series}


def _market(payload: list[dict[str, Any]], label: str) -> dict[str, Any]:
    return next(m for m in payload[0]["markets"] if m["groupItemTitle"].strip() == label)


@pytest.mark.parametrize(
    ("label", "bucket"),
    [
        ("50+ bps decrease", "cut"),
        (" 25 bps decrease ", "cut"),
        ("No change", "hold"),
        ("25 bps increase", "hike"),
        ("50+ bps increase", "hike"),
        ("Will Powell speak?", None),
        (None, None),
    ],
)
def test_bucket_from_group_label(label: str | None, bucket: str | None) -> None:
    assert polymarket.bucket_of(label) == bucket


@pytest.mark.parametrize(
    ("label", "suffix"),
    [
        ("50+ bps decrease", "cut50plus"),
        (" 25 bps decrease ", "cut25"),
        ("No change", "hold"),
        ("25 bps increase", "hike25"),
        ("50 bps increase", "hike50"),
        ("50+ bps increase", "hike50plus"),
        ("Will Powell speak?", None),
    ],
)
def test_bucket_size_from_group_label(label: str, suffix: str | None) -> None:
    b = polymarket.bucket_size(label)
    assert (b.suffix if b else None) == suffix


def test_parses_gamma_events_decoding_json_strings() -> None:
    rows = polymarket.parse_events(gamma(), NOW, Rejects("t"))
    dec = probs(rows, "2026-12-09")
    # mids: 0.004, 0.0175, 0.245, 0.725, 0.0085 (sum 1.0)
    assert dec["cut"] == pytest.approx(0.0215, abs=1e-6)
    assert dec["hold"] == pytest.approx(0.245, abs=1e-6)
    assert dec["hike"] == pytest.approx(0.7335, abs=1e-6)
    assert dec["cut50plus"] == pytest.approx(0.004, abs=1e-6) and dec["cut25"] == pytest.approx(
        0.0175, abs=1e-6
    )
    assert dec["hike25"] == pytest.approx(0.725, abs=1e-6) and dec["hike50plus"] == pytest.approx(
        0.0085, abs=1e-6
    )
    assert dec["move_bp"] == pytest.approx(-50 * 0.004 - 25 * 0.0175 + 25 * 0.725 + 50 * 0.0085, abs=1e-3)
    assert {r.source for r in rows} == {"polymarket"}


def test_single_event_by_slug_body_parses_too() -> None:
    rows = polymarket.parse_events(
        json.loads(fixture_text("polymarket/gamma_event_by_slug.json")), NOW, Rejects("t")
    )
    assert probs(rows, "2026-12-09")


def test_meeting_from_the_end_date_never_the_title() -> None:
    payload = gamma()
    payload[0]["title"] = "Fed decision in January?"
    payload[0]["slug"] = "fed-decision-in-january-885"
    payload[0]["endDate"] = "2026-12-10T04:00:00Z"  # nominal, a day off the 2 pm ET statement
    assert probs(polymarket.parse_events(payload, NOW, Rejects("t")), "2026-12-09")
    payload[0]["endDate"] = "2026-11-25T00:00:00Z"  # two weeks from any meeting
    rejects = Rejects("t")
    assert not polymarket.parse_events(payload, NOW, rejects)
    assert "not near an FOMC decision date" in rejects.items[0]


def test_events_that_are_not_decision_buckets_are_ignored() -> None:
    other = {
        "id": "1",
        "title": "Fed decision in December?",  # the title alone does not make it one
        "endDate": "2026-12-09T00:00:00Z",
        "markets": [{"id": "9", "groupItemTitle": "3 cuts in 2026", "outcomes": '["Yes", "No"]'}],
    }
    assert polymarket.parse_events([other], NOW, Rejects("t")) == []


def test_a_json_string_that_fails_to_decode_skips_the_market(caplog: pytest.LogCaptureFixture) -> None:
    payload = gamma()
    _market(payload, "50+ bps increase")["outcomes"] = '["Yes", "No"'  # truncated
    rejects = Rejects("polymarket")
    rows = polymarket.parse_events(payload, NOW, rejects)
    assert probs(rows, "2026-12-09")["hike"] == pytest.approx(0.725 / 0.9915, abs=1e-6)  # a tail bucket
    with caplog.at_level(logging.WARNING):
        rejects.log()
    (line,) = [r.getMessage() for r in caplog.records]
    assert 'market 3215009: outcomes \'["Yes", "No"\' does not decode as JSON' in line
    # the big bucket failing to decode makes the set unusable: the meeting is skipped, not guessed
    payload = gamma()
    _market(payload, "25 bps increase")["outcomes"] = "Yes,No"
    rejects = Rejects("t")
    assert not polymarket.parse_events(payload, NOW, rejects)
    assert any("sum to 0.28" in r for r in rejects.items)


def test_crossed_or_empty_book_uses_last_then_outcome_prices() -> None:
    payload = gamma()
    hold = _market(payload, "No change")
    hold["bestBid"], hold["bestAsk"], hold["lastTradePrice"] = 0.30, 0.20, 0.26
    dec = probs(polymarket.parse_events(payload, NOW, Rejects("t")), "2026-12-09")
    assert dec["hold"] == pytest.approx(0.26 / 1.015, abs=1e-6)
    hold["bestBid"], hold["bestAsk"], hold["lastTradePrice"] = None, None, None  # empty book, no trade
    dec = probs(polymarket.parse_events(payload, NOW, Rejects("t")), "2026-12-09")
    assert dec["hold"] == pytest.approx(0.245, abs=1e-6)  # outcomePrices[Yes]


def test_prices_history_and_its_empty_answer() -> None:
    pts = polymarket.parse_history(json.loads(fixture_text("polymarket/clob_prices_history.json")), "t")
    assert pts[0] == (1795143607, 0.745) and len(pts) == 13
    assert (
        polymarket.parse_history(json.loads(fixture_text("polymarket/clob_prices_history_empty.json")), "t")
        == []
    )
    with pytest.raises(SourceError, match="expected"):
        polymarket.parse_history({"error": "bad token"}, "t")


async def test_history_backfill_aligns_token_points_on_the_hour(db: Any) -> None:
    hist = json.loads(fixture_text("polymarket/clob_prices_history.json"))
    tokens = {}
    for m in gamma()[0]["markets"]:
        tokens[json.loads(m["clobTokenIds"])[0]] = m["groupItemTitle"].strip()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "gamma-api.polymarket.com":
            return httpx.Response(200, json=gamma())
        label = tokens[request.url.params["market"]]
        if label == "25 bps increase":
            return httpx.Response(200, json=hist)
        flat = {
            "No change": 0.25,
            "25 bps decrease": 0.017,
            "50+ bps decrease": 0.004,
            "50+ bps increase": 0.009,
        }
        # a few seconds off the other tokens' times, as the CLOB sends them
        return httpx.Response(
            200, json={"history": [{"t": p["t"] + 4, "p": flat[label]} for p in hist["history"]]}
        )

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    message = await run_backfill(
        polymarket.BACKFILL, db, client=client, now=NOW, since=datetime(2026, 11, 19, tzinfo=UTC)
    )
    await client.aclose()
    assert "117 observations from hourly price history, 1 meeting (2026-12-09)" in message
    row = db.execute(
        "SELECT ts, value FROM observations WHERE series = 'polymarket.fomc.2026-12-09.hike' ORDER BY ts LIMIT 1"
    ).fetchone()
    assert row[0] == 1795143600 and row[1] == pytest.approx((0.745 + 0.009) / (0.745 + 0.009 + 0.25 + 0.021))


async def test_poll_pages_by_offset() -> None:
    offsets = []

    def handler(request: httpx.Request) -> httpx.Response:
        offsets.append(int(request.url.params["offset"]))
        assert request.url.params["tag_slug"] == "fed-rates"
        if offsets[-1] == 0:
            return httpx.Response(200, json=gamma() * 50)  # a full page: ask for the next
        return httpx.Response(200, json=[])

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    rows = list((await polymarket.poll(source_context(client, NOW))).observations)  # type: ignore[arg-type]
    await client.aclose()
    assert offsets == [0, 50] and probs(rows, "2026-12-09")


async def test_poll_rejects_an_object_where_an_array_belongs() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"error": "rate limited"})

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    with pytest.raises(SourceError, match="expected a JSON array of events"):
        await polymarket.poll(source_context(client, NOW))  # type: ignore[arg-type]
    await client.aclose()


def test_file_backfill_of_the_recorded_csv(data_dir: Path) -> None:
    rows, note = polymarket.parse_file(
        data_dir / "fed_dec2025_nochange_polymarket_kalshi_30min.csv", datetime.now(UTC), None
    )
    assert "meeting 2025-12-10" in note
    assert {r.source for r in rows} == {"polymarket-csv"}
