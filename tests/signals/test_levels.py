"""The flow models' level machinery: percentiles without look-ahead, ladders with hysteresis,
and a lifecycle that agrees with the alert engine reading for reading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engine import Engine, Rules
from signals._levels import (
    Ladder,
    clean_series,
    episodes,
    events,
    ladder,
    lifecycle,
    pct_text,
    trailing_percentile,
    usd_text,
)
from signals.base import Level, Reading


def days(n: int, start: str = "2020-01-01") -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="D", tz="UTC")


def test_trailing_percentile_ranks_today_within_its_window_only() -> None:
    x = pd.Series([1.0, 2.0, 3.0, 4.0, 0.5, 10.0], index=days(6))
    p = trailing_percentile(x, window=3, min_periods=2)
    assert np.isnan(p.iloc[0])
    assert p.iloc[1] == pytest.approx(100.0)  # 2 is the larger of (1, 2)
    assert p.iloc[4] == pytest.approx(100 / 3)  # 0.5 is the lowest of (3, 4, 0.5)
    # no look-ahead: the percentile of a prefix is the prefix's own
    assert trailing_percentile(x.iloc[:5], 3, 2).equals(p.iloc[:5])
    with pytest.raises(ValueError, match="min_periods"):
        trailing_percentile(x, 3, 4)


def test_ladder_and_hysteresis_thresholds() -> None:
    lad = Ladder((90, 97.5, 99.5), (85, 95, 99))
    v = np.array([np.nan, 50, 90, 96, 97.5, 99.6])
    assert ladder(v, lad.enter).tolist() == [0, 0, 1, 1, 2, 3]
    assert ladder(v, lad.exit).tolist() == [0, 0, 1, 2, 2, 3]
    watch_only = Ladder((-1.0, None, None), (-1.5, None, None))
    assert ladder(np.array([-0.5, -1.2, -2.0]), watch_only.enter).tolist() == [1, 0, 0]
    assert lad.problems() == []
    assert any("exit" in p for p in Ladder((90, 97, 99), (91, 95, 99)).problems())
    assert any("rise" in p for p in Ladder((90, 80, 99), (85, 75, 98)).problems())
    assert any("both" in p for p in Ladder((90, None, None), (None, None, None)).problems())


def test_lifecycle_confirm_hysteresis_and_cooldown() -> None:
    idx = days(10)
    level = np.array([1, 2, 2, 0, 0, 2, 2, 0, 2, 2])
    hold = np.array([1, 2, 2, 2, 0, 2, 2, 0, 2, 2])
    # confirm 2: the first watch needs a second reading; that reading (day 1) already shows an
    # alert, so it counts as the alert's first and day 2 confirms it (the engine's rule)
    st_ = lifecycle(idx, level, hold, confirm=2)
    assert st_.tolist() == [0, 1, 2, 2, 0, 0, 2, 0, 0, 2]
    assert st_.tolist() == _engine_states(idx, level, hold, confirm=2, cooldown_days=0)
    # confirm 1 with a 3-day cooldown after the day-4 resolve: days 5 and 6 cannot fire
    st_cool = lifecycle(idx, level, hold, confirm=1, cooldown=pd.Timedelta(days=3))
    assert st_cool.tolist() == [1, 2, 2, 2, 0, 0, 0, 0, 2, 2]
    assert st_cool.tolist() == _engine_states(idx, level, hold, confirm=1, cooldown_days=3)
    ev = events(idx, st_)
    assert ev["event"].tolist() == ["fired", "escalated", "resolved", "fired", "resolved", "fired"]
    eps = episodes(idx, st_, np.arange(10.0))
    assert eps["peak_level"].tolist() == [2, 2, 2]
    assert eps["peak"].tolist() == [3.0, 6.0, 9.0]
    assert pd.isna(eps["end"].iloc[-1])  # still open at the end of the data
    ev_cool = events(idx, st_cool)
    assert ev_cool["event"].tolist() == ["fired", "escalated", "resolved", "fired"]


def _engine_states(
    idx: pd.DatetimeIndex, level: np.ndarray, hold: np.ndarray, confirm: int, cooldown_days: float
) -> list[int]:
    eng = Engine()
    rules = Rules(cooldown_s=int(cooldown_days * 86400))
    out = []
    for ts, lv, hd in zip(idx, level, hold, strict=True):
        r = Reading(
            signal="flow",
            key="k",
            ts=ts.to_pydatetime(),
            value=float(lv),
            level=Level(int(lv)),
            hold=Level(int(hd)),
            summary="",
            source="test",
            confirm=confirm,
        )
        eng.step(r, rules)
        out.append(int(Level[eng.state("flow", "k").level.upper()]))
    return out


@settings(max_examples=150, deadline=None)
@given(
    scores=st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=80),
    confirm=st.integers(1, 3),
    cooldown=st.sampled_from([0.0, 1.0, 3.0]),
)
def test_lifecycle_agrees_with_the_alert_engine(scores: list[float], confirm: int, cooldown: float) -> None:
    """The episode counts the models report are the counts a replay of the signal gives."""
    lad = Ladder((60.0, 80.0, 95.0), (50.0, 70.0, 90.0))
    idx = days(len(scores))
    lv, hd = lad.levels(np.array(scores))
    ours = lifecycle(idx, lv, hd, confirm=confirm, cooldown=pd.Timedelta(days=cooldown)).tolist()
    assert ours == _engine_states(idx, lv, hd, confirm, cooldown)


def test_clean_series_says_what_is_wrong() -> None:
    idx = days(3)
    assert clean_series(pd.Series([1.0, np.nan, 3.0], index=idx), "x").tolist() == [1.0, 3.0]
    with pytest.raises(ValueError, match=r"x: value 0 on 2020-01-02 must be above zero"):
        clean_series(pd.Series([1.0, 0.0, 3.0], index=idx), "x", positive=True)
    with pytest.raises(ValueError, match="duplicate date 2020-01-01"):
        clean_series(pd.Series([1.0, 2.0], index=pd.DatetimeIndex(["2020-01-01", "2020-01-01"])), "x")
    with pytest.raises(ValueError, match="not finite"):
        clean_series(pd.Series([1.0, np.inf], index=days(2)), "x")
    with pytest.raises(ValueError, match="must be dates"):
        clean_series(pd.Series([1.0, 2.0]), "x")
    # unsorted input comes back sorted
    rev = pd.Series([2.0, 1.0], index=days(2)[::-1])
    assert clean_series(rev, "x").index.is_monotonic_increasing


def test_texts() -> None:
    # one money style with every other message ($1.46B for a BTC cascade)
    assert usd_text(41.2e9) == "$41B"
    assert usd_text(-8.5e8) == "-$850M"
    assert usd_text(1.25e12) == "$1.25T"
    assert usd_text(2.34e9) == "$2.3B"
    assert usd_text(950e3) == "$950K" and usd_text(-0.2) == "$0"  # never "$0m" nor "-$0"
    assert pct_text(97.6) == "98th percentile"
    assert pct_text(99.73) == "99.7th percentile"
    assert pct_text(100.0) == "99.9th percentile"
    assert pct_text(21.0) == "21st percentile"
    assert pct_text(99.2) == "99.2nd percentile" and pct_text(99.02) == "99th percentile"  # never "99.2th"
    assert pct_text(float("nan")) == "n/a"


def test_engine_parity_uses_reading_times_for_the_cooldown() -> None:
    # readings at 16:00 ET each day: the cooldown is counted on the same clock
    idx = pd.DatetimeIndex([datetime(2024, 8, 1, 20, tzinfo=UTC) + timedelta(days=i) for i in range(8)])
    level = np.array([2, 0, 2, 2, 0, 0, 2, 2])
    hold = level.copy()
    ours = lifecycle(idx, level, hold, 1, pd.Timedelta(days=2)).tolist()
    assert ours == _engine_states(idx, level, hold, 1, 2)
