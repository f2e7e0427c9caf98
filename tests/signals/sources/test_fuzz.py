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

from signals import fomc
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
    yahoo,
)
from signals.sources.base import Rejects, SourceError
from storage import timeutil
from storage.earnings import Report
from tests.conftest import DATA, FIXTURES
from tests.fuzzing import check_rows, expect_clear_error, fuzz_settings, payloads, scaled

NOW = datetime(2026, 11, 21, tzinfo=UTC)
LIMIT = NOW.timestamp() + 600
#: the snapshot time of the recorded Fed-odds payloads (meetings still open)
ODDS_NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def _seeds(*paths: str, fallback: str, lines: int | None = None) -> list[str]:
    """Recorded payloads (``fixtures/...`` or ``data/...``; ``lines`` keeps the head of long
    files); a minimal valid payload when the shared folder is absent."""
    out = []
    for p in paths:
        f = (DATA / p.removeprefix("data/")) if p.startswith("data/") else FIXTURES / p
        if f.exists():
            text = f.read_text(encoding="utf-8")
            if lines is not None:
                text = "".join(text.splitlines(keepends=True)[:lines])
            out.append(text)
    return out or [fallback]


CBOE = _seeds(
    "cboe/VIX_History.csv",
    "cboe/VIX3M_History.csv",
    fallback="DATE,OPEN,HIGH,LOW,CLOSE\n01/02/2026,1,1,1,1\n",
)
FRED = _seeds(
    "fred/VIXCLS.csv",
    "fred/VIXCLS_legacy_layout.csv",
    "fred/VXVCLS.csv",
    "fred/EFFR.csv",
    fallback="observation_date,VIXCLS\n2026-01-02,15.1\n",
)
YAHOO = _seeds(
    "yahoo/chart_VIX_1d.json",
    "yahoo/chart_VIX3M_1d.json",
    "yahoo/chart_error_not_found.json",
    fallback='{"chart":{"result":[{"meta":{},"timestamp":[1767000000],"indicators":{"quote":[{"close":[15.0]}]}}],"error":null}}',
)
KALSHI_EVENTS = _seeds("kalshi/events_KXFEDDECISION_nested.json", fallback='{"events":[],"cursor":""}')
KALSHI_CANDLES = _seeds(
    "kalshi/candlesticks_KXFEDDECISION-26DEC-H25_60m.json",
    fallback='{"candlesticks":[{"end_period_ts":1795176000,"price":{"close_dollars":"0.72"}}]}',
)
POLY_EVENTS = _seeds("polymarket/gamma_events.json", "polymarket/gamma_event_by_slug.json", fallback="[]")
POLY_HISTORY = _seeds(
    "polymarket/clob_prices_history.json",
    "polymarket/clob_prices_history_empty.json",
    fallback='{"history":[{"t":1795176000,"p":0.5}]}',
)
NOCHANGE = _seeds(
    "data/fed_dec2025_nochange_polymarket_kalshi_30min.csv",
    fallback=(
        "timestamp_ms,timestamp_et,poly_mid,poly_spread,poly_best_bid_yes,poly_best_bid_no,"
        "kalshi_mid,kalshi_spread,kalshi_best_bid_yes,kalshi_best_bid_no\n"
        "1763272880028,2025-11-16 01:01:20,0.505,0.01,0.5,0.49,0.51,0.02,0.5,0.48\n"
    ),
    lines=40,
)
ZQ = _seeds(
    "fedwatch/zq_settlements_2022-09-12.csv",
    fallback="trade_date,symbol,contract_month,settle\n2022-09-12,ZQU2,2022-09,97.4475\n",
)
CME = _seeds(
    "cme/fedwatch_meeting_export_20261209.csv",
    fallback="\ufeffDate,(350-375),(375-400)\n11/16/2026,0.2,0.8\n",
)
COINGLASS = _seeds(
    "coinglass/liquidation_history.json",
    "data/btc_liquidations_binance_4h_coinglass.csv",
    "data/btc_liquidations_binance_daily_coinglass.csv",
    fallback='{"code":"0","data":[{"time":1731528000000,"long_liquidation_usd":"1","short_liquidation_usd":"2"}]}',
    lines=30,
)
COINBASE = _seeds(
    "coinbase/candles_BTC-USD_86400.json", fallback="[[1795132800,84000,86000,85000,85500,1200]]"
)
KLINES = _seeds(
    "binance/klines_BTCUSDT_1d.json",
    fallback='[[1795046400000,"85000","86000","84000","85500","1","1795132799999","1",1,"1","1","0"]]',
)
KLINE_CSV = _seeds(
    "data/btc_usdt_binance_daily.csv",
    "data/btc_usdt_binance_4h.csv",
    fallback="timestamp,open,high,low,close,volume\n2017-08-17,1,1,1,4285.08,1\n2017-08-18,1,1,1,4108.37,1\n",
    lines=30,
)
OKX_REST = _seeds(
    "okx/liquidation_orders.json", "okx/error_missing_uly.json", fallback='{"code":"0","data":[]}'
)
NASDAQ = _seeds(
    "nasdaq/earnings.json",
    "nasdaq/earnings_2026-10-13.json",
    "nasdaq/earnings_2026-10-05.json",
    "nasdaq/earnings_2026-07-29_reported.json",
    "nasdaq/earnings_empty_rows.json",
    "nasdaq/earnings_weekend.json",
    fallback='{"data":{"asOf":"Thu, Nov 19, 2026","rows":[{"symbol":"AAPL","time":"time-pre-market"}]},"status":{"rCode":200}}',
)
ALPHAVANTAGE = _seeds(
    "alphavantage/earnings_calendar.csv",
    "alphavantage/earnings_calendar_rate_limited.csv",
    "alphavantage/error_information.json",
    fallback="symbol,name,reportDate,fiscalDateEnding,estimate,currency,timeOfTheDay\r\nIBM,IBM,2026-01-20,2025-12-31,4.3,USD,post-market\r\n",
)
SP500 = _seeds("sp500/constituents.csv", fallback="Symbol,Security,GICS Sector\nMMM,3M,Industrials\n")
EARNINGS = _seeds(
    "data/sp500_earnings_dates_2015_2025.csv",
    fallback="ticker,earnings_date,time,market_cap,fiscal_quarter_end,estimated\nAAPL,2026-01-29,amc,$3,000,2025-12-31,0\n",
    lines=30,
)
EARNINGS.append(
    "ticker,earnings_date,time,market_cap,fiscal_quarter_end,estimated\n"
    'AAPL,2026-01-29,amc,"$3,100,000,000,000",Dec/2025,1\n'
    "MSFT,1/27/2026,bmo,3.1e12,2025-12-31,0\n"
)


def _json_or_error(text: str, label: str) -> Any:
    return kalshi._json(text, label)


def _assert_probs(rows: list[Any]) -> None:
    check_rows(rows, positive=False, probability=True, max_ts=LIMIT)


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
        return polymarket.combine_history("2026-12-09", [("hold", pa), ("cut", pb)], Rejects("p"), ODDS_NOW)

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
