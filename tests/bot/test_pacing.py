"""Per-channel pacing: a sliding window below Discord's 5 messages per 5 s."""

from __future__ import annotations

import pytest

from bot.pacing import ChannelPacer, Paced


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_window_per_channel() -> None:
    clock = Clock()
    pacer = ChannelPacer(5, 5.0, margin=0.25, clock=clock)
    assert [pacer.reserve("a") for _ in range(5)] == [0.0] * 5
    assert pacer.reserve("a") == pytest.approx(5.25)
    assert pacer.reserve("b") == 0.0  # other channels are not held up
    clock.t += 2.0
    assert pacer.reserve("a") == pytest.approx(3.25)
    clock.t += 3.25
    assert pacer.reserve("a") == 0.0 and pacer.wait_time("a") == 0.0  # the oldest four left the window


def test_any_interval_holds_at_most_limit_writes() -> None:
    clock = Clock()
    pacer = ChannelPacer(5, 5.0, margin=0.0, clock=clock)
    sent = []
    for _ in range(400):
        if pacer.reserve("c") == 0.0:
            sent.append(clock.t)
        clock.t += 0.37
    assert all(sum(1 for s in sent if t <= s < t + 5.0) <= 5 for t in sent)
    assert len(sent) > 100


def test_bad_limits() -> None:
    with pytest.raises(ValueError):
        ChannelPacer(0, 5.0)


async def test_acquire_waits_for_room() -> None:
    clock = Clock()
    pacer = ChannelPacer(2, 1.0, margin=0.0, clock=clock)
    slept: list[float] = []

    async def sleep(s: float) -> None:
        slept.append(s)
        clock.t += s

    for _ in range(3):
        await pacer.acquire("x", sleep)
    assert slept == [pytest.approx(1.0)]


def test_a_slow_write_holds_its_slot_from_when_it_finished() -> None:
    clock = Clock()
    pacer = ChannelPacer(1, 5.0, margin=0.0, clock=clock)
    with pacer.slot("x"):
        clock.t += 3.0  # the request took 3 s: Discord counted it somewhere in between
    clock.t += 4.0  # 7 s after it started, 4 s after it finished
    assert pacer.wait_time("x") == pytest.approx(1.0)
    with pytest.raises(Paced):
        pacer.take("x")
