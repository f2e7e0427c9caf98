"""The live pipeline keeps only what its step needs of a non-incremental signal's history, and
computes that history again only when the signal's inputs or parameters change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import ClassVar, cast

import pandas as pd

from bot.config import load_settings
from bot.pipeline import HISTORY_TAIL, Pipeline, _Tail
from signals.base import Level, Param, Params, Reading
from signals.contract import Signal, latest_of, readings_since_of
from storage.observations import Inputs

T0 = datetime(2024, 1, 1, 21, tzinfo=UTC)


class Daily:
    """A signal with a whole-history model and no incremental path: one reading per day per key."""

    id = "daily_test"
    keys: ClassVar[dict[str, str]] = {"a": "A", "b": "B"}

    def __init__(self) -> None:
        self.calls = 0

    def history(self, inputs: Inputs, params: Params) -> list[Reading]:
        self.calls += 1
        s = inputs.series("x")
        out = []
        for ts, v in zip(pd.DatetimeIndex(s.index), s.to_numpy(), strict=True):
            for key in ("a", "b"):
                lv = Level.ALERT if v * params["k"] > 5 else Level.OK
                out.append(Reading(self.id, key, ts.to_pydatetime(), float(v), lv, lv, f"{v}", "test"))
        return out


def _inputs(n: int, last: float = 1.0) -> Inputs:
    idx = pd.date_range(T0, periods=n, freq="D", tz="UTC")
    values = [1.0] * (n - 1) + [last]
    return Inputs(pd.DataFrame({"x": values}, index=idx), {"x": "test"})


def _params(k: float = 1.0) -> Params:
    return Params([Param("k", 1.0, 0.0, 100.0, "scale")], {"k": k})


def _pipe() -> Pipeline:
    return Pipeline(load_settings(env={}, dotenv=None))


def test_unchanged_inputs_reuse_the_history_and_new_data_recomputes_it() -> None:
    daily, pipe = Daily(), _pipe()
    sig = cast(Signal, daily)
    inputs = _inputs(500)
    pipe._history(sig, inputs, _params(), None)
    again = pipe._history(sig, _inputs(500), _params(), T0 + timedelta(days=498))
    assert daily.calls == 1 and again is pipe._histories[daily.id].readings
    pipe._history(sig, _inputs(500, last=9.0), _params(), T0 + timedelta(days=498))
    assert daily.calls == 2  # a revised value, same count and times
    pipe._history(sig, _inputs(501), _params(), T0 + timedelta(days=498))
    assert daily.calls == 3  # a new day
    pipe._history(sig, _inputs(501), _params(k=2.0), T0 + timedelta(days=498))
    assert daily.calls == 4  # other parameters


def test_the_tail_gives_the_live_step_what_the_whole_history_gives() -> None:
    daily, pipe = Daily(), _pipe()
    sig = cast(Signal, daily)
    inputs, params = _inputs(500, last=9.0), _params()
    whole = pipe._history(sig, inputs, params, None)  # computed: the whole history this once
    tail = pipe._history(sig, inputs, params, None)  # kept: the tail
    assert whole is not None and len(whole) == 2 * 500
    assert tail is not None and len(tail) == 2 * HISTORY_TAIL
    now = T0 + timedelta(days=499, hours=1)
    for after in (None, now - timedelta(days=3), now - timedelta(days=HISTORY_TAIL - 2)):
        want = readings_since_of(sig, inputs, params, after, now)
        got = readings_since_of(sig, inputs, params, after, now, history=tail)
        assert got == want and got
    assert latest_of(sig, inputs, params, now, history=tail) == latest_of(sig, inputs, params, now)
    assert whole[-2:] == tail[-2:]


def test_a_catch_up_from_before_the_tail_computes_the_history_again() -> None:
    daily, pipe = Daily(), _pipe()
    sig = cast(Signal, daily)
    inputs, params = _inputs(500), _params()
    pipe._history(sig, inputs, params, None)
    long_ago = T0 + timedelta(days=100)
    got = pipe._history(sig, inputs, params, long_ago)
    assert daily.calls == 2 and got is not None
    now = T0 + timedelta(days=500)
    assert readings_since_of(sig, inputs, params, long_ago, now, history=got) == readings_since_of(
        sig,
        inputs,
        params,
        long_ago,
        now,
    )


def test_the_tail_knows_what_it_left_out() -> None:
    rows = [
        Reading("s", k, T0 + timedelta(days=i), 1.0, Level.OK, Level.OK, "", "t")
        for i in range(HISTORY_TAIL + 5)
        for k in ("a", "b")
    ]
    tail = _Tail.of(b"k", rows)
    assert tail.dropped_until == T0 + timedelta(days=4)
    assert tail.readings == rows[10:]
    assert (
        tail.covers(None) and tail.covers(T0 + timedelta(days=4)) and not tail.covers(T0 + timedelta(days=3))
    )
    short = _Tail.of(b"k", rows[:10])
    assert short.dropped_until is None and short.covers(T0)
