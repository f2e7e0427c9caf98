from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from signals.sources import binance, bybit, coinbase, coinglass, okx
from signals.sources._wsclient import ACK, DATA, ERROR, MALFORMED, PONG, ParseStats
from signals.sources.base import SourceError
from storage.timeutil import iso
from tests.conftest import fixture_text

NOW_MS = 1795185070000  # 2026-11-20, just after the recorded frames
NOW = datetime.fromtimestamp(NOW_MS / 1000, tz=UTC)


def lines(rel: str) -> list[str]:
    return [line for line in fixture_text(rel).splitlines() if line.strip()]


# -- Bybit ------------------------------------------------------------------------------


def test_bybit_recorded_stream() -> None:
    st = ParseStats()
    kinds, events = [], []
    for line in lines("bybit/allLiquidation_stream.jsonl"):
        p = bybit.parse_frame(line, st, NOW_MS)
        kinds.append(p.kind)
        events += p.events
    assert kinds == [ACK, DATA, DATA, PONG, DATA]
    assert len(events) == 4
    ts, venue, sym, side, qty, price, amount = events[0]
    assert (ts, venue, sym, side, qty, price) == (1795185064808, "bybit", "BTCUSDT", 0, 0.515, 85688.40)
    assert amount == pytest.approx(0.515 * 85688.40)
    # "Buy" is a long liquidated, "Sell" a short (Bybit's convention, opposite to Binance)
    assert [e[3] for e in events] == [0, 0, 0, 1]


def test_bybit_docs_example_is_not_btc() -> None:
    st = ParseStats()
    p = bybit.parse_frame(fixture_text("bybit/allLiquidation.json"), st, NOW_MS)
    assert p.kind == DATA and p.events == [] and st.other_symbols == 1


def test_bybit_inverse_sizes_are_usd_contracts() -> None:
    frame = json.dumps(
        {
            "topic": "allLiquidation.BTCUSD",
            "ts": 1,
            "data": [{"T": NOW_MS - 5, "s": "BTCUSD", "S": "Sell", "v": "12000", "p": "80000"}],
        }
    )
    (ev,) = bybit.parse_frame(frame, ParseStats(), NOW_MS).events
    assert ev[3] == 1 and ev[6] == 12000 and ev[4] == pytest.approx(0.15)


def test_bybit_refused_subscription_is_an_error() -> None:
    p = bybit.parse_frame(
        '{"success":false,"ret_msg":"Invalid symbol :[allLiquidation.BTCPERP]","op":"subscribe"}',
        ParseStats(),
    )
    assert p.kind == ERROR and "BTCPERP" in p.detail


@pytest.mark.parametrize(
    ("item", "why"),
    [
        ({"T": NOW_MS, "s": "BTCUSDT", "S": "Buy", "v": "NaN", "p": "85000"}, "not positive"),
        ({"T": NOW_MS, "s": "BTCUSDT", "S": "Buy", "v": "1", "p": "0"}, "not positive"),
        ({"T": NOW_MS, "s": "BTCUSDT", "S": "Buy", "v": "-1", "p": "85000"}, "not positive"),
        ({"T": NOW_MS + 3_600_000, "s": "BTCUSDT", "S": "Buy", "v": "1", "p": "85000"}, "future"),
        ({"T": NOW_MS, "s": "BTCUSDT", "S": "Hold", "v": "1", "p": "85000"}, "unreadable"),
        ({"T": NOW_MS, "s": "BTCUSDT", "v": "1", "p": "85000"}, "unreadable"),
    ],
)
def test_bybit_bad_values_never_count(item: dict, why: str) -> None:
    st = ParseStats()
    p = bybit.parse_frame(json.dumps({"topic": "allLiquidation.BTCUSDT", "data": [item]}), st, NOW_MS)
    assert p.events == [] and st.rejected == 1 and why in st.reasons[0]


@pytest.mark.parametrize("text", ["{oops", "[]", '"x"', '{"topic":"allLiquidation.BTCUSDT","data":"x"}'])
def test_malformed_frames_are_counted(text: str) -> None:
    st = ParseStats()
    assert bybit.parse_frame(text, st).kind == MALFORMED and st.malformed == 1


def test_one_log_line_for_a_batch_of_bad_frames(caplog: pytest.LogCaptureFixture) -> None:
    st = ParseStats()
    for _ in range(20):
        bybit.parse_frame("{oops", st)
    with caplog.at_level(logging.WARNING):
        st.log_summary("bybit")
        st.log_summary("bybit")  # nothing new: no second line
    assert len(caplog.records) == 1 and "20 malformed" in caplog.records[0].getMessage()


