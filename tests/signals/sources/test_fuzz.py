"""Hostile input: every parser returns valid rows or raises its one clear error (hypothesis).

Seeds are the recorded provider payloads (``../shared/fixtures``, ``../shared/data``); each
property mixes structure-aware mutants of them (hostile JSON nodes, hostile CSV cells), text
mutants (cut, spliced, bytes replaced) and random text. A parser may refuse a body only with
its documented error carrying a message; anything it returns must be finite, in range and
not from the future.
"""

from __future__ import annotations

import math
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from signals import fomc, fomc_dist
from signals.sources import (
    _fomc_odds,
    alphavantage,
    binance,
    cboe,
    coinbase,
    coinglass,
    earnings,
    fedwatch,
    fred,
    kalshi,
    nasdaq,
    okx,
    polymarket,
    sp500,
    spx,
    yahoo,
)
from signals.sources.base import Rejects, SourceError
from storage import timeutil
from storage.earnings import Report
from tests.fuzzing import check_rows, expect_clear_error, fuzz_settings, payloads, scaled
from tests.signals.sources.seeds import (
    ALPHAVANTAGE,
    CBOE,
    CME,
    COINBASE,
    COINGLASS,
    EARNINGS,
    FRED,
    KALSHI_CANDLES,
    KALSHI_EVENTS,
    KLINE_CSV,
    KLINES,
    NASDAQ,
    NOCHANGE,
    OKX_REST,
    POLY_EVENTS,
    POLY_HISTORY,
    SP500,
    SPX_BARS,
    SPX_YAHOO,
    YAHOO,
    ZQ,
)

NOW = datetime(2026, 11, 21, tzinfo=UTC)
LIMIT = NOW.timestamp() + 600
#: the snapshot time of the recorded Fed-odds payloads (meetings still open)
ODDS_NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def _json_or_error(text: str, label: str) -> Any:
    return kalshi._json(text, label)


def _assert_probs(rows: list[Any]) -> None:
    """Probabilities in [0, 1]; the expected move and path (bp) finite and within 4 steps a meeting."""
    in_bp = [r for r in rows if r.series.endswith(("move_bp", "path_bp"))]
    check_rows([r for r in rows if r not in in_bp], positive=False, probability=True, max_ts=LIMIT)
    check_rows(in_bp, positive=False, max_ts=LIMIT)
    for r in in_bp:
        assert abs(r.value) <= 100 * 8, r


# -- VIX term structure ---------------------------------------------------------------------


@fuzz_settings
@given(payloads(CBOE, "csv"))
def test_cboe_csv(text: str) -> None:
    rows = expect_clear_error(lambda: cboe.parse_csv(text, "vix", now=NOW), (SourceError,))
    check_rows(rows or [], max_ts=LIMIT)


@fuzz_settings
@given(payloads(FRED, "csv"))
def test_fred_csv(text: str) -> None:
    rows = expect_clear_error(lambda: fred.parse_csv(text, now=NOW), (SourceError,))
    check_rows(rows or [], max_ts=LIMIT, allow_zero=True)


@fuzz_settings
@given(payloads(YAHOO, "json"), st.sampled_from(["1d", "5m"]))
@example('{"chart": {"result": NaN, "error": null}}', "1d")  # found: TypeError
@example('{"chart": {"result": [{"timestamp": 5, "indicators": {"quote": [{"close": 5}]}}]}}', "5m")
def test_yahoo_chart(text: str, interval: str) -> None:
    rows = expect_clear_error(
        lambda: yahoo.parse_chart(text, "yahoo.vix.5m", interval=interval, now=NOW), (SourceError,)
    )
    check_rows(rows or [], max_ts=LIMIT)


# -- S&P 500 closes ---------------------------------------------------------------------------


@fuzz_settings
@given(payloads(SPX_BARS, "csv"))
def test_spx_bars_file(text: str) -> None:
    """A daily-bar file: every close kept is a positive, finite close of a past NYSE session, or
    the whole file is refused with the reason."""
    rows = expect_clear_error(lambda: spx.parse_file(text, "spx.csv", now=NOW), (SourceError,))
    check_rows(rows or [], max_ts=LIMIT)
    days = [r.ts for r in rows or []]  # type: ignore[attr-defined]
    assert days == sorted(set(days))


@fuzz_settings
@given(payloads(SPX_YAHOO, "json"))
def test_spx_yahoo(text: str) -> None:
    rows = expect_clear_error(lambda: spx.parse_yahoo(text, now=NOW), (SourceError,))
    check_rows(rows or [], max_ts=LIMIT)


# -- Fed-decision odds ------------------------------------------------------------------------


