"""Hostile frames: the Bybit, Binance and OKX stream parsers never raise, and every liquidation
they let through is a real one (finite, positive, a known side, not from the future)."""

from __future__ import annotations

import math

from hypothesis import example, given
from hypothesis import strategies as st

from signals.sources import binance, bybit, okx
from signals.sources._wsclient import (
    ACK,
    DATA,
    ERROR,
    FUTURE_SKEW_MS,
    IGNORED,
    MALFORMED,
    PONG,
    Parsed,
    ParseStats,
)
from tests.conftest import FIXTURES
from tests.fuzzing import fuzz_settings, payloads

NOW_MS = 1795185070000  # just after the recorded frames
KINDS = {DATA, ACK, PONG, ERROR, IGNORED, MALFORMED}


def _frames(rel: str, fallback: str) -> list[str]:
    f = FIXTURES / rel
    if not f.exists():
        return [fallback]
    return [line for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]


BYBIT = _frames(
    "bybit/allLiquidation_stream.jsonl",
    '{"topic":"allLiquidation.BTCUSDT","type":"snapshot","ts":1795185065108,'
    '"data":[{"T":1795185064808,"s":"BTCUSDT","S":"Buy","v":"0.515","p":"85688.40"}]}',
)
BINANCE = _frames(
    "binance/forceOrder_stream.jsonl",
    '{"e":"forceOrder","E":1795185066000,"o":{"s":"BTCUSDT","S":"SELL","o":"LIMIT","f":"IOC","q":"0.014",'
    '"p":"85000","ap":"85010","X":"FILLED","l":"0.014","z":"0.014","T":1795185065990}}',
) + _frames("binance/forceOrder_combined_stream.jsonl", "{}")
OKX = _frames(
    "okx/liquidation_orders_stream.jsonl",
    '{"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[{"instId":"BTC-USDT-SWAP",'
    '"details":[{"bkPx":"85702.4","side":"sell","posSide":"long","sz":"152","ts":"1795185066000"}]}]}',
)


def check(p: Parsed, venue: str) -> None:
    assert isinstance(p, Parsed) and p.kind in KINDS, p
    if p.kind != DATA:
        assert not p.events
    if p.kind == ERROR:
        assert p.detail
    for ts, v, sym, side, qty, price, usd in p.events:
        assert v == venue and isinstance(sym, str) and side in (0, 1)
        assert isinstance(ts, int) and 0 < ts <= NOW_MS + FUTURE_SKEW_MS
        for x in (qty, price, usd):
            assert isinstance(x, float) and math.isfinite(x) and x > 0, p


def frames(seeds: list[str]) -> st.SearchStrategy[str | bytes]:
    text = payloads(seeds, "json")
    return st.one_of(text, text.map(lambda t: t.encode("utf-8", "surrogatepass")), st.binary(max_size=80))


@fuzz_settings
@given(frames(BYBIT))
@example(  # found: 1e308 BTC at $85,661 became an infinite liquidation (a false cascade)
    '{"topic": "allLiquidation.BTCUSDT", "data": [{"T": 1795185064996, "s": "BTCUSDT", "S": "Buy", "v": 1e308, "p": "85661.1"}]}'
)
@example(
    '{"topic": "allLiquidation.BTCUSDT", "data": [{"T": Infinity, "s": "BTCUSDT", "S": "Buy", "v": "1", "p": "1"}]}'
)
@example(
    '{"topic": "allLiquidation.BTCUSDT", "data": [{"T": -1, "s": "BTCUSDT", "S": "Buy", "v": "1", "p": "1"}]}'
)
def test_bybit_frames(frame: str | bytes) -> None:
    check(bybit.parse_frame(frame, ParseStats(), NOW_MS), "bybit")


@fuzz_settings
@given(frames(BINANCE))
@example(
    '{"e": "forceOrder", "E": 1, "o": {"s": "BTCUSDT", "S": "SELL", "q": "1e308", "p": "1e308", "T": Infinity}}'
)
def test_binance_frames(frame: str | bytes) -> None:
    check(binance.parse_frame(frame, ParseStats(), NOW_MS), "binance")


@fuzz_settings
@given(frames(OKX))
@example('{"arg": "liquidation-orders", "data": []}')  # found: AttributeError on an arg that is a string
def test_okx_frames(frame: str | bytes) -> None:
    check(okx.parse_frame(frame, ParseStats(), NOW_MS), "okx")
