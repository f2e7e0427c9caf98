"""One message per event through a webhook that misbehaves after storing the message.

The fake Discord stores the message and then hangs past the client's timeout, resets the
connection, answers 200 with a body that is not JSON, or answers a 500 page that is not
Discord's. Before the fix each of these produced two to five copies of the alert (discord.py's
own retries, then the dispatcher's catch-all retry for ever). Now: exactly one message; the
ambiguous ones are recorded ``unsure`` (a possible loss) unless a bot token lets the sink look
for the message first.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import pytest
import pytest_asyncio

from bot.clock import SimClock
from bot.dispatcher import MAX_AGE_S, MAX_ATTEMPTS, Dispatcher
from bot.pacing import ChannelPacer
from bot.sinks.webhook import WebhookSink, message_finder
from storage import alerts as alert_repo
from storage.db import AsyncStore
from tests.bot.discord_harness import bot_settings, event
from tests.fakediscord import Defaults, FakeDiscord
from tests.fakediscord.fixtures import fake_discord, fake_discord_options  # noqa: F401

pytestmark = pytest.mark.e2e

ALERTS = Defaults.ALERTS_CHANNEL_ID
T0 = datetime(2024, 3, 1, tzinfo=UTC)


@pytest_asyncio.fixture
async def world(fake_discord: FakeDiscord, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:  # noqa: F811
    hook = fake_discord.add_webhook(ALERTS)
    settings = bot_settings(tmp_path, DISCORD_WEBHOOK_URL=hook.url)
    store = await AsyncStore(settings.db_path).open()
    clock = SimClock(T0)
    made: list[WebhookSink] = []

    def sink(**kw: Any) -> WebhookSink:
        s = WebhookSink(hook.url, store, settings, clock=clock, timeout=0.3, storm=(0, 0), **kw)
        made.append(s)
        return s

    yield {"fake": fake_discord, "hook": hook, "store": store, "clock": clock, "sink": sink}
    for s in made:
        await s.close()
    await store.close()


async def _events(store: AsyncStore, n: int) -> list[int]:
    def write(db: Any) -> list[int]:
        return [
            alert_repo.insert_event(db, "live", event(i), ["webhook"], now=int(T0.timestamp()))
            for i in range(n)
        ]  # type: ignore[misc]

    return await store.call(write)


async def _drain_for(disp: Dispatcher, clock: SimClock, minutes: int) -> None:
    """Drain, then move the clock past every retry for ``minutes`` of simulated time."""
    for _ in range(minutes):
        await disp.drain_once()
        clock.advance(timedelta(minutes=1))
    await disp.drain_once()


FAULTS: dict[str, Callable[[FakeDiscord], Any]] = {
    "hang": lambda f: f.faults.stored_then_hang("POST", "/webhooks/*", seconds=1.5, times=None),
    "reset": lambda f: f.faults.stored_then_reset("POST", "/webhooks/*", times=None),
    "not_json": lambda f: f.faults.stored_then_garbage("POST", "/webhooks/*", times=None),
    "html_500": lambda f: f.faults.stored_then_garbage("POST", "/webhooks/*", status=500, times=None),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_one_message_per_event_without_a_token(world: dict[str, Any], fault: str) -> None:
    fake, store, clock = world["fake"], world["store"], world["clock"]
    FAULTS[fault](fake)
    ids = await _events(store, 3)
    disp = Dispatcher(store, [world["sink"]()], clock, gate=None)
    await _drain_for(disp, clock, 60)
    msgs = fake.messages(ALERTS)
    assert len(msgs) == 3, [m.embed for m in msgs]  # one each, never a copy
    statuses = [d.status for i in ids for d in await store.call(alert_repo.deliveries_for, i)]
    expected = "sent" if fault == "not_json" else "unsure"
    assert statuses == [expected] * 3
    posts = fake.requests_matching("POST", "/webhooks/{webhook_id}/{webhook_token}")
    assert len(posts) == 3  # one request per event: no blind resend


async def test_with_a_token_the_sink_looks_before_it_resends(world: dict[str, Any]) -> None:
    fake, store, clock, hook = world["fake"], world["store"], world["clock"], world["hook"]
    client = discord.Client(intents=discord.Intents.none())
    await client.login(fake.token)
    try:
        fake.faults.stored_then_reset("POST", "/webhooks/*", times=1)  # stored, answer lost
        fake.faults.disconnect("POST", "/webhooks/*", times=1)  # not stored, answer lost
        ids = await _events(store, 2)
        disp = Dispatcher(store, [world["sink"](finder=message_finder(client, hook.id))], clock, gate=None)
        await _drain_for(disp, clock, 30)
    finally:
        await client.close()
    msgs = fake.messages(ALERTS)
    assert sorted(m.embed["description"].split("\n")[0] for m in msgs if m.embed) == [
        "test event 0",
        "test event 1",
    ]
    d0 = await store.call(alert_repo.deliveries_for, ids[0])
    d1 = await store.call(alert_repo.deliveries_for, ids[1])
    assert d0[0].status == "sent" and d0[0].external_id == str(msgs[0].id) and d0[0].ambiguous == 1
    assert d1[0].status == "sent" and d1[0].ambiguous == 1
    posts = fake.requests_matching("POST", "/webhooks/{webhook_id}/{webhook_token}")
    assert len(posts) == 3  # the first event was found, not re-posted; the second was re-posted once


async def test_unparseable_failures_have_a_budget(world: dict[str, Any]) -> None:
    """A sink that crashes on every attempt is retried within the attempt budget, then failed."""
    store, clock = world["store"], world["clock"]
    sink = world["sink"]()

    async def broken(alert: Any, delivery: Any) -> str | None:
        raise KeyError("id")  # what a garbled answer used to raise inside discord.py

    sink.send = broken  # type: ignore[method-assign]
    (alert_id,) = await _events(store, 1)
    disp = Dispatcher(store, [sink], clock, gate=None)
    for _ in range(MAX_ATTEMPTS + 5):
        await disp.drain_once()
        clock.advance(timedelta(minutes=16))
    (d,) = await store.call(alert_repo.deliveries_for, alert_id)
    assert d.status == "failed" and d.attempts <= MAX_ATTEMPTS


async def test_age_budget(world: dict[str, Any]) -> None:
    store, clock = world["store"], world["clock"]
    world["fake"].faults.server_error("POST", "/webhooks/*", status=503, times=None)
    (alert_id,) = await _events(store, 1)
    disp = Dispatcher(store, [world["sink"]()], clock, gate=None)
    await disp.drain_once()
    clock.advance(timedelta(seconds=MAX_AGE_S + 60))
    await disp.drain_once()
    (d,) = await store.call(alert_repo.deliveries_for, alert_id)
    assert d.status == "failed" and (d.last_error or "").startswith("expired")


async def test_the_versioned_url_delivers(world: dict[str, Any]) -> None:
    """Discord's own /api/v10/ form used to pass validation and then fail every delivery."""
    fake, store, clock, hook = world["fake"], world["store"], world["clock"], world["hook"]
    url = f"https://discord.com/api/v10/webhooks/{hook.id}/{hook.token}"
    settings = bot_settings(Path(str(store.path)).parent, DISCORD_WEBHOOK_URL=url)
    sink = WebhookSink(url, store, settings, clock=clock, timeout=5.0, storm=(0, 0))
    try:
        (alert_id,) = await _events(store, 1)
        await Dispatcher(store, [sink], clock, gate=None).drain_once()
    finally:
        await sink.close()
    (d,) = await store.call(alert_repo.deliveries_for, alert_id)
    assert d.status == "sent" and [str(m.id) for m in fake.messages(ALERTS)] == [d.external_id]


