"""The pure core of btc_liq: timeline de-duplication, windows, baselines, levels, cascades."""

from __future__ import annotations

import random
from collections.abc import Iterable

import numpy as np
import pandas as pd
import pytest

from signals.base import Level, Params
from signals.btc_liq import SIGNAL
from signals.liquidations import (
    LiveBook,
    Tracker,
    build_timeline,
    gap_series,
    liq_series,
    period_totals,
    thresholds,
    window_histories,
)
from storage.observations import Inputs, Observation, inputs_from_long

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC
M = 1e6


def inputs_of(obs: Iterable[Observation]) -> Inputs:
    rows = [(o.series, o.ts, o.value, o.source) for o in obs]
    return inputs_from_long(pd.DataFrame(rows, columns=["series", "ts", "value", "source"]))


def bucket(venue: str, bucket: str, ts: int, long: float, short: float = 0.0) -> list[Observation]:
    src = "coinglass:binance" if venue == "coinglass" else venue
    return [
        Observation(liq_series(venue, "long", bucket), ts, long, src),
        Observation(liq_series(venue, "short", bucket), ts, short, src),
    ]


def params(**kw: float) -> Params:
    return SIGNAL.default_params().with_overrides(kw)


# -- the timeline -------------------------------------------------------------------------


def test_finer_import_wins_where_it_covers_a_coarser_bucket() -> None:
    obs = bucket("coinglass", "1d", T0, 60 * M) + bucket("coinglass", "1d", T0 + 86400, 70 * M)
    for k in range(6):  # day 1 fully covered by 4h bars
        obs += bucket("coinglass", "4h", T0 + 86400 + 14400 * k, 10 * M, 1 * M)
    tl = build_timeline(inputs_of(obs))
    assert tl.length.tolist() == [86400] + [14400] * 6
    long, short = tl.sides(T0, T0 + 2 * 86400)
    assert long == 60 * M + 60 * M and short == 6 * M  # the 70M daily bar is not counted again


def test_live_minutes_replace_an_import_only_where_they_cover_it() -> None:
    obs = bucket("coinglass", "4h", T0, 40 * M) + bucket("coinglass", "4h", T0 + 14400, 40 * M)
    for m in range(240):  # the first 4h bar: covered minute by minute by a live venue (quiet or not)
        obs += bucket("bybit", "1m", T0 + 60 * m, 0.1 * M if m % 2 else 0.0)
    for m in range(100):  # the second: only 100 of 240 minutes
        obs += bucket("okx", "1m", T0 + 14400 + 60 * m, 1 * M)
    tl = build_timeline(inputs_of(obs))
    first = tl.sides(T0, T0 + 14400)[0]
    second = tl.sides(T0 + 14400, T0 + 28800)[0]
    assert first == pytest.approx(12 * M)  # live: 120 minutes x 0.1M, the import bar dropped
    assert second == 40 * M  # import: the partial live minutes inside it are dropped
    assert tl.venues(T0, T0 + 14400) == ["bybit"] and tl.venues(T0 + 14400, T0 + 28800) == ["coinglass"]


def test_period_totals_need_coverage() -> None:
    obs = []
    for m in range(50):  # 50 of the 60 minutes of the first hour (83 %), 10 of the second
        obs += bucket("bybit", "1m", T0 + 60 * m, 1 * M)
    for m in range(10):
        obs += bucket("bybit", "1m", T0 + 3600 + 60 * m, 1 * M)
    ends, totals = period_totals(build_timeline(inputs_of(obs)), 3600)
    assert ends.tolist() == [T0 + 3600] and totals.tolist() == [50 * M]


