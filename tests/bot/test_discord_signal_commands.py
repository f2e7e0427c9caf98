"""``/ratecut``, ``/liquidations`` and ``/buyback`` through the real CommandTree and the fake."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.clock import SimClock
from bot.demo import START
from signals import registry
from storage import batches
from tests.bot.discord_harness import TestBot, bot_settings, running_bot
from tests.fakediscord import DEFAULT_MEMBER, FakeDiscord, InteractionRecord, option, subcommand

pytestmark = pytest.mark.e2e

PNG = b"\x89PNG\r\n\x1a\n"
DEFERRED, MESSAGE = 5, 4


def _demo_db(db: Any) -> None:
    for sig in registry().values():
        batches.write(db, sig.demo(START).batch(), live=False)


@pytest_asyncio.fixture
async def bot(fake_discord: FakeDiscord, tmp_path: Path) -> AsyncIterator[TestBot]:
    # the built-in scenario's data, with the clock just after the Fed-odds whipsaw
    clock = SimClock(datetime(2026, 2, 11, 16, 0, tzinfo=UTC))
    async with running_bot(fake_discord, bot_settings(tmp_path), clock=clock) as b:
        assert b.app is not None
        await b.app.store.call(_demo_db)
        yield b


async def run(fake: FakeDiscord, name: str, *options: dict[str, Any]) -> InteractionRecord:
    rec = await fake.invoke_slash_command(name, *options, user=DEFAULT_MEMBER)
    await fake.wait_for_interaction_response(rec, timeout=10)
    return rec


async def test_ratecut_next_meeting_with_chart(fake_discord: FakeDiscord, bot: TestBot) -> None:
    rec = await run(fake_discord, "ratecut")
    msg = await fake_discord.wait_for_followup(rec, timeout=10)
    assert [cb.type for cb in rec.callbacks] == [DEFERRED]
    assert msg.embed is not None and "FOMC Mar 18, 2026" in msg.embed["title"]
    assert "Kalshi" in msg.embed["description"] and "P(cut)" in msg.embed["description"]
    assert msg.attachment("ratecut-2026-03-18.png").data.startswith(PNG)


async def test_ratecut_bad_meeting_says_what_is_allowed(fake_discord: FakeDiscord, bot: TestBot) -> None:
    rec = await run(fake_discord, "ratecut", option("meeting", "whenever"))
    content = fake_discord.original_response(rec).content  # type: ignore[union-attr]
    assert [cb.type for cb in rec.callbacks] == [MESSAGE]
    assert "Cannot read meeting 'whenever'" in content


async def test_liquidations_report_and_chart(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    # a day after the demo's cascade (a clock of its own: a SimClock never goes back)
    cascade_end = max(o.ts for o in registry()["btc_liq"].demo(START).observations)
    clock = SimClock(datetime.fromtimestamp(cascade_end, UTC) - timedelta(days=1))
    async with running_bot(fake_discord, bot_settings(tmp_path), clock=clock) as b:
        assert b.app is not None
        await b.app.store.call(_demo_db)
        rec = await run(fake_discord, "liquidations", option("hours", 72))
        msg = await fake_discord.wait_for_followup(rec, timeout=10)
    assert msg.embed is not None
    names = [f["name"] for f in msg.embed["fields"]]
    assert names[:2] == ["Longs liquidated", "Shorts liquidated"]
    assert "lower bound" in msg.embed["footer"]["text"]
    assert "Total $2.36B" in msg.embed["description"]  # the cascade is in these 72 hours
    assert msg.attachment("liquidations-72h.png").data.startswith(PNG)


async def test_liquidations_without_data_in_range(fake_discord: FakeDiscord, bot: TestBot) -> None:
    rec = await run(fake_discord, "liquidations", option("hours", 72))  # weeks after the demo's data
    msg = await fake_discord.wait_for_followup(rec, timeout=10)
    assert msg.embed is not None and "No liquidation data in this range" in msg.embed["description"]
    assert not msg.attachments  # no chart of an empty range


@pytest.mark.parametrize(
    ("value", "needle"),
    [(0, "Hours must be a whole number from 1 to 720"), (721, "Hours must be a whole number from 1 to 720")],
)
async def test_liquidations_hours_validated(
    fake_discord: FakeDiscord, bot: TestBot, value: int, needle: str
) -> None:
    rec = await run(fake_discord, "liquidations", option("hours", value))
    assert needle in fake_discord.original_response(rec).content  # type: ignore[union-attr]


async def test_buyback_view_and_chart(fake_discord: FakeDiscord, bot: TestBot) -> None:
    bot.clock.set(datetime(2026, 4, 8, 15, 0, tzinfo=UTC))  # type: ignore[attr-defined]
    rec = await run(fake_discord, "buyback", option("days", 180))
    msg = await fake_discord.wait_for_followup(rec, timeout=10)
    assert msg.embed is not None and "estimate" in msg.embed["footer"]["text"]
    assert msg.attachment("buyback-180d.png").data.startswith(PNG)
    bad = await run(fake_discord, "buyback", option("days", 5))
    assert "`days` must be from 30 to 730 days" in fake_discord.original_response(bad).content  # type: ignore[union-attr]


async def test_slash_queries_read_beside_the_owner_thread(
    fake_discord: FakeDiscord, bot: TestBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/liquidations and /status read on a read-only connection of their own: never on the
    database owner thread (an alert's write never waits behind them), and they cannot write."""
    import sqlite3
    import threading

    import bot.commands.liquidations as liq_cmd
    import bot.commands.status as status_cmd
    from storage import meta

    seen: list[tuple[str, str, str]] = []

    def spy(name: str, real: Any) -> Any:
        def wrapped(db: Any, *args: Any) -> Any:
            try:
                meta.put(db, "written by a query", {"no": "writes"})
                outcome = "wrote"
            except sqlite3.OperationalError as exc:
                outcome = str(exc)
            seen.append((name, threading.current_thread().name, outcome))
            return real(db, *args)

        return wrapped

    monkeypatch.setattr(liq_cmd, "liquidations_report", spy("liquidations", liq_cmd.liquidations_report))
    monkeypatch.setattr(status_cmd, "status", spy("status", status_cmd.status))
    rec = await run(fake_discord, "liquidations", option("hours", 24))
    await fake_discord.wait_for_followup(rec, timeout=10)
    rec = await run(fake_discord, "status")
    await fake_discord.wait_for_followup(rec, timeout=10)
    assert [s[0] for s in seen] == ["liquidations", "status"]
    assert all(not thread.startswith("sqlite-owner") for _n, thread, _o in seen), seen
    assert all("readonly" in outcome for _n, _t, outcome in seen), seen


