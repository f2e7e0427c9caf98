from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from bot.replay import run_replay
from signals.base import Level, Reading
from signals.contract import default_params
from signals.ratecut import SIGNAL
from signals.sources._fomc_odds import parse_nochange_csv
from storage import observations as obs_repo
from storage.observations import Inputs, Observation, inputs_from_long

T0 = datetime(2026, 11, 2, tzinfo=UTC)  # the next two meetings: 2026-12-09 and 2027-01-27
DEC, JAN, MAR = "2026-12-09", "2027-01-27", "2027-03-17"
P = default_params(SIGNAL)


def path(
    venue: str,
    meeting: str,
    values: Sequence[float],
    start: datetime = T0,
    step: timedelta = timedelta(minutes=30),
) -> list[Observation]:
    return [
        Observation(f"{venue}.fomc.{meeting}.cut", int((start + i * step).timestamp()), round(v, 6), venue)
        for i, v in enumerate(values)
    ]


def both(meeting: str, values: Sequence[float], **kw: Any) -> list[Observation]:
    return path("kalshi", meeting, values, **kw) + path("polymarket", meeting, values, **kw)


def inputs(rows: list[Observation]) -> Inputs:
    long = pd.DataFrame(
        [(o.series, o.ts, o.value, o.source) for o in rows], columns=["series", "ts", "value", "source"]
    )
    return inputs_from_long(long.sort_values("ts"))


def ramp(a: float, b: float, n: int) -> list[float]:
    return [a + (b - a) * i / (n - 1) for i in range(n)]


def kind(rs: list[Reading], k: str, meeting: str = DEC) -> list[Reading]:
    return [r for r in rs if r.key == f"{meeting}.{k}"]


@pytest.mark.parametrize(
    ("drop", "level"), [(0.06, Level.OK), (0.08, Level.WATCH), (0.16, Level.ALERT), (0.31, Level.SEVERE)]
)
def test_swing_levels_are_multiples_of_the_swing_size(drop: float, level: Level) -> None:
    values = [0.60] * 48 + ramp(0.60, 0.60 - drop, 24) + [0.60 - drop] * 48  # the drop takes 12 h
    rs = kind(SIGNAL.history(inputs(both(DEC, values)), P), "swing")
    assert max(r.level for r in rs) == level
    top = max(rs, key=lambda r: r.value)
    assert top.value == pytest.approx(drop / 0.15, abs=0.02)  # the 24 h window (15 pp) decides
    if level >= Level.WATCH:
        assert f"-{drop * 100:.0f} pp within 24 h" in top.summary


def test_the_short_window_catches_a_sudden_move() -> None:
    values = [0.40] * 10 + [0.51] * 10  # +11 pp in 30 minutes: above 10 pp within 1 h
    r = max(kind(SIGNAL.history(inputs(both(DEC, values)), P), "swing"), key=lambda r: r.value)
    assert r.level == Level.ALERT and "within 1 h" in r.summary
    assert r.data["window_s"] == 3600


def test_every_reading_names_the_meeting_venues_lags_source_and_as_of() -> None:
    values = [0.50] * (24 * 2 * 8) + ramp(0.50, 0.30, 10)  # 8 days, then a fall
    rs = kind(SIGNAL.history(inputs(both(DEC, values)), P), "swing")
    s = rs[-1].summary
    assert s.startswith(
        "FOMC Dec 9, 2026: P(cut) 30% on Kalshi, -20 pp within 24 h (1.3× the 15 pp swing size)"
    )
    assert (
        "P(cut) now vs 1 h / 1 d / 1 w ago: Kalshi 30% (34% / 50% / 50%); Polymarket 30% (34% / 50% / 50%)"
        in s
    )
    assert s.endswith(f"Source Kalshi, as of {rs[-1].ts:%Y-%m-%d %H:%M} UTC")
    assert set(rs[-1].fields) >= {"Meeting", "Kalshi", "Polymarket", "Source", "As of", "Move"}


def test_the_other_venue_must_confirm_or_the_level_stays_at_watch() -> None:
    k = path("kalshi", DEC, [0.60] * 48 + ramp(0.60, 0.40, 24) + [0.40] * 10)
    p = path("polymarket", DEC, [0.60] * 82)
    rs = kind(SIGNAL.history(inputs(k + p), P), "swing")
    top = max(rs, key=lambda r: r.value)
    assert top.value > 1.3 and top.level == Level.WATCH
    assert "Polymarket 0 pp (not confirmed: held at watch)" in top.summary