def test_windows_shorter_than_the_bucket_are_skipped() -> None:
    obs = []
    for k in range(60):
        obs += bucket("coinglass", "4h", T0 + 14400 * k, 1 * M)
    rs = SIGNAL.history(inputs_of(obs), params())
    assert set(rs[-1].data["windows"]) == {"4h", "24h"}
    obs = []
    for k in range(30):
        obs += bucket("coinglass", "1d", T0 + 86400 * k, 1 * M)
    rs = SIGNAL.history(inputs_of(obs), params())
    assert set(rs[-1].data["windows"]) == {"24h"} and len(rs) == 30
    # a reading is stamped when its bucket is complete: no look-ahead into the bucket
    assert int(rs[0].ts.timestamp()) == T0 + 86400


# -- levels ---------------------------------------------------------------------------------


def test_thresholds_are_the_larger_of_multiple_and_floor() -> None:
    ks = (3.0, 5.0, 10.0)
    assert thresholds(10 * M, 20 * M, ks) == (30 * M, 50 * M, 100 * M)
    # a small baseline: the floor (scaled per level) decides
    assert thresholds(1 * M, 20 * M, ks) == (12 * M, 20 * M, 40 * M)
    # no baseline yet: the floor alone
    assert thresholds(None, 20 * M, ks) == (12 * M, 20 * M, 40 * M)


def daily_history(
    days: int, spike_day: int, spike: float, base: float = 10 * M, seed: int = 3
) -> list[Observation]:
    rng = random.Random(seed)
    obs = []
    for d in range(days):
        v = spike if d == spike_day else base * rng.uniform(0.6, 1.4)
        obs += bucket("coinglass", "1d", T0 + 86400 * d, v * 0.8, v * 0.2)
    return obs


def test_a_record_on_a_one_venue_history_is_not_hidden_by_the_floor() -> None:
    # 250 quiet days around $10M, then $90M: 9x the median and the largest in 250 days,
    # far below the all-venue floor of $400M a day.
    rs = SIGNAL.history(inputs_of(daily_history(260, 250, 90 * M)), params())
    r = next(r for r in rs if r.level > Level.OK)
    assert r.level == Level.SEVERE and int(r.ts.timestamp()) == T0 + 251 * 86400
    assert r.data["record"] is True and "largest 24h in the stored history" in r.summary
    # the same spike with a short history is no record: the floor hides it
    rs = SIGNAL.history(inputs_of(daily_history(100, 90, 90 * M)), params())
    assert all(r.level == Level.OK for r in rs)


def test_a_spike_that_is_not_a_record_needs_the_floor() -> None:
    obs = daily_history(260, 150, 300 * M)  # a bigger day 100 days earlier
    obs = [o for o in obs if o.ts != T0 + 250 * 86400] + bucket(
        "coinglass", "1d", T0 + 250 * 86400, 72 * M, 18 * M
    )
    rs = SIGNAL.history(inputs_of(obs), params())
    late = [r for r in rs if int(r.ts.timestamp()) > T0 + 200 * 86400]
    assert all(r.level == Level.OK for r in late)
    # with a floor fit for this one venue, it alerts; its rank says what beat it
    rs = SIGNAL.history(inputs_of(obs), params(floor_24h=50))
    r = next(r for r in rs if int(r.ts.timestamp()) == T0 + 251 * 86400)
    assert (
        r.level == Level.ALERT
        and f"largest 24h since {pd.Timestamp(T0 + 151 * 86400, unit='s').date()}" in r.summary
    )


# -- cascades -------------------------------------------------------------------------------

LOW = {"floor_5m": 1, "floor_1h": 2, "floor_4h": 4, "floor_24h": 8}


def minute_history(
    per_min: dict[int, float], minutes: int, base: float = 0.001 * M, gaps: Iterable[int] = ()
) -> list[Observation]:
    rng = random.Random(5)
    obs = []
    skip = set(gaps)
    for m in range(minutes):
        ts = T0 + 60 * m
        if m in skip:
            obs.append(Observation(gap_series("okx"), ts, 60.0, "okx"))
            continue
        v = per_min.get(m, base * rng.uniform(0.5, 1.5))
        obs += bucket("okx", "1m", ts, v * 0.9, v * 0.1)
    return obs


