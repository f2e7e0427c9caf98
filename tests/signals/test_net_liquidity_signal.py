"""net_liquidity as a signal: readings stamped at the H.4.1 release, the value is the percentile
that ``grade`` grades, the alert texts name the releases and the biggest part, the demo fires,
the chart shows the alerts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.alert_text import present, utc_stamp
from bot.replay import ReplayResult, run_replay
from signals import get_signal
from signals.base import Level
from signals.contract import alert_chart_days_of, chart_of, default_params
from storage import batches
from storage.db import open_db
from storage.observations import Inputs, Observation, load_inputs
from storage.timeutil import NEW_YORK, day_epoch

SIG = get_signal("net_liquidity")
START = datetime(2026, 1, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Inputs, ReplayResult]:
    db = open_db(tmp_path_factory.mktemp("nl") / "demo.db")
    batches.write(db, SIG.demo(START).batch(), live=False)
    res = run_replay(db, [SIG], {SIG.id: default_params(SIG)}, START, None, resume=False)
    inputs = load_inputs(db, SIG.inputs)
    db.close()
    return inputs, res


def _inputs(db: Any) -> Inputs:
    return load_inputs(db, SIG.inputs)


def test_readings_are_stamped_at_the_release_and_graded_by_their_value(
    demo: tuple[Inputs, ReplayResult],
) -> None:
    params = default_params(SIG)
    rs = SIG.history(demo[0], params)
    assert rs and {r.key for r in rs} == {"drain", "injection"}
    guild = params.with_overrides({"watch": 80, "alert": 90, "severe": 99})
    for r in rs:
        local = r.ts.astimezone(NEW_YORK)
        assert (local.hour, local.minute) == (16, 30) and local.weekday() in (3, 4), r.ts
        assert r.data["release"] == local.date().isoformat()
        assert 0.0 <= r.value <= 100.0 and r.unit == "pctl"
        assert SIG.grade(r.key, r.value, r.data, params) == r.level  # the contract: value -> level
        want = Level(sum(r.value >= t for t in (80, 90, 99)))
        assert SIG.grade(r.key, r.value, r.data, guild) == want
    # three years of weeks before the first ranked reading
    assert rs[0].ts.year == 2025


def test_a_missing_reverse_repo_wednesday_gives_no_reading_never_a_zero(db: Any) -> None:
    obs = []
    for week in range(170):
        ts = day_epoch(datetime(2021, 1, 6, tzinfo=UTC).date()) + week * 7 * 86400
        obs += [Observation("fred.walcl", ts, 7_000_000.0 + week * 1000, "fred"),
                Observation("fred.wtregen", ts, 700_000.0 + (week % 3) * 5000, "fred")]  # fmt: skip
        if week != 165:  # that Wednesday's reverse repo figure never came (nor the days before)
            obs.append(Observation("fred.rrpontsyd", ts, 500.0 + (week % 5), "fred"))
    batches.write(db, batches.Batch(tuple(obs)), live=False)
    rs = SIG.history(_inputs(db), default_params(SIG))
    weds = {r.data["wednesday"] for r in rs}
    gap = datetime.fromtimestamp(day_epoch(datetime(2021, 1, 6, tzinfo=UTC).date()) + 165 * 7 * 86400, UTC)
    assert gap.date().isoformat() not in weds and len(weds) > 5


def test_thresholds_must_rise_and_exits_stay_below() -> None:
    params = default_params(SIG)
    assert SIG.validate(params) == []  # type: ignore[attr-defined]
    bad = params.with_overrides({"alert_exit": 98, "severe": 96})
    problems = " ".join(SIG.validate(bad))  # type: ignore[attr-defined]
    assert "alert_exit (98) must be below alert (97.5)" in problems and "levels must rise" in problems
    assert [p.name for p in SIG.params if p.guild] == ["watch", "alert", "severe"]


def test_the_demo_drains_on_the_treasury_account_and_injects_on_fed_lending(
    demo: tuple[Inputs, ReplayResult],
) -> None:
    res = demo[1]
    top: dict[str, Any] = {}
    for e in res.events:
        if e.event in ("fired", "escalated") and (e.key not in top or e.value > top[e.key].value):
            top[e.key] = e
    drain, inj = top["drain"], top["injection"]
    assert drain.level == "severe" and drain.data["driver"] == "tga"
    assert inj.level == "severe" and inj.data["driver"] == "walcl"
    text = present(drain, utc_stamp)
    assert text.title.startswith("Severe: Net liquidity $") and "drained" in text.title
    assert "Biggest part: Treasury account (WTREGEN)" in text.first_line
    assert (
        f"From the H.4.1 of {drain.data['release']}" in text.first_line and "RRPONTSYD of" in text.first_line
    )
    assert "Figures" not in text.fields  # the first line has them; a resolve's fields do
    resolved = next(e for e in res.events if e.event == "resolved" and e.key == "injection")
    assert "H.4.1 of" in present(resolved, utc_stamp).fields["Figures"]


def test_the_chart_shows_net_liquidity_its_parts_and_each_key(demo: tuple[Inputs, ReplayResult]) -> None:
    marks = [(datetime.fromtimestamp(e.ts, UTC), e.level, e.key) for e in demo[1].events]
    data = chart_of(SIG, demo[0], default_params(SIG), datetime(2026, 8, 1, tzinfo=UTC), 400, marks)
    assert [p.ylabel for p in data.panels] == ["net liquidity ($T)", "parts, change ($B)", "drain (pctl)", "injection (pctl)"]  # fmt: skip
    assert len(data.panels[0].marks) == len(marks)  # every alert on the net liquidity line
    assert data.panels[2].thresholds == {"watch": 90.0, "alert": 97.5, "severe": 99.5}
    assert not data.empty and data.as_of is not None
    assert alert_chart_days_of(SIG) == 730  # an alert's chart: two years of weeks


def test_no_data_no_readings_no_crash(db: Any) -> None:
    inputs = _inputs(db)
    assert SIG.history(inputs, default_params(SIG)) == []
    assert chart_of(SIG, inputs, default_params(SIG), START, 365).empty
