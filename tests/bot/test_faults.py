"""The fault table: every HTTP poll x every fault, through the real ``App.run_poll``.

Rows are (poll, fault); the world (:mod:`tests.bot.faultworld`) answers each provider's hosts in
its real format at the simulated clock's time. Each row: a good poll, then the faulted poll, then
the fault clears and the next poll runs. For every row:

- the App keeps running: the poll returns, the dispatcher is alive, the next poll works;
- no alert is written (bad data never alerts) and no observation comes from bad values;
- exactly one WARNING/ERROR line, naming the source and the fault (retries log at INFO);
- the source's health record (``meta`` ``source:<poll>``) says failing, keeping the last success;
- retries wait as asked (``Retry-After``) through the injected sleep; an hour-long
  ``Retry-After`` is left to the next poll;
- after the fault clears, the poll succeeds, health says ok, new data is stored, nothing is logged
  above INFO.

Stale-data rows: the provider stops moving (or the poll stops running) while the clock moves on:
one stale notice (kind ``notice``), never an alert, and a recovery notice when fresh data returns.

Not every fault applies to every poll (:data:`SCENARIOS`): Kalshi and Polymarket quotes are
stamped with the poll time (no provider timestamps to push into the future); the S&P 500 list
and the earnings calendar carry no prices; ``btc_price`` feeds no signal, so it has no staleness.
"""

from __future__ import annotations

import collections
import io
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import load_settings
from bot.runner import App
from bot.sinks.console import ConsoleSink
from signals import sources
from signals.sources import nasdaq
from signals.sources.base import Drill, Poll
from storage import alerts as alert_repo
from storage import earnings as earnings_repo
from storage import meta
from storage import observations as obs_repo
from tests.bot.faultworld import FAULTS, World, gspc_rows, sp500_tickers, world_at

TRANSPORT = (
    "connect_timeout",
    "read_timeout",
    "unresolved",
    "http_503",
    "http_429_retry_after",
    "http_429",
    "http_429_wait_an_hour",
)
BODY = ("html_200", "truncated", "empty")
VALUES = ("nan", "negative", "future")


async def _spx_history(app: App, world: World) -> None:
    """The S&P 500 closes stored before the scenario (as a backfill leaves them): four years, so
    the flow signals have readings to go stale."""
    from storage.observations import Observation
    from storage.series import SPX_CLOSE
    from storage.timeutil import day_epoch

    rows = [Observation(SPX_CLOSE, day_epoch(d), c, "yahoo") for d, c in gspc_rows(world.clock.now())]
    await app.store.call(obs_repo.upsert, rows)


async def _sp500_members(app: App, world: World) -> None:
    """The buyback universe, so a handful of reports is a small share (no alert from good data)."""
    from storage.earnings import Member

    members = [Member(t, f"{t} Inc.", "Industrials") for t in sp500_tickers()]
    await app.store.call(earnings_repo.replace_members, "sp500", members, int(world.clock.now().timestamp()))


def _walk(
    rng: random.Random, days: list[date], end: float, sd: float, floor: float = 0.0
) -> list[tuple[date, float]]:
    """A walk over ``days`` that ends at ``end``, pulled back toward it (history before a recorded
    fixture)."""
    level, out = end, []
    for d in reversed(days):
        out.append((d, round(max(level, floor), 3)))
        level += rng.gauss(0.0, sd) + (end - level) * 0.02
    return out[::-1]


async def _fred_history(
    app: App, first_fixture_day: date, series: dict[str, tuple[float, float, int]]
) -> None:
    """Four years of plausible history before the recorded FRED fixtures (the signals rank each
    change in three years at least), as an earlier ``backfill fred`` would have stored it.
    ``series``: id -> (the fixture's first value, the walk's step, 7 for weekly or 1 for daily)."""
    from storage import observations as obs_repo
    from storage.observations import Observation
    from storage.timeutil import day_epoch

    rng = random.Random(14)
    rows = []
    for sid, (end, sd, every) in series.items():
        last = first_fixture_day - timedelta(days=every if every == 7 else 1)
        days = [last - timedelta(days=i) for i in range(0, 4 * 365, every)][::-1]
        if every == 1:
            days = [d for d in days if d.weekday() < 5]
        rows += [Observation(sid, day_epoch(d), v, "fred") for d, v in _walk(rng, days, end, sd)]
    await app.store.call(obs_repo.upsert, rows)