def test_a_cascade_fires_grows_and_resolves_once() -> None:
    surge = {600 + k: 0.4 * M for k in range(30)}  # 30 minutes of $0.4M a minute
    rs = SIGNAL.history(inputs_of(minute_history(surge, 900)), params(**LOW))
    lv = [r.level for r in rs]
    first = lv.index(next(x for x in lv if x > Level.OK))
    assert 600 <= first <= 603
    run = [r for r in rs[first:] if r.data["in_cascade"]]
    values = [r.value for r in run]
    assert values == sorted(values) and values[-1] == pytest.approx(12.0, rel=0.05)
    end = next(r for r in rs[first:] if not r.data["in_cascade"])
    assert end.summary.startswith("Cascade over:") and end.value == pytest.approx(values[-1], rel=0.01)
    minutes_after_last_surge = (int(end.ts.timestamp()) - (T0 + 630 * 60)) / 60
    assert 14 <= minutes_after_last_surge <= 16  # quiet_minutes of calm end it
    # the fence: the same liquidations never start a second cascade (24h still holds them)
    later = rs[rs.index(end) + 1 :]
    assert all(not r.data["in_cascade"] for r in later)
    assert "longs 90%" in run[-1].summary and "venues: OKX" in run[-1].summary


def test_the_hold_keeps_the_peak_level_until_calm() -> None:
    surge = {600: 3 * M, **{601 + k: 0.2 * M for k in range(20)}}
    rs = SIGNAL.history(inputs_of(minute_history(surge, 800)), params(**LOW))
    run = [r for r in rs if r.data["in_cascade"]]
    assert run[0].level == Level.SEVERE and all(r.hold == Level.SEVERE for r in run)


def test_gaps_are_reported_in_the_cascade() -> None:
    surge = {600 + k: 0.4 * M for k in range(30)}
    rs = SIGNAL.history(inputs_of(minute_history(surge, 700, gaps=range(610, 613))), params(**LOW))
    run = [r for r in rs if r.data["in_cascade"]]
    assert "gaps: OKX down 3 min" in run[-1].summary and run[-1].fields["Gaps"] == "OKX down 3 min"


def test_live_book_and_stored_timeline_give_the_same_readings() -> None:
    surge = {600 + k: 0.4 * M for k in range(30)}
    obs = minute_history(surge, 700)
    p = params(**LOW)
    stored = SIGNAL.history(inputs_of(obs), p)
    book = LiveBook()
    tl = build_timeline(inputs_of(obs))
    hists = window_histories(tl, p)
    tr = Tracker(p)
    live = []
    by_min: dict[int, list[Observation]] = {}
    for o in obs:
        by_min.setdefault(o.ts, []).append(o)
    for ts in sorted(by_min):
        for o in by_min[ts]:
            side = 0 if ".long_usd." in o.series else 1
            book.add(ts + 30, 2 * 2 + side, o.value)  # okx is column pair 2
        book.mark("okx", ts)
        live.append(tr.step(ts + 60, book, hists))
    assert [(r.level, r.hold, round(r.value, 6)) for r in live] == [
        (r.level, r.hold, round(r.value, 6)) for r in stored
    ]
    assert live[-1].summary == stored[-1].summary


def test_live_book_ring() -> None:
    book = LiveBook()
    assert book.add(T0 + 5, 0, 1.0) and book.add(T0 + 65, 1, 2.0)
    assert book.sides(T0, T0 + 120) == (1.0, 2.0)
    assert book.sides(T0 + 1, T0 + 120) == (0.0, 2.0)  # a bucket counts when its start is in range
    assert book.add(T0 + 3 * 86400, 0, 5.0)  # two days later: the ring moved on
    assert not book.add(T0 + 10, 0, 1.0) and book.dropped_old == 1
    assert book.sides(T0, T0 + 3 * 86400 + 60) == (5.0, 0.0)
    np.testing.assert_allclose(book.row(T0 + 3 * 86400)[:2], [5.0, 0.0])
