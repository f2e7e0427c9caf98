"""The App (``flowwatch run`` without Discord): polls → observations → engine → outbox → console."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot.clock import SimClock
from bot.config import load_settings
from bot.runner import App
from bot.sinks.console import ConsoleSink
from signals.sources import cboe
from storage import alerts as alert_repo
from storage import meta
from storage.observations import Observation
from storage.timeutil import day_epoch
from tests.conftest import fixture_text

REPO = Path(__file__).resolve().parents[2]


def _obs(day: str, vix: float, vix3m: float) -> list[Observation]:
    ts = day_epoch(datetime.fromisoformat(day).date())
    return [
        Observation("cboe.vix.close", ts, vix, "cboe"),
        Observation("cboe.vix3m.close", ts, vix3m, "cboe"),
    ]


async def _app(tmp_path: Path, clock: SimClock, handler=None) -> tuple[App, io.StringIO]:  # type: ignore[no-untyped-def]
    settings = load_settings(env={"FLOWWATCH_DB": str(tmp_path / "run.db")}, dotenv=None)
    out = io.StringIO()
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler or (lambda r: httpx.Response(503))))
    app = App(settings, clock=clock, client=client, sinks=[ConsoleSink(stream=out, fmt="jsonl")])
    await app.start(schedule=False, initial_poll=False)
    return app, out


async def test_alert_flows_to_console_once(tmp_path: Path) -> None:
    clock = SimClock(datetime(2024, 8, 6, 12, 0, tzinfo=UTC))
    app, out = await _app(tmp_path, clock)
    try:
        await app.ingest(
            _obs("2024-08-01", 16.0, 18.0) + _obs("2024-08-02", 21.5, 21.0) + _obs("2024-08-05", 38.6, 29.0),
            ["vix_term"],
        )
        await app.dispatcher.drain_once()
        await app.evaluate(["vix_term"])  # the same data again: nothing new
        await app.dispatcher.drain_once()
    finally:
        await app.stop()
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [(x["key"], x["event"], x["level"]) for x in lines] == [("vix3m", "fired", "alert")]
    assert lines[0]["ts"] == "2024-08-05T20:15:00Z"


async def test_stale_data_raises_one_notice_then_recovery(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = SimClock(datetime(2024, 8, 6, 12, 0, tzinfo=UTC))
    app, _out = await _app(tmp_path, clock)
    try:
        await app.ingest(_obs("2024-08-01", 16.0, 18.0) + _obs("2024-08-02", 17.0, 18.0), ["vix_term"])
        # a week later nothing new arrived: stale, and inverted data arriving late must not alert
        clock.set(datetime(2024, 8, 12, 15, 0, tzinfo=UTC))
        await app.evaluate(["vix_term"])
        await app.evaluate(["vix_term"])
        # silence alone raises the notice (no new data is needed), once
        notices = await app.store.call(alert_repo.list_alerts, "live", None, None, None, "notice")
        assert [(n.key, n.event) for n in notices] == [("stale:data", "fired")]
        clock.set(datetime(2024, 8, 12, 16, 0, tzinfo=UTC))
        await app.ingest(_obs("2024-08-05", 38.6, 29.0), ["vix_term"])  # still stale (Aug 8/9 missing)
        await app.dispatcher.drain_once()
        notices = await app.store.call(alert_repo.list_alerts, "live", None, None, None, "notice")
        alerts = await app.store.call(alert_repo.list_alerts, "live")
        assert [(n.key, n.event) for n in notices] == [("stale:data", "fired")]
        assert alerts == []
        # fresh data again
        await app.ingest(_obs("2024-08-08", 16.0, 18.0) + _obs("2024-08-09", 15.0, 18.0), ["vix_term"])
        notices = await app.store.call(alert_repo.list_alerts, "live", None, None, None, "notice")
        assert [(n.key, n.event) for n in notices] == [("stale:data", "fired"), ("stale:data", "resolved")]
        assert "the latest Cboe close is 2024-08-02" in notices[0].summary
    finally:
        await app.stop()


async def test_a_lagging_vix9d_is_named_and_never_casts_doubt_on_vix_vix3m(tmp_path: Path) -> None:
    """VIX and VIX3M current to 2026-12-04 and inverted, VIX9D ending 2026-07-22 (the FRED fallback
    carries no VIX9D): the VIX/VIX3M alert goes out, and the only notice is about VIX9D/VIX, naming
    VIX9D as the lagging input and VIX/VIX3M as still alerting (it used to be a notice for the
    whole signal, "no alerts from it", beside the Severe alert)."""
    from bot.health import check as check_health

    clock = SimClock(datetime(2026, 12, 5, 15, 0, tzinfo=UTC))
    app, _out = await _app(tmp_path, clock)
    old = day_epoch(datetime(2026, 7, 22).date())
    try:
        await app.ingest(
            [
                *_obs("2026-07-22", 16.6, 19.0),
                Observation("cboe.vix9d.close", old, 15.0, "cboe"),
                *_obs("2026-12-01", 30, 27),
                *_obs("2026-12-02", 31, 27),
                *_obs("2026-12-03", 33, 27.5),
                *_obs("2026-12-04", 34, 28),
            ],
            ["vix_term"],
        )
        await app.evaluate(["vix_term"])
        notices = await app.store.call(alert_repo.list_alerts, "live", None, None, None, "notice")
        alerts = await app.store.call(alert_repo.list_alerts, "live")
        assert [(a.key, a.event) for a in alerts] == [("vix3m", "fired")]
        assert [(n.key, n.event) for n in notices] == [("stale:data.vix9d", "fired")]
        text = notices[0].summary
        assert text.startswith(
            "Stale data for vix_term/vix9d: the latest Cboe close is 2026-07-22; the 2026-12-04 close "
            "should be out by now (VIX9D lags: its latest is 2026-07-22; VIX 2026-12-04); "
            "no VIX9D / VIX (front end) alerts until it is fresh."
        ), text
        assert "Still alerting: VIX / VIX3M (as of 2026-12-04 21:15 UTC)" in text
        report = await app.store.call(check_health, clock.now(), require_heartbeat=False)
        assert any(p.startswith("stale data for vix_term/vix9d since") for p in report.problems)
        assert not any(p.startswith("stale data for vix_term since") for p in report.problems)
        # VIX9D current again: its notice resolves, and nothing else is said
        clock.set(datetime(2026, 12, 5, 16, 0, tzinfo=UTC))
        fresh = day_epoch(datetime(2026, 12, 4).date())
        await app.ingest([Observation("cboe.vix9d.close", fresh, 36.0, "cboe")], ["vix_term"])
        notices = await app.store.call(alert_repo.list_alerts, "live", None, None, None, "notice")
        assert [(n.key, n.event) for n in notices] == [
            ("stale:data.vix9d", "fired"),
            ("stale:data.vix9d", "resolved"),
        ]
        assert "Fresh data for vix_term/vix9d again" in notices[1].summary
    finally:
        await app.stop()


async def test_poll_with_provider_down_keeps_running(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = SimClock(datetime(2026, 4, 27, 22, 0, tzinfo=UTC))
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.host)
        return httpx.Response(200, text="<html><body>We'll be right back</body></html>")

    app, out = await _app(tmp_path, clock, handler)
    try:
        with caplog.at_level(logging.WARNING):
            ctx_poll = next(p for p in cboe.POLLS if p.name == "cboe_daily")
            await app.run_poll(ctx_poll)
        health = await app.store.call(meta.get, "source:cboe_daily")
    finally:
        await app.stop()
    assert health["ok"] is False and health["last_ok"] is None
    assert health["error"] == (
        "cboe: no usable data: cboe VIX, cboe VIX9D, cboe VIX3M, cboe VIX6M: expected the index history CSV, "
        "got an HTML page; fred VIXCLS, fred VXVCLS: expected a FRED graph CSV, got an HTML page"
    )
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warned == [health["error"]]  # one line for the run
    assert out.getvalue() == ""


async def test_poll_stores_real_fixture_rows(tmp_path: Path) -> None:
    files = {n: fixture_text(f"cboe/{n}_History.csv") for n in ("VIX", "VIX3M", "VIX9D", "VIX6M")}

    def handler(request: httpx.Request) -> httpx.Response:
        name = request.url.path.rsplit("/", 1)[-1].removesuffix("_History.csv")
        return httpx.Response(200, text=files[name])

    clock = SimClock(datetime(2026, 5, 27, 22, 0, tzinfo=UTC))
    app, _out = await _app(tmp_path, clock, handler)
    try:
        await app.run_poll(next(p for p in cboe.POLLS if p.name == "cboe_daily"))
        n = await app.store.call(lambda db: db.execute("SELECT COUNT(*) FROM observations").fetchone()[0])
    finally:
        await app.stop()
    assert n == sum(len(t.strip().splitlines()) - 1 for t in files.values())


def test_run_starts_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWWATCH_", "DISCORD_"))}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--no-initial-poll", "--db", str(tmp_path / "r.db")],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "flowwatch running" in line:
            proc.send_signal(signal.SIGTERM)
            break
    rest = proc.stderr.read()
    assert proc.wait(timeout=30) == 0, "".join(seen) + rest
    assert "console sink" in "".join(seen) and "flowwatch stopped" in rest


def test_scheduler_declares_polls_and_upkeep(tmp_path: Path) -> None:
    from bot.scheduler import build_scheduler

    settings = load_settings(
        env={
            "FLOWWATCH_DB": str(tmp_path / "s.db"),
            "FLOWWATCH_SUMMARY_TIME": "08:30",
            "FLOWWATCH_TIMEZONE": "Europe/London",
        },
        dotenv=None,
    )
    app = App(settings)
    sched = build_scheduler(app)
    jobs = {j.id: j for j in sched.get_jobs()}
    assert {
        "poll:cboe_daily",
        "poll:cboe_morning",
        "poll:yahoo_intraday",
        "evaluate",
        "heartbeat",
        "summary",
    } <= set(jobs)
    cron = jobs["poll:cboe_daily"].trigger
    nxt = cron.get_next_fire_time(None, datetime(2025, 11, 21, 20, 0, tzinfo=UTC))  # 15:00 ET Friday
    assert nxt.astimezone(UTC) == datetime(2025, 11, 21, 22, 5, tzinfo=UTC)  # 17:05 ET
    summ = jobs["summary"].trigger.get_next_fire_time(None, datetime(2025, 3, 29, 12, 0, tzinfo=UTC))
    # DST in London starts 2025-03-30: 08:30 BST = 07:30 UTC
    assert summ.astimezone(UTC) == datetime(2025, 3, 30, 7, 30, tzinfo=UTC)
    assert sched._job_defaults == {"coalesce": True, "max_instances": 1, "misfire_grace_time": 60}
    app.renderer.close()


def test_yahoo_poll_only_in_market_hours() -> None:
    from signals.sources import yahoo

    poll = yahoo.POLLS[0]
    assert poll.active is not None
    assert poll.active(datetime(2025, 11, 21, 15, 0, tzinfo=UTC))  # Friday 10:00 ET
    assert poll.active(datetime(2025, 11, 21, 21, 10, tzinfo=UTC))  # 16:10 ET, until the 16:15 close
    assert not poll.active(datetime(2025, 11, 22, 15, 0, tzinfo=UTC))  # Saturday
    assert not poll.active(datetime(2025, 11, 27, 15, 0, tzinfo=UTC))  # Thanksgiving
    assert not poll.active(
        datetime(2025, 11, 21, 13, 0, tzinfo=UTC) - timedelta(minutes=1)
    )  # before the open


async def test_polls_wait_with_the_apps_injected_sleep(tmp_path: Path) -> None:
    """Retry-After and request spacing pass on the App's sleep (a simulated clock never waits)."""
    files = {n: fixture_text(f"cboe/{n}_History.csv") for n in ("VIX", "VIX3M", "VIX9D", "VIX6M")}
    seen: set[str] = set()

    def handler(request: httpx.Request) -> httpx.Response:
        name = request.url.path.rsplit("/", 1)[-1].removesuffix("_History.csv")
        if name not in seen:
            seen.add(name)
            return httpx.Response(429, headers={"Retry-After": "7"})
        return httpx.Response(200, text=files[name])

    waits: list[float] = []

    async def sim_sleep(d: float) -> None:
        waits.append(d)

    settings = load_settings(env={"FLOWWATCH_DB": str(tmp_path / "run.db")}, dotenv=None)
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    app = App(
        settings,
        clock=SimClock(datetime(2026, 5, 27, 22, 0, tzinfo=UTC)),
        client=client,
        sinks=[],
        sleep=sim_sleep,
    )
    await app.start(schedule=False, initial_poll=False)
    try:
        await app.run_poll(next(p for p in cboe.POLLS if p.name == "cboe_daily"))
        health = await app.store.call(meta.get, "source:cboe_daily")
    finally:
        await app.stop()
    assert health["ok"] is True and waits == [7.0] * 4