async def _liquidity_history(app: App, world: World) -> None:
    # the fixtures start with Wednesday 2023-12-27 (WALCL, WTREGEN) and 2023-12-29 (RRPONTSYD)
    await _fred_history(
        app,
        date(2023, 12, 27),
        {"fred.walcl": (7_712_781.0, 15_000.0, 7), "fred.wtregen": (731_405.0, 40_000.0, 7)},
    )
    await _fred_history(app, date(2023, 12, 29), {"fred.rrpontsyd": (1018.483, 20.0, 1)})


async def _credit_history(app: App, world: World) -> None:
    # the fixtures start on 2026-11-09 (BAMLH0A0HYM2 3.12 %, DGS10 5.21 %; DGS2 served 0.35 below)
    await _fred_history(
        app,
        date(2026, 11, 9),
        {"fred.bamlh0a0hym2": (3.12, 0.03, 1), "fred.dgs10": (5.21, 0.04, 1), "fred.dgs2": (4.86, 0.04, 1)},
    )


FAMILIES = {
    "transport": TRANSPORT,
    "body": BODY,
    "values": VALUES,
    "nan": ("nan",),
    "negative": ("negative",),
    "future": ("future",),
}
#: what a drill's ``after`` polls need stored first (the universe before the calendar)
PREPARE: dict[str, Callable[[App, World], Awaitable[None]]] = {"sp500_list": _sp500_members}
#: history a poll's signals need before the recorded data (they rank each change in years)
HISTORY: dict[str, Callable[[App, World], Awaitable[None]]] = {
    "fred_liquidity": _liquidity_history,
    "fred_credit": _credit_history,
    "spx_daily": _spx_history,
}


@dataclass(frozen=True)
class Scenario:
    """A poll's declared :class:`~signals.sources.base.Drill`, expanded for the table."""

    poll: str
    drill: Drill

    @property
    def faults(self) -> tuple[str, ...]:
        return tuple(f for fam in self.drill.faults for f in FAMILIES[fam])

    def __getattr__(self, name: str) -> Any:
        return getattr(self.drill, name)

    async def prepare(self, app: App, world: World) -> None:
        for name in self.drill.after:
            await PREPARE[name](app, world)
        if self.poll in HISTORY:
            await HISTORY[self.poll](app, world)


SCENARIOS = {p.name: Scenario(p.name, p.drill) for p in sources.polls() if p.drill is not None}
ROWS = [(s.poll, f) for s in SCENARIOS.values() for f in s.faults]
STALE_ROWS = [s.poll for s in SCENARIOS.values() if s.drill.stale_after is not None]


def test_every_poll_is_drilled() -> None:
    """Every poll declares its drill, or runs another poll's fetch (a retry schedule)."""
    for p in sources.polls():
        if p.drill is None:
            assert p.same_as is not None, f"{p.name} declares no Drill (signals.sources.base.Drill)"
            assert p.run is _poll(p.same_as).run, f"{p.name} is not {p.same_as}'s fetch"
    assert set(SCENARIOS) >= {"cboe_daily", "yahoo_intraday", "kalshi_fomc", "earnings_calendar"}


def _poll(name: str) -> Poll:
    return next(p for p in sources.polls() if p.name == name)


@pytest.fixture
async def make_app(tmp_path: Path) -> AsyncIterator[Callable[[Scenario], Awaitable[tuple[App, World]]]]:
    apps: list[App] = []

    async def make(sc: Scenario) -> tuple[App, World]:
        world = world_at(sc.start)
        settings = load_settings(env={"FLOWWATCH_DB": str(tmp_path / "faults.db"), **sc.env}, dotenv=None)
        client = httpx.AsyncClient(transport=httpx.MockTransport(world))
        app = App(
            settings,
            clock=world.clock,
            client=client,
            sinks=[ConsoleSink(stream=io.StringIO())],
            sleep=world.sleep,
        )
        await app.start(schedule=False, initial_poll=False)
        apps.append(app)
        await sc.prepare(app, world)
        return app, world

    yield make
    for app in apps:
        await app.stop()


async def _health(app: App, poll: Poll) -> dict[str, Any]:
    rec = await app.store.call(meta.get, f"source:{poll.name}")
    assert rec is not None
    return rec  # type: ignore[no-any-return]


async def _rows(app: App, sc: Scenario) -> list[tuple[str, int, float]]:
    if sc.series is None:
        return await app.store.call(
            lambda db: [(r[0], 0, 0.0) for r in db.execute("SELECT ticker FROM index_members").fetchall()]
        )
    return await app.store.call(
        lambda db: db.execute(
            "SELECT series, ts, value FROM observations WHERE series LIKE ? ORDER BY series, ts", [sc.series]
        ).fetchall()
    )


