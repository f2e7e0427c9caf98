"""Recorded provider payloads as fuzzing seeds (``../shared/fixtures`` and ``../shared/data``).

Each list holds the real bodies of one provider format; a minimal valid body stands in when the
shared folder is absent, so the properties still run (on less).
"""

from __future__ import annotations

from tests.conftest import DATA, FIXTURES


def seeds(*paths: str, fallback: str, lines: int | None = None) -> list[str]:
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


CBOE = seeds(
    "cboe/VIX_History.csv",
    "cboe/VIX3M_History.csv",
    fallback="DATE,OPEN,HIGH,LOW,CLOSE\n01/02/2026,1,1,1,1\n",
)
FRED = seeds(
    "fred/VIXCLS.csv",
    "fred/VIXCLS_legacy_layout.csv",
    "fred/VXVCLS.csv",
    "fred/EFFR.csv",
    fallback="observation_date,VIXCLS\n2026-01-02,15.1\n",
)
YAHOO = seeds(
    "yahoo/chart_VIX_1d.json",
    "yahoo/chart_VIX3M_1d.json",
    "yahoo/chart_error_not_found.json",
    fallback='{"chart":{"result":[{"meta":{},"timestamp":[1767000000],"indicators":{"quote":[{"close":[15.0]}]}}],"error":null}}',
)
KALSHI_EVENTS = seeds("kalshi/events_KXFEDDECISION_nested.json", fallback='{"events":[],"cursor":""}')
KALSHI_CANDLES = seeds(
    "kalshi/candlesticks_KXFEDDECISION-26DEC-H25_60m.json",
    fallback='{"candlesticks":[{"end_period_ts":1795176000,"price":{"close_dollars":"0.72"}}]}',
)
POLY_EVENTS = seeds("polymarket/gamma_events.json", "polymarket/gamma_event_by_slug.json", fallback="[]")
POLY_HISTORY = seeds(
    "polymarket/clob_prices_history.json",
    "polymarket/clob_prices_history_empty.json",
    fallback='{"history":[{"t":1795176000,"p":0.5}]}',
)
NOCHANGE = seeds(
    "data/fed_dec2025_nochange_polymarket_kalshi_30min.csv",
    fallback=(
        "timestamp_ms,timestamp_et,poly_mid,poly_spread,poly_best_bid_yes,poly_best_bid_no,"
        "kalshi_mid,kalshi_spread,kalshi_best_bid_yes,kalshi_best_bid_no\n"
        "1763272880028,2025-11-16 01:01:20,0.505,0.01,0.5,0.49,0.51,0.02,0.5,0.48\n"
    ),
    lines=40,
)
ZQ = seeds(
    "fedwatch/zq_settlements_2022-09-12.csv",
    fallback="trade_date,symbol,contract_month,settle\n2022-09-12,ZQU2,2022-09,97.4475\n",
)
CME = seeds(
    "cme/fedwatch_meeting_export_20261209.csv",
    fallback="\ufeffDate,(350-375),(375-400)\n11/16/2026,0.2,0.8\n",
)
COINGLASS = seeds(
    "coinglass/liquidation_history.json",
    "data/btc_liquidations_binance_4h_coinglass.csv",
    "data/btc_liquidations_binance_daily_coinglass.csv",
    fallback='{"code":"0","data":[{"time":1731528000000,"long_liquidation_usd":"1","short_liquidation_usd":"2"}]}',
    lines=30,
)
COINBASE = seeds(
    "coinbase/candles_BTC-USD_86400.json", fallback="[[1795132800,84000,86000,85000,85500,1200]]"
)
KLINES = seeds(
    "binance/klines_BTCUSDT_1d.json",
    fallback='[[1795046400000,"85000","86000","84000","85500","1","1795132799999","1",1,"1","1","0"]]',
)
KLINE_CSV = seeds(
    "data/btc_usdt_binance_daily.csv",
    "data/btc_usdt_binance_4h.csv",
    fallback="timestamp,open,high,low,close,volume\n2017-08-17,1,1,1,4285.08,1\n2017-08-18,1,1,1,4108.37,1\n",
    lines=30,
)
OKX_REST = seeds(
    "okx/liquidation_orders.json", "okx/error_missing_uly.json", fallback='{"code":"0","data":[]}'
)
NASDAQ = seeds(
    "nasdaq/earnings.json",
    "nasdaq/earnings_2026-10-13.json",
    "nasdaq/earnings_2026-10-05.json",
    "nasdaq/earnings_2026-07-29_reported.json",
    "nasdaq/earnings_empty_rows.json",
    "nasdaq/earnings_weekend.json",
    fallback='{"data":{"asOf":"Thu, Nov 19, 2026","rows":[{"symbol":"AAPL","time":"time-pre-market"}]},"status":{"rCode":200}}',
)
ALPHAVANTAGE = seeds(
    "alphavantage/earnings_calendar.csv",
    "alphavantage/earnings_calendar_rate_limited.csv",
    "alphavantage/error_information.json",
    fallback="symbol,name,reportDate,fiscalDateEnding,estimate,currency,timeOfTheDay\r\nIBM,IBM,2026-01-20,2025-12-31,4.3,USD,post-market\r\n",
)
#: S&P 500 daily bars (``backfill spx --file``) and Yahoo's ^GSPC chart
SPX_BARS = seeds(
    "data/sp500_index_daily.csv",
    fallback="date,open,high,low,close,volume\n2024-07-01,1,1,1,5475.09,0\n2024-07-02,1,1,1,5509.01,0\n",
    lines=40,
)
SPX_YAHOO = seeds(
    "yahoo/chart_GSPC_1d.json",
    fallback='{"chart":{"result":[{"meta":{"exchangeTimezoneName":"America/New_York"},"timestamp":[1794839400],"indicators":{"quote":[{"close":[6822.7]}]}}],"error":null}}',
)
SP500 = seeds("sp500/constituents.csv", fallback="Symbol,Security,GICS Sector\nMMM,3M,Industrials\n")
EARNINGS = seeds(
    "data/sp500_earnings_dates_2015_2025.csv",
    fallback="ticker,earnings_date,time,market_cap,fiscal_quarter_end,estimated\nAAPL,2026-01-29,amc,$3,000,2025-12-31,0\n",
    lines=30,
)
EARNINGS.append(
    "ticker,earnings_date,time,market_cap,fiscal_quarter_end,estimated\n"
    'AAPL,2026-01-29,amc,"$3,100,000,000,000",Dec/2025,1\n'
    "MSFT,1/27/2026,bmo,3.1e12,2025-12-31,0\n"
)
