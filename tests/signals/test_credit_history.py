"""credit over the real history (HY OAS 1996-2026, Treasury yields 2000-2026) through the real
engine: the FRED files loaded with ``flowwatch backfill fred --file`` into a SQLite file,
replayed with ``bot.replay.run_replay``. Episodes it must catch and calm stretches where it must
stay quiet, each with the reason; the thresholds are the defaults (the 90th / 97.5th / 99.5th
percentile of ten years of sessions, two daily figures to confirm), never tuned to these."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.timeutil import NEW_YORK
from tests.signals.flowreplay import ALERT, NAMES, OK, SEVERE, WATCH, Replayed, Stretch, load

FILES = ("fred_bamlh0a0hym2_daily.csv", "fred_dgs10_daily.csv", "fred_dgs2_daily.csv")


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Replayed:
    return Replayed(load(tmp_path_factory.mktemp("credit"), FILES), "credit")


EPISODES = [
    Stretch("2001-09", "hy", "2001-09-11", "2001-10-15", SEVERE, "9/11: +200 bp in the weeks after"),
    Stretch("2002", "hy", "2002-06-01", "2002-10-31", SEVERE, "WorldCom and the 2002 default wave"),
    Stretch(
        "2007-07",
        "hy",
        "2007-07-01",
        "2007-08-31",
        SEVERE,
        "the subprime funds of Bear Stearns, the quant crash",
    ),
    Stretch(
        "2008",
        "hy",
        "2008-09-15",
        "2008-12-31",
        SEVERE,
        "Lehman: the spread went from about 800 bp to over 2,100 bp by December",
    ),
    Stretch(
        "2011", "hy", "2011-08-01", "2011-10-15", ALERT, "the US downgrade and the euro crisis: about +200 bp"
    ),
    Stretch(
        "2015-16",
        "hy",
        "2015-11-15",
        "2016-02-29",
        ALERT,
        "energy defaults; Third Avenue's credit fund gated in December 2015",
    ),
    Stretch("2018-12", "hy", "2018-11-15", "2019-01-10", ALERT, "the December 2018 sell-off"),
    Stretch("2020-03", "hy", "2020-02-24", "2020-03-31", SEVERE, "Covid: about +600 bp in a month"),
    Stretch(
        "2022", "hy", "2022-04-15", "2022-07-31", ALERT, "the 2022 rate shock reached credit in May-July"
    ),
    Stretch("2023-03", "hy", "2023-03-08", "2023-03-31", ALERT, "SVB"),
    Stretch(
        "2025-04", "hy", "2025-04-01", "2025-04-30", ALERT, "the tariff shock: about +150 bp in two weeks"
    ),
]

CALM = [
    Stretch("2006", "hy", "2006-01-01", "2006-12-31", WATCH, "tight, quiet spreads before the crisis"),
    Stretch(
        "2013-H2", "hy", "2013-07-15", "2013-12-31", WATCH, "spreads grinding tighter after the taper tantrum"
    ),
    Stretch("2017", "hy", "2017-01-01", "2017-12-31", OK, "the calmest year of the decade for credit"),
    Stretch("2019-H2", "hy", "2019-02-01", "2019-12-31", WATCH, "a rate-cutting year with tight spreads"),
    Stretch("2024", "hy", "2024-01-01", "2024-07-31", WATCH, "spreads near their tights"),
    Stretch(
        "curve",
        "curve",
        "2000-01-01",
        "2026-12-31",
        WATCH,
        "the 2s10s key is a heads-up: it never pings above watch",
    ),
]


@pytest.mark.parametrize("s", EPISODES, ids=str)
def test_episodes_are_caught(replayed: Replayed, s: Stretch) -> None:
    got = replayed.peak_in(s.key, s)
    assert got >= s.level, f"{s}: {NAMES[got]}, expected at least {NAMES[s.level]} ({s.why})"


@pytest.mark.parametrize("s", CALM, ids=str)
def test_calm_stretches_stay_quiet(replayed: Replayed, s: Stretch) -> None:
    got = replayed.peak_in(s.key, s)
    assert got <= s.level, f"{s}: {NAMES[got]}, expected at most {NAMES[s.level]} ({s.why})"


def test_documented_misses(replayed: Replayed) -> None:
    """What the page says it misses, held true (if these start to alert, update docs/signals/credit.md).

    - The second leg of 2015-16 (January-February 2016, the spread's peak near 840 bp) is only a
      watch: the ten-year window still holds 2008-2011, so a +100 bp month ranks below the 97.5th
      percentile."""
    leg = Stretch("2016-01", "hy", "2016-01-04", "2016-02-29", WATCH, "")
    assert replayed.peak_in("hy", leg) == WATCH


def test_the_curve_heads_up_rate(replayed: Replayed) -> None:
    """Under one 2s10s heads-up a year. The 2007-08 cuts (priced in a hurry) give heads-ups; the
    slower steepenings of 2019 and 2024 do not (documented on the page as misses)."""
    assert replayed.per_year("curve", WATCH, "2007-06-01", "2026-07-28") <= 1.2
    cuts = Stretch("2007-08", "curve", "2007-08-01", "2008-03-31", WATCH, "the Fed cut from 5.25 % to 2.25 %")
    assert replayed.peak_in("curve", cuts) == WATCH
    for a, b in (("2019-05-01", "2019-09-30"), ("2024-06-01", "2024-12-31")):
        assert replayed.peak_in("curve", Stretch("cuts", "curve", a, b, OK, "")) == OK


def test_alerts_come_when_fred_has_the_figure(replayed: Replayed) -> None:
    """The spread's events at 10:00 ET on the business day after its date; the yields' at 16:30
    ET the business day after: a replay cannot alert before FRED could have shown the figure."""
    assert replayed.events
    for e in replayed.events:
        local = datetime.fromtimestamp(e.ts, UTC).astimezone(NEW_YORK)
        day = datetime.fromisoformat(str(e.data["date"])).date()
        at = (10, 0) if e.key == "hy" else (16, 30)
        assert (local.hour, local.minute) == at, e
        assert timedelta(days=1) <= local.date() - day <= timedelta(days=4), e
        assert local.weekday() < 5, e


def test_alert_rate(replayed: Replayed) -> None:
    """About one high-yield alert a year (1999-2026), severe in about five episodes."""
    first, last = "1999-12-01", "2026-03-26"
    assert 0.6 <= replayed.per_year("hy", ALERT, first, last) <= 1.3
    assert replayed.per_year("hy", SEVERE, first, last) <= 0.3


def test_status_line_and_stale_rule(tmp_path: Path) -> None:
    from signals import get_signal
    from signals.contract import default_params, latest_of
    from storage.db import open_db
    from storage.observations import load_inputs

    sig = get_signal("credit")
    db = open_db(load(tmp_path, FILES))
    inputs = load_inputs(db, sig.inputs)
    now = datetime(2026, 3, 27, 15, tzinfo=UTC)  # Friday 11:00 ET: Thursday's spread is out
    latest = {r.key: r for r in latest_of(sig, inputs, default_params(sig), now)}
    hy = latest["hy"]
    assert hy.data["date"] == "2026-03-26" and "bp" in hy.headline and "percentile" in hy.headline
    assert sig.stale_reason(hy, now) is None  # type: ignore[attr-defined]
    # Friday's figure is due on Monday at 10:00 ET (14:00 UTC); after a day's grace it is stale
    assert sig.stale_reason(hy, datetime(2026, 3, 31, 13, tzinfo=UTC)) is None  # type: ignore[attr-defined]
    assert "2026-03-26" in (sig.stale_reason(hy, datetime(2026, 3, 31, 15, tzinfo=UTC)) or "")  # type: ignore[attr-defined]