def test_polymarket_is_the_fallback_when_kalshi_has_no_fresh_quote() -> None:
    k = path("kalshi", DEC, [0.60] * 48)  # stops after 24 h
    p = path("polymarket", DEC, [0.60] * 48 + ramp(0.60, 0.40, 24))
    rs = kind(SIGNAL.history(inputs(k + p), P), "swing")
    last = rs[-1]
    assert last.data["primary"] == "polymarket" and last.level == Level.ALERT
    assert "on Polymarket" in last.summary and "Kalshi 60% (stale)" in last.summary
    assert last.source == "Polymarket"


def test_a_meeting_missing_from_one_venue_runs_on_the_other() -> None:
    rows = both(DEC, [0.5] * 60) + path(
        "kalshi", JAN, [0.60] * 40 + ramp(0.60, 0.42, 20)
    )  # no Polymarket market
    rs = SIGNAL.history(inputs(rows), P)
    jan_swing = kind(rs, "swing", JAN)[-1]
    assert jan_swing.level == Level.ALERT and "Polymarket" not in jan_swing.summary  # nothing to confirm with
    jan_div = kind(rs, "divergence", JAN)[-1]
    assert jan_div.value == 0.0 and "only Kalshi has a fresh quote; nothing to compare" in jan_div.summary
    assert kind(rs, "swing", DEC)[-1].level == Level.OK


def test_a_whipsaw_is_severe_and_called_out() -> None:
    hourly = timedelta(hours=1)
    values = [0.80] * 12 + ramp(0.80, 0.60, 25) + ramp(0.60, 0.78, 11) + [0.78] * 5
    rs = kind(SIGNAL.history(inputs(both(DEC, values, step=hourly)), P), "swing")
    assert max(r.value for r in rs if not r.data.get("whipsaw")) < 2.0  # no single move is severe
    w = next(r for r in rs if r.data.get("whipsaw"))
    assert w.level == Level.SEVERE
    # called out as soon as the reversal reaches a swing (15 pp) and 60 % of the first leg
    assert "WHIPSAW: P(cut) 80% → 60% → 76% on Kalshi within 1.9 days (-20 pp then +16 pp)" in w.summary
    assert w.value == pytest.approx((0.20 + 0.162) / 0.15, abs=0.01)  # the whipsaw's total travel


def test_swing_episode_holds_its_peak_until_the_moves_leave_the_windows() -> None:
    values = [0.60] * 48 + ramp(0.60, 0.40, 24) + [0.40] * (2 * 80)
    rs = kind(SIGNAL.history(inputs(both(DEC, values)), P), "swing")
    alert_at = next(i for i, r in enumerate(rs) if r.level == Level.ALERT)
    after = rs[alert_at:]
    # the level falls as the window slides, the hold keeps alert until the 72 h window clears
    assert any(r.level < Level.ALERT and r.hold == Level.ALERT for r in after)
    assert after[-1].hold == Level.OK and after[-1].level == Level.OK


def test_flip_has_hysteresis_and_a_flip_back_is_severe() -> None:
    wobble = [0.46, 0.52, 0.48, 0.54, 0.47, 0.53] * 4  # around 50 %, never past 55 / 45
    values = [0.40] * 4 + wobble + [0.56, 0.50] + [0.57] * 6 + [0.42] * 4
    rs = kind(SIGNAL.history(inputs(both(DEC, values, step=timedelta(hours=1))), P), "flip")
    flips = [
        (r.ts - T0) / timedelta(hours=1)
        for r in rs
        if r.data.get("last_flip") and r.ts.timestamp() == r.data["last_flip"]
    ]
    assert flips == [31.0, 37.0]  # each on the second reading past the band: 57 %, then 42 %
    up = rs[31]
    assert (
        up.level == Level.ALERT
        and up.value == 1
        and "the market now expects a cut (P(cut) 57%)" in up.summary
    )
    back = rs[37]
    assert back.level == Level.SEVERE and back.value == 2 and "flip 2 within 24 h" in back.summary
    assert all(r.level == Level.OK for r in rs[:31])


