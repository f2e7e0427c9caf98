"""net_liquidity over the real H.4.1 history (2002-2025) through the real engine: the FRED files
loaded with ``flowwatch backfill fred --file`` into a SQLite file, replayed with
``bot.replay.run_replay``. Episodes it must catch, calm stretches where it must stay quiet, the
documented misses, each with the reason. The thresholds are the defaults (the 90th / 97.5th /
99.5th percentile of ten years of weeks), never tuned to these stretches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.timeutil import NEW_YORK
from tests.signals.flowreplay import ALERT, NAMES, OK, SEVERE, WATCH, Replayed, Stretch, load

FILES = ("fred_walcl_weekly.csv", "fred_wtregen_weekly.csv", "fred_rrpontsyd_daily.csv")


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Replayed:
    return Replayed(load(tmp_path_factory.mktemp("nl"), FILES), "net_liquidity")


EPISODES = [
    Stretch(
        "2008-09",
        "injection",
        "2008-09-10",
        "2008-12-31",
        SEVERE,
        "Lehman: the Fed's emergency lending more than doubled its balance sheet in weeks",
    ),
    Stretch(
        "2019-09",
        "injection",
        "2019-09-17",
        "2019-11-30",
        WATCH,
        "the repo spike of 2019-09-17: the Fed's overnight repos, then bill purchases from October, "
        "added reserves faster than in most weeks of the decade (a watch, not more: the amounts were "
        "small against 2008 and 2020 in the ten-year window)",
    ),
    Stretch(
        "2020-QE",
        "injection",
        "2020-03-01",
        "2020-05-31",
        SEVERE,
        "Covid: repo operations, then unlimited QE from 2020-03-15: about +$2.9tn of Fed assets in three months",
    ),
    Stretch(
        "2020-TGA",
        "drain",
        "2020-06-01",
        "2020-08-31",
        SEVERE,
        "the Treasury parked the pandemic borrowing in its account (TGA to $1.8tn)",
    ),
    Stretch(
        "2022-H1",
        "drain",
        "2022-04-01",
        "2022-06-30",
        SEVERE,
        "tax receipts filled the TGA while reverse repo climbed past $2tn: net liquidity fell about "
        "$480bn in four weeks into May 2022",
    ),
    Stretch(
        "2022-H2",
        "drain",
        "2022-09-01",
        "2022-10-31",
        ALERT,
        "quantitative tightening at full pace and reverse repo at its peak",
    ),
    Stretch(
        "2023-03",
        "injection",
        "2023-03-09",
        "2023-04-15",
        SEVERE,
        "SVB: the discount window and the Bank Term Funding Program added about $390bn in a week",
    ),
    Stretch(
        "2023-TGA",
        "drain",
        "2023-06-01",
        "2023-08-31",
        WATCH,
        "the Treasury rebuilt its account by about $500bn after the June 2023 debt-ceiling deal; "
        "money funds moved from reverse repo into the new bills, so net liquidity fell far less "
        "than the TGA rose: a watch only (see the page: the rebuild was funded by reverse repo)",
    ),
]

CALM = [
    Stretch(
        "2010-2011",
        "drain",
        "2010-09-01",
        "2011-12-31",
        WATCH,
        "QE2 and its aftermath: reserves grew steadily, no fast drain",
    ),
    Stretch(
        "2017-2018",
        "injection",
        "2017-02-01",
        "2018-12-31",
        WATCH,
        "the balance sheet shrank slowly (QT from 2017-10): nothing was injected fast",
    ),
    Stretch(
        "2010-2019",
        "injection",
        "2010-01-01",
        "2019-09-01",
        WATCH,
        "a decade without emergency lending: QE came in steady monthly amounts, never fast enough "
        "to alert against its own history",
    ),
    Stretch(
        "2024-H2",
        "injection",
        "2024-06-01",
        "2024-12-31",
        WATCH,
        "QT winding down, reverse repo draining steadily: no sudden injection",
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
    """What the page says it misses, held true (if these start to fire, update docs/signals/net_liquidity.md).

    - The drain *before* the 2019-09 repo spike: the squeeze of 16-17 September fell between two
      H.4.1 Wednesdays; net liquidity fell $73bn in the four weeks to 2019-09-11 (-2.0 %, the 87th
      percentile), below the watch line. The stress was the low *level* of reserves, which a
      change signal does not measure.
    - The 2023 TGA rebuild stays a watch (see EPISODES)."""
    pre_spike = Stretch("2019-08", "drain", "2019-08-01", "2019-09-20", OK, "")
    assert replayed.peak_in("drain", pre_spike) == OK
    rebuild = Stretch("2023-TGA", "drain", "2023-06-01", "2023-08-31", WATCH, "")
    assert replayed.peak_in("drain", rebuild) == WATCH


def test_alerts_come_when_the_h41_is_out(replayed: Replayed) -> None:
    """Every event is stamped at 16:30 ET on the business day after its Wednesday, never before:
    a replay cannot alert on figures nobody could have seen yet."""
    assert replayed.events
    for e in replayed.events:
        local = datetime.fromtimestamp(e.ts, UTC).astimezone(NEW_YORK)
        wed = datetime.fromisoformat(str(e.data["wednesday"])).date()
        assert (local.hour, local.minute) == (16, 30), e
        assert wed.weekday() == 2 and timedelta(days=1) <= local.date() - wed <= timedelta(days=3), e
        assert e.data["release"] == local.date().isoformat(), e


def test_every_alert_names_its_releases_and_biggest_part(replayed: Replayed) -> None:
    from bot.alert_text import present, utc_stamp

    fired = [e for e in replayed.events if e.event == "fired"]
    assert fired
    for e in fired:
        text = present(e, utc_stamp)
        assert f"H.4.1 of {e.data['release']}" in text.first_line, text
        assert "RRPONTSYD of" in text.first_line or "no reverse repo" in text.first_line, text
        assert "Biggest part:" in text.first_line or "No part moved" in text.first_line, text


def test_alert_rate(replayed: Replayed) -> None:
    """About one and a half drain alerts a year and under one injection alert (2006-2025), as
    the 97.5th percentile of ten years of weeks implies for a signal with three horizons."""
    first, last = "2006-01-01", "2025-11-20"
    assert 1.0 <= replayed.per_year("drain", ALERT, first, last) <= 2.0
    assert 0.3 <= replayed.per_year("injection", ALERT, first, last) <= 1.0
    assert replayed.per_year("drain", SEVERE, first, last) <= 0.5
    assert replayed.per_year("injection", SEVERE, first, last) <= 0.3


def test_status_line_of_the_latest_reading(tmp_path: Path, replayed: Replayed) -> None:
    """The latest reading's headline: the move, its rank, the part that led it and the release."""
    from signals import get_signal
    from signals.contract import default_params, latest_of
    from storage.db import open_db
    from storage.observations import load_inputs

    sig = get_signal("net_liquidity")
    db = open_db(load(tmp_path, FILES))
    inputs = load_inputs(db, sig.inputs)
    now = datetime(2025, 11, 21, 12, tzinfo=UTC)
    latest = {r.key: r for r in latest_of(sig, inputs, default_params(sig), now)}
    assert set(latest) == {"drain", "injection"}
    head = latest["drain"].headline
    assert "H.4.1 of 2025-11-20" in head and "percentile" in head and len(head) <= 120, head
    assert sig.stale_reason(latest["drain"], now) is None  # type: ignore[attr-defined]
    # the next H.4.1 comes on Friday 2025-11-28 (Thanksgiving Thursday) at 16:30 ET: not missed
    # on Saturday morning, a day late on Sunday
    saturday, sunday = datetime(2025, 11, 29, 12, tzinfo=UTC), datetime(2025, 11, 30, 12, tzinfo=UTC)
    assert sig.stale_reason(latest["drain"], saturday) is None  # type: ignore[attr-defined]
    assert "Wednesday 2025-11-26" in (sig.stale_reason(latest["drain"], sunday) or "")  # type: ignore[attr-defined]