async def test_a_full_disk_never_turns_into_copies(world: dict[str, Any]) -> None:
    """Posted, but the outcome cannot be recorded (SQLITE_FULL): nothing is sent again until it is."""
    fake, store, clock = world["fake"], world["store"], world["clock"]
    ids = await _events(store, 3)
    disp = Dispatcher(store, [world["sink"]()], clock, gate=None)
    real = alert_repo.record_outcomes

    def full(db: Any, outcomes: Any, now: int) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    alert_repo.record_outcomes = full  # type: ignore[assignment]
    try:
        for _ in range(5):
            await disp.drain_once()
            clock.advance(timedelta(minutes=5))
    finally:
        alert_repo.record_outcomes = real  # type: ignore[assignment]
    # the first was posted; then nothing more while its outcome cannot be recorded, and never again
    assert len(fake.messages(ALERTS)) == 1
    await disp.drain_once()  # the disk has room again
    statuses = [d.status for i in ids for d in await store.call(alert_repo.deliveries_for, i)]
    assert statuses == ["sent"] * 3 and len(fake.messages(ALERTS)) == 3


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_an_edge_5xx_page_is_not_posted_and_is_retried(world: dict[str, Any], status: int) -> None:
    """A Cloudflare 502/503/504 page (Discord's edge, the usual shape of an incident) means the
    message never reached Discord: retried with backoff until it lands, once. It used to be
    recorded ``unsure`` after one POST, and every alert of the incident was lost."""
    fake, store, clock = world["fake"], world["store"], world["clock"]
    fake.faults.edge_error("POST", "/webhooks/*", status=status, times=4)
    ids = await _events(store, 2)
    sink = world["sink"](pacer=ChannelPacer(clock=lambda: clock.now().timestamp()))
    disp = Dispatcher(store, [sink], clock, gate=None)
    await _drain_for(disp, clock, 30)
    statuses = [d for i in ids for d in await store.call(alert_repo.deliveries_for, i)]
    assert [d.status for d in statuses] == ["sent", "sent"]
    assert [d.ambiguous for d in statuses] == [0, 0]
    assert len(fake.messages(ALERTS)) == 2  # each once
    posts = fake.requests_matching("POST", "/webhooks/{webhook_id}/{webhook_token}")
    assert len(posts) == 2 + 4  # four refused, then one each


