"""ratecut's size key: repricings of the expected move and path, in bp, in any cycle."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from bot.replay import run_replay
from signals.base import Level, Reading
from signals.contract import default_params
from signals.fomc_dist import Bucket, dist_observations, path_observations
from signals.ratecut import SIGNAL
from storage import observations as obs_repo
from storage.observations import Inputs, Observation, inputs_from_long

T0 = datetime(2026, 11, 2, tzinfo=UTC)  # the next two meetings: 2026-12-09 and 2027-01-27
DEC, JAN = "2026-12-09", "2027-01-27"
P = default_params(SIGNAL)
HALF_HOUR = timedelta(minutes=30)


def hikes(
    venue: str,
    meeting: str,
    q: Sequence[float],
    start: datetime = T0,
    step: timedelta = HALF_HOUR,
    base: float = 0.0,
) -> list[Observation]:
    """A meeting fully priced to hike: 25 bp with 1 - q, 50 bp or more with q (P(cut) stays 0);
    ``base`` adds a certain move of earlier meetings to the path."""
    out: list[Observation] = []
    for i, x in enumerate(q):
        ts = int((start + i * step).timestamp())
        dist = {Bucket(25): 1 - x, Bucket(50, True): x}
        out += dist_observations(venue, meeting, ts, dist, venue)
        out.append(Observation(f"{venue}.fomc.{meeting}.path_bp", ts, round(base + 25 + 25 * x, 4), venue))
    return out


def inputs(rows: list[Observation]) -> Inputs:
    long = pd.DataFrame(
        [(o.series, o.ts, o.value, o.source) for o in rows], columns=["series", "ts", "value", "source"]
    )
    return inputs_from_long(long.sort_values("ts"))


def size(rs: list[Reading], meeting: str = DEC) -> list[Reading]:
    return [r for r in rs if r.key == f"{meeting}.size"]


def ramp(a: float, b: float, n: int) -> list[float]:
    return [a + (b - a) * i / (n - 1) for i in range(n)]


def test_a_hiking_cycle_repricing_of_size_alerts_while_p_cut_stays_zero() -> None:
    """June 2022: the odds of 75 rather than 50 bp jumped after CPI; P(cut) was 0 all along."""
    q = [0.10] * 96 + ramp(0.10, 0.90, 12) + [0.90] * 20  # 50+ bp: 10 % -> 90 % in 6 hours
    rows = hikes("kalshi", DEC, q) + hikes("polymarket", DEC, q)
    rs = SIGNAL.history(inputs(rows), P)
    assert max(r.level for r in rs if r.key.endswith((".swing", ".flip"))) == Level.OK
    top = max(size(rs), key=lambda r: r.value)
    assert top.level == Level.SEVERE  # +20 bp within 24 h: four times the 5 bp size
    assert top.value == pytest.approx(20 / 5, abs=0.05)
    assert "Dec 9: odds of a hike of 50 bp or more 10% → 90%" in top.summary
    assert "expected move +48 bp (was +28 bp) on Kalshi" in top.summary
    assert "Polymarket +20 bp the same way" in top.summary
    assert top.data["move_bp"] == pytest.approx(20.0) and top.fields["Expected path"].startswith("+47.5 bp")


def test_the_levels_are_multiples_of_the_size() -> None:
    for move_bp, level in [(2.0, Level.OK), (4.0, Level.WATCH), (6.0, Level.ALERT), (11.0, Level.SEVERE)]:
        x = move_bp / 25
        q = [0.2] * 96 + ramp(0.2, 0.2 + x, 12) + [0.2 + x] * 10
        rs = size(SIGNAL.history(inputs(hikes("kalshi", DEC, q)), P))
        assert max(r.level for r in rs) == level, move_bp


def test_the_other_venue_must_confirm() -> None:
    q = [0.2] * 96 + ramp(0.2, 0.6, 12) + [0.6] * 10
    rows = hikes("kalshi", DEC, q) + hikes("polymarket", DEC, [0.2] * len(q))
    top = max(size(SIGNAL.history(inputs(rows), P)), key=lambda r: r.value)
    assert top.value > 1.5 and top.level == Level.WATCH
    assert "Polymarket +0 bp the same way (not confirmed: held at watch)" in top.summary


def test_a_later_meeting_that_only_echoes_the_nearer_one_stays_at_watch() -> None:
    """A repricing of December moves January's path as much: it is told once, on December."""
    q = [0.2] * 96 + ramp(0.2, 0.6, 12) + [0.6] * 10
    dec = hikes("kalshi", DEC, q)
    jan = []
    for i, x in enumerate(q):  # January holds: its path is December's move
        ts = int((T0 + i * HALF_HOUR).timestamp())
        jan += dist_observations("kalshi", JAN, ts, {Bucket(0): 1.0}, "kalshi")
        jan.append(Observation(f"kalshi.fomc.{JAN}.path_bp", ts, 25 + 25 * x, "kalshi"))
    rs = SIGNAL.history(inputs(dec + jan), P)
    assert max(r.level for r in size(rs, DEC)) == Level.SEVERE  # 10 bp in 6 hours: twice the size
    top = max(size(rs, JAN), key=lambda r: r.value)
    assert top.value > 1.5 and top.level == Level.WATCH
    assert "the Dec 9 meeting moved 10 bp the same way: its repricing, held at watch" in top.summary
    assert "expected path to it +40 bp (was +30 bp)" in top.summary  # a later meeting: its path


