from __future__ import annotations

import functools
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from bot.charts import render_png
from bot.replay import run_replay
from signals.base import Level
from signals.btc_liq import SIGNAL
from signals.btc_liq._timeline import Episode
from signals.contract import default_params
from signals.sources import coinglass
from storage import observations as obs_repo
from storage.observations import Observation
from storage.timeutil import from_epoch
from tests.signals.test_liquidations import LOW, T0, inputs_of, minute_history, params

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def coinglass_history(data_dir: Path, names: tuple[str, ...]) -> list[Observation]:
    out: list[Observation] = []
    for name in names:
        p = data_dir / name
        _, rows = coinglass.parse(
            p.read_text(),
            now=NOW,
            bucket=coinglass.bucket_from_name(p),
            exchanges=coinglass.exchanges_from_name(p),
        )
        out += rows
    return out


REAL = ("btc_liquidations_binance_daily_coinglass.csv", "btc_liquidations_binance_4h_coinglass.csv")


def test_no_look_ahead(data_dir: Path) -> None:
    obs = coinglass_history(data_dir, REAL[1:])
    cut = int(datetime(2025, 10, 11, tzinfo=UTC).timestamp())
    full = SIGNAL.history(inputs_of(obs), default_params(SIGNAL))
    part = SIGNAL.history(inputs_of([o for o in obs if o.ts < cut]), default_params(SIGNAL))
    a = [(r.ts, r.level, r.hold, round(r.value, 6), r.summary) for r in full[: len(part)]]
    b = [(r.ts, r.level, r.hold, round(r.value, 6), r.summary) for r in part]
    assert a == b


def test_latest_evaluates_now_and_live_staleness() -> None:
    obs = minute_history({}, 300)
    last_end = T0 + 300 * 60
    r = SIGNAL.latest(inputs_of(obs), params(**LOW), from_epoch(last_end + 120))[0]
    assert int(r.ts.timestamp()) == last_end + 120 and r.data["live"]
    assert SIGNAL.stale_reason(r, from_epoch(last_end + 120)) is None
    reason = SIGNAL.stale_reason(r, from_epoch(last_end + 20 * 60))
    assert reason is not None and "no live liquidation buckets for 20 min" in reason
    # an import is history: never stale; a reading days later reports as of its last data
    imp = [Observation("liq.btc.coinglass.long_usd.4h", T0 + 14400 * k, 1e6, "coinglass") for k in range(10)]
    r = SIGNAL.latest(inputs_of(imp), params(), from_epoch(T0 + 30 * 86400))[0]
    assert int(r.ts.timestamp()) == T0 + 10 * 14400
    assert SIGNAL.stale_reason(r, from_epoch(T0 + 30 * 86400)) is None


def test_chart_data_marks_cascades_and_gaps() -> None:
    surge = {600 + k: 0.4e6 for k in range(30)}
    obs = minute_history(surge, 1200, gaps=range(610, 614))
    obs += [Observation("btc.usd.close.1m", T0 + 60 * m, 90000 - m, "coinbase") for m in range(1200)]
    mark = (from_epoch(T0 + 601 * 60), "severe", "cascade")
    episode = Episode(T0 + 596 * 60, T0 + 645 * 60, "severe")
    data = SIGNAL.chart(
        inputs_of(obs), params(**LOW), from_epoch(T0 + 1200 * 60), 2, [mark], episodes=[episode]
    )
    # two days at most 800 bars: 5-minute bars; the data starts 20 hours before the end
    assert data.res == 300 and len(data.x) == 240
    longs = sum(o.value for o in obs if ".long_usd." in o.series)
    assert data.long.sum() == pytest.approx(longs / 1e6)
    (cascade,) = data.cascades  # from the recorded lifecycle, not from stepping the minutes
    assert cascade[2] == "severe" and cascade[0] == np.datetime64(T0 + 596 * 60, "s")
    assert data.gaps == [(np.datetime64(T0 + 610 * 60, "s"), np.datetime64(T0 + 614 * 60, "s"), "OKX down")]
    assert len(data.price) == 1200 and data.marks[0][1] == "severe"
    png = render_png(data)
    assert png[:4] == b"\x89PNG" and "matplotlib.pyplot" not in sys.modules
    # a year of 4h bars is drawn as days a reader can see; without recorded lifecycles the
    # import's own buckets say where its cascades were
    imp = [
        Observation("liq.btc.coinglass.long_usd.4h", T0 + 14400 * k, 1e6 if k != 2000 else 80e6, "coinglass")
        for k in range(2190)
    ]
    d = SIGNAL.chart(inputs_of(imp), params(), from_epoch(T0 + 2190 * 14400), 365)
    assert d.res == 86400 and len(d.x) == 365 and d.title == "BTC liquidations per day: longs vs shorts"
    (span_,) = d.cascades
    assert span_[2] in ("alert", "severe")
    # a cascade shorter than a bar shades the whole day it is in, not a sliver of it
    day = (T0 + 2000 * 14400) // 86400 * 86400
    assert span_[0] == np.datetime64(day, "s") and span_[1] - span_[0] >= np.timedelta64(86400, "s")