# -- Binance ----------------------------------------------------------------------------


def test_binance_recorded_stream_filters_btc() -> None:
    st = ParseStats()
    events = []
    for line in lines("binance/forceOrder_stream.jsonl"):
        events += binance.parse_frame(line, st, NOW_MS).events
    assert [(e[2], e[3]) for e in events] == [("BTCUSDT", 0), ("BTCUSDT", 0), ("BTCUSDT", 1), ("BTCUSDT", 0)]
    assert st.other_symbols == 2
    # filled quantity times the average fill price
    assert events[0][6] == pytest.approx(0.412 * 85840.10)


def test_binance_combined_stream_is_the_same() -> None:
    raw = [
        binance.parse_frame(x, ParseStats(), NOW_MS).events
        for x in lines("binance/forceOrder_stream.jsonl")[:3]
    ]
    comb = [
        binance.parse_frame(x, ParseStats(), NOW_MS).events
        for x in lines("binance/forceOrder_combined_stream.jsonl")
    ]
    assert raw == comb


def test_binance_docs_frame_and_symbols() -> None:
    (ev,) = binance.parse_frame(fixture_text("binance/forceOrder.json"), ParseStats(), NOW_MS).events
    assert ev[0] == 1568014460893 and ev[3] == 0 and ev[6] == pytest.approx(0.014 * 9910)
    assert binance.is_btc("BTCUSDT_260327") and binance.is_btc("BTCUSDC")
    assert not binance.is_btc("BTCDOMUSDT") and not binance.is_btc("ETHUSDT")
    assert binance.parse_frame('{"result":null,"id":1}', ParseStats()).kind == ACK


def test_binance_refuses_the_silent_old_path() -> None:
    with pytest.raises(ValueError, match="no longer delivers"):
        binance.check_stream_url("wss://fstream.binance.com/ws/!forceOrder@arr")
    binance.check_stream_url(binance.STREAM_URL)
    binance.check_stream_url("wss://fstream.binance.com/market/stream?streams=!forceOrder@arr")


def test_binance_klines() -> None:
    rows = binance.parse_klines(fixture_text("binance/klines_BTCUSDT_1d.json"), "1d", now=NOW)
    # the last (still open) candle is left out
    assert [iso(r.ts)[:10] for r in rows][-1] == "2026-11-19" and len(rows) == 5
    assert rows[0].series == "btc.usd.close.1d" and rows[0].value == 85011.37


def test_binance_kline_csv(data_dir: Path) -> None:
    text = (data_dir / "btc_usdt_binance_4h.csv").read_text()
    bucket, rows = binance.parse_kline_csv(text, now=NOW)
    assert bucket == "4h" and len(rows) == 18370 and rows[0].series == "btc.usd.close.4h"


# -- OKX --------------------------------------------------------------------------------


def test_okx_recorded_stream() -> None:
    st = ParseStats()
    kinds, events = [], []
    for line in lines("okx/liquidation_orders_stream.jsonl"):
        p = okx.parse_frame(line, st, NOW_MS)
        kinds.append(p.kind)
        events += p.events
    assert kinds == [ACK, DATA, DATA, DATA]
    assert len(events) == 2 and st.other_symbols == 1  # ETH-USDT-SWAP skipped
    _ts, _v, inst, side, qty, price, amount = events[0]
    # 152 contracts of 0.01 BTC
    assert (inst, side, qty, price) == ("BTC-USDT-SWAP", 0, pytest.approx(1.52), 85702.4)
    assert amount == pytest.approx(1.52 * 85702.4)
    assert events[1][3] == 1  # posSide short, side buy: a short liquidated
    assert okx.parse_frame("pong", st).kind == PONG
    assert okx.parse_frame('{"event":"error","code":"60012","msg":"Invalid request"}', st).kind == ERROR


def test_okx_inverse_contracts_are_usd() -> None:
    frame = json.dumps(
        {
            "arg": {"channel": "liquidation-orders", "instType": "SWAP"},
            "data": [
                {
                    "instId": "BTC-USD-SWAP",
                    "details": [{"bkPx": "80000", "sz": "30", "side": "buy", "ts": str(NOW_MS)}],
                }
            ],
        }
    )
    (ev,) = okx.parse_frame(frame, ParseStats(), NOW_MS).events
    assert ev[6] == 3000 and ev[4] == pytest.approx(3000 / 80000)