def test_a_decision_is_not_a_repricing_of_the_next_meetings_path() -> None:
    """At December's statement January's path loses December's 25 bp (the range moved)."""
    start = datetime(2026, 12, 7, tzinfo=UTC)
    n = 4 * 48
    statement = datetime(2026, 12, 9, 19, 0, tzinfo=UTC)
    jan = []
    for i in range(n):
        t = start + i * HALF_HOUR
        base = 25.0 if t < statement else 0.0
        jan += hikes("kalshi", JAN, [0.2], start=t, base=base)
    rs = size(SIGNAL.history(inputs(jan), P), JAN)
    assert rs and max(r.level for r in rs) == Level.OK


def test_sizes_come_from_the_signals_own_history() -> None:
    """A 6 bp move in a day alerts after a calm week, not after a week that moved 8 bp a day."""
    calm = [0.2] * (10 * 48)
    busy = [0.2 + (0.32 if (i // 48) % 2 else 0.0) for i in range(10 * 48)]  # 8 bp up, 8 bp down daily
    move = ramp(0.2, 0.44, 12) + [0.44] * 10
    end = T0 + (len(calm) + len(move) - 1) * HALF_HOUR
    quiet_then = size(SIGNAL.latest(inputs(hikes("kalshi", DEC, calm + move)), P, end))[0]
    busy_then = size(SIGNAL.latest(inputs(hikes("kalshi", DEC, busy + move)), P, end))[0]
    assert quiet_then.level == Level.ALERT and quiet_then.data["size_bp"] == 5.0
    assert busy_then.level < Level.ALERT and busy_then.data["size_bp"] > 20
    assert busy_then.data["baseline_bp"] >= 5 and "median change" in busy_then.summary


def test_a_repricing_and_its_reversal_is_a_severe_whipsaw() -> None:
    """July 2019: the odds of 50 bp rather than 25 went up and were walked back in days."""
    daily = timedelta(days=1)
    q = [0.3] * 12 + [0.6, 0.6, 0.25, 0.25]  # +7.5 bp, then -8.75 bp
    rows = hikes("kalshi", DEC, q, step=daily)
    rs = size(SIGNAL.history(inputs(rows), P))
    w = next(r for r in rs if r.data.get("whipsaw"))
    assert w.level == Level.SEVERE and "WHIPSAW of the expected move: +32 bp → +40 bp → +31 bp" in w.summary


def test_no_sizes_no_size_key() -> None:
    """The recorded December-2025 books hold the hold outcome alone: P(cut) only, no size."""
    rows = [
        Observation(f"kalshi.fomc.{DEC}.cut", int((T0 + i * HALF_HOUR).timestamp()), 0.5, "kalshi-csv")
        for i in range(50)
    ]
    rs = SIGNAL.history(inputs(rows), P)
    assert rs and not size(rs)


def fedwatch_days(values: Sequence[tuple[int, float, float]]) -> list[Observation]:
    """Daily FedWatch points: (day of November 2026, P(cut), expected move bp)."""
    out = []
    for day, p_cut, move in values:
        ts = int(datetime(2026, 11, day, tzinfo=UTC).timestamp())
        out.append(Observation(f"fedwatch.fomc.{DEC}.cut", ts, p_cut, "fedwatch-zq"))
        out.append(Observation(f"fedwatch.fomc.{DEC}.hold", ts, 1 - p_cut, "fedwatch-zq"))
        out.append(Observation(f"fedwatch.fomc.{DEC}.cut25", ts, p_cut, "fedwatch-zq"))
        out.append(Observation(f"fedwatch.fomc.{DEC}.move_bp", ts, move, "fedwatch-zq"))
        out.append(Observation(f"fedwatch.fomc.{DEC}.path_bp", ts, move, "fedwatch-zq"))
    return out


def test_a_daily_settlement_move_escalates_at_once(db: Any) -> None:
    """Why a 3.3x move only reached 'alert' (2020-02-28): the engine confirms a level over two
    readings and escalates to the lower of them; on daily settlements the move has left the
    windows by the next day. A settlement is a final price: one reading confirms it."""
    days = [
        (2, 0.10, -2.5),
        (3, 0.10, -2.5),
        (4, 0.12, -3.0),
        (5, 0.35, -8.75),
        (6, 0.90, -22.5),
        (9, 0.95, -23.75),
    ]
    obs_repo.upsert(db, fedwatch_days(days))
    res = run_replay(db, [SIGNAL], {SIGNAL.id: P}, resume=False)
    got = [(e.key.split(".")[1], e.event, e.level, datetime.fromtimestamp(e.ts, UTC).day) for e in res.events]
    assert ("swing", "fired", "alert", 5) in got  # +23 pp in a day: 1.5x, on the first reading
    assert ("swing", "escalated", "severe", 6) in got  # +55 pp: severe the same day
    # the expected move fell 13.75 bp, all of it the odds of a 25 bp cut: the swing tells it
    assert [g for g in got if g[0] == "size" and g[1] != "resolved"] == [("size", "fired", "watch", 5)]
    held = next(e for e in res.events if e.key.endswith(".size"))
    assert (
        "the swing of P(cut) explains this repricing (the odds of the cut sizes alone account for 0 bp of it)"
        in held.summary
    )


def test_path_observations_need_every_earlier_meeting() -> None:
    ts = int(T0.timestamp())
    rows = [Observation(f"kalshi.fomc.{JAN}.move_bp", ts, -10.0, "kalshi")]
    assert path_observations("kalshi", rows) == []  # December is not quoted: no path for January
    rows.append(Observation(f"kalshi.fomc.{DEC}.move_bp", ts, -5.0, "kalshi"))
    got = {o.series: o.value for o in path_observations("kalshi", rows)}
    assert got == {f"kalshi.fomc.{DEC}.path_bp": -5.0, f"kalshi.fomc.{JAN}.path_bp": -15.0}
