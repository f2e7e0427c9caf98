"""A storm of real alerts through a webhook that misbehaves in every way observed.

The events are the real ``vix_term`` alerts of the Cboe history (a replay), delivered live to
the webhook in windows, each with one kind of misbehaviour of the local fake Discord: it stores
the message and then hangs past the timeout, resets the connection, answers 200 with a body that
is not JSON, or answers a 500 page that is not Discord's; it answers Discord's own 500 or 429,
or its edge's 503 page, before storing; it drops the connection before storing. Every event must land exactly once, or
be recorded ``unsure`` (docs/operations.md: a possible loss) with at most one message; with a bot
token too, the sink looks before it resends and every event lands exactly once.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.clock import SimClock
from bot.dispatcher import Dispatcher
from bot.pacing import ChannelPacer
from bot.replay import run_replay
from bot.sinks.webhook import WebhookSink, message_finder
from signals.contract import default_params
from signals.sources import cboe
from signals.vix_term import SIGNAL
from storage import alerts as alert_repo
from storage import observations as obs_repo
from storage.alerts import AlertEvent
from storage.db import AsyncStore, open_db
from tests.bot.discord_harness import bot_settings
from tests.fakediscord import Defaults, FakeDiscord

pytestmark = pytest.mark.e2e

ALERTS = Defaults.ALERTS_CHANNEL_ID
PER_WINDOW = 4
T0 = datetime(2024, 3, 1, tzinfo=UTC)
MARKER = re.compile(r"ref (fw[0-9a-f]+)")

#: (name, how the fake misbehaves for the window, whether the webhook stored the message)
WINDOWS: list[tuple[str, Callable[[FakeDiscord], Any]]] = [
    (
        "stored, then hangs",
        lambda f: f.faults.stored_then_hang("POST", "/webhooks/*", seconds=1.0, times=None),
    ),
    ("stored, then resets", lambda f: f.faults.stored_then_reset("POST", "/webhooks/*", times=None)),
    ("stored, 200 not JSON", lambda f: f.faults.stored_then_garbage("POST", "/webhooks/*", times=None)),
    (
        "stored, 500 page",
        lambda f: f.faults.stored_then_garbage("POST", "/webhooks/*", status=500, times=None),
    ),
    (
        "the edge's 503 page",
        lambda f: f.faults.edge_error("POST", "/webhooks/*", status=503, times=PER_WINDOW),
    ),
    ("Discord's 500", lambda f: f.faults.server_error("POST", "/webhooks/*", status=500, times=PER_WINDOW)),
    (
        "Discord's 429",
        lambda f: f.faults.rate_limit("POST", "/webhooks/*", times=PER_WINDOW, retry_after=1.0),
    ),
    ("dropped before storing", lambda f: f.faults.disconnect("POST", "/webhooks/*", times=2)),
    ("healthy", lambda f: None),
]


def real_events(data_dir: Path, tmp_path: Path) -> list[AlertEvent]:
    db = open_db(tmp_path / "replay.db")
    for name in ("cboe_vix_daily.csv", "cboe_vix3m_daily.csv", "cboe_vix9d_daily.csv"):
        obs_repo.upsert(
            db, cboe.parse_csv((data_dir / name).read_text(), cboe.index_from_filename(Path(name)))
        )
    run_replay(db, [SIGNAL], {SIGNAL.id: default_params(SIGNAL)}, resume=False)
    events = alert_repo.list_alerts(db, "replay", signal="vix_term")
    db.close()
    assert len(events) >= PER_WINDOW * len(WINDOWS), len(events)
    return events[: PER_WINDOW * len(WINDOWS)]


async def storm(
    fake: FakeDiscord, tmp_path: Path, events: list[AlertEvent], finder: Any = None
) -> dict[str, Any]:
    hook = fake.add_webhook(ALERTS)
    settings = bot_settings(tmp_path, DISCORD_WEBHOOK_URL=hook.url)
    store = await AsyncStore(settings.db_path).open()
    clock = SimClock(T0)
    sink = WebhookSink(
        hook.url,
        store,
        settings,
        clock=clock,
        timeout=0.3,
        storm=(0, 0),
        finder=finder(hook.id) if finder else None,
        pacer=ChannelPacer(clock=lambda: clock.now().timestamp()),  # the webhook's window on the same clock
    )
    disp = Dispatcher(store, [sink], clock, gate=None)
    ids: list[list[int]] = []
    try:
        for w, (_name, misbehave) in enumerate(WINDOWS):
            fake.faults.clear()
            misbehave(fake)
            batch = events[w * PER_WINDOW : (w + 1) * PER_WINDOW]

            def write(db: Any, batch: list[AlertEvent] = batch) -> list[int]:
                return [
                    alert_repo.insert_event(db, "live", e, ["webhook"], now=int(clock.now().timestamp()))
                    for e in batch
                ]  # type: ignore[misc]

            ids.append(await store.call(write))
            for _ in range(40):  # simulated hours of retries
                await disp.drain_once()
                clock.advance(timedelta(minutes=2))
        statuses: dict[int, alert_repo.Delivery] = {}
        for window in ids:
            for alert_id in window:
                (d,) = await store.call(alert_repo.deliveries_for, alert_id)
                statuses[alert_id] = d
    finally:
        await sink.close()
        await store.close()
    return {"ids": ids, "deliveries": statuses}


def copies(fake: FakeDiscord) -> Counter[str]:
    out: Counter[str] = Counter()
    for m in fake.messages(ALERTS):
        found = MARKER.search(((m.embed or {}).get("footer") or {}).get("text") or "")
        assert found, m
        out[found.group(1)] += 1
    return out


def nonce_of(d: alert_repo.Delivery, alert: alert_repo.StoredAlert) -> str:
    from bot.sinks.discord_base import delivery_nonce

    return delivery_nonce(d, alert)


async def test_webhook_storm_without_a_token(
    fake_discord: FakeDiscord, data_dir: Path, tmp_path: Path
) -> None:
    events = real_events(data_dir, tmp_path)
    res = await storm(fake_discord, tmp_path, events)
    landed = copies(fake_discord)
    assert max(landed.values()) == 1  # never a copy
    lost = []
    store = open_db(tmp_path / "bot.db")
    try:
        for w, window in enumerate(res["ids"]):
            name = WINDOWS[w][0]
            for alert_id in window:
                d = res["deliveries"][alert_id]
                alert = alert_repo.get_alert(store, alert_id)
                assert alert is not None
                n = landed.get(nonce_of(d, alert), 0)
                if d.status == "sent":
                    assert n == 1, (name, alert_id)
                else:
                    assert d.status == "unsure" and n <= 1, (name, alert_id, d)
                    if n == 0:
                        lost.append(name)
                if name.startswith("stored") and name != "stored, 200 not JSON":
                    assert d.status == "unsure" and n == 1, (name, d)  # delivered once, counted as unsure
                if name in (
                    "stored, 200 not JSON",
                    "Discord's 500",
                    "Discord's 429",
                    "the edge's 503 page",
                    "healthy",
                ):
                    assert d.status == "sent", (name, d)
    finally:
        store.close()
    # the only losses: the two requests dropped before Discord stored them (no way to know)
    assert lost == ["dropped before storing"] * 2


async def test_webhook_storm_with_a_token(fake_discord: FakeDiscord, data_dir: Path, tmp_path: Path) -> None:
    events = real_events(data_dir, tmp_path)
    client = discord.Client(intents=discord.Intents.none())
    await client.login(fake_discord.token)
    try:
        res = await storm(
            fake_discord, tmp_path, events, finder=lambda hook_id: message_finder(client, hook_id)
        )
    finally:
        await client.close()
    landed = copies(fake_discord)
    assert len(landed) == len(events) and set(landed.values()) == {1}  # every event exactly once
    assert all(d.status == "sent" for d in res["deliveries"].values())
