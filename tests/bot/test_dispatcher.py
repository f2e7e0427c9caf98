"""The dispatcher's generic paths used by the Discord sinks: deferral and permanent failures."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.clock import SimClock
from bot.dispatcher import Dispatcher
from bot.sinks import DeliveryDeferred, DeliveryError
from storage import alerts as alert_repo
from storage.alerts import AlertEvent, Delivery, StoredAlert
from storage.db import AsyncStore

T0 = datetime(2024, 3, 15, 12, 0, tzinfo=UTC)


class PacedSink:
    """Takes two sends per destination, then asks to be called again in 0.4 s."""

    name = "paced"
    patterns: tuple[str, ...] = ("x:%",)

    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []
        self.calls = 0

    async def send(self, alert: StoredAlert, delivery: Delivery) -> str | None:
        self.calls += 1
        if sum(1 for d, _ in self.sent if d == delivery.destination) >= 2 and self.calls < 100:
            raise DeliveryDeferred(0.4)
        self.sent.append((delivery.destination, alert.id))
        return f"m{alert.id}"

    async def close(self) -> None:
        return None


class GoneSink(PacedSink):
    """The first delivery finds the channel gone; its hook skips the channel's other deliveries."""

    def __init__(self, store: AsyncStore) -> None:
        super().__init__()
        self.store = store
        self.hooked: list[int] = []

    async def send(self, alert: StoredAlert, delivery: Delivery) -> str | None:
        if delivery.destination == "x:gone":
            raise DeliveryError("403 Forbidden", transient=False)
        self.sent.append((delivery.destination, alert.id))
        return None

    async def on_permanent_failure(self, delivery: Delivery, alert: StoredAlert, exc: Exception) -> None:
        self.hooked.append(delivery.id)
        await self.store.call(alert_repo.skip_pending, "x:gone", "channel gone")


def ev(i: int) -> AlertEvent:
    return AlertEvent(
        signal="vix_term", key="vix3m", event="fired", level="alert", ts=1000 + i, summary=f"e{i}"
    )


async def outbox(store: AsyncStore, dests: list[str], n: int, now: int) -> None:
    def write(db: object) -> None:
        for i in range(n):
            alert_repo.insert_event(db, "live", ev(i), dests, now=now)  # type: ignore[arg-type]

    await store.call(write)


async def test_deferred_deliveries_keep_their_attempts_and_order(tmp_path: Path) -> None:
    store = await AsyncStore(tmp_path / "d.db").open()
    clock = SimClock(T0)
    sink = PacedSink()
    disp = Dispatcher(store, [sink], clock)
    await outbox(store, ["x:a", "x:b"], 3, int(T0.timestamp()))
    assert await disp.drain_once() == 6
    assert sink.sent == [("x:a", 1), ("x:b", 1), ("x:a", 2), ("x:b", 2)]
    third = [d for d in await store.call(alert_repo.deliveries_for, 3)]
    assert [(d.status, d.attempts, d.next_attempt_at) for d in third] == [
        ("pending", 0, int(T0.timestamp()) + 1)
    ] * 2
    assert await disp.drain_once() == 0  # not due yet
    clock.advance(timedelta(seconds=1))
    sink.calls = 100  # the window has room again
    assert await disp.drain_once() == 2
    assert sink.sent[-2:] == [("x:a", 3), ("x:b", 3)]
    await store.close()


async def test_permanent_failure_rereads_the_batch(tmp_path: Path) -> None:
    store = await AsyncStore(tmp_path / "g.db").open()
    sink = GoneSink(store)
    disp = Dispatcher(store, [sink], SimClock(T0))
    await outbox(store, ["x:gone", "x:ok"], 3, int(T0.timestamp()))
    await disp.drain_once()
    counts = await store.call(alert_repo.delivery_counts)
    assert counts == {"failed": 1, "skipped": 2, "sent": 3}
    assert len(sink.hooked) == 1  # only one send to the gone channel
    await store.close()


