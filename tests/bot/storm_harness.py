"""The real Discord bot through a replay storm, in a process a test may SIGKILL at any moment.

One run (:func:`run`) is :class:`bot.discord_client.FlowwatchBot` (the App, the subscription
router, the channel sink, the real discord.py client) pointed at a local fake Discord that lives
in the *test* process (``Route.BASE`` / ``DEFAULT_GATEWAY``, set here only), with a
:class:`~bot.clock.SimClock` stepping through a :class:`~tests.bot.storm_plan.Storm`. Every step
ingests, evaluates, drains the outbox and releases quiet-hours digests (a job every minute in
``flowwatch run``); inside a BTC window it feeds one minute of liquidations to
:class:`bot.streams.StreamService` of ``btc_liq`` (its real ``on_events``, ``evaluate`` and ``flush``; the
streams' health is set by the plan instead of sockets).

Progress goes to a TCP port of the test as lines ``<step> <phase> [detail]``, phases in order:
``start``, ``evaluated``, ``fed`` (BTC), ``drained <messages this run has sent>``, ``flushed
<rows as JSON>`` (BTC, after the commit returned), ``step`` (the step is committed). A run also
says ``resume <step>`` when it is up and ``finished`` after a clean shutdown.

Restart semantics (what makes an interrupted run comparable with an uninterrupted one):

* The step counter ``storm_step`` in ``meta`` is committed at the end of each step, and the run
  checks that nothing is left uncommitted then (no transaction open on the connection). A run
  starts at the step after it, with the clock at that step's time (never behind what the
  killed run may have done), and redoes a step that was cut short: ingest is idempotent, the
  engine skips readings it has seen, pending deliveries go out as soon as the App starts.
* In a BTC window the counter is written in the *same transaction* as the flushed buckets
  (``StormLive._write``), so a step's liquidations are fed again exactly when its buckets did
  not commit (a venue that replays from the last acknowledged point). The service starts at
  the minute's start, as the step's minute is fed after it, on its own clock.
* ``btc_liq`` baselines are pinned to the history before the first window. An uninterrupted
  ``flowwatch run`` refreshes them every hour and a restart recomputes them at once; both are
  right, but a restart in a cascade would judge severity against baselines that already
  contain the cascade, which an uninterrupted run of a few simulated hours never does.

Settings: the storm cap is off (``FLOWWATCH_STORM_MAX=0``): folding depends on how many
messages a channel got within the last minutes *at send time*, which a crash legitimately
shifts, so no message count could be compared; it has its own tests. Per-channel pacing
waits on the wall clock (5 messages per 5 s per channel), which would make the storm take
minutes; the pacer here allows 1000 per second (pacing has its own tests). Charts are a tiny
PNG (rendering has its own tests and benchmark).

``python -m tests.bot.storm_harness --zygote`` imports everything and builds the storms once,
then forks one run per request (``run <json argv>`` on stdin -> ``pid <n>``; ``wait <n>`` ->
``exit <n> <code>``, negative for a signal): a restart then costs the bot's own start-up, not
2.5 s of imports. Each run is a new process with nothing of the previous one but the files.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib
import json
import logging
import os
import socket
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

CHECKPOINT = "storm_step"
ENV = {
    "FLOWWATCH_STORM_MAX": "0",
    "FLOWWATCH_LIQ_RETENTION_DAYS": "30",
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="storm_harness")
    p.add_argument("--db", required=True)
    p.add_argument("--api", required=True, help="the fake's REST base (http://127.0.0.1:PORT/api/v10)")
    p.add_argument("--gateway", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--progress", type=int, required=True, help="TCP port of the test's progress listener")
    p.add_argument("--size", default="full", choices=("full", "small"))
    p.add_argument("--zygote", action="store_true")
    return p.parse_args(argv)


class Progress:
    """Lines to the test; a blocking send of a few bytes (the test reads them at once)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))

    def __call__(self, *parts: object) -> None:
        self.sock.sendall((" ".join(str(p) for p in parts) + "\n").encode())

    def close(self) -> None:
        self.sock.close()


