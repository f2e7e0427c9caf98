"""CME's FedWatch method: the worked examples, the anchors, and exact recovery of known paths."""

from __future__ import annotations

import calendar
import json
import random
from datetime import date, timedelta
from typing import Any

import pytest

from signals import fomc
from signals.sources import _fedwatch_method as fw
from signals.sources.fedwatch import known_decisions
from tests.conftest import fixture_text

TRADE_DATES = {0: date(2015, 8, 14), 1: date(2022, 9, 12), 2: date(2026, 11, 20)}


def _month(text: str) -> tuple[int, int]:
    y, m = text.split("-")
    return int(y), int(m)


def _rounded(d: dict[Any, float]) -> dict[str, float]:
    return {str(k): round(v, 4) for k, v in d.items()}


@pytest.mark.parametrize("case", [0, 1, 2])
def test_reproduces_the_cme_worked_examples(case: int) -> None:
    spec = json.loads(fixture_text("fedwatch/test_vectors.json"))["cases"][case]
    inputs, expected = spec["inputs"], spec["expected"]
    prices = {_month(c["month"]): c["price"] for c in inputs["contracts"]}
    decisions = [date(*_month(c["month"]), c["decision_day"]) for c in inputs["contracts"] if c["has_fomc"]]
    got = fw.fedwatch(prices, decisions, TRADE_DATES[case], target=tuple(inputs["current_target_range"]))
    wanted = expected.get("meetings") or [expected]
    assert len(got) == len(wanted)
    for g, w in zip(got, wanted, strict=True):
        assert g.start_rate == pytest.approx(w["start_rate"], abs=1e-6)
        assert g.end_rate == pytest.approx(w["end_rate"], abs=1e-6)
        assert g.change_bp == pytest.approx(w["change_bp"], abs=1e-4)
        if "days_before" in w:
            assert g.days == (w["days_before"], w["days_from_decision"])
        if "solved" in w:  # CME's own words for the anchor it used
            direction = w["solved"].rsplit(", ", 1)[1]
            assert g.how.endswith(direction)
        own = w.get("meeting_only_probabilities_by_change_bp") or w["probabilities_by_change_bp"]
        assert _rounded(g.meeting) == own
        if "cumulative_probabilities_by_change_bp" in w:  # the probability tree across meetings
            assert _rounded(g.cumulative) == w["cumulative_probabilities_by_change_bp"]
            assert _rounded(g.by_range) == w["cumulative_probabilities_by_range"]
        else:
            assert _rounded(g.by_range) == w["probabilities_by_range"]


def test_cme_2022_example_with_the_real_august_row_keeps_the_backward_anchor() -> None:
    """CME's spreadsheet of 2022-09-12 solves September backward from October although August
    (no meeting) is right before it: August has expired, and an expired contract never anchors."""
    prices = {(2022, 8): 97.6825, (2022, 9): 97.4475, (2022, 10): 96.94, (2022, 11): 96.43}
    got = fw.fedwatch(prices, [date(2022, 9, 21), date(2022, 11, 2)], date(2022, 9, 12), target=(2.25, 2.5))
    assert got[0].start_rate == pytest.approx(2.29875) and got[0].anchor == "backward"
    assert _rounded(got[0].meeting) == {"75": 0.955, "100": 0.045}


def test_split_move_handles_cuts() -> None:
    assert fw.split_move(-13.4) == pytest.approx({-25: 0.536, 0: 0.464})
    assert fw.split_move(0.0) == {0: 1.0}
    assert fw.split_move(-50.0) == {-50: 1.0}


def test_expected_move_and_path_are_the_means() -> None:
    prices = {(2022, 9): 97.4475, (2022, 10): 96.94, (2022, 11): 96.43}
    sep, nov = fw.fedwatch(
        prices, [date(2022, 9, 21), date(2022, 11, 2)], date(2022, 9, 12), target=(2.25, 2.5)
    )
    assert sep.expected_move_bp == pytest.approx(sep.change_bp)  # the linear split keeps the mean
    assert nov.expected_path_bp == pytest.approx(sep.change_bp + nov.change_bp)
    assert nov.expected_rate == pytest.approx(2.375 + (sep.change_bp + nov.change_bp) / 100)


# -- anchors ----------------------------------------------------------------------------------


