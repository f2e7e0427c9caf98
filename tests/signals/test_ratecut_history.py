"""ratecut over the real 2015-2021 Fed funds futures history (the FedWatch method on ZQ settlements).

The database is built the way a user builds it: ``backfill fred --file`` with FRED's DFF and the
target range, then ``backfill fedwatch --file`` with the settlements, then a replay. Each episode
it must catch and each calm stretch where it must stay quiet says why.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.backfills import run_backfill
from bot.replay import run_replay
from signals.contract import default_params
from signals.ratecut import SIGNAL
from signals.sources import fedwatch, fred
from storage.alerts import AlertEvent
from storage.db import open_db
from tests.conftest import DATA

NOW = datetime(2026, 9, 1, tzinfo=UTC)


def _backfill(db: Any, module: Any, path: Path) -> str:
    async def go() -> str:
        async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(503))) as client:
            return await run_backfill(module.BACKFILL, db, client=client, now=NOW, file=path)

    return asyncio.run(go())


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, list[AlertEvent], str]]:
    if not (DATA / "zq_settlements_2015_2021.csv").exists():
        pytest.skip(f"{DATA} is not available (the shared data folder lives beside the checkout in CI)")
    db = open_db(tmp_path_factory.mktemp("ratecut") / "history.db")
    _backfill(db, fred, DATA / "fred_dff_daily.csv")
    _backfill(db, fred, DATA / "fed_target_range_2015_2021_constructed.csv")
    message = _backfill(db, fedwatch, DATA / "zq_settlements_2015_2021.csv")
    res = run_replay(db, [SIGNAL], {SIGNAL.id: default_params(SIGNAL)}, resume=False)
    yield db, res.events, message
    db.close()


def _day(e: AlertEvent) -> date:
    return datetime.fromtimestamp(e.ts, UTC).date()


def _events(events: list[AlertEvent], key: str, a: date, b: date) -> list[tuple[str, str, str]]:
    return [
        (str(_day(e)), e.event, e.level)
        for e in events
        if e.key == key and a <= _day(e) <= b and e.event != "resolved"
    ]


def _p(db: Any, series: str, d: date) -> float:
    ts = int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())
    return float(
        db.execute("SELECT value FROM observations WHERE series = ? AND ts = ?", [series, ts]).fetchone()[0]
    )


def test_every_trading_day_is_priced(history: tuple[Any, list[AlertEvent], str]) -> None:
    message = history[2]
    assert "1765 trading day(s)" in message and "1765 priced" in message


def test_the_decision_of_2019_05_01_is_not_counted_again(history: tuple[Any, list[AlertEvent], str]) -> None:
    """After the 2019-05-01 meeting (IOER 2.40 -> 2.35, no target change) the EFFR published on
    05-02 was still the old rate. Anchored on it, June's P(cut) read 17 % -> 60 % -> 50 % -> 15 %
    and a swing alert fired on 2019-05-02. Chained back from August (both neighbours of June hold
    meetings) it reads what pyfedwatch reads, 6-10 %, and nothing fires."""
    db, events, _ = history
    for d in (date(2019, 5, 1), date(2019, 5, 2), date(2019, 5, 3), date(2019, 5, 6)):
        assert _p(db, "fedwatch.fomc.2019-06-19.cut", d) < 0.11, d
    for kind in ("swing", "flip", "size"):
        assert _events(events, f"2019-06-19.{kind}", date(2019, 5, 2), date(2019, 5, 10)) == []


def test_an_effr_tick_on_the_eve_of_a_meeting_is_not_a_swing(
    history: tuple[Any, list[AlertEvent], str],
) -> None:
    """2019-06-18: a 2 bp EFFR tick, amplified 2.5x by an EFFR anchor, moved June's P(cut) 0 -> 22 %."""
    _db, events, _ = history
    assert _events(events, "2019-06-19.swing", date(2019, 6, 17), date(2019, 6, 19)) == []


def test_july_2019_size_repricings_alert(history: tuple[Any, list[AlertEvent], str]) -> None:
    """July 2019: a cut was certain (P(cut) 100 %, no swing possible); the odds of 50 bp rather
    than 25 went up on Powell's testimony (07-10) and Williams' speech (07-18) and were walked back
    the next day (07-19): two size alerts, and the walk-back a severe whipsaw."""
    db, events, _ = history
    assert _p(db, "fedwatch.fomc.2019-07-31.cut", date(2019, 7, 18)) == pytest.approx(1.0)
    got = _events(events, "2019-07-31.size", date(2019, 7, 1), date(2019, 7, 31))
    assert ("2019-07-10", "fired", "alert") in got
    assert ("2019-07-18", "fired", "alert") in got
    assert ("2019-07-19", "escalated", "severe") in got
    severe = next(e for e in events if e.key == "2019-07-31.size" and str(_day(e)) == "2019-07-19")
    assert "WHIPSAW of the expected move: −32 bp → −40 bp → −31 bp" in severe.summary
    alert = next(e for e in events if e.key == "2019-07-31.size" and str(_day(e)) == "2019-07-10")
    assert "Jul 31: odds of a 50 bp cut 3% → 29% in 24 h; expected move −32 bp (was −26 bp)" in alert.summary


