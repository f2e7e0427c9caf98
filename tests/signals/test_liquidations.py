"""The pure core of btc_liq: timeline de-duplication, windows, baselines, levels, cascades."""

from __future__ import annotations

import random
from collections.abc import Iterable

import numpy as np
import pandas as pd
import pytest

from signals.base import Level, Params
from signals.btc_liq import SIGNAL
from signals.btc_liq._baselines import period_totals, window_histories
from signals.btc_liq._grade import window_level, year_rank
from signals.btc_liq._livebook import LiveBook
from signals.btc_liq._reading import step
from signals.btc_liq._text import coverage_of
from signals.btc_liq._timeline import build_timeline
from signals.btc_liq._tracker import Tracker
from signals.contract import default_params
from storage.observations import Inputs, Observation, inputs_from_long
from storage.series import gap_series, liq_series

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
    return default_params(SIGNAL).with_overrides(kw)


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


# -- levels: from the series' own history ------------------------------------------------
#
# Daily buckets of a one-venue import (coverage 35 %): quiet days around $10M, spikes where a
# test puts them. The 24-hour window is the one judged (the only one a daily bucket allows).

DAY = 86400


def daily(
    values: dict[int, float], days: int, base: float = 10 * M, seed: int = 3, venue: str = "coinglass"
) -> list[Observation]:
    rng = random.Random(seed)
    obs = []
    for d in range(days):
        v = values.get(d, base * rng.uniform(0.7, 1.3))
        obs += bucket(venue, "1d", T0 + DAY * d, v * 0.8, v * 0.2)
    return obs


def reading_on(rs: list, d: int):  # type: ignore[no-untyped-def]
    """The reading at the end of day ``d`` (a daily bucket is judged when complete)."""
    return next(r for r in rs if int(r.ts.timestamp()) == T0 + (d + 1) * DAY)


def test_the_largest_of_the_trailing_year_is_severe() -> None:
    rs = SIGNAL.history(inputs_of(daily({200: 60 * M, 390: 90 * M}, 400)), params())
    r = reading_on(rs, 390)
    assert r.level == Level.SEVERE and r.data["record"] is True
    assert "largest 24h of the last 365 days" in r.summary
    # nothing larger within the year, but a larger day 380 days back: still the year's largest
    rs = SIGNAL.history(inputs_of(daily({5: 200 * M, 390: 90 * M}, 400)), params())
    assert reading_on(rs, 390).level == Level.SEVERE


def test_the_top_n_of_the_year_at_k_alert_times_its_median_is_an_alert() -> None:
    spikes = {100: 100 * M, 200: 90 * M, 300: 80 * M, 390: 85 * M}
    rs = SIGNAL.history(inputs_of(daily(spikes, 400)), params())
    r = reading_on(rs, 390)
    assert r.level == Level.ALERT and r.data["rank"] == 3
    assert (
        f"3rd-largest 24h of the last 365 days (largest since {pd.Timestamp(T0 + 200 * DAY, unit='s').date()})"
        in r.summary
    )
    # with top_n = 2 the same day is only a heads-up: the rank decides, not a USD floor
    rs = SIGNAL.history(inputs_of(daily(spikes, 400)), params(top_n=2))
    assert reading_on(rs, 390).level == Level.WATCH


def test_the_nth_largest_of_a_full_year_is_in_the_top_n() -> None:
    """With a full trailing year the rank is a rank in a year as it stands: the 5th-largest day at
    5x its median is an alert under top_n 5 (the window's own period is not in the history, so
    scaling the rank by 364 of 365 days made it the 5.01th: top_n 5 alerted like top_n 4), the
    6th is a heads-up, and so is the 5th under top_n 4."""
    spikes = {100: 100 * M, 150: 95 * M, 200: 90 * M, 250: 88 * M}
    rs = SIGNAL.history(inputs_of(daily({**spikes, 390: 85 * M}, 400)), params())
    r = reading_on(rs, 390)
    assert r.data["windows"]["24h"]["full_year"] and r.data["rank"] == 5
    assert r.level == Level.ALERT and "5th-largest 24h of the last 365 days" in r.summary
    assert window_level("24h", r.data["windows"]["24h"], params()) == Level.ALERT
    assert (
        reading_on(SIGNAL.history(inputs_of(daily({**spikes, 390: 85 * M}, 400)), params(top_n=4)), 390).level
        == Level.WATCH
    )
    bigger = {100: 200 * M, 150: 190 * M, 200: 180 * M, 250: 170 * M, 300: 160 * M}
    r = reading_on(SIGNAL.history(inputs_of(daily({**bigger, 390: 85 * M}, 400)), params()), 390)
    assert r.data["rank"] == 6 and r.data["windows"]["24h"]["multiple_rank"] == 6
    assert r.level == Level.WATCH