def pin_baselines(pin: int) -> None:
    """``btc_liq`` baselines from the history before ``pin`` only (see the module docstring)."""
    from signals.btc_liq import _live

    real = _live.load_history

    def pinned(db: Any, params: Any, now: float, until: float, minutes: bool = True) -> Any:
        tl, _hists = real(db, params, now, until, minutes)
        _tl, hists = real(db, params, pin, pin, False)  # the medians and ranks of the periods before pin
        return tl, hists

    _live.load_history = pinned


async def run(args: argparse.Namespace) -> None:
    from bot.clock import SimClock
    from bot.config import load_settings
    from bot.pacing import ChannelPacer
    from bot.streams import StreamService, service_of
    from signals.btc_liq._vocab import VENUE_INDEX
    from storage import meta
    from storage.db import open_db
    from storage.timeutil import from_epoch
    from tests.bot.discord_harness import TestBot
    from tests.bot.storm_plan import VENUES, Storm, build_storm
    from tests.fakediscord import FAST_GUILD_READY_TIMEOUT, point_discord_at, tiny_png

    storm: Storm = build_storm(args.size)
    pin_baselines(storm.pin)
    db = open_db(args.db)
    done = int(meta.get(db, CHECKPOINT, -1))
    db.close()
    first = done + 1
    progress = Progress(args.progress)
    # Time never runs backwards across a restart: the killed run may have acted at the time of
    # the step it was in (routed events, held deliveries), so this one starts there.
    clock = SimClock(from_epoch(storm.steps[min(first, len(storm.steps) - 1)].t))
    live_t = 0.0  # the liquidation service's clock (see open_live)
    settings = load_settings(env={"FLOWWATCH_DB": args.db, **ENV, **storm.env}, dotenv=None)
    png = tiny_png()

    async def chart(_alert: Any) -> bytes:
        return png

    class StormLive:
        """The live service; its bucket write also commits the step counter (one transaction)."""

        def __init__(self, svc: StreamService) -> None:
            self.svc = svc
            self.streams = svc.streams
            self.step = -1
            self.written: list[tuple[str, int, float, str]] = []  # the rows of the last commit
            svc._write = self._write  # type: ignore[method-assign]

        def _write(self, db: Any, rows: Any, health: Any, now: int, raw: Any = None) -> None:
            with db.atomic():
                StreamService._write(db, rows, health, now, raw)
                meta.put(db, CHECKPOINT, self.step, now)
            self.written = rows

    up = asyncio.Event()

    class StormBot(TestBot):
        async def setup_hook(self) -> None:
            await super().setup_hook()
            up.set()

    bot = StormBot(
        settings,
        clock=clock,
        charts=chart,
        pacer=ChannelPacer(1000, 1.0),
        guild_ready_timeout=FAST_GUILD_READY_TIMEOUT,
        initial_poll=False,
        schedule=False,
    )
    live: StormLive | None = None
    live_window: int | None = None

    def apply_health(minute: int) -> None:
        assert live is not None
        for s in live.streams:
            if s.venue in storm.down.get(minute, ()):
                s.health.mark_down(minute, "storm: stream down")
            else:
                s.health.mark_up(minute)

    async def open_live(window: int, minute: int) -> StormLive:
        """The service as ``flowwatch run`` starts it at the minute's start (a step then feeds the
        minute and runs at its end): its own clock, as the App's may already be at the end."""
        nonlocal live, live_window, live_t
        assert bot.app is not None
        live_window, live_t = window, float(minute)
        live = StormLive(service_of(bot.app, "btc_liq", venues=VENUES, clock=lambda: live_t))
        live.svc.start_clock()
        await live.svc.warm()
        bot.app.streaming.add("btc_liq")
        apply_health(minute)
        return live

    def close_live() -> None:
        nonlocal live
        assert bot.app is not None
        bot.app.streaming.discard("btc_liq")
        live = None

    with point_discord_at(args.api, args.gateway):
        async with bot:
            client = asyncio.create_task(bot.start(args.token), name="discord")
            waiter = asyncio.create_task(up.wait())
            await asyncio.wait({client, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if client.done():
                client.result()
                raise RuntimeError("the bot stopped before it was set up")
            app = bot.app
            assert app is not None
            progress("resume", first)
            digests = 0
            for i in range(first, len(storm.steps)):
                step = storm.steps[i]
                if live is not None and step.window != live_window:
                    close_live()  # between windows the service is off (as a restart would leave it)
                if step.window is not None and live is None:
                    assert step.minute is not None
                    await open_live(step.window, step.minute)
                clock.set(from_epoch(step.t))
                live_t = float(step.t)
                progress(i, "start")
                lo, hi = step.obs
                if hi > lo:
                    await app.ingest(storm.obs[lo:hi])
                if step.evaluate:
                    await app.evaluate(list(step.evaluate))
                progress(i, "evaluated")
                if live is not None:
                    assert step.minute is not None
                    apply_health(step.minute)
                    for venue, events in storm.frames.get(step.minute, []):
                        assert venue in VENUE_INDEX
                        live.svc.on_events(events, time.perf_counter(), storm.frame_text(venue, events))
                    await live.svc.evaluate()
                    progress(i, "fed")
                await app.dispatcher.drain_once()
                if await bot.release_quiet():  # (a job every minute in flowwatch run)
                    digests += 1
                progress(i, "drained", app.dispatcher.sent + digests)
                if live is not None:
                    live.step = i
                    await live.svc.flush()
                    rows = [[s, t, v] for s, t, v, _src in live.written]
                    progress(i, "flushed", json.dumps(rows, separators=(",", ":")))
                else:
                    await app.store.call(meta.put, CHECKPOINT, i, step.t)
                if await app.store.call(lambda db: db.conn.in_transaction):
                    # everything of a step is committed at its end, or a kill would lose it
                    raise RuntimeError(f"step {i}: the database connection is left inside a transaction")
                progress(i, "step")
            if live is not None:
                close_live()
            await app.dispatcher.drain_once()  # (after a kill past the last step: what is pending)
            await bot.close()
            with contextlib.suppress(asyncio.CancelledError):
                await client
    progress("finished")
    progress.close()


def child_main(argv: list[str]) -> int:
    """One run in this process: returns the exit code."""
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    try:
        asyncio.run(run(args))
    except Exception:
        traceback.print_exc()
        return 1
    return 0


def _redirect(log_path: str) -> None:
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.close(null)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115


def zygote(reply: Callable[[str], None] | None = None) -> None:
    """Import and build once, then fork one run per request read from stdin."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")  # no BLAS thread pools: this process forks
    for name in ("bot.discord_client", "bot.streams", "tests.bot.discord_harness", "tests.fakediscord"):
        importlib.import_module(name)  # everything a run imports, before any fork
    from signals import registry
    from tests.bot.storm_plan import build_storm

    registry()
    out = reply or (lambda s: (sys.stdout.write(s + "\n"), sys.stdout.flush()))
    out("ready")
    for line in sys.stdin:
        cmd, _, rest = line.strip().partition(" ")
        if cmd == "run":
            request = json.loads(rest)
            build_storm(parse_args(request["argv"]).size)  # once, before the fork
            gc.collect()
            gc.freeze()  # the runs' collections leave the shared pages alone
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    _redirect(request["log"])
                    code = child_main(request["argv"])
                finally:
                    with contextlib.suppress(Exception):
                        sys.stdout.flush()
                        sys.stderr.flush()
                    os._exit(code)
            out(f"pid {pid}")
        elif cmd == "wait":
            pid = int(rest)
            _, status = os.waitpid(pid, 0)
            out(f"exit {pid} {os.waitstatus_to_exitcode(status)}")
        elif cmd == "quit":
            return


if __name__ == "__main__":
    if sys.argv[1:] == ["--zygote"]:
        zygote()
    else:
        sys.exit(child_main(sys.argv[1:]))