def test_chart_without_lifecycles_finds_the_cascade_in_periods() -> None:
    """No lifecycle recorded for 1-minute data: its minutes, summed into 5-minute periods, show
    where the cascade was (one span over the surge, none on the same calm day without it)."""
    surge = {600 + k: 0.4e6 for k in range(30)}
    end = from_epoch(T0 + 1200 * 60)
    data = SIGNAL.chart(inputs_of(minute_history(surge, 1200, gaps=range(610, 614))), params(**LOW), end, 2)
    (found,) = data.cascades
    assert found[0] <= np.datetime64(T0 + 600 * 60, "s") and found[1] >= np.datetime64(T0 + 630 * 60, "s")
    assert found[1] <= np.datetime64(T0 + 700 * 60, "s") and found[2] in ("alert", "severe")
    calm = SIGNAL.chart(inputs_of(minute_history({}, 1200)), params(**LOW), end, 2)
    assert calm.long.sum() > 0 and calm.cascades == []


def test_chart_draws_the_days_asked_for() -> None:
    """Observed: ``chart btc_liq --days 2`` on 4-hour buckets drew 10 days (widened to 60 buckets),
    identical to ``--days 3``, while the command said "over 2 days"."""
    imp = [
        Observation("liq.btc.coinglass.long_usd.4h", T0 + 14400 * k, 1e6 + k, "coinglass") for k in range(600)
    ]
    end = from_epoch(T0 + 600 * 14400)
    for days in (1, 2, 3, 30):
        d = SIGNAL.chart(inputs_of(imp), params(), end, days)
        assert d.res == 14400 and len(d.x) == days * 6, (days, len(d.x))
        assert int((d.x[-1] - d.x[0]) / np.timedelta64(1, "s")) == days * 86400 - 14400
        assert d.long.sum() == pytest.approx(sum(o.value for o in imp[-days * 6 :]) / 1e6)


def test_chart_with_no_data() -> None:
    d = SIGNAL.chart(inputs_of([]), params(), NOW, 30)
    assert len(d.x) == 0


def test_demo_is_one_cascade_that_grows_in_place(db: object) -> None:
    start = datetime(2026, 1, 5, tzinfo=UTC)
    obs_repo.upsert(db, SIGNAL.demo(start).observations)
    res = run_replay(db, [SIGNAL], {SIGNAL.id: default_params(SIGNAL)}, start, None, resume=False)
    events = [ev for ev in res.events if ev.kind == "alert"]
    kinds = [ev.event for ev in events]
    assert kinds[0] == "fired" and kinds[-1] == "resolved" and "escalated" in kinds
    assert 3 <= kinds.count("updated") <= 12  # growth-limited, never one per minute
    assert len({ev.episode for ev in events}) == 1
    values = [ev.value for ev in events if ev.event != "resolved"]
    assert values == sorted(values)
    resolved = events[-1]
    assert (
        "Cascade over" in resolved.summary
        and "$1.4" in resolved.summary
        and "OKX down 4 min" in resolved.summary
    )
    assert resolved.duration_s is not None and timedelta(hours=2) < timedelta(
        seconds=resolved.duration_s
    ) < timedelta(hours=6)
    assert resolved.data["price_change"] < -0.05


