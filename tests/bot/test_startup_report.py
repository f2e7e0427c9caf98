"""The start-up report of ``flowwatch run``: every signal as /status, each source reached or not,
the next poll, and one clear line when nothing is reachable.

Online: the real ``App`` polls every provider of the simulated world (recorded payloads in their
real formats through ``httpx.MockTransport``). Offline: every host refuses the connection, as with
no network. Retries log at DEBUG and each failing source logs one WARNING for its outage.
"""

from __future__ import annotations

import asyncio
import collections
import io
import logging
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bot.config import load_settings
from bot.runner import App
from bot.sinks.console import ConsoleSink
from signals import registry, sources
from tests.bot.faultworld import World, world_at

START = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # a Friday, the recorded snapshots' day


async def _run_start(tmp_path: Path, world: World, **env: str) -> tuple[App, str]:
    settings = load_settings(
        env={
            "FLOWWATCH_DB": str(tmp_path / "fw.db"),
            "FLOWWATCH_EARNINGS_SCAN_DAYS": "7",
            "FLOWWATCH_EARNINGS_SPACING": "0.5",
            **env,
        },
        dotenv=None,
    )
    client = httpx.AsyncClient(transport=httpx.MockTransport(world))
    app = App(
        settings,
        clock=world.clock,
        client=client,
        sinks=[ConsoleSink(stream=io.StringIO())],
        sleep=world.sleep,
    )
    out = io.StringIO()
    app.report_stream = out
    await app.start(schedule=True, initial_poll=True)
    task = next(t for t in app._tasks if t.get_name() == "initial-polls")
    await asyncio.wait_for(task, timeout=120)
    return app, out.getvalue()


@pytest.mark.usefixtures("fixtures_dir", "data_dir")
async def test_online_report_lists_every_signal_and_source_reached(tmp_path: Path) -> None:
    world = world_at(START)
    app, text = await _run_start(tmp_path, world)
    try:
        lines = text.splitlines()
        assert lines[0].startswith("flowwatch is running (console mode) at 2026-11-20 15:00Z")
        # every signal key as /status shows it, with a value, a level in words and an as-of time
        vix = next(line for line in lines if line.strip().startswith("vix_term/vix3m"))
        assert "VIX/VIX3M" in vix and "as of 2026-11-" in vix
        assert any(w in vix for w in ("OK", "Heads-up", "Alert", "Severe"))
        for sid in registry():  # all eight, the flow signals included
            assert any(line.strip().startswith(f"{sid}/") for line in lines), sid
        # every poll is listed: run and answered, or why it did not run
        names = {p.name for p in sources.polls()}
        src = [
            line.split()
            for line in lines
            if line.startswith("  ") and line.split()[1:2] and line.split()[1] in names
        ]
        assert {row[1] for row in src} == names
        ran = [row for row in src if row[0] in ("ok", "FAIL")]
        assert ran and all(row[0] == "ok" for row in ran), text
        assert f"Sources: {len(ran)} of {len(ran)} reached" in text
        assert "cboe_morning" in text and "same fetch as cboe_daily" in text
        assert "Next poll: " in text
        assert "NOTHING IS REACHABLE" not in text
    finally:
        await app.stop()


@pytest.mark.parametrize(
    "error",
    ["[Errno -2] Name or service not known", "[Errno 111] Connection refused"],
    ids=["dns", "refused"],
)
async def test_offline_report_says_nothing_is_reachable_and_logs_one_warning_per_source(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, error: str
) -> None:
    world = _Offline(world_at(START), error)
    caplog.set_level(logging.DEBUG, logger="flowwatch")
    app, text = await _run_start(tmp_path, world)
    try:
        polled = [p for p in sources.polls() if p.name in text and f"FAIL  {p.name}" in text]
        assert len(polled) >= 6, text
        assert f"Sources: 0 of {len(polled)} reached" in text
        assert "NOTHING IS REACHABLE: 0 of" in text
        assert "flowwatch demo" in text and "flowwatch backfill all --dir D" in text
        assert error in text
        # every signal is still listed, saying why it has nothing to show
        assert "vix_term/vix3m" in text and "no data yet (nothing stored" in text
        report = text.split("Sources:")[0].splitlines()
        for sid in registry():
            assert any(line.strip().startswith(f"{sid}") for line in report), (sid, text)
        # said by run itself: not "(or flowwatch run polls it)"
        assert "flowwatch run" not in text.split("Sources:")[0], text
        assert "the polls store it as it is published" in text
        # retries are DEBUG; each failing poll logs exactly one WARNING for its outage
        retries = [r for r in caplog.records if "retry " in r.getMessage()]
        if "refused" in error:  # can pass: retried with backoff
            assert retries and all(r.levelno == logging.DEBUG for r in retries)
        else:  # a name that does not resolve is asked once per host and poll run, never retried
            assert not retries and "did not resolve, not retried until the next poll" in text
            asked = collections.Counter(r.url.host for r in world.refused)
            # cboe_daily's four indices and nasdaq's calendar scan: one request each
            assert asked["cdn.cboe.com"] == 1 and asked["api.nasdaq.com"] == 1, asked
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING and r.name == "flowwatch.run"]
        assert len(warnings) == len(polled), [r.getMessage() for r in warnings]
        # and across flowwatch: one WARNING per source (a stream's venue, a poll's provider)
        every = [
            r.getMessage().split(":")[0]
            for r in caplog.records
            if r.levelno >= logging.WARNING and r.name.startswith("flowwatch")
        ]
        assert len(every) == len(set(every)), sorted(every)
        # a second failing round is quiet; recovery is one INFO line
        caplog.clear()
        poll = next(p for p in sources.polls() if p.name == "kalshi_fomc")
        await app.run_poll(poll)
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING and r.name == "flowwatch.run"]
        world.offline = False  # the network is back
        await app.run_poll(poll)
        back = [
            r.getMessage() for r in caplog.records if r.name == "flowwatch.run" and r.levelno == logging.INFO
        ]
        assert any("kalshi_fomc: reachable again after" in m for m in back), back
    finally:
        await app.stop()


class _Offline(World):
    """The world behind a machine without a network: every connection fails name resolution."""

    def __init__(self, world: World, error: str = "[Errno -2] Name or service not known") -> None:
        super().__init__(world.clock, routes=world.routes)
        self.offline = True
        self.error = error
        self.refused: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.offline:
            self.refused.append(request)
            raise httpx.ConnectError(self.error, request=request)
        return super().__call__(request)