def test_neighbours_with_meetings_chain_backward_and_ignore_the_effr() -> None:
    """June 2026: May has expired, July holds a meeting. The chain runs back from August (no
    meeting) through July; the EFFR, and every tick of it, plays no part."""
    prices = {(2026, 6): 96.30, (2026, 7): 96.45, (2026, 8): 96.55}
    decisions = [date(2026, 4, 29), date(2026, 6, 17), date(2026, 7, 29), date(2026, 9, 16)]
    a = fw.fedwatch(prices, decisions, date(2026, 6, 1), effr=3.62)
    b = fw.fedwatch(prices, decisions, date(2026, 6, 1), effr=3.64)
    c = fw.fedwatch(prices, decisions, date(2026, 6, 1))
    assert [g.decision_date for g in a] == [date(2026, 6, 17), date(2026, 7, 29)]
    june, july = a
    assert july.anchor == "backward" and july.end_rate == pytest.approx(3.45)
    assert july.start_rate == pytest.approx((3.55 * 31 - 3.45 * 3) / 28)
    assert june.anchor == "chain-backward" and june.end_rate == pytest.approx(july.start_rate)
    assert [g.change_bp for g in a] == [g.change_bp for g in b] == [g.change_bp for g in c]


def test_dropping_an_expired_contracts_row_leaves_the_anchor_unchanged() -> None:
    """The shape of 2022-09-01/02: September holds a meeting (21st), August has none and has just
    expired, October has none. With or without August's row the anchor is October's average."""
    listed = {(2022, 9): 97.4475, (2022, 10): 96.94, (2022, 11): 96.43, (2022, 12): 96.10, (2023, 1): 95.90}
    decisions = [date(2022, 7, 27), date(2022, 9, 21), date(2022, 11, 2), date(2022, 12, 14)]
    for td in (date(2022, 9, 1), date(2022, 9, 2)):
        with_row = fw.fedwatch({(2022, 8): 97.6825, **listed}, decisions, td, effr=2.33)
        without = fw.fedwatch(listed, decisions, td, effr=2.33)
        assert [(g.anchor, g.how, g.start_rate, g.end_rate) for g in with_row] == [
            (g.anchor, g.how, g.start_rate, g.end_rate) for g in without
        ]
        assert with_row[0].anchor == "backward" and "2022-10 average" in with_row[0].how


def test_a_contract_missing_among_the_days_others_is_a_gap_not_another_anchor() -> None:
    """The shape of 2019-05-02: June and July hold meetings, June chains back from July, July from
    August. Without August's row the method used to fall back on the EFFR for June (the old rate
    the day after a decision: P(cut) 50 % instead of 10 %, the false alert of 2019-05-02). August
    is listed (later contracts are there): its row missing is a gap, and the meetings leaning on
    it are not priced, with the reason."""
    decisions = [
        date(2019, 5, 1),
        date(2019, 6, 19),
        date(2019, 7, 31),
        date(2019, 9, 18),
        date(2019, 10, 30),
    ]
    prices = {
        (2019, 5): 97.5975,
        (2019, 6): 97.60,
        (2019, 7): 97.6175,
        (2019, 8): 97.6375,
        (2019, 9): 97.6525,
    }
    prices |= {(2019, 10): 97.68, (2019, 11): 97.70}
    full = fw.fedwatch(prices, decisions, date(2019, 5, 2), effr=2.44, effr_date=date(2019, 5, 1))
    assert [g.anchor for g in full[:2]] == ["chain-backward", "backward"]
    problems: list[str] = []
    gap = {m: p for m, p in prices.items() if m != (2019, 8)}
    got = fw.fedwatch(
        gap, decisions, date(2019, 5, 2), effr=2.44, effr_date=date(2019, 5, 1), problems=problems
    )
    assert got == []
    assert problems == [
        "no settlement for 2019-08 (a gap among the day's contracts), the month that anchors the "
        "2019-07-31 meeting, through which the 2019-06-19 one is chained"
    ]
    # past the day's last contract nothing is listed: the last meetings are simply not reached
    near = {m: p for m, p in prices.items() if m <= (2019, 9)}
    assert [g.decision_date for g in fw.fedwatch(near, decisions, date(2019, 5, 2), effr=2.44)] == [
        date(2019, 6, 19),
        date(2019, 7, 31),
        date(2019, 9, 18),
    ]
    # a gap after the nearer meetings: they are priced, the reason names where it stopped
    problems.clear()
    later = {m: p for m, p in prices.items() if m != (2019, 10)}
    got = fw.fedwatch(later, decisions, date(2019, 5, 2), effr=2.44, problems=problems)
    assert [g.decision_date for g in got] == [date(2019, 6, 19), date(2019, 7, 31), date(2019, 9, 18)]
    assert problems == ["no settlement for 2019-10, the month of the 2019-10-30 meeting"]
    # a refused row is a listed contract too (2020: far contracts settled above 100), even the
    # day's last: the meeting whose anchor it is stops the pricing, nothing anchors around it
    problems.clear()
    got = fw.fedwatch(near, decisions, date(2019, 5, 2), effr=2.44, problems=problems, refused=[(2019, 10)])
    assert [g.decision_date for g in got] == [date(2019, 6, 19), date(2019, 7, 31), date(2019, 9, 18)]
    assert problems == [
        "no usable settlement for 2019-10 (its row was refused), the month of the 2019-10-30 meeting"
    ]
    problems.clear()
    assert fw.fedwatch(gap, decisions, date(2019, 5, 2), problems=problems, refused=[(2019, 8)]) == []
    assert problems[0].startswith("no usable settlement for 2019-08 (its row was refused), the month that")


