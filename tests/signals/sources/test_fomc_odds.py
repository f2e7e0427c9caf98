from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from signals.sources import _fomc_odds as odds
from signals.sources.base import SourceError

NOW = datetime(2026, 11, 21, tzinfo=UTC)


@pytest.mark.parametrize(
    ("bid", "ask", "last", "prob", "method"),
    [
        (0.26, 0.27, 0.27, 0.265, "mid"),
        (0.0, 0.01, 0.01, 0.005, "mid"),  # a tail bucket with no bid is still a book
        (0.30, 0.20, 0.25, 0.25, "last"),  # crossed
        (0.0, 1.0, 0.04, 0.04, "last"),  # empty
        (None, None, 0.04, 0.04, "last"),  # empty
        (0.20, 0.45, 0.31, 0.31, "last"),  # wider than 10 cents
        (0.30, 0.20, None, None, "crossed book (bid 0.3 > ask 0.2) and no last price"),
        (0.0, 1.0, None, None, "empty book and no last price"),
    ],
)
def test_bucket_price_mid_or_last(
    bid: float | None, ask: float | None, last: float | None, prob: float | None, method: str
) -> None:
    got = odds.bucket_price(bid, ask, last)
    assert got.method == method
    assert got.prob == (pytest.approx(prob) if prob is not None else None)


def test_combine_normalises_and_refuses_broken_sets() -> None:
    p = odds.combine([("cut", 0.1), ("cut", 0.02), ("hold", 0.8), ("hike", 0.1)])
    assert sum(p.values()) == pytest.approx(1.0)
    assert p["cut"] == pytest.approx(0.12 / 1.02)
    with pytest.raises(ValueError, match="no 'hold' bucket"):
        odds.combine([("cut", 0.5), ("hike", 0.5)])
    with pytest.raises(ValueError, match=r"sum to 0\.30"):
        odds.combine([("cut", 0.1), ("hold", 0.2)])  # the big bucket is missing
    with pytest.raises(ValueError, match="only the 'hold'"):
        odds.combine([("hold", 1.0)])


def test_as_float_reads_decimal_strings() -> None:
    assert odds.as_float("0.5600") == 0.56
    assert odds.as_float("") is None and odds.as_float("abc") is None and odds.as_float(None) is None
    assert odds.as_float(float("nan")) is None and odds.as_float(True) is None


HEAD = "timestamp_ms,timestamp_et,poly_mid,poly_spread,poly_best_bid_yes,poly_best_bid_no,kalshi_mid,kalshi_spread,kalshi_best_bid_yes,kalshi_best_bid_no\n"


def test_nochange_csv_derives_cut_and_infers_the_meeting(caplog: pytest.LogCaptureFixture) -> None:
    body = (
        HEAD
        + "1763272880028,x,0.505,0.01,0.5,0.49,0.51,0.02,0.5,0.48\n"
        + "1763274751457,x,,,,0.49,0.51,0.30,0.4,0.30\n"  # kalshi: spread 0.30, no last -> skipped
        + "1763276659636,x,0.505,0.01,0.5,0.49,0.3,0.5,0.6,0.5\n"  # kalshi: crossed -> skipped
    )
    with caplog.at_level(logging.WARNING):
        meeting, rows = odds.parse_nochange_csv(body, "kalshi", now=NOW)
    assert meeting.id == "2025-12-10"
    assert [(r.series, r.value) for r in rows] == [
        ("kalshi.fomc.2025-12-10.hold", 0.51),
        ("kalshi.fomc.2025-12-10.cut", 0.49),
    ]
    assert rows[0].source == "kalshi-csv"
    warn = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warn) == 1 and "skipped 2 row(s)" in warn[0] and "crossed book" in warn[0]
    _, poly = odds.parse_nochange_csv(body, "polymarket", now=NOW)
    assert len(poly) == 4  # the row with no YES bid is an empty book: skipped


def test_nochange_csv_spanning_two_meetings_is_refused() -> None:
    # 2025-10-20 (before the Oct 29 statement) and 2025-11-20 (before Dec 10)
    body = (
        HEAD
        + "1760918400000,x,0.5,0.01,0.5,0.49,0.5,0.01,0.5,0.49\n1763596800000,x,0.5,0.01,0.5,0.49,0.5,0.01,0.5,0.49\n"
    )
    with pytest.raises(SourceError, match="more than one meeting"):
        odds.parse_nochange_csv(body, "kalshi", now=NOW)
    with pytest.raises(SourceError, match="not the recorded no-change"):
        odds.parse_nochange_csv("a,b\n1,2\n", "kalshi", now=NOW)


def test_real_dec2025_file(data_dir: Path) -> None:
    text = (data_dir / "fed_dec2025_nochange_polymarket_kalshi_30min.csv").read_text()
    meeting, k = odds.parse_nochange_csv(text, "kalshi", now=NOW)
    _, p = odds.parse_nochange_csv(text, "polymarket", now=NOW)
    assert meeting.id == "2025-12-10"
    assert len(k) == 2 * 1006 and len(p) == 2 * 1005  # one Polymarket row has an empty book
    hold = {o.ts: o.value for o in k if o.series.endswith(".hold")}
    cut = {o.ts: o.value for o in k if o.series.endswith(".cut")}
    assert all(abs(hold[t] + cut[t] - 1.0) < 1e-9 for t in hold)
    assert min(cut.values()) < 0.26 and max(cut.values()) > 0.9
