"""net_liquidity model: units, the reverse repo on the same Wednesday, the release dates, and the
real H.4.1 history 2002-2025.

Levels: for drains and injections separately, the highest percentile the 1-, 2- or 4-week change
(as a share of net liquidity) reaches in its trailing ten years of weeks (watch 90th, alert
97.5th, severe 99.5th; exits 85/95/99).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from signals import net_liquidity as nl
from signals._levels import ALERT, OK, SEVERE, WATCH
from signals.sources import fred as fred_source
from tests.conftest import fixture_text
from tests.signals.flowdata import Stretch, describe, first_fire, fred, peak_in, per_year


def series(values: dict[str, float]) -> pd.Series:
    return pd.Series(list(values.values()), index=pd.DatetimeIndex(list(values), tz="UTC"), dtype=float)


WED = ["2024-06-05", "2024-06-12", "2024-06-19", "2024-06-26"]  # 06-19 is Juneteenth


def test_units_and_reverse_repo_on_the_same_wednesday() -> None:
    walcl = series(dict(zip(WED, [7_300_000.0, 7_290_000.0, 7_280_000.0, 7_270_000.0], strict=True)))
    tga = series(dict(zip(WED, [700_000.0, 720_000.0, 740_000.0, 760_000.0], strict=True)))
    rrp = (
        series(  # billions; no figure on the Juneteenth holiday, a later-week figure that must not leak back
            {
                "2024-06-05": 400.0,
                "2024-06-12": 390.0,
                "2024-06-18": 380.0,
                "2024-06-20": 999.0,
                "2024-06-26": 370.0,
            }
        )
    )
    f = nl.frame(walcl, tga, rrp)
    assert f["rrp"].tolist() == [400_000.0, 390_000.0, 380_000.0, 370_000.0]
    assert f.loc[pd.Timestamp("2024-06-19", tz="UTC"), "rrp_date"] == pd.Timestamp("2024-06-18", tz="UTC")
    assert f.loc[pd.Timestamp("2024-06-05", tz="UTC"), "net"] == 7_300_000 - 700_000 - 400_000
    # the parts add up to the change, signs included
    for h in (1, 2):
        parts = f[[f"walcl_{h}w", f"tga_{h}w", f"rrp_{h}w"]].sum(axis=1, min_count=3)
        assert np.allclose(parts.dropna(), f[f"chg_{h}w"].dropna())
    row = f.loc[pd.Timestamp("2024-06-26", tz="UTC")]
    assert row["chg_1w"] == pytest.approx(-10_000 - 20_000 + 10_000)
    assert row["driver_1w"] == "tga"  # -20bn of the -20bn came from the Treasury account
    assert row["pct_1w"] == pytest.approx(-20_000 / 6_160_000 * 100)


def test_a_missing_reverse_repo_figure_is_never_a_zero_after_2013() -> None:
    walcl = series({"2024-01-03": 7_681_024.0, "2024-01-17": 7_700_000.0})
    tga = series({"2024-01-03": 758_448.0, "2024-01-17": 760_000.0})
    rrp = series({"2024-01-03": 719.897})  # nothing within five days of 01-17
    f = nl.frame(walcl, tga, rrp)
    assert np.isnan(f.loc[pd.Timestamp("2024-01-17", tz="UTC"), "net"])
    # before the facility ran daily, a missing day is no operation: zero
    old = nl.frame(
        series({"2005-03-02": 780_000.0}), series({"2005-03-02": 5_000.0}), series({"2003-02-07": 2.5})
    )
    assert old["rrp"].tolist() == [0.0] and old["net"].tolist() == [775_000.0]


def test_release_dates_follow_the_federal_calendar() -> None:
    wednesdays = pd.DatetimeIndex(["2024-11-20", "2024-11-27", "2024-12-25", "2025-01-01"], tz="UTC")
    got = nl.h41_release(wednesdays)
    # Thursday; Friday after Thanksgiving; Thursday after a Wednesday holiday
    assert [d.date().isoformat() for d in got] == ["2024-11-21", "2024-11-29", "2024-12-26", "2025-01-02"]


def test_bad_input_is_refused_with_the_reason() -> None:
    w = series({"2024-06-05": 7_300_000.0})
    with pytest.raises(ValueError, match="WTREGEN: negative balance on 2024-06-05"):
        nl.frame(w, series({"2024-06-05": -1.0}), series({"2024-06-05": 1.0}))
    with pytest.raises(ValueError, match="WALCL: value 0 on 2024-06-05 must be above zero"):
        nl.frame(series({"2024-06-05": 0.0}), series({"2024-06-05": 1.0}), series({"2024-06-05": 1.0}))
    with pytest.raises(ValueError, match="RRPONTSYD: negative amount"):
        nl.frame(w, series({"2024-06-05": 1.0}), series({"2024-06-05": -3.0}))


def _from_fixture(fred_id: str) -> pd.Series:
    """A recorded FRED payload through flowwatch's own FRED parser (last row wins, as storage's
    upsert does with the duplicated line the recording contains)."""
    rows = fred_source.parse_csv(
        fixture_text(f"fred/{fred_id}.csv"), fred_id, series=f"fred.{fred_id.lower()}"
    )
    values = {r.ts: r.value for r in rows}
    return pd.Series(
        list(values.values()), index=pd.to_datetime(list(values), unit="s", utc=True), dtype=float
    )


def test_recorded_fred_payloads_agree_with_the_history() -> None:
    """The recorded H.4.1 and reverse repo payloads give the same net liquidity as the history."""
    f = nl.frame(_from_fixture("WALCL"), _from_fixture("WTREGEN"), _from_fixture("RRPONTSYD"))
    day = pd.Timestamp("2024-01-03", tz="UTC")
    assert f.loc[day, "net"] == 7_681_024 - 758_448 - 719_897  # 6,202,679 million
    assert f.loc[day, "release"] == pd.Timestamp("2024-01-04", tz="UTC")
    # the recording has no reverse repo for 2023-12-27: no figure rather than a made-up one
    assert np.isnan(f.loc[pd.Timestamp("2023-12-27", tz="UTC"), "net"])
    hist = nl.frame(fred("walcl_weekly"), fred("wtregen_weekly"), fred("rrpontsyd_daily"))
    assert hist.loc[day, "net"] == f.loc[day, "net"]
    assert hist.loc[pd.Timestamp("2024-01-10", tz="UTC"), "net"] == 7_686_710 - 747_565 - 679_961


# --- the real history -------------------------------------------------------------------


@pytest.fixture(scope="module")
def real() -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    f = nl.frame(fred("walcl_weekly"), fred("wtregen_weekly"), fred("rrpontsyd_daily"))
    return f, nl.levels(f)


EPISODES = [  # (key, stretch)
    (
        "injection",
        Stretch(
            "2008-09",
            "2008-09-10",
            "2008-12-31",
            SEVERE,
            "Lehman: the Fed's lending doubled its balance sheet in weeks",
        ),
    ),
    (
        "injection",
        Stretch(
            "2020-QE",
            "2020-03-04",
            "2020-06-30",
            SEVERE,
            "March 2020: repo, swap lines and QE added $1.4tn in four weeks",
        ),
    ),
    (
        "drain",
        Stretch(
            "2020-TGA",
            "2020-06-01",
            "2020-08-31",
            SEVERE,
            "summer 2020: the Treasury parked its borrowing at the Fed",
        ),
    ),
    (
        "injection",
        Stretch(
            "2021-TGA",
            "2021-02-01",
            "2021-04-30",
            ALERT,
            "spring 2021: the Treasury ran its account down from $1.6tn",
        ),
    ),
    (
        "drain",
        Stretch(
            "2022-QT-H1",
            "2022-01-01",
            "2022-06-30",
            SEVERE,
            "2022: reverse repo swelled and April taxes filled the Treasury account as QT began",
        ),
    ),
    (
        "drain",
        Stretch("2022-QT-H2", "2022-07-01", "2022-12-31", ALERT, "QT at full pace, reverse repo at $2.2tn"),
    ),
    (
        "injection",
        Stretch(
            "2023-03",
            "2023-03-08",
            "2023-04-12",
            SEVERE,
            "SVB: discount window and BTFP lending added $300bn in a week",
        ),
    ),
]

#: reached, but only as a heads-up, with the reason
WATCH_ONLY = [
    (
        "drain",
        Stretch(
            "2019-09",
            "2019-08-14",
            "2019-10-31",
            WATCH,
            "repo stress: the mid-September squeeze sat between two Wednesdays and the Fed's repo "
            "operations had already offset it by the 18th; the weekly drain was -2 % (87th percentile)",
        ),
    ),
    (
        "injection",
        Stretch(
            "2019-10",
            "2019-09-18",
            "2019-11-13",
            WATCH,
            "the Fed's repo operations and bill purchases after the squeeze",
        ),
    ),
    (
        "drain",
        Stretch(
            "2023-TGA",
            "2023-06-01",
            "2023-08-31",
            WATCH,
            "after the debt ceiling the Treasury account rose $495bn (31 May-26 July) while reverse "
            "repo fell $505bn: net liquidity fell 3.5 % at most in four weeks (92nd-94th percentile)",
        ),
    ),
]

CALM = [
    Stretch("2006", "2006-03-01", "2006-12-27", WATCH, "before the crisis: weekly noise only"),
    Stretch("2013-H2", "2013-07-03", "2013-12-11", WATCH, "QE3 at a steady pace"),
    Stretch("2017", "2017-01-18", "2017-12-13", WATCH, "the flat balance sheet before QT"),
    Stretch("2018-H2", "2018-07-04", "2018-12-12", WATCH, "QT at a steady pace"),
]


@pytest.mark.parametrize(("key", "s"), EPISODES, ids=[f"{k}-{s}" for k, s in EPISODES])
def test_real_history_episodes_are_caught(
    real: tuple[pd.DataFrame, dict[str, pd.DataFrame]], key: str, s: Stretch
) -> None:
    _, lv = real
    got = peak_in(lv[key], s)
    assert got >= s.level, f"{key} {s.name}: {describe(got)}, expected at least {describe(s.level)} ({s.why})"


@pytest.mark.parametrize(("key", "s"), WATCH_ONLY, ids=[f"{k}-{s}" for k, s in WATCH_ONLY])
def test_real_history_heads_up_only(
    real: tuple[pd.DataFrame, dict[str, pd.DataFrame]], key: str, s: Stretch
) -> None:
    _, lv = real
    assert peak_in(lv[key], s) == WATCH, s.why


@pytest.mark.parametrize("s", CALM, ids=str)
def test_real_history_calm_stretches_stay_quiet(
    real: tuple[pd.DataFrame, dict[str, pd.DataFrame]], s: Stretch
) -> None:
    _, lv = real
    for key in nl.KEYS:
        got = peak_in(lv[key], s)
        assert got <= s.level, f"{key} {s.name}: {describe(got)} ({s.why})"


def test_real_history_alerts_name_the_driver(real: tuple[pd.DataFrame, dict[str, pd.DataFrame]]) -> None:
    f, lv = real
    # 2020: severe from the first week of March (repo operations, +$145bn, +3.9 % in a week)
    assert first_fire(lv["injection"], EPISODES[1][1], SEVERE) == pd.Timestamp("2020-03-04", tz="UTC")
    row = f.loc[pd.Timestamp("2020-04-01", tz="UTC")]
    assert row["driver_4w"] == "walcl" and row["chg_4w"] > 1_000_000  # over $1tn added
    may22 = f.loc[pd.Timestamp("2022-05-11", tz="UTC")]
    assert may22["driver_4w"] == "tga" and may22["pct_4w"] < -7
    text = nl.summary(may22, "drain", float(lv["drain"].loc[may22.name, "score"]), 4)
    assert "drained in 4 weeks (-7.3%)" in text
    assert "biggest part: Treasury account (WTREGEN)" in text
    assert "H.4.1 of 2022-05-12 (Wednesday 2022-05-11 levels), RRPONTSYD of 2022-05-11" in text


def test_real_history_alert_rate(real: tuple[pd.DataFrame, dict[str, pd.DataFrame]]) -> None:
    """Drains alert about 1.5 times a year, injections 0.7: weekly data, three horizons."""
    _, lv = real
    assert 1.0 <= per_year(lv["drain"], ALERT) <= 2.0
    assert 0.4 <= per_year(lv["injection"], ALERT) <= 1.2
    assert per_year(lv["drain"], SEVERE) <= 0.6 and per_year(lv["injection"], SEVERE) <= 0.4
    # ranked once three years of weeks exist (156 changes: from 2005-12-14), never before
    first = lv["drain"]["score"].first_valid_index()
    assert first == pd.Timestamp("2005-12-14", tz="UTC")
    assert lv["drain"].loc[: first - pd.Timedelta(days=1), "state"].eq(OK).all()