def test_the_february_2020_repricing_still_alerts(history: tuple[Any, list[AlertEvent], str]) -> None:
    """2020-02-28: a March cut went from a coin toss to certain within days (Covid): the swing is
    severe (3.3x the swing size; it used to stop at 'alert'), the size too, the majority flips."""
    _db, events, _ = history
    day = date(2020, 2, 28)
    assert ("2020-02-28", "escalated", "severe") in _events(events, "2020-03-18.swing", day, day)
    assert ("2020-02-28", "escalated", "severe") in _events(events, "2020-03-18.size", day, day)
    assert ("2020-02-28", "fired", "alert") in _events(events, "2020-03-18.flip", day, day)


@pytest.mark.parametrize(
    ("a", "b", "why"),
    [
        (
            date(2017, 6, 15),
            date(2018, 2, 28),
            "the 2017 hikes were priced well ahead; no surprise moved them",
        ),
        (date(2018, 6, 14), date(2018, 12, 26), "the 2018 hikes came as priced, one a quarter"),
        (date(2020, 4, 1), date(2021, 8, 31), "the zero lower bound with forward guidance: nothing moved"),
    ],
)
def test_calm_stretches_stay_quiet(
    history: tuple[Any, list[AlertEvent], str], a: date, b: date, why: str
) -> None:
    _db, events, _ = history
    assert [(e.key, str(_day(e)), e.event) for e in events if a <= _day(e) <= b] == [], why


def test_no_flood(history: tuple[Any, list[AlertEvent], str]) -> None:
    """Seven years of daily settlements: a few dozen alerts, nowhere near one a week."""
    _db, events, _ = history
    loud = [e for e in events if e.event in ("fired", "escalated") and e.level in ("alert", "severe")]
    assert 20 <= len(loud) <= 80


def test_size_texts_say_path_or_move_and_never_contradict_the_level(
    history: tuple[Any, list[AlertEvent], str],
) -> None:
    """A later meeting's number is the expected path through it (Sep 18, 2019 on 06-26: −49 bp
    is the path through Jul 31 and Sep 18, about twice its own move), the odds named moved as
    shown (never "0% → 0%"), no "-0 bp", and an Over whose peak passed a higher line than its
    level says why it stayed there (2019-07-10: Sep 18 at 1.5×, the Jul 31 meeting's echo)."""
    _db, events, _ = history
    sizes = [e for e in events if e.key.endswith(".size")]
    for e in sizes:
        text = SIGNAL.present(e, str)
        assert text is not None
        assert "0% → 0%" not in e.summary and "100% → 100%" not in e.summary, e.summary
        assert not re.search(r"(?<![\d.])-0 bp", text.title), text.title
        if e.data.get("path"):
            assert "expected path to it" in text.title and "expected move" not in text.title, text.title
        else:
            assert "expected path" not in text.title, text.title
        if e.event == "resolved" and (e.peak or 0) >= 1.0 and e.data.get("peak_level") == "watch":
            assert "stayed Heads-up" in text.fields.get("Level", ""), (str(_day(e)), text)
    fired = next(e for e in sizes if e.key == "2019-09-18.size" and str(_day(e)) == "2019-06-26")
    text = SIGNAL.present(fired, str)
    assert text is not None
    assert text.title == "Heads-up: Fed repricing for Sep 18: expected path to it -49 bp (was -53 bp) in 24 h"
    # 2019-07-18: the 50 bp odds of Sep 18 rounded to 0 % both times: no odds are named
    fired = next(e for e in sizes if e.key == "2019-09-18.size" and str(_day(e)) == "2019-07-18")
    assert "odds of" not in fired.summary and "expected path to it −56 bp (was −50 bp)" in fired.summary
    over = next(
        e
        for e in sizes
        if e.key == "2019-09-18.size" and e.event == "resolved" and str(_day(e)) == "2019-07-12"
    )
    text = SIGNAL.present(over, str)
    assert text is not None and "peak 1.5× the repricing size (Heads-up)" in text.first_line
    assert text.fields["Level"].startswith("The peak, 1.5× the repricing size, is past the Alert line (1×)")
