from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from signals.base import Level, Reading
from signals.contract import default_params
from signals.sources import cboe
from signals.vix_term import SIGNAL, VIX, VIX3M, VIX9D
from storage.alerts import AlertEvent
from storage.observations import Inputs, Observation, inputs_from_long
from storage.timeutil import day_epoch


def inputs(rows: list[tuple[str, str, float]]) -> Inputs:
    obs = [Observation(s, day_epoch(datetime.fromisoformat(d).date()), v, "cboe") for s, d, v in rows]
    long = pd.DataFrame(
        [(o.series, o.ts, o.value, o.source) for o in obs], columns=["series", "ts", "value", "source"]
    )
    return inputs_from_long(long)


def test_joins_only_dates_with_both_legs() -> None:
    inp = inputs(
        [
            (VIX, "2025-07-03", 16.0),
            (VIX3M, "2025-07-03", 19.0),
            (VIX, "2025-07-04", 17.0),  # holiday row only in the VIX file
            (VIX, "2025-07-07", 18.0),
            (VIX3M, "2025-07-07", 18.0),
        ]
    )
    rs = [r for r in SIGNAL.history(inp, default_params(SIGNAL)) if r.key == "vix3m"]
    assert [r.ts.date().isoformat() for r in rs] == ["2025-07-03", "2025-07-07"]
    assert rs[1].value == 1.0 and rs[1].level == Level.ALERT
    # stamped at the 16:15 ET close
    assert rs[0].ts == datetime(2025, 7, 3, 20, 15, tzinfo=UTC)
    assert "1-day change" in rs[1].fields and rs[1].data["change_1d"] == pytest.approx(1.0 - 16 / 19)


def test_levels_and_hysteresis_from_params() -> None:
    p = default_params(SIGNAL)
    assert SIGNAL.grade("vix3m", 0.94, {}, p) == Level.OK
    assert SIGNAL.grade("vix3m", 0.95, {}, p) == Level.WATCH
    assert SIGNAL.grade("vix3m", 1.0, {}, p) == Level.ALERT
    assert SIGNAL.grade("vix3m", 1.2, {}, p) == Level.SEVERE
    assert SIGNAL.grade("vix9d", 1.5, {}, p) == Level.WATCH  # never above watch
    inp = inputs([(VIX, "2025-01-02", 19.6), (VIX3M, "2025-01-02", 20.0)])
    r = SIGNAL.history(inp, p)[0]
    assert r.level == Level.WATCH and r.hold == Level.ALERT  # 0.98: entry watch, exit still holds alert


def test_summary_has_the_figures_the_issue_asks_for() -> None:
    rows = []
    for i, (v, v3) in enumerate([(15, 18), (20, 21), (25, 23), (30, 25)]):
        d = (datetime(2025, 3, 3) + timedelta(days=i)).date().isoformat()
        rows += [(VIX, d, v), (VIX3M, d, v3), (VIX9D, d, v + 2)]
    rs = [r for r in SIGNAL.history(inputs(rows), default_params(SIGNAL)) if r.key == "vix3m"]
    last = rs[-1]
    assert last.value == pytest.approx(1.2)
    s = last.summary
    assert "VIX/VIX3M 1.200" in s and "VIX 30.00" in s and "VIX3M 25.00" in s
    assert (
        "+0.113 on the day" in s
        and "inverted 2 days so far" in s
        and "a record (the highest) of its history" in s
    )
    fronts = [r for r in SIGNAL.history(inputs(rows), default_params(SIGNAL)) if r.key == "vix9d"]
    assert all(r.level <= Level.WATCH for r in fronts)


def test_validate_catches_inverted_hysteresis() -> None:
    p = default_params(SIGNAL).with_overrides({"alert_exit": 1.05})
    assert any("alert_exit" in m for m in SIGNAL.validate(p))
    p = default_params(SIGNAL).with_overrides({"watch": 1.2})
    assert any("levels must rise" in m for m in SIGNAL.validate(p))
    assert SIGNAL.validate(default_params(SIGNAL)) == []


def test_intraday_readings_after_last_close() -> None:
    daily = inputs([(VIX, "2025-04-03", 30.0), (VIX3M, "2025-04-03", 29.0)])
    base = int(datetime(2025, 4, 4, 14, 0, tzinfo=UTC).timestamp())
    long = pd.concat(
        [
            pd.DataFrame(
                [
                    (s, base + 300 * i, v, "yahoo")
                    for i in range(3)
                    for s, v in (
                        ("yahoo.vix.5m", 40.0 + i),
                        ("yahoo.vix3m.5m", 33.0),
                        ("yahoo.vix9d.5m", 45.0),
                    )
                ],
                columns=["series", "ts", "value", "source"],
            ),
        ]
    )
    wide = daily.values.combine_first(inputs_from_long(long).values)
    inp = Inputs(wide, {})
    rs = [r for r in SIGNAL.history(inp, default_params(SIGNAL)) if r.key == "vix3m"]
    assert len(rs) == 4 and rs[-1].source.startswith("Yahoo")
    assert rs[-1].confirm == 3 and rs[0].confirm == 2
    assert rs[-1].level == Level.SEVERE