def test_a_first_half_meeting_is_solved_forward_from_what_is_known() -> None:
    """2016-11-02 priced on 2016-11-01: back-solving the rate before a decision on the 2nd
    multiplies the noise by 30; the October average (known, expired) anchors it instead."""
    decisions = [date(2016, 9, 21), date(2016, 11, 2), date(2016, 12, 14), date(2017, 2, 1)]
    prices = {(2016, 11): 99.585, (2016, 12): 99.47, (2017, 1): 99.35, (2017, 2): 99.33}
    got = fw.fedwatch(prices, decisions, date(2016, 11, 1), month_before_avg=0.40, effr=0.41)
    nov = got[0]
    assert nov.anchor == "known-level" and nov.start_rate == pytest.approx(0.40)
    assert nov.end_rate == pytest.approx((0.415 * 30 - 0.40 * 1) / 29)
    # a tick in November's price moves its odds by about a tick, not thirty
    bumped = fw.fedwatch({**prices, (2016, 11): 99.5825}, decisions, date(2016, 11, 1), month_before_avg=0.40)
    assert abs(bumped[0].change_bp - nov.change_bp) < 0.3
    # without the October average the latest EFFR anchors it
    assert fw.fedwatch(prices, decisions, date(2016, 11, 1), effr=0.41)[0].anchor == "effr"


def test_the_effr_is_shifted_by_the_decision_made_on_the_trade_date() -> None:
    """When only the EFFR can anchor, a decision on the trade date (its new range starts the next
    day, the EFFR published that morning is still the old rate) is added to it."""
    decisions = [date(2024, 11, 7), date(2024, 12, 18), date(2025, 1, 29)]
    prices = {(2024, 11): 95.33, (2024, 12): 95.47}  # nothing beyond December: no later anchor
    cut = [fw.RateChange(date(2024, 11, 8), -0.25)]
    got = fw.fedwatch(prices, decisions, date(2024, 11, 7), effr=4.83, effr_date=date(2024, 11, 6), known=cut)
    dec = got[0]
    assert dec.anchor == "effr" and dec.start_rate == pytest.approx(4.58)
    unshifted = fw.fedwatch(prices, decisions, date(2024, 11, 7), effr=4.83, effr_date=date(2024, 11, 6))
    assert unshifted[0].outcome_probs()["cut"] > dec.outcome_probs()["cut"] + 0.5  # the doubled cut
    # the day after (2024-11-08): the EFFR published that morning is the 7th's, still the old
    # rate; the cut effective on the 8th is after it and shifts it the same way
    after = fw.fedwatch(
        prices, decisions, date(2024, 11, 8), effr=4.83, effr_date=date(2024, 11, 7), known=cut
    )
    assert after[0].anchor == "effr" and after[0].start_rate == pytest.approx(4.58)
    assert after[0].outcome_probs()["cut"] == pytest.approx(dec.outcome_probs()["cut"])


def test_problems_say_which_contract_is_missing() -> None:
    problems: list[str] = []
    decisions = [date(2026, 6, 17), date(2026, 7, 29)]
    assert fw.fedwatch({(2026, 7): 96.45}, decisions, date(2026, 6, 1), problems=problems) == []
    assert problems == ["no settlement for 2026-06, the month of the 2026-06-17 meeting"]
    problems.clear()
    assert (
        fw.fedwatch({(2026, 6): 96.3, (2026, 7): 96.45}, decisions, date(2026, 6, 1), problems=problems) == []
    )
    assert "no anchor for the 2026-06-17 meeting" in problems[0] and "2026-08" in problems[0]
    assert "no EFFR" in problems[0]


def test_two_upcoming_meetings_in_one_month_are_refused() -> None:
    with pytest.raises(ValueError, match="one scheduled meeting a month"):
        fw.fedwatch({}, [date(2026, 6, 3), date(2026, 6, 17)], date(2026, 6, 1))


# -- exact recovery of a known path --------------------------------------------------------------