def test_params_validate_and_classify() -> None:
    assert SIGNAL.validate(default_params(SIGNAL)) == []
    assert (
        SIGNAL.validate(params(k_alert=12))
        and "multiples must rise" in SIGNAL.validate(params(k_alert=12))[0]
    )
    p = default_params(SIGNAL)
    # an event recorded without window figures: its total (M USD) against floor_1h x the multiples
    assert SIGNAL.grade("cascade", 2, {}, p) == Level.OK
    assert SIGNAL.grade("cascade", 4, {}, p) == Level.WATCH
    assert SIGNAL.grade("cascade", 6, {}, p) == Level.ALERT
    assert SIGNAL.grade("cascade", 10, {}, p) == Level.SEVERE
    assert SIGNAL.grade("cascade", 60, {}, params(floor_1h=75)) == Level.WATCH
    assert SIGNAL.rules(p).cooldown_s == 3600


# -- a long live history: what "now" evaluations and charts load ----------------------------------


@functools.cache
def long_live_history(days: int, seed: int = 5) -> list[Observation]:
    """``days`` of 1-minute buckets from the three live venues (some minutes missing, so some
    5-minute periods are incomplete), then the demo's eleven days (its cascade on 2026-01-06),
    and a Coinglass daily import of the month before (overlapping the first live days)."""
    start = datetime(2026, 1, 5, tzinfo=UTC)
    demo = list(SIGNAL.demo(start).observations)
    first = min(o.ts for o in demo)
    rng = random.Random(seed)
    out = []
    for m in range(first - days * 86400, first, 60):
        if rng.random() < 0.01:
            continue  # no venue up: this minute's 5-minute period is incomplete
        for venue in ("bybit", "binance", "okx"):
            if venue == "okx" and rng.random() < 0.02:
                continue
            out.append(
                Observation(f"liq.btc.{venue}.long_usd.1m", m, round(rng.expovariate(1 / 4e4), 2), venue)
            )
            out.append(
                Observation(f"liq.btc.{venue}.short_usd.1m", m, round(rng.expovariate(1 / 3e4), 2), venue)
            )
    daily = [
        Observation(f"liq.btc.coinglass.{side}_usd.1d", d, 5e8, "coinglass:binance")
        for d in range(first - (days + 30) * 86400, first - (days - 3) * 86400, 86400)
        for side in ("long", "short")
    ]
    return out + demo + daily


def test_live_catch_up_steps_the_tail_not_the_whole_history(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pipeline's catch-up (a restart, the streams off) once built one reading per stored
    bucket: half a million readings and gigabytes for a year of live minutes."""
    inputs = inputs_of(long_live_history(20))
    p = default_params(SIGNAL)
    full = SIGNAL.history(inputs, p)
    now = datetime(2026, 1, 6, 20, tzinfo=UTC)
    after = datetime(2026, 1, 6, 10, tzinfo=UTC)  # down since before the cascade
    want = [r for r in full if after < r.ts <= now]
    monkeypatch.setattr(type(SIGNAL), "history", lambda *a: pytest.fail("the whole history was replayed"))
    got = SIGNAL.readings_since(inputs, p, after, now)
    assert [(r.ts, r.level, r.hold) for r in got] == [(r.ts, r.level, r.hold) for r in want]
    assert [r.value for r in got] == pytest.approx([r.value for r in want])
    assert any(r.level >= Level.ALERT for r in got)
    fresh = SIGNAL.readings_since(inputs, p, None, now)  # never evaluated: the last readings only
    assert [r.ts for r in fresh] == [r.ts for r in want[-30:]]