async def _events(app: App, kind: str) -> list[alert_repo.StoredAlert]:
    return await app.store.call(alert_repo.list_alerts, "live", None, None, None, kind)


def _loud(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("flowwatch")
    ]


@pytest.mark.parametrize(("poll_name", "fault_name"), ROWS, ids=[f"{p}-{f}" for p, f in ROWS])
async def test_fault(
    poll_name: str, fault_name: str, make_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    sc = SCENARIOS[poll_name]
    fault = FAULTS[fault_name]
    app, world = await make_app(sc)
    poll = _poll(poll_name)
    caplog.set_level(logging.INFO)

    # a good poll first: the source is healthy and has data
    await app.run_poll(poll)
    before = await _health(app, poll)
    assert before["ok"] is True, before
    rows_before = await _rows(app, sc)
    assert rows_before, "the good poll stored nothing"
    assert _loud(caplog) == [], _loud(caplog)
    alerts_before = await _events(app, "alert")  # good data may alert (buyback); the fault adds none

    # the fault
    world.clock.advance(sc.step)
    world.fault = fault
    world.sleeps.clear()
    world.requests.clear()
    caplog.clear()
    await app.run_poll(poll)
    loud = _loud(caplog)
    assert len(loud) == 1, f"expected one warning line, got {loud}"
    line = loud[0]
    assert any(n in line.lower() for n in sc.names), line
    assert any(w in line for w in fault.words), line
    health = await _health(app, poll)
    assert health["ok"] is False and health["last_ok"] == before["at"], health
    assert any(w in health["error"] for w in fault.words), health
    assert await _events(app, "alert") == alerts_before, "the fault raised an alert"
    if fault.values is not None:  # nothing stored from the bad values
        assert await _rows(app, sc) == rows_before
    spacing = (
        {app.settings.get(nasdaq.SPACING)} if poll_name == "earnings_calendar" else set()
    )  # the scan's pace
    if fault_name == "http_429_retry_after":
        assert 7.0 in world.sleeps and set(world.sleeps) <= {7.0} | spacing, world.sleeps
    elif fault_name == "http_429_wait_an_hour":
        assert set(world.sleeps) <= spacing, world.sleeps  # no retry within the poll
    elif fault_name == "unresolved":  # asked once per host in the run, never retried or paced
        assert world.sleeps == [], world.sleeps
        asked = collections.Counter(r.url.host for r in world.requests)
        assert asked and max(asked.values()) == 1, asked
    elif fault_name in TRANSPORT:
        assert world.sleeps and max(world.sleeps) <= 60.0, world.sleeps
    assert not app._tasks[0].done(), "the dispatcher stopped"

    # the fault clears: the next poll works and health recovers
    world.fault = None
    world.clock.advance(sc.step)
    caplog.clear()
    await app.run_poll(poll)
    after = await _health(app, poll)
    assert after["ok"] is True and after["at"] == int(world.clock.now().timestamp()), after
    assert _loud(caplog) == [], _loud(caplog)
    rows_after = await _rows(app, sc)
    assert sc.series is None or len(rows_after) > len(rows_before) or rows_after != rows_before


@pytest.mark.parametrize("poll_name", STALE_ROWS)
async def test_stale_data(poll_name: str, make_app: Any) -> None:
    """Each stale key gets one notice, however long the silence; each gets one recovery notice."""
    sc = SCENARIOS[poll_name]
    assert sc.stale_after is not None
    app, world = await make_app(sc)
    poll = _poll(poll_name)
    await app.run_poll(poll)
    assert await _events(app, "notice") == []
    alerts_before = await _events(app, "alert")

    # the provider stops moving (or the poll stops running) while the clock goes on
    world.frozen_at = world.clock.now()
    end = world.clock.now() + sc.stale_after
    while world.clock.now() < end:
        world.clock.advance(sc.stale_step)
        if sc.poll_while_stale:
            await app.run_poll(poll)
        else:
            await app.evaluate(poll.signals)
    await app.evaluate(poll.signals)
    await app.evaluate(poll.signals)
    notices = await _events(app, "notice")
    keys = [(n.signal, n.key) for n in notices]
    assert keys and len(keys) == len(set(keys)), notices  # one notice per stale key, once
    assert all(n.event == "fired" and n.level == "watch" for n in notices), notices
    assert all("stale" in n.summary.lower() for n in notices), [n.summary for n in notices]
    assert await _events(app, "alert") == alerts_before, "stale data raised an alert"

    # fresh data again
    world.frozen_at = None
    world.clock.advance(sc.step)
    await app.run_poll(poll)
    after = await _events(app, "notice")
    resolved = [(n.signal, n.key) for n in after if n.event == "resolved"]
    assert sorted(resolved) == sorted(keys), after
    assert len(after) == 2 * len(keys), after


@pytest.mark.parametrize(
    ("poll_name", "host", "fallback"),
    [
        ("cboe_daily", "cdn.cboe.com", "FRED fallback"),
        ("spx_daily", "query1.finance.yahoo.com", "FRED fallback"),
        ("btc_price", "api.exchange.coinbase.com", "Binance klines fallback"),
        ("earnings_calendar", "api.nasdaq.com", "alphavantage (fallback)"),
    ],
)
async def test_primary_down_the_fallback_answers(
    poll_name: str, host: str, fallback: str, make_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """One provider of a poll fails, its fallback answers: data, healthy, one line saying both."""
    sc = SCENARIOS[poll_name]
    app, world = await make_app(sc)
    poll = _poll(poll_name)
    await app.run_poll(poll)
    rows_before = await _rows(app, sc)
    world.clock.advance(sc.step)
    world.fault, world.fault_hosts = FAULTS["http_503"], {host}
    caplog.clear()
    caplog.set_level(logging.INFO)
    await app.run_poll(poll)
    loud = _loud(caplog)
    assert len(loud) == 1 and "HTTP 503" in loud[0] and fallback in loud[0], loud
    health = await _health(app, poll)
    assert health["ok"] is True, health
    assert sc.series is None or await _rows(app, sc) != rows_before


# -- the console sink ---------------------------------------------------------------------------


class BrokenOutput(io.StringIO):
    """stdout that fails ``failures`` times (a closed pipe, a full disk, a closed file), then works."""

    def __init__(self, exc: BaseException, failures: int) -> None:
        super().__init__()
        self.exc = exc
        self.failures = failures

    def write(self, text: str) -> int:
        if self.failures > 0:
            self.failures -= 1
            raise self.exc
        return super().write(text)


@pytest.mark.parametrize(
    "exc",
    [
        BrokenPipeError(32, "Broken pipe"),
        OSError(28, "No space left on device"),
        ValueError("I/O operation on closed file."),
    ],
    ids=["broken_pipe", "disk_full", "closed_file"],
)
async def test_console_output_failing_is_retried(
    exc: BaseException, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.clock import SimClock
    from storage.observations import Observation
    from storage.timeutil import day_epoch

    clock = SimClock(datetime(2024, 8, 6, 12, 0, tzinfo=UTC))
    out = BrokenOutput(exc, failures=2)
    settings = load_settings(env={"FLOWWATCH_DB": str(tmp_path / "sink.db")}, dotenv=None)
    app = App(
        settings,
        clock=clock,
        client=httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(503))),
        sinks=[ConsoleSink(stream=out, fmt="jsonl")],
    )
    await app.start(schedule=False, initial_poll=False)
    try:
        obs = []
        for day, vix, vix3m in (
            ("2024-08-01", 16.0, 18.0),
            ("2024-08-02", 21.5, 21.0),
            ("2024-08-05", 38.6, 29.0),
        ):
            ts = day_epoch(datetime.fromisoformat(day).date())
            obs += [
                Observation("cboe.vix.close", ts, vix, "cboe"),
                Observation("cboe.vix3m.close", ts, vix3m, "cboe"),
            ]
        caplog.set_level(logging.INFO)
        await app.ingest(obs, ["vix_term"])
        for _ in range(3):  # two failed attempts, each retried after its backoff, then delivered
            await app.dispatcher.drain_once()
            clock.advance(timedelta(minutes=1))
        assert not app._tasks[0].done(), "the dispatcher stopped"
        lines = out.getvalue().splitlines()
        assert len(lines) == 1 and '"event": "fired"' in lines[0].replace('":"', '": "'), lines
        loud = _loud(caplog)
        assert len(loud) == 2 and all("console" in m and str(exc.args[-1]) in m for m in loud), loud
        assert all("Traceback" not in (r.exc_text or "") and r.exc_info is None for r in caplog.records), (
            "a traceback"
        )
        counts = await app.store.call(alert_repo.delivery_counts)
        assert counts == {"sent": 1}, counts
    finally:
        await app.stop()