@fuzz_settings
@given(payloads(KALSHI_EVENTS, "json"))
@example(  # found: a market that is not an object (AttributeError)
    '{"events": [{"series_ticker": "KXFEDDECISION", "strike_date": "2026-12-09T19:00:00Z", "markets": [NaN]}]}'
)
@example('{"events": [{"strike_date": "9999-12-31T23:59:59-14:00", "markets": 7}]}')
def test_kalshi_events(text: str) -> None:
    def go() -> list[Any]:
        rejects = Rejects("kalshi")
        return kalshi.parse_events(_json_or_error(text, "kalshi"), ODDS_NOW, rejects)

    _assert_probs(expect_clear_error(go, (SourceError,)) or [])  # type: ignore[arg-type]


@fuzz_settings
@given(payloads(KALSHI_CANDLES, "json"))
@example('{"candlesticks": [{"end_period_ts": 1795176000, "yes_bid": 1.5, "price": "x"}]}')  # found
@example('{"candlesticks": [{"end_period_ts": 1e300, "price": {"close_dollars": "0.5"}}]}')  # found
def test_kalshi_candlesticks(text: str) -> None:
    def go() -> list[Any]:
        series = kalshi.parse_candles(_json_or_error(text, "kalshi"), "kalshi KXFEDDECISION-26DEC-H25")
        per_market = {"KXFEDDECISION-26DEC-H25": series, "KXFEDDECISION-26DEC-H0": dict(series)}
        return kalshi.combine_candles("2026-12-09", per_market, Rejects("kalshi candles"), ODDS_NOW)

    _assert_probs(expect_clear_error(go, (SourceError,)) or [])  # type: ignore[arg-type]


@fuzz_settings
@given(payloads(POLY_EVENTS, "json"))
def test_polymarket_gamma_events(text: str) -> None:
    def go() -> list[Any]:
        return polymarket.parse_events(_json_or_error(text, "polymarket"), ODDS_NOW, Rejects("polymarket"))

    _assert_probs(expect_clear_error(go, (SourceError,)) or [])  # type: ignore[arg-type]


@fuzz_settings
@given(payloads(POLY_HISTORY, "json"), payloads(POLY_HISTORY, "json"))
@example('{"history": [{"t": Infinity, "p": 0.5}, {"t": NaN, "p": 0.5}]}', '{"history": []}')  # found
@example('{"history": [{"t": 1e300, "p": 0.5}]}', '{"history": [{"t": 1e300, "p": 0.5}]}')  # found
def test_polymarket_clob_history(a: str, b: str) -> None:
    def go() -> list[Any]:
        pa = polymarket.parse_history(_json_or_error(a, "polymarket"), "polymarket prices-history")
        pb = polymarket.parse_history(_json_or_error(b, "polymarket"), "polymarket prices-history")
        buckets = [(fomc_dist.HOLD, pa), (fomc_dist.Bucket(-25), pb)]
        return polymarket.combine_history("2026-12-09", buckets, Rejects("p"), ODDS_NOW)

    _assert_probs(expect_clear_error(go, (SourceError,)) or [])  # type: ignore[arg-type]


@fuzz_settings
@given(payloads(NOCHANGE, "csv"), st.sampled_from(["kalshi", "polymarket"]))
@example(NOCHANGE[0].splitlines()[0] + "\ninf,x,0.5,0.01,0.5,0.49,0.5,0.01,0.5,0.49\n", "kalshi")  # found
def test_recorded_nochange_csv(text: str, venue: str) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    got = expect_clear_error(lambda: _fomc_odds.parse_nochange_csv(text, venue, now=now), (SourceError,))
    if got is not None:
        meeting, rows = got  # type: ignore[misc]
        assert isinstance(meeting, fomc.Meeting)
        check_rows(rows, positive=False, probability=True, max_ts=now.timestamp() + 600)


@scaled(0.5)
@given(
    st.sampled_from(["kalshi", "polymarket"]),
    st.one_of(payloads(KALSHI_EVENTS + POLY_EVENTS, "json"), payloads(NOCHANGE, "csv")),
)
def test_saved_odds_files(venue: str, text: str) -> None:
    """``backfill kalshi|polymarket --file``: a saved events body or the recorded CSV."""
    mod = kalshi if venue == "kalshi" else polymarket
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "saved.json"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        got = expect_clear_error(lambda: mod.parse_file(path, ODDS_NOW, None), (SourceError,))
    if got is not None:
        rows, note = got  # type: ignore[misc]
        assert note
        _assert_probs(rows)