async def test_an_edge_outage_is_bounded(world: dict[str, Any]) -> None:
    """An edge that never recovers: retried with growing waits, then failed within the budget."""
    fake, store, clock = world["fake"], world["store"], world["clock"]
    fake.faults.edge_error("POST", "/webhooks/*", status=503, times=None)
    (alert_id,) = await _events(store, 1)
    sink = world["sink"](pacer=ChannelPacer(clock=lambda: clock.now().timestamp()))
    disp = Dispatcher(store, [sink], clock, gate=None)
    for _ in range(MAX_ATTEMPTS + 5):
        await disp.drain_once()
        clock.advance(timedelta(minutes=16))
    (d,) = await store.call(alert_repo.deliveries_for, alert_id)
    assert d.status == "failed" and d.attempts <= MAX_ATTEMPTS and d.ambiguous == 0
    posts = fake.requests_matching("POST", "/webhooks/{webhook_id}/{webhook_token}")
    assert len(posts) == d.attempts <= MAX_ATTEMPTS
    assert fake.messages(ALERTS) == []


async def _interrupted(store: AsyncStore, alert_id: int) -> None:
    """The state a process killed mid-POST leaves: the attempt recorded, no outcome."""
    await store.call(
        lambda db: db.execute(
            "UPDATE deliveries SET attempt_started_at = ? WHERE alert_id = ?", [int(T0.timestamp()), alert_id]
        )
    )


async def test_an_interrupted_post_is_looked_for_with_a_token(world: dict[str, Any]) -> None:
    """With a bot token the restart looks for the interrupted post: found, it is recorded sent
    (no second POST); not found, it is posted once."""
    fake, store, clock, hook = world["fake"], world["store"], world["clock"], world["hook"]
    client = discord.Client(intents=discord.Intents.none())
    await client.login(fake.token)
    try:
        landed, lost = await _events(store, 2)
        # the first POST reached Discord before the kill: post it as the dead process did
        sink = world["sink"](finder=message_finder(client, hook.id))
        (d,) = await store.call(alert_repo.deliveries_for, landed)
        alert = await store.call(alert_repo.get_alert, landed)
        await sink.send(alert, d)
        for i in (landed, lost):
            await _interrupted(store, i)
        disp = Dispatcher(store, [sink], clock, gate=None)
        await _drain_for(disp, clock, 30)
    finally:
        await client.close()
    d_landed = (await store.call(alert_repo.deliveries_for, landed))[0]
    d_lost = (await store.call(alert_repo.deliveries_for, lost))[0]
    assert d_landed.status == "sent" and d_landed.ambiguous == 1 and d_landed.attempt_started_at is None
    assert d_lost.status == "sent" and d_lost.ambiguous == 1
    assert len(fake.messages(ALERTS)) == 2  # each once
    assert len(fake.requests_matching("POST", "/webhooks/{webhook_id}/{webhook_token}")) == 2