def test_a_top_rank_still_needs_k_alert_times_its_median() -> None:
    # a busy month (median ~$20M), then a day of $70M: 3rd of the year but only 3.5x its median
    busy = {d: 20 * M for d in range(360, 390)}
    rs = SIGNAL.history(inputs_of(daily({100: 100 * M, 200: 90 * M, **busy, 390: 70 * M}, 400)), params())
    r = reading_on(rs, 390)
    assert r.level == Level.WATCH
    assert "3rd-largest 24h of the last 365 days" in r.summary and "an alert needs 5×" in r.summary


def test_a_calmer_year_alerts_on_the_sharpest_bursts() -> None:
    # a busy year ($50M days, $300M spikes), then a quiet one ($5M days): a $40M day is 8x its
    # median but far from the largest totals of the trailing year; its multiple is the year's top
    spikes = {50: 300 * M, 120: 300 * M, 180: 300 * M, 230: 300 * M, 280: 300 * M, 330: 300 * M}
    obs = daily(spikes, 350, base=50 * M) + [
        o for o in daily({60: 40 * M}, 100, base=5 * M, seed=4) for o in [o]
    ]
    obs = daily(spikes, 350, base=50 * M) + [
        Observation(o.series, o.ts + 350 * DAY, o.value, o.source)
        for o in daily({60: 40 * M}, 100, base=5 * M, seed=4)
    ]
    rs = SIGNAL.history(inputs_of(obs), params())
    r = reading_on(rs, 410)
    assert r.level == Level.ALERT and r.data["rank"] > 5 and r.data["multiple_rank"] == 1
    assert "the sharpest 24h burst against its median of the last 365 days" in r.summary


def test_with_less_than_a_year_a_rank_stands_for_its_share_of_a_year() -> None:
    # 100 days of history: 2nd place is 1 + 365/100 = 4.65th of a year (an alert), 3rd is 8.3th
    assert year_rank(2, 100) == pytest.approx(4.65) and year_rank(3, 100) == pytest.approx(8.3)
    rs = SIGNAL.history(inputs_of(daily({50: 90 * M, 99: 80 * M}, 101)), params())
    r = reading_on(rs, 99)
    assert r.level == Level.ALERT and "2nd-largest 24h in the stored history (since" in r.summary
    rs = SIGNAL.history(inputs_of(daily({40: 95 * M, 50: 90 * M, 99: 80 * M}, 101)), params())
    assert reading_on(rs, 99).level == Level.WATCH
    # the largest of 100 days alerts, but is no record: severe needs record_days (180) of history
    rs = SIGNAL.history(inputs_of(daily({99: 80 * M}, 101)), params())
    r = reading_on(rs, 99)
    assert r.level == Level.ALERT and "largest 24h in the stored history" in r.summary
    rs = SIGNAL.history(inputs_of(daily({99: 80 * M}, 101)), params(record_days=90))
    assert reading_on(rs, 99).level == Level.SEVERE


def test_too_little_history_to_rank_needs_k_severe() -> None:
    # 40 days (< 365 / top_n = 73): ranks cannot judge; 9x its median is a heads-up, 12x alerts
    rs = SIGNAL.history(inputs_of(daily({39: 90 * M}, 40)), params())
    r = reading_on(rs, 39)
    assert r.level == Level.WATCH and "too few to rank" in r.summary
    rs = SIGNAL.history(inputs_of(daily({39: 120 * M}, 40)), params())
    assert reading_on(rs, 39).level == Level.ALERT
    # no baseline at all yet (a few days of data): the larger of the floor ($25M a day in
    # all-venue terms) and the median of the days there are (~$29M) stands in for normal
    rs = SIGNAL.history(inputs_of(daily({3: 20 * M}, 5)), params())  # 20M / 35 % = 57M: under 3 x 29M
    assert reading_on(rs, 3).level == Level.OK
    rs = SIGNAL.history(inputs_of(daily({3: 45 * M}, 5)), params())
    r = reading_on(rs, 3)
    assert r.level == Level.WATCH and "no 24h baseline yet" in r.summary
    rs = SIGNAL.history(inputs_of(daily({3: 120 * M}, 5)), params())  # 343M in all-venue terms: > 10 x
    assert reading_on(rs, 3).level == Level.ALERT