def test_okx_rest_and_its_error() -> None:
    events = okx.parse_rest(fixture_text("okx/liquidation_orders.json"), now=NOW)
    assert len(events) == 3 and sum(e[3] == 0 for e in events) == 2
    with pytest.raises(SourceError, match="50015"):
        okx.parse_rest(fixture_text("okx/error_missing_uly.json"), now=NOW)


def test_okx_rest_fills_only_minutes_the_stream_missed() -> None:
    events = okx.parse_rest(fixture_text("okx/liquidation_orders.json"), now=NOW)
    start = min(e[0] for e in events) // 1000
    covered = {1795185060}  # the minute of the 152-contract liquidation was live
    rows = okx.buckets_for_gaps(events, covered, start, NOW_MS // 1000)
    minutes = {r.ts for r in rows}
    assert 1795185060 not in minutes and 1795185000 in minutes
    by = {(r.series, r.ts): r.value for r in rows}
    assert by[("liq.btc.okx.long_usd.1m", 1795185000)] == pytest.approx(0.37 * 85741.9, abs=0.01)
    assert all(r.value == 0 for r in rows if r.ts not in (1795185000, 1795184100))  # quiet minutes are zeros


# -- Coinglass, Coinbase --------------------------------------------------------------------


def test_coinglass_recorded_json() -> None:
    bucket, rows = coinglass.parse(fixture_text("coinglass/liquidation_history.json"), now=NOW)
    assert bucket == "1d" and len(rows) == 4
    assert rows[0].series == "liq.btc.coinglass.long_usd.1d" and rows[0].value == pytest.approx(2125001.27718)
    assert iso(rows[0].ts) == "2023-02-01T00:00:00Z"


def test_coinglass_error_and_aggregated_keys() -> None:
    with pytest.raises(SourceError, match="Coinglass error 30001"):
        coinglass.parse('{"code":"30001","msg":"API key missing"}', now=NOW)
    body = json.dumps(
        {
            "code": "0",
            "data": [
                {
                    "time": 1700000000000 - 14400000 * k,
                    "aggregated_long_liquidation_usd": 5.0 + k,
                    "aggregated_short_liquidation_usd": 1.0,
                }
                for k in range(3)
            ],
        }
    )
    bucket, rows = coinglass.parse(body, now=NOW, exchanges="Binance,OKX,Bybit")
    assert bucket == "4h" and rows[0].source == "coinglass:binance,okx,bybit"


def test_coinglass_csv_exports(data_dir: Path) -> None:
    p = data_dir / "btc_liquidations_binance_4h_coinglass.csv"
    bucket, rows = coinglass.parse(
        p.read_text(),
        now=NOW,
        bucket=coinglass.bucket_from_name(p),
        exchanges=coinglass.exchanges_from_name(p),
    )
    assert bucket == "4h" and len(rows) == 2 * 2195 and rows[0].source == "coinglass:binance"
    p = data_dir / "btc_liquidations_binance_daily_combined.csv"
    bucket, rows = coinglass.parse(p.read_text(), now=NOW, bucket=coinglass.bucket_from_name(p))
    assert bucket == "1d" and len(rows) == 2 * 1787


def test_coinglass_drops_leading_zeros_and_open_bucket() -> None:
    text = "time_ms,long_liquidation_usd,short_liquidation_usd\n" + "\n".join(
        f"{(NOW_MS // 86_400_000 - 4 + k) * 86_400_000},{v},{v}" for k, v in enumerate([0, 0, 5, 0, 7])
    )
    _, rows = coinglass.parse(text, now=NOW, bucket="1d")
    vals = [r.value for r in rows if "long" in r.series]
    assert vals == [5, 0]  # leading zeros dropped, the open (today's) bucket dropped, a real zero kept


def test_coinbase_candles_newest_first() -> None:
    rows = coinbase.parse_candles(fixture_text("coinbase/candles_BTC-USD_86400.json"), 86400, now=NOW)
    # the 2026-11-20 candle is still open at NOW
    assert [iso(r.ts)[:10] for r in rows] == [
        "2026-11-15",
        "2026-11-16",
        "2026-11-17",
        "2026-11-18",
        "2026-11-19",
    ]
    assert rows[-1].value == 85932.89 and rows[0].series == "btc.usd.close.1d"