@fuzz_settings
@given(payloads(ZQ, "csv"))
@example("trade_date,symbol,contract_month,settle\n2022-09-12,ZQV2,99992-10,96\n")  # found: year 99992 kept
def test_fedwatch_zq_settlements(text: str) -> None:
    now = datetime(2022, 9, 13, tzinfo=UTC)
    by_day = expect_clear_error(lambda: fedwatch.parse_zq_csv(text, now=now), (SourceError,))
    for td, prices in (by_day or {}).items():  # type: ignore[attr-defined]
        months = sorted(prices)
        decisions = [date(y, m, 21) for y, m in months[1::2]]
        for mo in fedwatch.fedwatch(prices, decisions, td, effr=2.33, target=(2.25, 2.5)):
            probs = mo.outcome_probs()
            assert all(math.isfinite(p) and -1e-9 <= p <= 1 + 1e-9 for p in probs.values()), mo
            assert math.isclose(sum(probs.values()), 1.0, abs_tol=1e-6), mo


@fuzz_settings
@given(payloads(CME, "csv"))
@example("Date,(350-375),(375-400)\n11/16/99999999999992026,0.2,0.8\n")  # found: OverflowError
def test_cme_fedwatch_export(text: str) -> None:
    meeting = fomc.get("2026-12-09")
    assert meeting is not None
    if not fedwatch.is_cme_export(text):
        return
    upper = {date(2026, 11, d): 4.0 for d in range(1, 31)}
    rows = expect_clear_error(lambda: fedwatch.parse_cme_export(text, meeting, upper), (SourceError,))
    _assert_probs(rows or [])  # type: ignore[arg-type]


# -- BTC liquidations and price -----------------------------------------------------------------


@fuzz_settings
@given(
    st.one_of(payloads(COINGLASS[:1], "json"), payloads(COINGLASS[1:] or COINGLASS, "csv")),
    st.sampled_from([None, "1h", "4h", "1d"]),
)
@example(
    '{"code": "0", "data": [{"time": 1e300, "long_liquidation_usd": "1", "short_liquidation_usd": "1"}]}',
    "4h",
)
def test_coinglass(text: str, bucket: str | None) -> None:
    got = expect_clear_error(lambda: coinglass.parse(text, now=NOW, bucket=bucket), (SourceError,))
    if got is not None:
        b, rows = got  # type: ignore[misc]
        assert b in coinglass.INTERVALS
        check_rows(rows, positive=False, max_ts=LIMIT)
        assert all(r.value >= 0 for r in rows)


@fuzz_settings
@given(payloads(COINBASE, "json"), st.sampled_from([60, 300, 86400, 7]))
@example("[{}, [1795046400, 84642.72, 86309.1, 84873.86, 85932.89, 5703.5]]", 86400)  # found: KeyError
def test_coinbase_candles(text: str, granularity: int) -> None:
    rows = expect_clear_error(lambda: coinbase.parse_candles(text, granularity, now=NOW), (SourceError,))
    check_rows(rows or [], max_ts=LIMIT)


@fuzz_settings
@given(payloads(KLINES, "json"), st.sampled_from(["1m", "1h", "1d"]))
@example(
    '[{}, [Infinity, "1", "1", "1", "85000", "1"], [1794787200000, "1", "1", "1", 1e400]]', "1d"
)  # found
def test_binance_klines(text: str, interval: str) -> None:
    rows = expect_clear_error(lambda: binance.parse_klines(text, interval, now=NOW), (SourceError,))
    check_rows(rows or [], max_ts=LIMIT)


@fuzz_settings
@given(payloads(KLINE_CSV, "csv"))
@example("timestamp,,,,close\n2001-01-01,,,,1\n2001-01-01,,,,1")  # found: IndexError
def test_binance_kline_csv(text: str) -> None:
    got = expect_clear_error(lambda: binance.parse_kline_csv(text, now=NOW), (SourceError,))
    if got is not None:
        _bucket, rows = got  # type: ignore[misc]
        check_rows(rows, max_ts=LIMIT)


@fuzz_settings
@given(payloads(OKX_REST, "json"))
@example(  # found: an instId that is a list (TypeError: unhashable)
    '{"code": "0", "data": [{"instId": ["BTC-USDT-SWAP"], "details": [{"side": "sell", "sz": "1", "bkPx": "1", "ts": "1"}]}]}'
)
@example('{"code": "0", "data": 5}')
def test_okx_rest(text: str) -> None:
    events = expect_clear_error(lambda: okx.parse_rest(text, now=NOW), (SourceError,))
    for ts, venue, _sym, side, qty, price, usd in events or []:  # type: ignore[attr-defined]
        assert venue == "okx" and side in (0, 1) and ts <= LIMIT * 1000
        assert all(math.isfinite(x) and x > 0 for x in (qty, price, usd))


# -- earnings calendar ---------------------------------------------------------------------


def _check_reports(rows: list[Report]) -> None:
    for r in rows:
        assert r.ticker and r.ticker == r.ticker.strip().upper(), r
        assert isinstance(r.date, date)
        assert r.market_cap is None or (math.isfinite(r.market_cap) and r.market_cap > 0), r