def test_flip_alert_lasts_flip_hours() -> None:
    values = [0.40] * 4 + [0.60] * 30
    rs = kind(SIGNAL.history(inputs(both(DEC, values, step=timedelta(hours=1))), P), "flip")
    levels = [r.level for r in rs]
    assert levels[5] == Level.ALERT and levels[5 + 23] == Level.ALERT and levels[5 + 24] == Level.OK


def test_divergence_must_last_30_minutes() -> None:
    step = timedelta(minutes=10)
    k = path("kalshi", DEC, [0.60] * 12, step=step)
    p = path(
        "polymarket", DEC, [0.60, 0.48, 0.48, 0.48, 0.48, 0.34, 0.34, 0.34, 0.52, 0.52, 0.56, 0.56], step=step
    )
    rs = kind(SIGNAL.history(inputs(k + p), P), "divergence")
    assert [int(r.level) for r in rs] == [0, 1, 1, 1, 2, 3, 3, 3, 0, 0, 0, 0]
    assert [int(r.hold) for r in rs] == [0, 2, 2, 2, 2, 3, 3, 3, 2, 2, 0, 0]
    assert "Kalshi 60% vs Polymarket 48%: 12 pp apart for 30 min" in rs[4].summary
    assert rs[4].value == pytest.approx(12.0)


def test_fedwatch_counts_at_its_settlement_time_and_joins_the_divergence() -> None:
    # a ZQ point for 2026-11-05 is stamped 00:00 UTC and settles 14:00 Chicago (20:00 UTC)
    fw = [
        Observation(
            f"fedwatch.fomc.{DEC}.cut",
            int(datetime(2026, 11, 5, tzinfo=UTC).timestamp()),
            0.30,
            "fedwatch-zq",
        )
    ]
    start = datetime(2026, 11, 5, 18, 0, tzinfo=UTC)
    step = timedelta(minutes=10)
    rows = both(DEC, [0.50] * 24, start=start, step=step) + fw
    rs = kind(SIGNAL.history(inputs(rows), P), "divergence")
    by_t = {r.ts: r for r in rs}
    settle = datetime(2026, 11, 5, 20, 0, tzinfo=UTC)
    assert by_t[settle].value == pytest.approx(20.0) and by_t[settle].data["pair"] == "kalshi>fedwatch"
    assert by_t[settle + timedelta(minutes=30)].level == Level.SEVERE  # 20 pp for 30 min
    assert by_t[settle + timedelta(minutes=40)].value == 0.0  # the settlement counts for 30 min
    assert by_t[settle - timedelta(minutes=10)].value == 0.0  # and never before it settles
    swing = {r.ts: r for r in kind(SIGNAL.history(inputs(rows), P), "swing")}
    assert "FedWatch 30% on 11-05" in swing[settle].summary


def test_an_imported_fedwatch_history_alone_still_alerts() -> None:
    days = [datetime(2026, 11, d, tzinfo=UTC) for d in (2, 3, 4, 5, 6, 9, 10)]
    values = [0.60, 0.61, 0.60, 0.40, 0.41, 0.40, 0.40]  # -20 pp from one settlement to the next
    rows = [
        Observation(f"fedwatch.fomc.{DEC}.cut", int(d.timestamp()), v, "fedwatch-zq")
        for d, v in zip(days, values, strict=True)
    ]
    rs = kind(SIGNAL.history(inputs(rows), P), "swing")
    assert [r.ts.hour for r in rs] == [20] * 7  # 14:00 Chicago
    hit = rs[3]
    assert hit.level == Level.ALERT and hit.data["primary"] == "fedwatch"
    assert "-20 pp within 24 h" in hit.summary and "Source FedWatch method on ZQ settlements" in hit.summary
    assert SIGNAL.stale_reason(hit, datetime(2026, 11, 20, tzinfo=UTC)) is None  # an import never goes stale


