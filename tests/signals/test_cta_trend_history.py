"""cta_trend on the real S&P 500 history 2001-2026, through the real pipeline: the shared file
loaded by ``backfill spx --file`` into SQLite and replayed by the alert engine (default
parameters, fixed before these episodes were looked at). The episodes and calm stretches are the
ones the model's own tests judge (``test_cta_trend.py``), each with its reason; here the engine's
lifecycle must agree with them.
"""

from __future__ import annotations

from datetime import date

import pytest

from signals.base import Level
from tests.signals.flowdata import Stretch
from tests.signals.spxhistory import (
    day_of,
    fired_in,
    key_events,
    lifecycles,
    need_data,
    peak_in,
    per_year,
    replay,
)
from tests.signals.test_cta_trend import CALM, EPISODES

SIG = "cta_trend"


@pytest.fixture(scope="module", autouse=True)
def _history() -> None:
    need_data()
    replay(SIG)


@pytest.mark.parametrize("s", EPISODES, ids=str)
def test_episodes_the_history_documents_fire(s: Stretch) -> None:
    got = peak_in(SIG, "selling", s)
    assert got >= s.level, f"{s.name}: {got.label}, expected at least {Level(s.level).label} ({s.why})"
    a, b = date.fromisoformat(s.start), date.fromisoformat(s.end)
    n = [c for c in lifecycles(SIG, "selling") if c[0] <= b and (c[1] is None or c[1] >= a)]
    assert 1 <= len(n) <= 3, (s.name, n)


@pytest.mark.parametrize("s", CALM, ids=str)
def test_calm_stretches_stay_quiet(s: Stretch) -> None:
    got = peak_in(SIG, "selling", s)
    assert got <= s.level, f"{s.name}: {got.label}, expected at most {Level(s.level).label} ({s.why})"


def test_what_it_misses_and_why() -> None:
    # October 2008: the replication was already short (trend followers were short through 2008
    # and gained): nothing left to sell, no alert
    assert peak_in(SIG, "selling", Stretch("2008-10", "2008-09-15", "2008-11-28", 0, "")) == Level.OK
    # April 2025: the March correction had already turned the position short; the tariff crash
    # itself adds only a heads-up
    assert peak_in(SIG, "selling", Stretch("2025-04", "2025-04-01", "2025-04-30", 1, "")) == Level.WATCH


def test_the_alert_comes_on_the_day_the_trend_broke() -> None:
    days = {
        "2018-02": date(2018, 2, 5),  # the Monday of the VIX spike
        "2024-08": date(2024, 8, 5),  # the Monday of the carry unwind
        "2020-03": date(2020, 2, 25),  # the second day of the Covid sell-off
    }
    for s in EPISODES:
        if s.name in days:
            hits = fired_in(SIG, "selling", s, Level.ALERT)
            assert hits and day_of(hits[0].ts) == days[s.name], s.name


def test_alert_rates_over_the_whole_history() -> None:
    """About 1.4 de-leveraging alerts a year; severe under 0.7; re-leveraging graded one level
    lower; the trigger heads-up is a watch and never more."""
    assert 0.9 <= per_year(SIG, "selling", Level.ALERT) <= 1.8
    assert per_year(SIG, "selling", Level.SEVERE) <= 0.7
    assert max(Level.parse(e.level) for e in key_events(SIG, "buying")) == Level.ALERT
    assert per_year(SIG, "buying", Level.ALERT) <= 0.6
    assert {e.level for e in key_events(SIG, "trigger")} == {"watch", "ok"}


def test_the_trigger_heads_up_comes_before_the_2022_break() -> None:
    """January 2022: the index sat just above the net flip level before the position turned
    short on 21 January; the heads-up came first."""
    s = Stretch("2022-01", "2022-01-03", "2022-01-21", 1, "")
    hits = fired_in(SIG, "trigger", s, Level.WATCH)
    assert hits and day_of(hits[0].ts) < date(2022, 1, 21)


def test_every_alert_says_it_is_an_estimate_and_states_its_assumptions() -> None:
    for e in replay(SIG):
        if e.event in ("fired", "escalated"):
            assert e.summary.startswith("CTAs (estimate): position ")
            assert "a full position assumed to be $70B of S&P 500 exposure" in e.summary