async def test_an_alerts_chart_is_read_beside_the_database_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chart over a long history takes seconds; writes on the database thread go on meanwhile,
    and the chart's own connection cannot write."""
    import sqlite3
    import threading

    import bot.runner
    from signals.charts import TimeSeriesChart

    clock = SimClock(datetime(2024, 8, 6, 12, 0, tzinfo=UTC))
    app, _out = await _app(tmp_path, clock)
    entered, release = threading.Event(), threading.Event()
    threads: list[str] = []
    refused: list[str] = []

    def slow_chart_data(db, settings, signal, at, days):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread().name)
        try:
            meta.put(db, "from the chart", {"no": "writes"})
        except sqlite3.OperationalError as exc:
            refused.append(str(exc))
        entered.set()
        assert release.wait(10), "the database thread waited behind the chart"
        return TimeSeriesChart(signal="vix_term", title="")

    monkeypatch.setattr(bot.runner, "chart_data", slow_chart_data)
    monkeypatch.setattr(app.renderer, "render", lambda data: _png())
    try:
        await app.ingest(_obs("2024-08-02", 21.5, 21.0) + _obs("2024-08-05", 38.6, 29.0), ["vix_term"])
        (alert,) = await app.store.call(alert_repo.list_alerts, "live")
        chart = asyncio.create_task(app.chart_for_alert(alert))
        assert await asyncio.to_thread(entered.wait, 10)  # the chart's read is under way
        await app.store.call(meta.put, "written", {"while": "charting"})  # not behind the chart
        release.set()
        assert await chart == b"png"
        assert await app.store.call(meta.get, "written") == {"while": "charting"}
        assert await app.store.call(meta.get, "from the chart") is None
    finally:
        release.set()
        await app.stop()
    assert threads and not threads[0].startswith("sqlite-owner")
    assert refused and "readonly" in refused[0]


