"""credit as a signal: readings stamped when FRED has the figure, the value is the percentile that
``grade`` grades (``curve`` watch only), the alert texts, the demo fires, the chart."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.alert_text import present, utc_stamp
from bot.replay import ReplayResult, run_replay
from signals import get_signal
from signals.base import Level
from signals.contract import chart_of, default_params
from storage import batches
from storage.db import open_db
from storage.observations import Inputs, load_inputs
from storage.timeutil import NEW_YORK

SIG = get_signal("credit")
START = datetime(2026, 1, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Inputs, ReplayResult]:
    db = open_db(tmp_path_factory.mktemp("credit") / "demo.db")
    batches.write(db, SIG.demo(START).batch(), live=False)
    res = run_replay(db, [SIG], {SIG.id: default_params(SIG)}, START, None, resume=False)
    inputs = load_inputs(db, SIG.inputs)
    db.close()
    return inputs, res


def test_readings_come_when_fred_has_the_figure_and_grade_by_value(demo: tuple[Inputs, ReplayResult]) -> None:
    params = default_params(SIG)
    rs = SIG.history(demo[0], params)
    assert {r.key for r in rs} == {"hy", "curve"}
    guild = params.with_overrides({"watch": 80, "alert": 95, "severe": 99, "curve_watch": 90})
    for r in rs:
        local = r.ts.astimezone(NEW_YORK)
        day = datetime.fromisoformat(str(r.data["date"])).date()
        assert (local.hour, local.minute) == ((10, 0) if r.key == "hy" else (16, 30))
        assert local.date() > day and local.weekday() < 5
        assert SIG.grade(r.key, r.value, r.data, params) == r.level
        lines = (90,) if r.key == "curve" else (80, 95, 99)
        assert SIG.grade(r.key, r.value, r.data, guild) == Level(sum(r.value >= t for t in lines))
        assert r.key == "hy" or r.level <= Level.WATCH  # the curve never pings


def test_thresholds_validated() -> None:
    params = default_params(SIG)
    assert SIG.validate(params) == []  # type: ignore[attr-defined]
    problems = " ".join(SIG.validate(params.with_overrides({"curve_watch_exit": 98})))  # type: ignore[attr-defined]
    assert "curve_watch_exit (98) must be below curve_watch (97.5)" in problems
    assert [p.name for p in SIG.params if p.guild] == ["watch", "alert", "severe", "curve_watch"]


def test_the_demo_scare_alerts_and_the_curve_gives_a_heads_up(demo: tuple[Inputs, ReplayResult]) -> None:
    events = demo[1].events
    hy = [e for e in events if e.key == "hy" and e.event in ("fired", "escalated")]
    assert any(e.level == "severe" for e in hy)
    first_alert = next(e for e in hy if e.level in ("alert", "severe"))
    text = present(first_alert, utc_stamp)
    assert text.title.startswith(("Alert: High-yield spread +", "Severe: High-yield spread +"))
    assert "bp in" in text.title and f"OAS of {first_alert.data['date']} via FRED" in text.first_line
    curve = [e for e in events if e.key == "curve"]
    assert curve and {e.level for e in curve} <= {"watch", "ok"}
    ct = present(curve[0], utc_stamp)
    assert ct.title.startswith("Heads-up: 2s10s +") and "2-year" in ct.first_line


def test_the_chart_shows_the_spread_its_percentile_and_the_curve(demo: tuple[Inputs, ReplayResult]) -> None:
    marks = [(datetime.fromtimestamp(e.ts, UTC), e.level, e.key) for e in demo[1].events]
    data = chart_of(SIG, demo[0], default_params(SIG), datetime(2026, 8, 1, tzinfo=UTC), 365, marks)
    assert [p.ylabel for p in data.panels] == ["high-yield OAS (bp)", "widening (pctl)", "2s10s (bp)"]
    assert len(data.panels[0].marks) == sum(1 for m in marks if m[2] == "hy")
    assert len(data.panels[2].marks) == sum(1 for m in marks if m[2] == "curve")
    assert data.panels[1].thresholds == {"watch": 90.0, "alert": 97.5, "severe": 99.5}


def test_no_data_no_readings_no_crash(db: Any) -> None:
    inputs = load_inputs(db, SIG.inputs)
    assert SIG.history(inputs, default_params(SIG)) == []
    assert chart_of(SIG, inputs, default_params(SIG), START, 365).empty