class HeldSink(PacedSink):
    """Each send waits until the test lets it answer."""

    def __init__(self) -> None:
        super().__init__()
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def send(self, alert: StoredAlert, delivery: Delivery) -> str | None:
        self.started.set()
        await self.release.wait()
        self.sent.append((delivery.destination, alert.id))
        return f"m{alert.id}"


async def test_a_stop_lets_the_send_in_flight_finish_and_records_it(tmp_path: Path) -> None:
    """Observed: a SIGTERM right after a webhook message was posted left its delivery pending with
    its attempt mark, so the next start called it possibly lost. A stop now ends the pass in flight
    (its outcome recorded) and starts nothing new."""
    store = await AsyncStore(tmp_path / "s.db").open()
    sink = HeldSink()
    disp = Dispatcher(store, [sink], SimClock(T0))
    await outbox(store, ["x:a"], 3, int(T0.timestamp()))
    task = asyncio.create_task(disp.run())
    await asyncio.wait_for(sink.started.wait(), 5)
    disp.stop()
    sink.release.set()
    await asyncio.wait_for(task, 5)
    statuses = [d.status for i in (1, 2, 3) for d in await store.call(alert_repo.deliveries_for, i)]
    assert sink.sent == [("x:a", 1)] and statuses == ["sent", "pending", "pending"]
    await store.close()


async def test_app_stop_waits_for_the_send_in_flight(tmp_path: Path) -> None:
    """The App's stop gives the pass in flight a grace to finish and be recorded (it cancelled it,
    losing the outcome of a message already posted)."""
    from bot.config import load_settings
    from bot.runner import App

    sink = HeldSink()
    sink.patterns = ("console",)
    settings = load_settings(env={"FLOWWATCH_DB": str(tmp_path / "app.db")}, dotenv=None)
    app = App(settings, clock=SimClock(T0), sinks=[sink])
    await app.start(schedule=False, initial_poll=False)
    await outbox(app.store, ["console"], 1, int(T0.timestamp()))
    app.dispatcher.kick()
    await asyncio.wait_for(sink.started.wait(), 5)
    stopping = asyncio.create_task(app.stop())
    await asyncio.sleep(0)
    sink.release.set()
    await asyncio.wait_for(stopping, 10)
    store = await AsyncStore(tmp_path / "app.db").open()
    (d,) = await store.call(alert_repo.deliveries_for, 1)
    await store.close()
    assert d.status == "sent"


class OneChannelSink(HeldSink):
    """x:guild is an admin destination that lands in channel x:a, like a guild whose admin
    channel is also an alert channel; the first send answers only when released."""

    async def lane(self, destination: str) -> str:
        return "x:a"

    async def send(self, alert: StoredAlert, delivery: Delivery) -> str | None:
        if alert.id == 1:
            return await super().send(alert, delivery)
        self.sent.append((delivery.destination, alert.id))
        return f"m{alert.id}"


async def test_destinations_that_land_in_one_channel_keep_their_order(tmp_path: Path) -> None:
    """Observed: a stale-data recovery notice (to the guild's admin destination) posted before the
    Severe alert written just before it (to the same channel through its subscription)."""
    store = await AsyncStore(tmp_path / "o.db").open()
    sink = OneChannelSink()
    disp = Dispatcher(store, [sink], SimClock(T0))
    now = int(T0.timestamp())

    def write(db: object) -> None:
        alert_repo.insert_event(db, "live", ev(0), ["x:a"], now=now)  # type: ignore[arg-type]
        alert_repo.insert_event(db, "live", ev(1), ["x:guild"], now=now)  # type: ignore[arg-type]

    await store.call(write)
    task = asyncio.create_task(disp.drain_once())
    await asyncio.wait_for(sink.started.wait(), 5)
    for _ in range(20):
        await asyncio.sleep(0)
    sink.release.set()
    assert await asyncio.wait_for(task, 5) == 2
    assert [a for _d, a in sink.sent] == [1, 2]
    await store.close()
