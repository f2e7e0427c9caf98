"""Hostile input on every slash option: generated payloads through the real CommandTree.

Hypothesis draws a leaf command of the registered tree and a value for each of its options —
in range, out of range, wrong type, NaN, huge, empty, unicode, unknown channel/role ids — and
a user (admin or member) and dispatches it as a real INTERACTION_CREATE through the local
Discord fake to the real bot. Every case must be answered (deferred or replied), refusals are
private and say something, and nothing ends in the error handler's "unexpected" branch.

The bot and the fake run on their own event loop in a thread, so the (synchronous) hypothesis
test can drive them. ``FLOWWATCH_FUZZ_EXAMPLES`` sets the number of cases.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine, Iterator
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import discord
import pytest
from discord import app_commands
from hypothesis import given
from hypothesis import strategies as st

from bot.clock import SimClock
from bot.commands import build_commands
from tests.bot.discord_harness import (
    ALERT_RATIO,
    after_close,
    bot_settings,
    running_bot,
    sessions,
    vix_history,
)
from tests.fakediscord import DEFAULT_ADMIN, DEFAULT_MEMBER, FakeDiscord, option, subcommand, subcommand_group
from tests.fuzzing import EXAMPLES, fuzz_settings

pytestmark = pytest.mark.e2e
T = TypeVar("T")
T_OPT = discord.AppCommandOptionType


def leaves() -> list[tuple[list[str], app_commands.Command[Any, ..., Any]]]:
    out = []

    def walk(path: list[str], cmd: Any) -> None:
        if isinstance(cmd, app_commands.Group):
            for c in cmd.commands:
                walk([*path, c.name], c)
        else:
            out.append((path, cmd))

    for top in build_commands():
        walk([top.name], top)
    return out


LEAVES = leaves()

EDGE_TEXT = [
    "",
    " ",
    "0",
    "-1",
    "1e309",
    "nan",
    "inf",
    "25:61",
    "24:00",
    "Mars/Olympus",
    "UTC",
    "../etc/passwd",
    "x" * 200,
    "🟥" * 30,
    "'; DROP TABLE subscriptions; --",
    "<@&123>",
    "@everyone",
    "2026-02-30",
    "dec",
    "next",
    "vix_term",
    "btc_liq",
    "alert",
    "severe",
    "watch",
    "1h",
    "90m",
    "0s",
    "-5m",
    "9999d",
]


class BotThread:
    """A running bot and fake on their own loop in a thread."""

    def __init__(self, tmp: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.stop: asyncio.Event | None = None
        self.fake: FakeDiscord | None = None
        self.errors: list[logging.LogRecord] = []
        self.tmp = tmp
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._main(),), daemon=True)
        self.thread.start()
        if not self.ready.wait(60):
            raise RuntimeError("the bot did not start")

    async def _main(self) -> None:
        self.stop = asyncio.Event()
        settings = bot_settings(self.tmp, FLOWWATCH_CHART_COOLDOWN="0")
        end = date(2024, 3, 15)
        async with (
            FakeDiscord() as fake,
            running_bot(fake, settings, clock=SimClock(after_close(end))) as bot,
        ):
            assert bot.app is not None
            await bot.app.ingest(vix_history(sessions(end, 120), [ALERT_RATIO] * 3), ["vix_term"])
            self.fake = fake
            self.ready.set()
            await self.stop.wait()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 20) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        assert self.stop is not None
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(30)


class _Collect(logging.Handler):
    def __init__(self, sink: list[logging.LogRecord]) -> None:
        super().__init__(logging.ERROR)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotThread]:
    bt = BotThread(tmp_path_factory.mktemp("fuzzbot"))
    handler = _Collect(bt.errors)
    logging.getLogger("flowwatch.commands").addHandler(handler)
    try:
        yield bt
    finally:
        logging.getLogger("flowwatch.commands").removeHandler(handler)
        bt.close()


def value_for(param: app_commands.Parameter, fake: FakeDiscord) -> st.SearchStrategy[Any]:
    t = param.type
    choices = [c.value for c in param.choices]
    if t is T_OPT.string:
        return st.one_of(
            st.sampled_from(choices or EDGE_TEXT), st.sampled_from(EDGE_TEXT), st.text(max_size=150)
        )
    if t is T_OPT.integer:
        return st.one_of(st.integers(-(2**53), 2**53), st.integers(-10, 4000), st.sampled_from(EDGE_TEXT))
    if t is T_OPT.number:
        return st.one_of(
            st.floats(allow_nan=True, allow_infinity=True), st.floats(-5, 5), st.sampled_from(EDGE_TEXT)
        )
    if t is T_OPT.channel:
        return st.one_of(st.sampled_from(list(fake.channels.values())), st.integers(1, 2**63 - 1).map(str))
    if t is T_OPT.role:
        return st.one_of(st.sampled_from(list(fake.guild.roles)), st.integers(1, 2**63 - 1).map(str))
    if t is T_OPT.boolean:
        return st.booleans()
    return st.text(max_size=40)


@st.composite
def cases(draw: st.DrawFn, fake: FakeDiscord) -> tuple[list[str], list[dict[str, Any]], Any]:
    path, cmd = draw(st.sampled_from(LEAVES))
    opts = []
    for p in cmd.parameters:
        if not p.required and draw(st.booleans()):
            continue
        v = draw(value_for(p, fake))
        # fake channels/roles carry their own type; anything else is sent as the declared type,
        # so a string in an integer option is a wrong-typed payload (as a hostile client sends)
        opts.append(option(p.name, v) if hasattr(v, "id") else option(p.name, v, type=int(p.type.value)))
    user = draw(st.sampled_from([DEFAULT_ADMIN, DEFAULT_MEMBER]))
    return path, opts, user


def _payload_options(path: list[str], opts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if len(path) == 1:
        return opts
    if len(path) == 2:
        return [subcommand(path[1], *opts)]
    return [subcommand_group(path[1], subcommand(path[2], *opts))]


def test_every_slash_option_is_validated(running: BotThread) -> None:
    fake = running.fake
    assert fake is not None
    seen = {"n": 0}

    @fuzz_settings
    @given(cases(fake))
    def check(case: tuple[list[str], list[dict[str, Any]], Any]) -> None:
        path, opts, user = case
        before = len(running.errors)

        async def go() -> Any:
            rec = await fake.invoke_slash_command(path[0], *_payload_options(path, opts), user=user)
            await fake.wait_for_interaction_response(rec, timeout=15)
            return rec

        rec = running.call(go())
        seen["n"] += 1
        assert rec.callbacks, f"/{' '.join(path)} {opts}: no answer"
        kind = rec.callbacks[0].type
        assert kind in (4, 5, 8), f"/{' '.join(path)}: answered with type {kind}"
        if kind == 4:
            msg = fake.original_response(rec)
            assert msg is not None and (msg.content or msg.embeds), f"/{' '.join(path)}: empty answer"
        unexpected = [r for r in running.errors[before:] if "failed" in r.getMessage()]
        assert not unexpected, (
            f"/{' '.join(path)} {opts}: {unexpected[0].getMessage()} {unexpected[0].exc_text}"
        )

    check()
    assert seen["n"] >= min(EXAMPLES, 20)