def test_a_heads_up_needs_the_largest_of_watch_days() -> None:
    # 4x the median, 7th of the year, and a larger day 10 days earlier: not news
    big = {d: 300 * M for d in (100, 150, 200, 250, 300)}
    obs = daily({**big, 380: 45 * M, 390: 40 * M}, 400)
    rs = SIGNAL.history(inputs_of(obs), params())
    assert reading_on(rs, 390).level == Level.OK and reading_on(rs, 380).level == Level.WATCH
    rs = SIGNAL.history(inputs_of(obs), params(watch_days=7))
    assert reading_on(rs, 390).level == Level.WATCH


def test_the_floor_guards_a_thin_series_in_all_venue_terms() -> None:
    # a thin one-venue series ($1M days): a $6M day is the year's largest and 6x its median,
    # but $6M / 35 % = $17M is under the $25M daily floor: noise
    rs = SIGNAL.history(inputs_of(daily({390: 6 * M}, 400, base=1 * M)), params())
    assert reading_on(rs, 390).level == Level.OK
    # judged as a third of the market it is $30M: over the floor, and the year's largest
    rs = SIGNAL.history(inputs_of(daily({390: 6 * M}, 400, base=1 * M)), params(import_coverage=0.2))
    r = reading_on(rs, 390)
    assert r.level == Level.SEVERE and r.data["coverage"] == pytest.approx(0.2)
    assert (
        "coverage: 20% (import, all-venue terms)" in r.summary
        and "20% of the all-venue total" in r.fields["Coverage"]
    )
    # an import of all three live venues is full coverage: the floor applies to it as it is
    assert coverage_of("coinglass:binance,okx,bybit", 0.35) == 1.0
    assert coverage_of("coinglass:binance", 0.35) == coverage_of("coinglass", 0.35) == 0.35


def test_ranks_compare_an_import_and_live_buckets_in_all_venue_terms() -> None:
    # 300 days of a Binance-only import ($10M a day), then live venues ($40M a day across three:
    # the same market). Judged raw, every live day would top the year; in all-venue terms none does.
    obs = daily({}, 300)
    for d in range(300, 340):
        for h in range(24):
            ts = T0 + d * DAY + h * 3600
            for venue in ("bybit", "binance", "okx"):
                v = 40 * M / 24 / 3 * random.Random(d * 100 + h).uniform(0.9, 1.1)
                obs += [
                    Observation(f"liq.btc.{venue}.long_usd.1h", ts, v / 2, venue),
                    Observation(f"liq.btc.{venue}.short_usd.1h", ts, v / 2, venue),
                    Observation(f"liq.btc.{venue}.minutes.1h", ts, 60, venue),
                ]

    def day_windows(p: Params) -> set[str]:
        rs = SIGNAL.history(inputs_of(obs), p)
        return {r.data["windows"]["24h"]["level"] for r in rs if int(r.ts.timestamp()) > T0 + 300 * DAY}

    assert day_windows(params()) == {"ok"}
    assert "severe" in day_windows(params(import_coverage=1))  # as if the import were all venues


# -- cascades -------------------------------------------------------------------------------

#: floors for a thin test market (no baseline yet: the floor stands in for normal, so a watch
#: needs k_watch x and an alert k_severe x the floor)
LOW = {"floor_5m": 0.1, "floor_1h": 0.2, "floor_4h": 0.4, "floor_24h": 0.8}


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
    assert run[0].level == Level.ALERT and all(r.hold == Level.ALERT for r in run)


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
        live.append(step(tr, ts + 60, book, hists))
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