def test_only_the_next_two_meetings_and_a_closing_reading_at_the_statement() -> None:
    start = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
    hourly = timedelta(hours=1)
    rows = both(DEC, [0.2] * 48, start=start, step=hourly)
    rows += both(JAN, [0.4] * 48, start=start, step=hourly) + both(MAR, [0.5] * 48, start=start, step=hourly)
    rs = SIGNAL.history(inputs(rows), P)
    statement = datetime(2026, 12, 9, 19, 0, tzinfo=UTC)
    before = {r.key.split(".")[0] for r in rs if r.ts < statement}
    after = {r.key.split(".")[0] for r in rs if r.ts > statement}
    assert before == {DEC, JAN} and after == {JAN, MAR}
    closing = [r for r in rs if r.ts == statement and r.key.startswith(DEC)]
    assert sorted(r.key for r in closing) == [
        f"{DEC}.divergence",
        f"{DEC}.flip",
        f"{DEC}.size",
        f"{DEC}.swing",
    ]
    assert all(r.level == Level.OK and r.data["closed"] for r in closing)
    assert "markets closed at the 19:00 UTC statement" in closing[0].summary
    # quotes stamped after the statement are not the meeting's any more
    assert not [r for r in rs if r.key.startswith(DEC) and r.ts > statement]


def test_closing_reading_resolves_an_open_alert(db: Any) -> None:
    start = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
    hourly = timedelta(hours=1)
    values = [0.20] * 20 + [0.45] * 28  # +25 pp at 08:00 on decision day
    obs_repo.upsert(
        db, both(DEC, values, start=start, step=hourly) + both(JAN, [0.4] * 48, start=start, step=hourly)
    )
    res = run_replay(db, [SIGNAL], {SIGNAL.id: P}, resume=False)
    dec_swing = [(e.event, e.level, e.ts) for e in res.events if e.key == f"{DEC}.swing"]
    assert dec_swing[0][:2] == ("fired", "alert")  # confirmed on the second reading: 25 pp in 24 h
    assert dec_swing[-1] == ("resolved", "ok", int(datetime(2026, 12, 9, 19, 0, tzinfo=UTC).timestamp()))


def test_live_latest_reports_the_next_two_meetings_and_just_closed_ones() -> None:
    start = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
    rows = both(DEC, [0.2] * 30, start=start, step=timedelta(hours=1))
    rows += both(JAN, [0.4] * 30, start=start, step=timedelta(hours=1))
    inp = inputs(rows)
    now = datetime(2026, 12, 9, 12, 0, tzinfo=UTC)
    keys = [r.key for r in SIGNAL.latest(inp, P, now)]
    assert keys == [f"{m}.{k}" for m in (DEC, JAN) for k in ("swing", "flip", "divergence")]
    later = SIGNAL.latest(inp, P, datetime(2026, 12, 9, 19, 5, tzinfo=UTC))
    assert [r.key for r in later if r.data.get("closed")] == [
        f"{DEC}.{k}" for k in ("swing", "flip", "divergence", "size")
    ]
    assert SIGNAL.keys_at(now) == {f"{DEC}.swing": "FOMC Dec 9, 2026", f"{JAN}.swing": "FOMC Jan 27, 2027"}


def test_stale_rules_are_live_only() -> None:
    k = path("kalshi", DEC, [0.5] * 10)
    p = path("polymarket", DEC, [0.5] * 14)  # Polymarket two hours longer
    inp = inputs(k + p)
    last_k = T0 + timedelta(minutes=30 * 9)
    last_p = T0 + timedelta(minutes=30 * 13)
    rs = SIGNAL.latest(inp, P, last_p + timedelta(minutes=5))
    swing = rs[0]
    assert swing.data["primary"] == "polymarket"  # Kalshi's quote is too old to use
    assert SIGNAL.stale_reason(swing, last_p + timedelta(minutes=5)) is None
    notices = SIGNAL.source_notices(rs, last_p + timedelta(minutes=5))
    assert notices["polymarket"] is None
    assert notices["kalshi"] == f"no fresh Kalshi quote for 125 min (last at {last_k:%Y-%m-%d %H:%M} UTC)"
    reason = SIGNAL.stale_reason(swing, last_p + timedelta(minutes=31))
    assert (
        reason is not None
        and "no Kalshi or Polymarket quote for the FOMC Dec 9, 2026 meeting for 31 min" in reason
    )
    # once the meeting is decided nothing about it is stale
    assert SIGNAL.stale_reason(swing, datetime(2026, 12, 9, 19, 1, tzinfo=UTC)) is None
    # replay is event-driven: readings come from data time only, with no clock to go stale against
    assert [r.ts for r in kind(SIGNAL.history(inp, P), "swing")][-1] == last_p


