"""``/flows``: the flow signals' latest readings, or one flow's chart, through the real CommandTree
and discord.py against the local fake Discord; its entry in ``sync-commands --dry-run``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.cli import main
from bot.clock import SimClock
from bot.commands.flows import FLOW_SIGNALS, flow_ids
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
    # the evening after the demo's S&P 500 shock began (its second close is out)
    clock = SimClock(datetime(2026, 2, 18, 1, 0, tzinfo=UTC))
    async with running_bot(fake_discord, bot_settings(tmp_path), clock=clock) as b:
        assert b.app is not None
        await b.app.store.call(_demo_db)
        yield b


async def run(fake: FakeDiscord, *options: dict[str, Any]) -> InteractionRecord:
    rec = await fake.invoke_slash_command("flows", *options, user=DEFAULT_MEMBER)
    await fake.wait_for_interaction_response(rec, timeout=10)
    return rec


def test_the_registered_flows_are_offered() -> None:
    assert {"vol_control", "cta_trend"} <= set(flow_ids())
    assert flow_ids() == [s for s in FLOW_SIGNALS if s in registry()]


async def test_flows_shows_every_flow_signal_and_its_assumptions(
    fake_discord: FakeDiscord, bot: TestBot
) -> None:
    rec = await run(fake_discord)
    msg = await fake_discord.wait_for_followup(rec, timeout=10)
    assert [cb.type for cb in rec.callbacks] == [DEFERRED]
    embed = msg.embed
    assert embed is not None and embed["title"] == "flowwatch flows"
    names = [f["name"] for f in embed["fields"]]
    for sid in flow_ids():
        sig = registry()[sid]
        for key_name in sig.keys.values():
            assert any(sig.title in n and key_name in n for n in names), (sid, key_name, names)
    assert not any("VIX" in n or "Fed" in n for n in names)  # flows only
    values = " ".join(f["value"] for f in embed["fields"])
    # the shock's second day: vol-control funds selling, the CTA replication cutting
    assert "to sell in 5 sessions" in values and "(estimate)" in values
    assert "Severe" in values
    assert "estimate; assumes $300B of vol-control assets" in embed["description"]
    assert "a full position assumed to be $70B of S&P 500 exposure" in embed["description"]
    assert not msg.attachments


async def test_one_flow_with_its_chart(fake_discord: FakeDiscord, bot: TestBot) -> None:
    rec = await run(fake_discord, option("flow", "cta_trend"), option("days", 90))
    msg = await fake_discord.wait_for_followup(rec, timeout=10)
    assert msg.embed is not None and "CTA trend (estimate)" in msg.embed["title"]
    assert msg.attachment("cta_trend-90d.png").data.startswith(PNG)


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        (
            [option("flow", "ratecut")],
            "Unknown flow `ratecut`; available: " + ", ".join(f"`{s}`" for s in flow_ids()),
        ),
        ([option("flow", "")], "Unknown flow ``"),
        ([option("days", 3)], "`days` must be from 7 to 3650 days (you gave 3)."),
        ([option("flow", "vol_control"), option("days", 99999)], "`days` must be from 7 to 3650 days"),
    ],
)
async def test_bad_input_says_what_is_allowed(
    fake_discord: FakeDiscord, bot: TestBot, options: list[dict[str, Any]], needle: str
) -> None:
    rec = await run(fake_discord, *options)
    content = fake_discord.original_response(rec).content  # type: ignore[union-attr]
    assert [cb.type for cb in rec.callbacks] == [MESSAGE]
    assert needle in content


def test_dry_run_lists_flows_with_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sync-commands", "--dry-run"]) == 0
    payload = json.loads(capsys.readouterr().out)
    cmd = next(c for c in payload if c["name"] == "flows")
    assert cmd["default_member_permissions"] is None
    opts = {o["name"]: o for o in cmd["options"]}
    assert [c["value"] for c in opts["flow"]["choices"]] == flow_ids()
    assert opts["flow"].get("required", False) is False
    assert (opts["days"]["min_value"], opts["days"]["max_value"]) == (7, 3650)