async def test_no_post_goes_out_unless_its_attempt_is_recorded_first(world: dict[str, Any]) -> None:
    """A full disk at the moment of recording the attempt: nothing is posted (a post whose trace
    could be lost is the duplicate of a later restart); it goes out once the disk has room."""
    fake, store, clock = world["fake"], world["store"], world["clock"]
    (alert_id,) = await _events(store, 1)
    disp = Dispatcher(store, [world["sink"]()], clock, gate=None)
    real = alert_repo.mark_attempt

    def full(db: Any, delivery_id: int, now: int) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    alert_repo.mark_attempt = full  # type: ignore[assignment]
    try:
        await _drain_for(disp, clock, 3)
    finally:
        alert_repo.mark_attempt = real  # type: ignore[assignment]
    assert fake.messages(ALERTS) == []
    assert fake.requests_matching("POST", "/webhooks/{webhook_id}/{webhook_token}") == []
    await _drain_for(disp, clock, 30)
    (d,) = await store.call(alert_repo.deliveries_for, alert_id)
    assert d.status == "sent" and len(fake.messages(ALERTS)) == 1


async def test_a_webhook_update_keeps_an_unchanged_chart(world: dict[str, Any]) -> None:
    """An update whose chart is the same edits the webhook message without uploading it again
    (the attachment is kept); a changed chart is uploaded."""
    from tests.fakediscord import tiny_png

    fake, store, clock = world["fake"], world["store"], world["clock"]
    charts = {1: tiny_png(6, 4), 2: tiny_png(6, 4), 3: tiny_png(8, 5)}

    async def chart(alert: Any) -> bytes:
        return charts[alert.id]

    disp = Dispatcher(store, [world["sink"](charts=chart)], clock, gate=None)
    first = event(1)

    async def emit(e: Any) -> None:
        await store.call(
            lambda db: alert_repo.insert_event(db, "live", e, ["webhook"], now=int(clock.now().timestamp()))
        )
        await disp.drain_once()

    await emit(first)
    (msg,) = fake.messages(ALERTS)
    att_id = msg.attachments[0].id
    same = event(2, ev="updated", ts=first.ts + 60)
    same.episode = first.episode
    await emit(same)
    patches = fake.requests_matching("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
    assert len(patches) == 1 and patches[0].files == [] and "attachments" not in (patches[0].json or {})
    assert [a.id for a in fake.get_message(msg.id).attachments] == [att_id]  # kept, not re-uploaded
    grown = event(3, ev="updated", ts=first.ts + 120)
    grown.episode = first.episode
    await emit(grown)
    patches = fake.requests_matching("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
    assert len(patches) == 2 and len(patches[1].files) == 1  # a new chart is uploaded
    assert fake.get_message(msg.id).attachments[0].data == charts[3]
    assert len(fake.messages(ALERTS)) == 1


async def test_the_bot_with_a_token_and_a_webhook_looks_before_it_resends(
    fake_discord: FakeDiscord,  # noqa: F811
    tmp_path: Path,
) -> None:
    """``flowwatch run`` with DISCORD_TOKEN and DISCORD_WEBHOOK_URL wires the marker lookup into
    its webhook sink: a post whose answer was lost after Discord stored it is found, not resent."""
    from tests.bot.discord_harness import running_bot, settle

    fake = fake_discord
    hook = fake.add_webhook(ALERTS)
    clock = SimClock(T0)
    async with running_bot(fake, bot_settings(tmp_path, DISCORD_WEBHOOK_URL=hook.url), clock=clock) as bot:
        assert bot.app is not None
        sink = bot.webhook_sink
        assert sink is not None and sink.can_verify
        sink.timeout = sink.client.timeout = 0.3
        fake.faults.stored_then_reset("POST", "/webhooks/*", times=1)
        (alert_id,) = await bot.app.store.call(
            lambda db: [alert_repo.insert_event(db, "live", event(0), ["webhook"], now=int(T0.timestamp()))]
        )
        for _ in range(30):
            await settle(bot)
            clock.advance(timedelta(minutes=1))
        (d,) = await bot.app.store.call(alert_repo.deliveries_for, alert_id)
    assert d.status == "sent" and d.ambiguous == 1, d
    assert [str(m.id) for m in fake.messages(ALERTS)] == [d.external_id]  # found, never posted twice
    assert len(fake.requests_matching("POST", "/webhooks/{webhook_id}/{webhook_token}")) == 1
