"""What the S&P 500 flow signals (vol_control, cta_trend) share: the close they read, when a
reading of a close is known, the rule for a missing close, and the demo's index path.

Both signals read the one series ``spx.close``; their demos write it, so they must write the same
path (a demo's observations are upserts: two different paths would overwrite each other).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from signals.base import Params, Reading
from storage.observations import Inputs, Observation
from storage.series import SPX_CLOSE
from storage.timeutil import NEW_YORK, day_epoch

#: the S&P 500 closes at 16:00 ET (13:00 on early-close days: a reading at 16:00 is never early)
CLOSE_HOUR = 16
#: what a reading's ``source`` says
SOURCE = "S&P 500 daily close"


def closes(inputs: Inputs) -> pd.Series:
    """The stored S&P 500 closes, one per session, on the 00:00 UTC date index."""
    return inputs.series(SPX_CLOSE).sort_index()


def close_times(dates: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """00:00 UTC trading dates -> the 16:00 America/New_York close of that date, in UTC."""
    naive = dates.tz_localize(None).normalize() + pd.Timedelta(hours=CLOSE_HOUR)
    return naive.tz_localize(NEW_YORK).tz_convert("UTC")


def naive_utc(times: pd.DatetimeIndex) -> np.ndarray:
    """UTC times as naive ``datetime64[ns]`` (what the chart renderers draw)."""
    return times.tz_convert("UTC").tz_localize(None).to_numpy().astype("datetime64[ns]")


def stale_reason(reading: Reading, now: datetime) -> str | None:
    """Live only: the latest close is older than the session that should be out by ``now``."""
    from signals import tradingcal

    expected = tradingcal.latest_published_close(now)
    have = reading.ts.astimezone(NEW_YORK).date()
    if expected is not None and have < expected:
        return (
            f"the latest S&P 500 close is {have.isoformat()}; the {expected.isoformat()} close should be "
            "out by now"
        )
    return None


# -- the demo ------------------------------------------------------------------------------------

#: sessions of calm, rising history before the demo starts (three years of ranks, and the warm-up)
DEMO_HISTORY = 1100
#: the shock begins this many sessions after the demo's start
DEMO_SHOCK_AT = 30
#: the shock's daily moves: a vol-control de-risking and a break of the CTA triggers
DEMO_SHOCK = (-0.02, -0.035, 0.015, -0.025, -0.015, -0.012)
#: sessions after the shock: calm recovery (the shock leaves the 3-month window at about 63)
DEMO_AFTER = 110


def demo_sessions(start: datetime) -> pd.DatetimeIndex:
    """The demo's sessions: ``DEMO_HISTORY`` business days before ``start``, then after it."""
    first = pd.Timestamp(start.date()) - pd.offsets.BDay(DEMO_HISTORY)
    n = DEMO_HISTORY + DEMO_SHOCK_AT + len(DEMO_SHOCK) + DEMO_AFTER
    return pd.bdate_range(first, periods=n)


def demo_closes(start: datetime) -> tuple[Observation, ...]:
    """A steady uptrend with small noise (realized volatility about 5 %: volatility-targeting funds
    sit at their cap, trend followers at full length), then a 9 % fall in six sessions, then a
    calm recovery."""
    rng = random.Random(14)
    days = demo_sessions(start)
    shock_at = DEMO_HISTORY + DEMO_SHOCK_AT
    level = 2500.0
    out = []
    for i, d in enumerate(days):
        if i:
            k = i - shock_at
            if 0 <= k < len(DEMO_SHOCK):
                move = DEMO_SHOCK[k]
            elif k >= len(DEMO_SHOCK):
                move = 0.0012 + rng.uniform(-0.002, 0.002)
            else:
                move = 0.001 + rng.uniform(-0.0015, 0.0015)
            level *= float(np.exp(move))
        out.append(Observation(SPX_CLOSE, day_epoch(d.date()), round(level, 2), "demo"))
    return tuple(out)


def demo_shock_day(start: datetime) -> datetime:
    """The close of the shock's first session (for tests and docs)."""
    d = demo_sessions(start)[DEMO_HISTORY + DEMO_SHOCK_AT]
    return close_times(pd.DatetimeIndex([d]).tz_localize("UTC"))[0].to_pydatetime()


#: a flow model's readings: (inputs, params, tail) -> the last ``tail`` sessions' readings (None: all)
ReadingsFn = Callable[..., list[Reading]]


def until(inputs: Inputs, now: datetime) -> Inputs:
    """The closes stored up to ``now``."""
    vals = inputs.values
    if len(vals.index):
        vals = vals[vals.index <= pd.Timestamp(now)]
    return Inputs(vals, inputs.last_source)


def latest(
    readings: ReadingsFn, keys: Sequence[str], inputs: Inputs, params: Params, now: datetime
) -> list[Reading]:
    """The readings of ``keys`` that ``history`` gives last up to ``now``, building only the last sessions."""
    last: dict[str, Reading] = {}
    for r in readings(until(inputs, now), params, tail=2):
        if r.ts <= now:
            last[r.key] = r
    return [last[k] for k in keys if k in last]


def readings_since(
    readings: ReadingsFn, inputs: Inputs, params: Params, after: datetime | None, now: datetime, warmup: int
) -> list[Reading]:
    """The readings after ``after`` up to ``now`` (the last ``warmup`` sessions' without ``after``)."""
    cut = until(inputs, now)
    vals = cut.values
    tail = warmup
    if after is not None and len(vals.index):
        # closes are stamped at 00:00 UTC of their date; their readings come at 16:00 ET
        tail = int((vals.index >= pd.Timestamp(after).normalize()).sum()) + 1
    rs = readings(cut, params, tail=tail)
    return [r for r in rs if r.ts <= now and (after is None or r.ts > after)]