def test_no_look_ahead() -> None:
    values = [0.5] * 20 + ramp(0.5, 0.2, 30) + ramp(0.2, 0.6, 20) + [0.6] * 30
    rows = both(DEC, values)
    full = SIGNAL.history(inputs(rows), P)
    cut = T0 + timedelta(minutes=30 * 55)
    part = SIGNAL.history(inputs([o for o in rows if o.ts <= cut.timestamp()]), P)
    a = {(r.key, r.ts): (r.value, r.level, r.hold, r.summary) for r in full if r.ts <= cut}
    b = {(r.key, r.ts): (r.value, r.level, r.hold, r.summary) for r in part}
    assert a == b


def test_validate_classify_and_labels() -> None:
    assert SIGNAL.validate(P) == []
    assert any(
        "windows must grow" in m
        for m in SIGNAL.validate(P.with_overrides({"short_hours": 12, "swing_hours": 6}))
    )
    assert any("ratios must rise" in m for m in SIGNAL.validate(P.with_overrides({"exit_ratio": 0.6})))
    assert any("diverge_exit_pp" in m for m in SIGNAL.validate(P.with_overrides({"diverge_exit_pp": 12})))
    assert SIGNAL.grade(f"{DEC}.swing", 0.49, {}, P) == Level.OK
    assert SIGNAL.grade(f"{DEC}.swing", 0.5, {}, P) == Level.WATCH
    assert SIGNAL.grade(f"{DEC}.swing", 1.2, {}, P) == Level.ALERT
    assert SIGNAL.grade(f"{DEC}.swing", 2.0, {}, P) == Level.SEVERE
    # the figures the level was made from: the other venue did not confirm it, a whipsaw
    assert SIGNAL.grade(f"{DEC}.swing", 1.2, {"multiple": 1.2, "confirmed": False}, P) == Level.WATCH
    assert SIGNAL.grade(f"{DEC}.swing", 1.2, {"multiple": 1.2, "whipsaw": [0.8, 0.3, 0.8]}, P) == Level.SEVERE
    # a divergence counts once it has lasted diverge_minutes
    assert SIGNAL.grade(f"{DEC}.divergence", 21, {"gap": 0.21, "gap_for_s": 3600}, P) == Level.SEVERE
    assert SIGNAL.grade(f"{DEC}.divergence", 21, {"gap": 0.21, "gap_for_s": 600}, P) == Level.WATCH
    assert SIGNAL.grade(f"{DEC}.flip", 1, {}, P) == Level.ALERT
    assert SIGNAL.key_label(f"{DEC}.divergence") == "FOMC Dec 9, 2026 · venue divergence"
    assert SIGNAL.rules(P).cooldown_s == 6 * 3600


def test_demo_has_a_whipsaw_and_a_divergence() -> None:
    rows = SIGNAL.demo(datetime(2026, 1, 5, tzinfo=UTC)).observations
    rs = SIGNAL.history(inputs(rows), P)
    assert any(r.data.get("whipsaw") and r.level == Level.SEVERE for r in rs)
    assert any(r.key.endswith(".divergence") and r.level == Level.ALERT for r in rs)
    # the odds of 50 bp rather than 25 for March go 10 % -> 55 %: a size repricing, not a swing
    assert any(
        r.key == "2026-03-18.size" and r.level >= Level.ALERT and "50 bp or more" in r.summary for r in rs
    )
    assert {r.key.split(".")[0] for r in rs} >= {"2026-01-28", "2026-03-18", "2026-04-29"}


DEC2025_EVENTS = [
    ("2025-11-18T17:32", "2025-12-10.swing", "fired", "watch"),
    ("2025-11-19T18:30", "2025-12-10.swing", "escalated", "alert"),
    ("2025-11-21T13:30", "2025-12-10.flip", "fired", "alert"),
    ("2025-11-21T13:30", "2025-12-10.swing", "escalated", "severe"),
    ("2025-11-22T13:33", "2025-12-10.flip", "resolved", "ok"),
    ("2025-11-24T13:00", "2025-12-10.swing", "resolved", "ok"),
    ("2025-11-24T19:30", "2025-12-10.swing", "fired", "watch"),
    ("2025-11-24T20:58", "2025-12-10.swing", "escalated", "alert"),
    ("2025-11-27T18:30", "2025-12-10.swing", "resolved", "ok"),
]