def _path_prices(
    trade_date: date,
    decisions: list[date],
    moves: dict[date, float],
    level0: float,
    known: list[fw.RateChange],
) -> tuple[dict[tuple[int, int], float], float, float]:
    """Month averages of a daily rate path: ``level0`` before the first month, every known change
    from its effective day, every meeting's move from its decision day (CME's count).
    Returns (prices, the average of the month before the trade month, the rate the day before)."""
    first = date(trade_date.year, trade_date.month, 1) - timedelta(days=1)
    first = date(first.year, first.month, 1)
    steps = sorted([(c.effective, c.change) for c in known] + [(d, moves[d]) for d in moves])
    prices: dict[tuple[int, int], float] = {}
    sums: dict[tuple[int, int], tuple[float, int]] = {}
    day, rate, i = first, level0, 0
    day_before = None
    while day < trade_date + timedelta(days=600):
        while i < len(steps) and steps[i][0] <= day:
            rate += steps[i][1]
            i += 1
        m = (day.year, day.month)
        s, n = sums.get(m, (0.0, 0))
        sums[m] = (s + rate, n + 1)
        if day == trade_date - timedelta(days=1):
            day_before = rate
        day += timedelta(days=1)
    for m, (s, n) in sums.items():
        if n == calendar.monthrange(*m)[1]:
            prices[m] = 100.0 - s / n
    prior = (first.year, first.month)
    assert day_before is not None
    return prices, 100.0 - prices[prior], day_before


def _true_path_case(td: date, seed: int) -> None:
    rng = random.Random(seed)
    decisions = known_decisions(td)
    upcoming = [d for d in decisions if d > td]
    moves = {d: rng.choice([-0.5, -0.25, -0.1, 0.0, 0.07, 0.25]) for d in upcoming}
    prices, before_avg, day_before = _path_prices(td, decisions, moves, 2.0, [])
    got = fw.fedwatch(prices, decisions, td, month_before_avg=before_avg, effr=day_before)
    assert len(got) >= 6, (td, [g.how for g in got])
    for g in got:
        assert g.change_bp == pytest.approx(moves[g.decision_date] * 100, abs=1e-6), (
            td,
            g.decision_date,
            g.how,
        )


@pytest.mark.parametrize(
    "td",
    [
        date(2015, 8, 14),  # forward from August (CME's own example)
        date(2016, 11, 1),  # a decision on the 2nd: forward from the known October
        date(2017, 6, 2),  # May, June and July all hold meetings
        date(2019, 4, 15),  # forward from April, then chained forward
        date(2019, 5, 2),  # the day after a meeting, both neighbours with meetings
        date(2019, 6, 18),  # the eve of a meeting: chained backward from August
        date(2020, 11, 3),  # a decision on the 5th, the month before expired
        date(2021, 12, 1),
        date(2024, 11, 8),  # the day after a cut, December with meetings on both sides
    ],
)
def test_any_anchor_recovers_a_known_path_exactly(td: date) -> None:
    for seed in range(5):
        _true_path_case(td, seed)


def test_known_changes_inside_a_month_are_accounted_for() -> None:
    """March 2020 priced on 2020-03-05: the 2020-03-03 cut (effective 03-04) sits in the month
    before the 03-18 meeting; after 2020-03-15 March has no meeting left to price and April's
    meeting anchors on May (March held unscheduled decisions)."""
    cut1 = fw.RateChange(date(2020, 3, 4), -0.5)
    td = date(2020, 3, 5)
    decisions = known_decisions(td)
    assert date(2020, 3, 18) in decisions and date(2020, 3, 3) in decisions
    moves = {d: -0.25 for d in decisions if d > td}
    prices, before_avg, day_before = _path_prices(td, decisions, moves, 1.58, [cut1])
    got = fw.fedwatch(prices, decisions, td, month_before_avg=before_avg, effr=day_before, known=[cut1])
    assert [round(g.change_bp, 6) for g in got[:4]] == [-25.0] * 4
    assert got[0].start_rate == pytest.approx(1.08)  # the level before the meeting, after the 03-04 cut
    td2 = date(2020, 3, 17)
    decisions2 = known_decisions(td2)
    assert date(2020, 3, 18) not in decisions2 and date(2020, 3, 15) in decisions2
    cut2 = fw.RateChange(date(2020, 3, 16), -1.0)
    moves2 = {d: 0.0 for d in decisions2 if d > td2}
    prices2, before2, day2 = _path_prices(td2, decisions2, moves2, 1.58, [cut1, cut2])
    got2 = fw.fedwatch(prices2, decisions2, td2, month_before_avg=before2, effr=day2, known=[cut1, cut2])
    assert got2[0].decision_date == date(2020, 4, 29) and got2[0].anchor == "backward"
    assert [round(g.change_bp, 6) for g in got2[:3]] == [0.0] * 3


def test_day_count_bias() -> None:
    fwd, bwd = fw.day_count_bias(date(2019, 7, 31))
    assert fwd == 0.0 and bwd == pytest.approx(31 / 30)  # a decision on the last day
    fwd, bwd = fw.day_count_bias(date(2019, 6, 19))
    assert fwd == pytest.approx(11 / 12) and bwd == pytest.approx(19 / 18)


def test_the_calendar_has_one_scheduled_meeting_a_month() -> None:
    months = [(m.decision_date.year, m.decision_date.month) for m in fomc.meetings()]
    assert len(months) == len(set(months))