#: every slash command that only reads, with options that reach its queries
READ_ONLY_COMMANDS: list[tuple[str, tuple[dict[str, Any], ...]]] = [
    ("status", ()),
    ("history", (option("days", 30),)),
    ("chart", (option("signal", "btc_liq"), option("days", 30))),
    ("vix", (option("days", 30),)),
    ("ratecut", ()),
    ("liquidations", (option("hours", 24),)),
    ("buyback", (option("days", 180),)),
    ("flows", ()),
    ("alerts", (subcommand("list"),)),
    ("thresholds", (subcommand("show", option("signal", "btc_liq")),)),
    ("thresholds", (subcommand("show"),)),  # every signal's overrides
    ("quiet", (subcommand("show"),)),
    ("summary", (subcommand("now"),)),
]


async def test_every_read_only_command_reads_beside_the_owner_thread_and_defers_first(
    fake_discord: FakeDiscord, bot: TestBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No query behind a read-only slash command runs on the database owner thread (an alert's
    outbox write would wait behind it), and the commands that defer do so before their first
    query (a large database must not miss Discord's 3-second deadline: /status, /history and the
    charts). What each command did is told apart from the bot's background work by the task it
    ran in."""
    import asyncio
    import contextvars

    import discord

    from bot.commands._common import FlowwatchTree

    assert bot.app is not None
    bot.cooldowns.per = 0
    command: contextvars.ContextVar[str | None] = contextvars.ContextVar("command", default=None)
    log: list[tuple[str, str, str]] = []  # (command, what, function)

    real_call = FlowwatchTree._call

    async def tagged(self: Any, interaction: discord.Interaction) -> None:
        data: dict[str, Any] = dict(interaction.data or {})
        command.set(str(data.get("name")))
        await real_call(self, interaction)

    def note(what: str, fn: Any) -> None:
        if (name := command.get()) is not None:
            log.append((name, what, getattr(fn, "__name__", repr(fn))))

    store = bot.app.store
    real_read, real_store_call = store.read, store.call

    async def read(fn: Any, *args: Any, **kwargs: Any) -> Any:
        note("read", fn)
        return await real_read(fn, *args, **kwargs)

    async def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
        note("owner", fn)
        return await real_store_call(fn, *args, **kwargs)

    real_defer = discord.InteractionResponse.defer

    async def defer(self: Any, *args: Any, **kwargs: Any) -> Any:
        note("defer", None)
        return await real_defer(self, *args, **kwargs)

    monkeypatch.setattr(FlowwatchTree, "_call", tagged)
    monkeypatch.setattr(store, "read", read)
    monkeypatch.setattr(store, "call", call)
    monkeypatch.setattr(discord.InteractionResponse, "defer", defer)
    from tests.fakediscord import DEFAULT_ADMIN

    for name, opts in READ_ONLY_COMMANDS:
        log.clear()  # this command's record only (one command may run with other options)
        rec = await fake_discord.invoke_slash_command(name, *opts, user=DEFAULT_ADMIN)
        await fake_discord.wait_for_interaction_response(rec, timeout=10)
        if rec.callbacks and rec.callbacks[0].type == DEFERRED:
            await fake_discord.wait_for_followup(rec, timeout=10)
        await asyncio.sleep(0)
        mine = [(what, fn) for n, what, fn in log if n == name]
        reads = [fn for what, fn in mine if what == "read"]
        assert reads, (name, mine)  # the spy saw the command's queries
        assert not [fn for what, fn in mine if what == "owner"], (name, mine)
        # every one defers before its first query, whatever the database holds
        assert mine[0] == ("defer", "None"), (name, mine)
        if name in ("alerts", "thresholds", "quiet"):  # their answer is for the admin's eyes only
            assert (await fake_discord.wait_for_followup(rec, timeout=10)).ephemeral, name


async def test_scheduled_summary_reads_its_schedule_beside_the_owner_thread(
    fake_discord: FakeDiscord, bot: TestBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daily summary job and the rescheduling after ``/summary schedule`` read the schedule
    rows on a read-only connection of their own (never on the owner thread, where an alert's
    write would wait behind them, and where a long write would hold the summary up); the
    schedule's write stays on the owner thread, and the read right after it sees it."""
    import asyncio
    import sqlite3
    import threading

    from bot import guild_config
    from storage import meta
    from tests.fakediscord import DEFAULT_ADMIN, Defaults

    seen: list[tuple[str, str, str]] = []

    def spy(real: Any) -> Any:
        def wrapped(db: Any, *args: Any) -> Any:
            try:
                meta.put(db, "written by a query", {"no": "writes"})
                outcome = "wrote"
            except sqlite3.OperationalError as exc:
                outcome = str(exc)
            seen.append((real.__name__, threading.current_thread().name, outcome))
            return real(db, *args)

        return wrapped

    for fn in ("summary_schedule", "all_summary_schedules", "set_summary_schedule"):
        monkeypatch.setattr(guild_config, fn, spy(getattr(guild_config, fn)))
    opts = subcommand(
        "schedule",
        option("time", "08:30"),
        option("timezone", "Europe/London"),
        option("channel", fake_discord.channel("general")),
    )
    rec = await fake_discord.invoke_slash_command("summary", opts, user=DEFAULT_ADMIN)
    await fake_discord.wait_for_interaction_response(rec, timeout=10)
    content = (await fake_discord.wait_for_followup(rec, timeout=10)).content
    assert content.startswith("🗓️ Daily summary at 08:30 Europe/London") and "Next: <t:" in content
    # what the cron job runs, while a long write holds the owner thread: the summary goes out anyway
    assert bot.app is not None
    release = threading.Event()
    busy = asyncio.ensure_future(bot.app.store.call(lambda _db: release.wait(60)))
    try:
        msg_id = await asyncio.wait_for(bot.post_guild_summary(Defaults.GUILD_ID), timeout=30)
        assert not busy.done()  # the writer still held the owner thread all along
    finally:
        release.set()
        await busy
    msg = fake_discord.get_message(int(msg_id or 0))
    assert msg.channel_id == Defaults.GENERAL_CHANNEL_ID and msg.attachment("dashboard.png")
    assert [n for n, _t, _o in seen] == [
        "set_summary_schedule",  # the write, on the owner thread
        "all_summary_schedules",  # reschedule_summaries after /summary schedule
        "summary_schedule",  # post_guild_summary's own read
        "summary_schedule",  # summary_message's (as /summary now)
    ], seen
    write, *reads = seen
    assert write[1].startswith("sqlite-owner") and write[2] == "wrote", write
    assert all(not t.startswith("sqlite-owner") and "readonly" in o for _n, t, o in reads), reads


class OwnerThreadHeld:
    """A long write (the daily prune on a large database, a big flush) holding the database
    owner thread until :meth:`release`; every write queued behind it waits its turn."""

    def __init__(self, bot: TestBot) -> None:
        import threading

        assert bot.app is not None
        self.store = bot.app.store
        self.started, self.released = threading.Event(), threading.Event()

    async def __aenter__(self) -> OwnerThreadHeld:
        import asyncio

        def hold(_db: Any) -> None:
            self.started.set()
            self.released.wait(60)

        self.busy = asyncio.ensure_future(self.store.call(hold))
        assert await asyncio.to_thread(self.started.wait, 10), "the long write never started"
        return self

    def still_busy(self) -> bool:
        return not self.busy.done()

    async def __aexit__(self, *exc: object) -> None:
        self.released.set()
        await self.busy


#: every slash command that writes, in an order where each one has something to change, and
#: what its reply says once the write is done
WRITE_COMMANDS: list[tuple[str, dict[str, Any], str]] = [
    (
        "alerts",
        subcommand("subscribe", option("signal", "btc_liq"), option("channel", "alerts")),
        "alerts from **alert** up will be posted in <#",
    ),
    ("alerts", subcommand("unsubscribe", option("signal", "btc_liq")), "Removed 1 subscription(s)"),
    (
        "alerts",
        subcommand("snooze", option("signal", "btc_liq"), option("duration", "1h")),
        "is snoozed in this server for 1 h",
    ),
    ("alerts", subcommand("unsnooze"), "are on again"),
    ("alerts", subcommand("admin-channel", option("channel", "alerts")), "Operational notices"),
    (
        "thresholds",
        subcommand("set", option("signal", "vix_term"), option("key", "alert"), option("value", 1.05)),
        "`alert` is 1.05 in this server",
    ),
    ("thresholds", subcommand("reset", option("signal", "vix_term")), "Removed 1 override(s)"),
    (
        "quiet",
        subcommand("set", option("start", "22:00"), option("end", "07:00")),
        "🌙 Quiet hours 22:00–07:00 UTC",
    ),
    ("quiet", subcommand("off"), "Quiet hours are off"),
    (
        "summary",
        subcommand(
            "schedule",
            option("time", "08:30"),
            option("timezone", "Europe/London"),
            option("channel", "general"),
        ),
        "🗓️ Daily summary at 08:30 Europe/London in <#",
    ),
    ("summary", subcommand("unschedule"), "The daily summary is off for this server."),
]


def _with_channels(fake: FakeDiscord, opts: dict[str, Any]) -> dict[str, Any]:
    """The subcommand with its channel options (given by name above) resolved in the fake."""
    inner = [
        option("channel", fake.channel(o["value"])) if o["name"] == "channel" else o
        for o in opts.get("options", [])
    ]
    return subcommand(opts["name"], *inner)


async def test_every_write_command_answers_while_a_long_write_holds_the_owner_thread(
    fake_discord: FakeDiscord, bot: TestBot
) -> None:
    """Discord fails an interaction not answered within 3 s. With a long write holding the owner
    thread, every write command still answers at once ("thinking…", private like its reply); its
    own write waits its turn, and the reply follows as soon as the long write is done."""
    from bot import guild_config
    from storage import subscriptions
    from tests.fakediscord import DEFAULT_ADMIN, Defaults

    for name, opts, needle in WRITE_COMMANDS:
        async with OwnerThreadHeld(bot) as held:
            rec = await fake_discord.invoke_slash_command(
                name, _with_channels(fake_discord, opts), user=DEFAULT_ADMIN
            )
            await fake_discord.wait_for_interaction_response(rec, timeout=10)
            assert held.still_busy(), name  # answered while the owner thread was busy
            first = fake_discord.original_response(rec)
            assert [cb.type for cb in rec.callbacks] == [DEFERRED], (name, opts["name"])
            assert first is not None and first.loading and first.ephemeral, (name, opts["name"])
            assert not rec.followup_message_ids, (name, opts["name"])  # its write waits its turn
        reply = await fake_discord.wait_for_followup(rec, timeout=10)
        assert needle in reply.content and reply.ephemeral, (name, opts["name"], reply.content)
        assert not reply.loading and len(rec.callbacks) == 1, (name, opts["name"])
    # and the writes happened, in order (the last of each pair undid the first)
    assert bot.app is not None
    store = bot.app.store
    gid = Defaults.GUILD_ID
    assert await store.call(subscriptions.list_subscriptions, gid) == []
    assert await store.call(guild_config.admin_channel, gid) == Defaults.ALERTS_CHANNEL_ID
    assert await store.call(guild_config.quiet_hours, gid) is None
    assert await store.call(guild_config.summary_schedule, gid) is None


async def test_a_bad_write_option_is_refused_at_once_even_while_the_owner_thread_is_busy(
    fake_discord: FakeDiscord, bot: TestBot
) -> None:
    """Options that need no database are checked before the defer: a bad one gets its clear,
    private error at once (no "thinking…"), whatever the database is doing."""
    from tests.fakediscord import DEFAULT_ADMIN

    bad = [
        (
            "alerts",
            subcommand("snooze", option("signal", "btc_liq"), option("duration", "forever")),
            "not a duration",
        ),
        (
            "thresholds",
            subcommand("set", option("signal", "vix_term"), option("key", "alert"), option("value", 9.0)),
            "out of range (allowed 0.5 to 2)",
        ),
        ("quiet", subcommand("set", option("start", "10pm"), option("end", "07:00")), "use HH:MM"),
    ]
    async with OwnerThreadHeld(bot) as held:
        for name, opts, needle in bad:
            rec = await fake_discord.invoke_slash_command(name, opts, user=DEFAULT_ADMIN)
            await fake_discord.wait_for_interaction_response(rec, timeout=10)
            msg = fake_discord.original_response(rec)
            assert [cb.type for cb in rec.callbacks] == [MESSAGE], name
            assert msg is not None and needle in msg.content and msg.ephemeral, (name, msg)
        assert held.still_busy()