def test_replay_of_the_real_december_2025_odds(db: Any, data_dir: Path) -> None:
    """The late-November 2025 repricing: swing alerts, a whipsaw, one flip; no dozens of events."""
    text = (data_dir / "fed_dec2025_nochange_polymarket_kalshi_30min.csv").read_text()
    for venue in ("kalshi", "polymarket"):
        _, rows = parse_nochange_csv(text, venue, now=datetime.now(UTC))
        obs_repo.upsert(db, rows)
    res = run_replay(db, [SIGNAL], {SIGNAL.id: P}, resume=False)
    got = [
        (datetime.fromtimestamp(e.ts, UTC).strftime("%Y-%m-%dT%H:%M"), e.key, e.event, e.level)
        for e in res.events
    ]
    assert got == DEC2025_EVENTS
    whipsaw = next(e for e in res.events if e.level == "severe")
    assert "WHIPSAW: P(cut) 55% → 24% → 64% on Kalshi" in whipsaw.summary
    assert "P(cut) = 1 − P(hold)" in whipsaw.summary  # the derived-cut caveat travels with the alert


def test_a_whipsaw_is_checked_on_the_other_venues_second_leg() -> None:
    """The window's last move can be the tail of the reversal: the other venue confirms the
    whipsaw when it moved at least half of the second leg the same way since the turn."""
    hourly = timedelta(hours=1)
    values = [0.80] * 12 + ramp(0.80, 0.60, 25) + ramp(0.60, 0.78, 11) + [0.78] * 5
    follows = [0.80] * 12 + ramp(0.80, 0.60, 25) + ramp(0.60, 0.70, 11) + [0.70] * 5  # half of it
    rows = path("kalshi", DEC, values, step=hourly) + path("polymarket", DEC, follows, step=hourly)
    rs = kind(SIGNAL.history(inputs(rows), P), "swing")
    w = next(r for r in rs if r.data.get("whipsaw"))
    assert w.level == Level.SEVERE
    flat = [0.80] * 12 + ramp(0.80, 0.60, 25) + [0.60] * 16  # Polymarket never turned
    rows = path("kalshi", DEC, values, step=hourly) + path("polymarket", DEC, flat, step=hourly)
    rs = kind(SIGNAL.history(inputs(rows), P), "swing")
    assert not any(r.data.get("whipsaw") for r in rs)
    assert max(r.level for r in rs[40:]) <= Level.WATCH


def test_a_replaced_meeting_closes_at_the_decision_that_replaced_it() -> None:
    """2020-03-18 was replaced by the Sunday 2020-03-15 decision: its keys close at 21:00 UTC then."""
    start = datetime(2020, 3, 13, tzinfo=UTC)
    rows = both("2020-03-18", [0.9] * 200, start=start, step=timedelta(minutes=30))
    rs = SIGNAL.history(inputs(rows), P)
    closing = [r for r in rs if r.data.get("closed")]
    assert closing and {r.ts for r in closing} == {datetime(2020, 3, 15, 21, 0, tzinfo=UTC)}
    assert max(r.ts for r in rs) == datetime(2020, 3, 15, 21, 0, tzinfo=UTC)


def test_live_catch_up_builds_the_same_readings_as_the_history() -> None:
    values = [0.5] * 20 + ramp(0.5, 0.2, 30) + ramp(0.2, 0.6, 20) + [0.6] * 30
    inp = inputs(both(DEC, values) + both(JAN, [0.4] * 100))
    full = SIGNAL.history(inp, P)
    after, now = T0 + timedelta(minutes=30 * 40), T0 + timedelta(minutes=30 * 60)

    def key(rs: list[Reading]) -> list[tuple[Any, ...]]:
        return [(r.key, r.ts, r.value, r.level, r.hold, r.summary) for r in rs]

    assert key(SIGNAL.readings_since(inp, P, after, now)) == key([r for r in full if after < r.ts <= now])
    first = SIGNAL.readings_since(inp, P, None, now, warmup=5)
    assert {r.key for r in first} == {f"{m}.{k}" for m in (DEC, JAN) for k in ("swing", "flip", "divergence")}
    assert all(sum(1 for r in first if r.key == k) == 5 for k in {r.key for r in first})
