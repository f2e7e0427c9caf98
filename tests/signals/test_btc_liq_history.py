"""btc_liq over the real history in ``../shared/data``: the episodes it must catch, the calm it
must keep, and how many alert-level episodes a year it may raise.

The data: Coinglass's Binance-only BTC liquidations, daily from 2020-12-23 to 2025-05-11 and
4-hourly from 2024-11-13 to 2025-11-14 (a lower bound: Binance publishes a sample, and since
2021-04-27 a much smaller one). Imported as they are; levels judge them as 35 % of the
all-venue total (``import_coverage``) and, above all, against their own history.

How many alert-level episodes a year, and why. An alert is a window at least ``k_alert`` × its
median that is in the top ``top_n`` (5) of its trailing 365 days, by total or (windows of an
hour or more) by multiple of its median. In a steady market a given window has on average
exactly ``top_n`` periods a year in the top ``top_n`` of their trailing year (each period is
equally likely to hold any place); ranking by multiple adds at most as many again, and in a
calming year it is what still speaks (2022: every total was below 2021's). Bars of one
cascade fold into one episode, and the 4-hour and 24-hour windows see the same cascades. So:

- daily buckets (one window): 2 to 10 episodes a year;
- 4-hour and daily buckets (two windows): 3 to 15.

Fewer than that means the rule has gone blind (the USD floors it replaces gave 2 in the 4-hour
year); more means it alerts on the ordinary.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.replay import run_replay
from signals.base import Level, Reading
from signals.btc_liq import SIGNAL
from signals.contract import default_params
from signals.sources import binance, coinglass
from storage import observations as obs_repo
from storage.alerts import AlertEvent
from storage.db import open_db
from tests.signals.test_liquidations import inputs_of

DAILY = "btc_liquidations_binance_daily_coinglass.csv"
FOUR_H = "btc_liquidations_binance_4h_coinglass.csv"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def rows(data_dir: Path, name: str) -> list[obs_repo.Observation]:
    p = data_dir / name
    _, out = coinglass.parse(
        p.read_text(),
        now=NOW,
        bucket=coinglass.bucket_from_name(p),
        exchanges=coinglass.exchanges_from_name(p),
    )
    return out


@functools.cache
def daily_readings(data_dir: Path) -> list[Reading]:
    return SIGNAL.history(inputs_of(rows(data_dir, DAILY)), default_params(SIGNAL))


def episodes(readings: list[Reading]) -> list[tuple[datetime, datetime, Level, Reading]]:
    """(start, end, peak level, the reading at the peak) of every cascade in the readings."""
    out = []
    run: list[Reading] = []
    for r in readings:
        if r.data["in_cascade"]:
            run.append(r)
        elif run:
            peak = max(run, key=lambda x: x.level)
            out.append((run[0].ts, r.ts, peak.level, peak))
            run = []
    if run:
        peak = max(run, key=lambda x: x.level)
        out.append((run[0].ts, run[-1].ts, peak.level, peak))
    return out


def in_year(eps: list, year: int) -> list:  # type: ignore[type-arg]
    return [e for e in eps if e[0].year == year]


@pytest.fixture(scope="module")
def four_hour_year(tmp_path_factory: pytest.TempPathFactory, data_dir_module: Path) -> list[AlertEvent]:
    """The replay the issue measured: both files stored, replayed from 2024-12-15 to 2025-11-14."""
    db = open_db(tmp_path_factory.mktemp("real") / "real.db")
    obs_repo.upsert(db, rows(data_dir_module, DAILY) + rows(data_dir_module, FOUR_H))
    res = run_replay(
        db,
        [SIGNAL],
        {SIGNAL.id: default_params(SIGNAL)},
        datetime(2024, 12, 15, tzinfo=UTC),
        datetime(2025, 11, 14, 16, tzinfo=UTC),
        resume=False,
    )
    db.close()
    return [e for e in res.events if e.kind == "alert"]


@pytest.fixture(scope="module")
def data_dir_module() -> Path:
    from tests.conftest import DATA

    if not DATA.exists():
        pytest.skip(f"{DATA} is not available (the shared data folder lives beside the checkout in CI)")
    return DATA


def lifecycles(events: list[AlertEvent]) -> dict[str, tuple[int, Level, list[AlertEvent]]]:
    """episode id -> (first event time, peak level, events)."""
    out: dict[str, tuple[int, Level, list[AlertEvent]]] = {}
    for e in events:
        assert e.episode is not None
        first, peak, evs = out.get(e.episode, (e.ts, Level.OK, []))
        lv = Level.parse(e.level) if e.event != "resolved" else Level.OK
        out[e.episode] = (first, max(peak, lv), [*evs, e])
    return out


def day_of(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d")


def covering(events: list[AlertEvent], day: str) -> Level:
    """The peak level of the lifecycles alive on ``day`` (fired by its end, resolved after its start)."""
    best = Level.OK
    for first, peak, evs in lifecycles(events).values():
        last = evs[-1].ts if evs[-1].event == "resolved" else 2**62
        start = min(first, min((e.data.get("start", first) for e in evs), default=first))
        if day_of(start) <= day <= day_of(last - 1):
            best = max(best, peak)
    return best


def test_the_famous_days_of_the_four_hour_year(four_hour_year: list[AlertEvent]) -> None:
    ev = four_hour_year
    # the floors gave nothing for these three; each is a top bar of its year on Binance
    assert covering(ev, "2025-02-03") >= Level.ALERT  # $69M in 4 h, longs: tariff-shock Monday
    assert covering(ev, "2025-03-02") >= Level.ALERT  # $64M, shorts: the crypto-reserve squeeze
    assert covering(ev, "2025-07-14") >= Level.ALERT  # $103M, shorts: the run to a new high
    # the two largest 4-hour bars of the year: records
    assert covering(ev, "2025-06-12") == Level.SEVERE  # $206M of longs in 4 h
    assert covering(ev, "2025-10-10") == Level.SEVERE  # $343M: the largest cascade in the data
    # the 20:00 bar of 2025-10-10 is judged when complete, at 00:00
    oct10 = next(e for e in ev if day_of(e.ts) == "2025-10-11" and e.level == "severe")
    assert "largest 4h" in oct10.summary and "Binance only, lower bound" in oct10.summary
    assert "coverage: 35% (import, all-venue terms)" in oct10.summary


def test_a_calm_summer_stays_quiet(four_hour_year: list[AlertEvent]) -> None:
    # 2025-07-20 to 2025-09-20: BTC ranging near its high; the largest 4-hour bar ($19M on
    # 07-25) is neither the largest of its month (07-14 and 07-18 were larger) nor of the year
    quiet = [e for e in four_hour_year if "2025-07-20" <= day_of(e.ts) < "2025-09-20"]
    assert quiet == []


def test_alert_level_episodes_of_the_four_hour_year(four_hour_year: list[AlertEvent]) -> None:
    alerting = [v for v in lifecycles(four_hour_year).values() if v[1] >= Level.ALERT]
    assert 3 <= len(alerting) <= 15, [(day_of(f), p.label) for f, p, _e in alerting]
    assert sum(1 for v in alerting if v[1] == Level.SEVERE) <= 4


def test_the_daily_years(data_dir: Path) -> None:
    eps = episodes(daily_readings(data_dir))
    for year in (2022, 2023, 2024):
        alerting = [e for e in in_year(eps, year) if e[2] >= Level.ALERT]
        assert 2 <= len(alerting) <= 10, (year, [(e[0].date(), e[2].label) for e in alerting])
    days = {e[0].strftime("%Y-%m-%d"): e[2] for e in eps if e[2] >= Level.ALERT}

    def caught(first: str, last: str) -> Level:
        return max((lv for d, lv in days.items() if first <= d <= last), default=Level.OK)

    # 2022 was quieter than 2021 in total: its crashes alert by the multiple of their medians
    assert caught("2022-05-08", "2022-05-13") >= Level.ALERT  # Terra/LUNA
    assert caught("2022-06-12", "2022-06-14") >= Level.ALERT  # Celsius and 3AC
    assert caught("2022-11-07", "2022-11-10") >= Level.ALERT  # FTX
    assert caught("2023-08-16", "2023-08-18") >= Level.ALERT  # the August flash crash
    assert caught("2023-10-22", "2023-10-24") >= Level.ALERT  # the ETF-rumour short squeeze
    assert caught("2024-08-04", "2024-08-06") == Level.SEVERE  # the yen carry unwind
    assert caught("2024-03-04", "2024-03-06") == Level.SEVERE  # the all-time-high reversal
    # the 5th-largest days of their trailing year at over 5x their medians: top 5, so alerts
    assert caught("2024-06-24", "2024-06-25") == Level.ALERT  # Mt. Gox repayment news, longs
    assert caught("2024-10-01", "2024-10-02") == Level.ALERT  # Iran's missile strike, longs
    # and the quiet stretches: spring 2023 and summer 2023 raise nothing at alert level
    assert caught("2023-03-20", "2023-08-10") == Level.OK


def test_bounded_reads_replay_what_the_whole_history_gives(
    data_dir: Path, four_hour_year: list[AlertEvent]
) -> None:
    """The replay above reads the database by range (roll-ups, imports by the hour); the same
    readings from every bucket in memory give the same cascades."""
    rs = SIGNAL.history(inputs_of(rows(data_dir, DAILY) + rows(data_dir, FOUR_H)), default_params(SIGNAL))
    lo, hi = datetime(2024, 12, 15, tzinfo=UTC), datetime(2025, 11, 14, 16, tzinfo=UTC)
    mem = [(int(s.timestamp()), lv.label) for s, _e, lv, _r in episodes(rs) if lo <= s <= hi]
    stored = sorted((first, peak.label) for first, peak, _e in lifecycles(four_hour_year).values())
    assert stored == mem


def test_levels_agree_with_the_rank_text(data_dir: Path, four_hour_year: list[AlertEvent]) -> None:
    texts = [(r.level, r.summary) for _s, _e, _lv, r in episodes(daily_readings(data_dir))]
    texts += [(Level.parse(e.level), e.summary) for e in four_hour_year if e.event in ("fired", "escalated")]
    top = default_params(SIGNAL)["top_n"]
    for level, text in texts:
        if level == Level.SEVERE:
            assert re.search(r"largest \S+ (of the last 365 days|in the stored history)", text), text
            assert not re.search(r"\d+(st|nd|rd|th)-largest", text), text
        elif level == Level.ALERT:
            m = re.search(
                r"(\d+)(st|nd|rd|th)-largest \S+ (of the last 365 days|in the stored history)", text
            )
            ok = (
                "sharpest" in text
                or "too few to rank" in text
                or "baseline yet" in text
                or re.search(r", largest \S+ in the stored history", text) is not None
                or (m is not None and (int(m.group(1)) <= top or "stored history" in text))
            )
            assert ok, text
        elif level == Level.WATCH:
            assert "of the last 365 days;" not in text.replace("-largest", "")  # never the year's largest
            # a top-N place of the year is an alert unless the window is under k_alert x its median
            m = re.search(r"(\d+)(st|nd|rd|th)-largest \S+ of the last 365 days", text)
            if m is not None and int(m.group(1)) <= top:
                assert "an alert needs" in text, text


def test_over_messages_never_report_a_peak_below_their_total(four_hour_year: list[AlertEvent]) -> None:
    """A cascade's total only grows, and it resolves on the reading carrying its final total: that
    reading counts toward the peak the Over message gives."""
    overs = [e for e in four_hour_year if e.event == "resolved"]
    assert overs
    for e in overs:
        assert e.peak is not None and e.peak >= e.value, (day_of(e.ts), e.peak, e.value)


@pytest.fixture(scope="module")
def whole_history(tmp_path_factory: pytest.TempPathFactory, data_dir_module: Path) -> list[AlertEvent]:
    """Both files replayed from the start (what ``flowwatch replay btc_liq`` gives)."""
    db = open_db(tmp_path_factory.mktemp("whole") / "whole.db")
    obs_repo.upsert(db, rows(data_dir_module, DAILY) + rows(data_dir_module, FOUR_H))
    for name in ("btc_usdt_binance_daily.csv", "btc_usdt_binance_4h.csv"):  # the BTC price
        obs_repo.upsert(db, binance.parse_kline_csv((data_dir_module / name).read_text(), now=NOW)[1])
    res = run_replay(db, [SIGNAL], {SIGNAL.id: default_params(SIGNAL)}, resume=False)
    db.close()
    return [e for e in res.events if e.kind == "alert"]


def test_headlines_name_the_total_and_the_words_follow_the_price(whole_history: list[AlertEvent]) -> None:
    """The headline gives the cascade's total as liquidations of both sides, never the total as
    one side's; the meaning line never contradicts the price (forced selling into a falling
    price while BTC rose). The durations read as the bars do (no "1d 1m" on daily bars)."""
    by_day = {(day_of(e.ts), e.event): e for e in whole_history}
    checked = 0
    for e in whole_history:
        text = SIGNAL.present(e, str)
        assert text is not None
        assert "longs liquidated" not in text.title and "shorts liquidated" not in text.title, text.title
        assert not re.search(r"\d[dh] 1m\b", text.title), text.title
        ch = e.data.get("price_change")
        if isinstance(ch, float) and text.meaning:
            assert not ("falling price" in text.meaning and ch > 0), (day_of(e.ts), text.meaning, ch)
            assert not ("rising price" in text.meaning and ch < 0), (day_of(e.ts), text.meaning, ch)
            checked += 1
    assert checked > 20
    # 2024-03-06: $151.3M, $75.3M long / $76.0M short: an even split, not "$151.3M of shorts"
    ev = by_day[("2024-03-06", "escalated")]
    text = SIGNAL.present(ev, str)
    assert text is not None
    assert text.title.startswith(
        "Severe (up from Heads-up): BTC liquidations: $151.3M in 2d (longs 50%, shorts 50%)"
    )
    assert "Longs $75.3M / shorts $76.0M" in text.first_line
    # 2021-01-05: longs 60% while BTC rose 9.1%: both sides were forced out on a daily bar
    ev = by_day[("2021-01-05", "updated")]
    text = SIGNAL.present(ev, str)
    assert text is not None and "in 3d (longs 60%, shorts 40%)" in text.title
    assert "falling price" not in text.meaning and "both sides while BTC moved +9.1%" in text.meaning
    # its 24h window was judged against 10 days of history, not a 28-day median that did not exist yet
    assert text.fields["Biggest window"] == "24h $315.4M = 5.1× the median of its 10 days of history ($62.2M)"
    assert "the median of its 10 days of history" in ev.summary and "28-day" not in ev.summary


def test_money_reads_in_one_style(whole_history: list[AlertEvent]) -> None:
    """Every summary (resolve peaks included) writes money as $577.4M, never "577.4M USD"."""
    overs = [e for e in whole_history if e.event == "resolved"]
    assert overs and all("M USD" not in e.summary for e in whole_history)
    assert "Peak $577.4M on 2020-12-29" in overs[0].summary


def test_every_alert_names_the_coverage_it_used(
    four_hour_year: list[AlertEvent], whole_history: list[AlertEvent]
) -> None:
    """Binance-only imports are judged as 35 % of the all-venue total: every message says so,
    from the first heads-up to the Over message."""
    events = four_hour_year + whole_history
    assert {e.event for e in events} >= {"fired", "updated", "resolved"}
    for e in events:
        assert "coverage: 35% (import, all-venue terms)" in e.summary, (e.event, e.summary)
        assert e.data.get("coverage") == pytest.approx(0.35), e.summary