async def _png() -> bytes:
    return b"png"


async def test_declared_streams_start_only_on_the_wall_clock_and_when_enabled(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runner starts a source's declared streams as an app-layer service: never under a
    simulated clock (replays, harnesses), never when a setting turns them off; while one runs,
    its signal is left out of polled evaluation, and given back when it stops."""
    from bot.clock import SystemClock
    from signals import sources
    from signals.sources import okx

    monkeypatch.setattr(okx, "WS_URL", "ws://127.0.0.1:9/")  # no network: a port nothing listens on

    (stream,) = [s for s in sources.streams() if s.signal == "btc_liq"]
    caplog.set_level(logging.INFO)
    app, _out = await _app(tmp_path, SimClock(datetime(2026, 1, 5, tzinfo=UTC)))
    try:
        assert app.start_stream(stream) is None and "need the wall clock" in caplog.text
        app.clock = SystemClock()
        app.settings = load_settings(
            env={"FLOWWATCH_DB": str(tmp_path / "run.db"), "FLOWWATCH_LIQ_VENUES": "none"}, dotenv=None
        )
        assert app.start_stream(stream) is None and "off by their settings" in caplog.text
        app.settings = load_settings(
            env={"FLOWWATCH_DB": str(tmp_path / "run.db"), "FLOWWATCH_LIQ_VENUES": "okx"}, dotenv=None
        )
        svc = app.start_stream(stream)
        assert svc is not None and [s.venue for s in svc.streams] == ["okx"]
        assert svc.on_start is not None  # the OKX REST fill of the downtime
        for _ in range(50):
            if "btc_liq" in app.streaming:
                break
            await asyncio.sleep(0.01)
        assert "btc_liq" in app.streaming
    finally:
        await app.stop()
    assert "btc_liq" not in app.streaming


async def test_an_alerts_chart_is_rendered_once_for_every_sink(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The webhook, the channels and the console each ask for the event's chart at about the same
    time (and a sink asks again later): one render serves them all."""
    clock = SimClock(datetime(2024, 8, 6, 12, 0, tzinfo=UTC))
    app, _out = await _app(tmp_path, clock)
    renders: list[object] = []
    gate = asyncio.Event()

    async def render(data: object) -> bytes:
        renders.append(data)
        await gate.wait()
        return b"png"

    monkeypatch.setattr(app.renderer, "render", render)
    try:
        await app.ingest(_obs("2024-08-02", 21.5, 21.0) + _obs("2024-08-05", 38.6, 29.0), ["vix_term"])
        (alert,) = await app.store.call(alert_repo.list_alerts, "live")
        asks = [asyncio.create_task(app.chart_for_alert(alert)) for _ in range(3)]
        await asyncio.sleep(0)
        gate.set()
        assert await asyncio.gather(*asks) == [b"png"] * 3
        assert await app.chart_for_alert(alert) == b"png"
        assert len(renders) == 1
        assert await app.chart_for_alert(alert, days=30) == b"png"  # another span: its own render
        assert len(renders) == 2
    finally:
        await app.stop()


async def test_a_stop_during_a_poll_is_quiet(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Ctrl-C while a scheduled poll waits between two tries (the usual case with no network):
    APScheduler logged the cancellation as "Job ... raised an exception" with a traceback, and
    the listener "job poll:polymarket_fomc failed: CancelledError()"."""
    from bot.scheduler import build_scheduler

    settings = load_settings(env={"FLOWWATCH_DB": str(tmp_path / "q.db")}, dotenv=None)
    app = App(settings)
    started = asyncio.Event()

    async def waiting_poll(poll: object) -> None:  # a retry's back-off, cut by the stop
        started.set()
        await asyncio.sleep(3600)

    app.run_poll = waiting_poll  # type: ignore[method-assign]
    sched = build_scheduler(app)
    caplog.set_level(logging.DEBUG)
    before = asyncio.all_tasks()
    sched.start()
    try:
        sched.modify_job("poll:polymarket_fomc", next_run_time=datetime.now(UTC))
        await asyncio.wait_for(started.wait(), timeout=30)
    finally:
        sched.shutdown(wait=False)
    # what asyncio.run does after the main coroutine returns: cancel what is left, and wait
    left = [t for t in asyncio.all_tasks() - before if t is not asyncio.current_task()]
    for t in left:
        t.cancel()
    await asyncio.gather(*left, return_exceptions=True)
    await asyncio.sleep(0)
    app.renderer.close()
    assert left
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not loud, [(r.name, r.getMessage()) for r in loud]
    assert any("stopped by the shutdown" in r.getMessage() for r in caplog.records)
