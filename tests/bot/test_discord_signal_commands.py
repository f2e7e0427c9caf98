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
from tests.fakediscord import DEFAULT_MEMBER, FakeDiscord, InteractionRecord, option

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