def test_staleness_live_rule() -> None:
    inp = inputs([(VIX, "2025-11-19", 20.0), (VIX3M, "2025-11-19", 21.0)])
    r = [x for x in SIGNAL.history(inp, default_params(SIGNAL)) if x.key == "vix3m"][-1]
    # Thursday 2025-11-20 10:00 ET: Wednesday's close is the latest expected
    assert SIGNAL.stale_reason(r, datetime(2025, 11, 20, 15, 0, tzinfo=UTC)) is None
    # Monday morning: Thursday's and Friday's closes are missing
    reason = SIGNAL.stale_reason(r, datetime(2025, 11, 24, 15, 0, tzinfo=UTC))
    assert reason is not None and "2025-11-21 close should be out" in reason


def test_real_history_percentiles_use_no_future(data_dir: Path) -> None:
    rows = []
    for name in ("cboe_vix_daily.csv", "cboe_vix3m_daily.csv"):
        idx = cboe.index_from_filename(Path(name))
        rows += cboe.parse_csv((data_dir / name).read_text(), idx)
    long = pd.DataFrame(
        [(o.series, o.ts, o.value, o.source) for o in rows], columns=["series", "ts", "value", "source"]
    )
    full = SIGNAL.history(inputs_from_long(long), default_params(SIGNAL))
    cut = long[long.ts <= day_epoch(datetime(2018, 2, 6).date())]
    part = SIGNAL.history(inputs_from_long(cut), default_params(SIGNAL))
    a = {(r.key, r.ts): r.data.get("percentile") for r in full}
    b = {(r.key, r.ts): r.data.get("percentile") for r in part}
    assert all(a[k] == v for k, v in b.items())  # no look-ahead


def test_latest_equals_last_of_history(data_dir: Path) -> None:
    rows = []
    for name in ("cboe_vix_daily.csv", "cboe_vix3m_daily.csv", "cboe_vix9d_daily.csv"):
        rows += cboe.parse_csv((data_dir / name).read_text(), cboe.index_from_filename(Path(name)))
    long = pd.DataFrame(
        [(o.series, o.ts, o.value, o.source) for o in rows], columns=["series", "ts", "value", "source"]
    )
    inp = inputs_from_long(long)
    p = default_params(SIGNAL)
    hist = SIGNAL.history(inp, p)
    for now in (
        datetime(2020, 3, 16, 15, 0, tzinfo=UTC),
        datetime(2020, 3, 16, 22, 0, tzinfo=UTC),
        datetime(2024, 8, 5, 23, 0, tzinfo=UTC),
    ):
        expect = {}
        for r in hist:
            if r.ts <= now:
                expect[r.key] = r
        assert SIGNAL.latest(inp, p, now) == [expect["vix3m"], expect["vix9d"]]


def test_percentile_is_floored_and_a_record_only_when_it_is_one(data_dir: Path) -> None:
    """2015-08-25 closed at 1.218 the day after 1.308: the 99.97th percentile is the 99th, not a
    rounded "100th" that readers take for a record; 2015-08-24 (1.308) was the highest so far."""
    rows = []
    for name in ("cboe_vix_daily.csv", "cboe_vix3m_daily.csv"):
        rows += cboe.parse_csv((data_dir / name).read_text(), cboe.index_from_filename(Path(name)))
    long = pd.DataFrame(
        [(o.series, o.ts, o.value, o.source) for o in rows], columns=["series", "ts", "value", "source"]
    )
    rs = {
        r.ts.date().isoformat(): r
        for r in SIGNAL.history(inputs_from_long(long), default_params(SIGNAL))
        if r.key == "vix3m"
    }

    def event(r: Reading) -> AlertEvent:
        return AlertEvent(
            signal=r.signal,
            key=r.key,
            event="escalated",
            level="severe",
            prev_level="alert",
            ts=int(r.ts.timestamp()),
            summary=r.summary,
            value=r.value,
            data=dict(r.data),
            source=r.source,
        )

    for day in ("2015-08-25", "2018-02-07", "2025-04-08", "2020-02-25"):
        r = rs[day]
        assert 99.0 <= r.data["percentile"] < 100.0, day
        assert "99th percentile" in r.summary and "100th" not in r.summary, day
        text = SIGNAL.present(event(r), str)
        assert text is not None and text.fields["Percentile"] == "99th of its history", day
    rec = rs["2015-08-24"]
    assert rec.data["percentile"] == 100.0
    assert "a record (the highest) of its history" in rec.summary
    shown = SIGNAL.present(event(rec), str)
    assert shown is not None and shown.fields["Percentile"] == "a record: the highest of its history"