@fuzz_settings
@given(payloads(NASDAQ, "json"), st.sampled_from([None, date(2026, 11, 19), date(2026, 10, 13)]))
@example('{"data": {"asOf": 1, "rows": [{"symbol": "AAPL", "marketCap": NaN, "time": 2}]}}', None)  # found
def test_nasdaq_day(text: str, day: date | None) -> None:
    got = expect_clear_error(lambda: nasdaq.parse_day(text, day), (SourceError,))
    if got is not None:
        for_day, rows = got  # type: ignore[misc]
        assert day is None or for_day == day
        _check_reports(rows)


@fuzz_settings
@given(payloads(ALPHAVANTAGE, "csv"))
@example("\r0")  # found: csv.Error on a lone carriage return
def test_alphavantage_csv(text: str) -> None:
    _check_reports(expect_clear_error(lambda: alphavantage.parse_csv(text), (SourceError,)) or [])  # type: ignore[arg-type]


@fuzz_settings
@given(payloads(SP500, "csv"))
def test_sp500_constituents(text: str) -> None:
    members = expect_clear_error(lambda: sp500.parse_csv(text), (SourceError,)) or []
    assert members or members == []
    for m in members:  # type: ignore[attr-defined]
        assert m.ticker and m.ticker == m.ticker.strip()


@fuzz_settings
@given(payloads(EARNINGS, "csv"))
@example("ticker,earnings_date,market_cap\nAAPL,2026-01-29,NaN\n")  # found: a NaN market cap was kept
def test_earnings_csv(text: str) -> None:
    rows = expect_clear_error(lambda: earnings.parse_csv(text, now=NOW), (ValueError,))
    _check_reports(rows or [])  # type: ignore[arg-type]
    for r in rows or []:  # type: ignore[attr-defined]
        assert (r.date - NOW.date()).days <= earnings.MAX_AHEAD.days


# -- timestamps typed by users and found in files ---------------------------------------------


@fuzz_settings
@given(
    st.one_of(
        st.text(max_size=40),
        st.sampled_from(
            ["2026-02-30", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "1e400", "-1e12"]
        ),
    )
)
@example("9999-12-31010-1400")  # found: a year-10000 timestamp came back
def test_timestamps(text: str) -> None:
    ts = expect_clear_error(lambda: timeutil.parse_ts(text), (ValueError,))
    if ts is not None:
        assert isinstance(ts, int)
        timeutil.from_epoch(ts)  # representable


def test_seeds_are_the_recorded_payloads(fixtures_dir: Path) -> None:
    """The properties fuzz the real formats (a fallback seed is only for a missing shared folder)."""
    assert len(CBOE) == 2 and len(KALSHI_EVENTS) == 1 and "KXFEDDECISION" in KALSHI_EVENTS[0]
    assert len(NASDAQ) == 6 and "asOf" in NASDAQ[0]


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


BIG = "x" * 200_000  # past the csv module's field limit (128 KiB)
CSV_READERS: dict[str, Any] = {
    "cboe": lambda t: cboe.parse_csv("DATE,OPEN,HIGH,LOW,CLOSE\n" + t + "\n", "vix", now=NOW),
    "sp500": lambda t: sp500.parse_csv("Symbol,Security\n" + t),
    "spx": lambda t: spx.parse_file("date,open,high,low,close\n" + t + "\n", "spx.csv", now=NOW),
    "alphavantage": lambda t: alphavantage.parse_csv("symbol,name,reportDate,fiscalDateEnding\n" + t),
    "earnings": lambda t: earnings.parse_csv("ticker,earnings_date\n" + t),
    "zq": lambda t: fedwatch.parse_zq_csv("trade_date,symbol,contract_month,settle\n" + t),
    "cme": lambda t: fedwatch.parse_cme_export("Date,(350-375)\n" + t, fomc.meetings()[-1], {}),
    "coinglass": lambda t: coinglass.parse("time_ms,long_usd,short_usd\n" + t, now=NOW),
    "kline_csv": lambda t: binance.parse_kline_csv("timestamp,close\n" + t, now=NOW),
    "nochange": lambda t: _fomc_odds.parse_nochange_csv(
        "timestamp_ms,kalshi_best_bid_yes,kalshi_best_bid_no\n" + t, "kalshi"
    ),
}


@pytest.mark.parametrize("reader", sorted(CSV_READERS))
def test_an_unterminated_quote_past_the_field_limit_is_a_clear_error(reader: str) -> None:
    """Found by review of the csv readers: csv.Error escaped every one of them."""
    with pytest.raises(SourceError, match="unreadable CSV"):
        CSV_READERS[reader]('"' + BIG)
