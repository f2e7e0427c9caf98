"""Delivery at scale against the fake Discord: lanes (one request in flight per channel, a
bounded number overall), the chart rendered once per event, edits that keep an unchanged chart,
batched bookkeeping, and /alerts list paged."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.commands._reply import EMBED_TOTAL, fit_embed
from bot.dispatcher import RateGate
from storage import alerts as alert_repo
from storage import subscriptions
from tests.bot.discord_harness import bot_settings, event, insert_events, running_bot, settle
from tests.fakediscord import Defaults, FakeDiscord, tiny_png
from tests.fakediscord.snowflake import fixed_snowflake
from tests.fakediscord.world import FakeChannel, default_guild

pytestmark = pytest.mark.e2e

N = 30
CHANNELS = [fixed_snowflake(2024, 6, 1, 500 + i) for i in range(N)]


@pytest.fixture
def fake_discord_options() -> dict[str, Any]:
    guild = default_guild()
    guild.channels += [FakeChannel(cid, f"a{i}", position=10 + i) for i, cid in enumerate(CHANNELS)]
    return {"guilds": [guild]}


def max_overlap(spans: list[tuple[float, float]]) -> int:
    points = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans], key=lambda p: (p[0], p[1]))
    cur = best = 0
    for _, d in points:
        cur += d
        best = max(best, cur)
    return best


async def test_lanes_charts_and_bookkeeping(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    fake = fake_discord
    fake.faults.delay("POST", "/channels/*/messages", seconds=0.15, times=None)
    renders: list[int] = []

    async def chart(alert: Any) -> bytes:
        renders.append(alert.id)
        await asyncio.sleep(0.05)
        return tiny_png()

    async with running_bot(fake, bot_settings(tmp_path, FLOWWATCH_STORM_MAX="0"), charts=chart) as bot:
        assert bot.app is not None
        bot.app.dispatcher.concurrency = 8
        bot.app.dispatcher.gate = None
        writes: list[int] = []
        real = alert_repo.record_outcomes

        def counting(db: Any, outcomes: Any, now: int) -> None:
            writes.append(len(outcomes))
            real(db, outcomes, now)

        alert_repo.record_outcomes = counting  # type: ignore[assignment]
        try:
            dests = [f"discord:{c}" for c in CHANNELS]
            await insert_events(bot, [event(1), event(2)], dests)
            await fake.wait_until(lambda: len(fake.messages()) >= 2 * N or None, timeout=30, what="posts")
            await settle(bot)
        finally:
            alert_repo.record_outcomes = real  # type: ignore[assignment]
        rows = await bot.app.store.call(
            lambda db: db.execute("SELECT status, COUNT(*) FROM deliveries GROUP BY status").fetchall()
        )
    assert rows == [("sent", 2 * N)]
    assert sorted(renders) == [1, 2]  # each event's chart rendered once, for all 30 channels
    # every post is held 0.15 s by the fake: its span is [arrival, arrival + 0.15]
    per_channel: dict[str, list[int]] = {}
    for rec in fake.requests_matching("POST", "/channels/{channel_id}/messages"):
        per_channel.setdefault(rec.path, []).append(rec.index)
    assert all(len(v) == 2 for v in per_channel.values())
    spans = [
        (rec.time, rec.time + 0.15)
        for rec in fake.requests_matching("POST", "/channels/{channel_id}/messages")
    ]
    assert max_overlap(spans) <= 8 + 1  # bounded overall (a start may touch another's end)
    for path, idx in per_channel.items():
        first, second = sorted(idx)
        assert fake.requests[second].time >= fake.requests[first].time + 0.14, path  # one in flight
    assert sum(writes) == 2 * N and len(writes) < N  # outcomes written in batches


async def test_an_update_keeps_an_unchanged_chart(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    fake = fake_discord
    charts = {1: tiny_png(6, 4), 2: tiny_png(6, 4), 3: tiny_png(8, 5)}

    async def chart(alert: Any) -> bytes:
        return charts[alert.id]

    async with running_bot(fake, bot_settings(tmp_path), charts=chart) as bot:
        assert bot.app is not None
        dest = [f"discord:{Defaults.ALERTS_CHANNEL_ID}"]
        first = event(1)
        await insert_events(bot, [first], dest)
        msg = await fake.wait_for_message(Defaults.ALERTS_CHANNEL_ID, timeout=10)
        await settle(bot)
        att_id = msg.attachments[0].id
        same = event(2, ev="updated", ts=first.ts + 60)
        same.episode = first.episode
        await insert_events(bot, [same], dest)
        await fake.wait_for_edit(msg.id, timeout=10)
        await settle(bot)
        patch = fake.requests_matching("PATCH", "/channels/{channel_id}/messages/{message_id}")[-1]
        assert patch.files == [] and "attachments" not in (patch.json or {})
        assert [a.id for a in fake.get_message(msg.id).attachments] == [att_id]  # kept, not re-uploaded
        grown = event(3, ev="updated", ts=first.ts + 120)
        grown.episode = first.episode
        await insert_events(bot, [grown], dest)
        await fake.wait_until(lambda: len(fake.get_message(msg.id).edits) >= 2 or None, timeout=10)
        await settle(bot)
        patch = fake.requests_matching("PATCH", "/channels/{channel_id}/messages/{message_id}")[-1]
        assert len(patch.files) == 1  # a new chart is uploaded
        assert fake.get_message(msg.id).attachments[0].data == charts[3]


async def test_alerts_list_pages_42_role_pinging_subscriptions(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    """11 channels x 4 signals with a role each used to overflow the 4,096-character description."""
    fake = fake_discord
    async with running_bot(fake, bot_settings(tmp_path)) as bot:
        assert bot.app is not None

        def seed(db: Any) -> None:
            for cid in CHANNELS[:11]:
                for sig in ("vix_term", "btc_liq", "ratecut", "buyback"):
                    subscriptions.subscribe(db, Defaults.GUILD_ID, cid, sig, "watch", Defaults.TRADER_ROLE_ID)

        await bot.app.store.call(seed)
        await bot.tree.sync()
        seen: list[str] = []
        for page in (1, 2):
            rec = await fake.invoke_slash_command(
                "alerts", {"type": 1, "name": "list", "options": [{"type": 4, "name": "page", "value": page}]}
            )
            await fake.wait_for_interaction_response(rec, timeout=10)
            msg = await fake.wait_for_followup(rec, timeout=10)  # deferred before its reads
            assert msg.embed is not None, "no answer"
            assert "went wrong" not in (msg.content or "")
            seen.append(msg.embed["description"])
            assert f"page {page} of" in msg.embed["title"]
        lines = "\n".join(seen).splitlines()
        assert len(lines) == 44 and len(set(lines)) == 44  # every subscription on one page or the other


def test_fit_embed_keeps_within_discord_total_and_fills_blanks() -> None:
    embed = discord.Embed(title="t" * 200, description="d" * 4000)
    for i in range(12):
        embed.add_field(name=f"f{i}", value="v" * 1000)
    embed.add_field(name=" ", value="  ")
    fit_embed(embed)
    assert len(embed) <= EMBED_TOTAL
    assert all(f.name and f.name.strip() and f.value and f.value.strip() for f in embed.fields)
    assert any("did not fit" in (f.value or "") for f in embed.fields)


async def test_rate_gate_holds_the_global_rate() -> None:
    clock = [0.0]
    slept: list[float] = []

    async def sleep(s: float) -> None:
        slept.append(s)
        clock[0] += s

    gate = RateGate(rate=45.0, burst=5, monotonic=lambda: clock[0], sleep=sleep)
    for _ in range(455):
        await gate.take()
    assert 9.9 <= clock[0] <= 10.1  # 5 at once, then 45 a second: 450 more take 10 s


async def test_send_report_keeps_a_huge_report_within_discord_limits(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    """A report past Discord's 6,000-character embed total, with blank field values, goes out
    through ``send_report`` to the fake (which refuses what Discord refuses): it arrives, fitted,
    instead of the user seeing "Something went wrong"."""
    from bot.commands._reply import send_report

    fake = fake_discord
    async with running_bot(fake, bot_settings(tmp_path)) as bot:

        @bot.tree.command(name="bigreport", description="a report larger than an embed may be")
        async def bigreport(interaction: discord.Interaction) -> None:
            await interaction.response.defer()
            fields = {f"field {i}": "v" * 1000 for i in range(20)}
            fields["blank"] = "   "
            await send_report(
                interaction,
                title="t" * 300,
                level="alert",
                description="d" * 5000,
                fields=fields,
                chart=None,
                filename="report.png",
                footer="f" * 3000,
            )

        await bot.tree.sync()
        rec = await fake.invoke_slash_command("bigreport")
        msg = await fake.wait_for_followup(rec, timeout=10)
    embed = msg.embed
    assert embed is not None, msg.content
    total = len(embed.get("title", "")) + len(embed.get("description", "")) + len(embed["footer"]["text"])
    total += sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])
    assert total <= EMBED_TOTAL
    assert all(f["value"].strip() and f["name"].strip() for f in embed["fields"])
    assert any("did not fit" in f["value"] for f in embed["fields"])


async def test_the_bot_is_not_sent_its_own_posts(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    """With ``guild_messages`` (in ``Intents.default()``) every post of a fan-out came back over the
    gateway as a MESSAGE_CREATE the event loop parsed for nothing; the bot asks for guilds only."""
    from tests.fakediscord.gateway import GUILD_MESSAGES, GUILDS

    fake = fake_discord
    message_events: list[int] = []
    real_dispatch = fake.gateway.dispatch

    async def counting(event_name: str, data: dict[str, Any], **kwargs: Any) -> int:
        got = await real_dispatch(event_name, data, **kwargs)
        if event_name == "MESSAGE_CREATE":
            message_events.append(got)
        return got

    fake.gateway.dispatch = counting  # type: ignore[method-assign]

    async def chart(alert: Any) -> bytes:
        return tiny_png()

    async with running_bot(fake, bot_settings(tmp_path, FLOWWATCH_STORM_MAX="0"), charts=chart) as bot:
        assert bot.app is not None
        (session,) = fake.gateway.sessions.values()
        assert session.has_intent(GUILDS) and not session.has_intent(GUILD_MESSAGES)
        await insert_events(bot, [event(1)], [f"discord:{c}" for c in CHANNELS])
        await fake.wait_until(lambda: len(fake.messages()) >= N or None, timeout=30, what="posts")
        await settle(bot)
        assert bot.guilds and bot.get_channel(CHANNELS[0]) is not None  # guild events still arrive
    assert len(message_events) == N  # the fake offered each post to the gateway...
    assert sum(message_events) == 0  # ...and no session took it
