"""``kill -9`` while a webhook POST is in flight, then a restart: never a second copy.

A real ``flowwatch run`` (webhook mode) posts to the local fake Discord, which stores the message
and holds its answer; the process is killed before the answer comes. The attempt was recorded
before the POST, so the restart knows the outcome is unknown: without a bot token it records the
delivery ``unsure`` (never posted again) and names it in the next message the webhook posts.
Before the fix the attempt left no trace and the restart posted the alert a second time.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from storage import alerts as alert_repo
from storage.alerts import AlertEvent
from storage.db import open_db
from tests.fakediscord import Defaults, FakeDiscord
from tests.fakediscord.fixtures import fake_discord, fake_discord_options  # noqa: F401

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
ALERTS = Defaults.ALERTS_CHANNEL_ID


def _alert(db_path: Path, n: int, summary: str) -> int:
    db = open_db(db_path)
    try:
        ev = AlertEvent("vix_term", "vix3m", "fired", "severe", 1_764_000_000 + n, summary, value=1.2 + n)
        alert_id = alert_repo.insert_event(db, "live", ev, ["webhook"])
        assert alert_id is not None
        return alert_id
    finally:
        db.close()


async def _start(db: Path, fake: FakeDiscord, hook_url: str) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWWATCH_", "DISCORD_"))}
    env.update(
        PYTHONPATH=str(REPO),
        TEST_DISCORD_API_BASE=fake.api_base,
        DISCORD_WEBHOOK_URL=hook_url,
        FLOWWATCH_LIQ_VENUES="none",
    )
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.bot.local_discord",
        "run",
        "--no-initial-poll",
        "--db",
        str(db),
        env=env,
        cwd=db.parent,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def _read_until(proc: asyncio.subprocess.Process, needle: str, seen: list[str]) -> None:
    assert proc.stderr is not None
    async with asyncio.timeout(60):
        while True:
            line = (await proc.stderr.readline()).decode()
            if not line:
                raise AssertionError("the bot ended first:\n" + "".join(seen))
            seen.append(line)
            if needle in line:
                return


async def test_kill_9_mid_post_then_restart_posts_once(fake_discord: FakeDiscord, tmp_path: Path) -> None:  # noqa: F811
    fake = fake_discord
    hook = fake.add_webhook(ALERTS)
    db = tmp_path / "k9.db"
    first = _alert(db, 0, "Severe: VIX/VIX3M 1.214")
    fake.faults.stored_then_hang(
        "POST", "/webhooks/*", seconds=120, times=1
    )  # stored; the answer never comes

    proc = await _start(db, fake, hook.url)
    try:
        await fake.wait_for_message(ALERTS, timeout=60)  # the POST reached Discord and was stored
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGKILL)
        await proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert len(fake.messages(ALERTS)) == 1

    d = open_db(db)
    try:
        (delivery,) = alert_repo.deliveries_for(d, first)
    finally:
        d.close()
    assert delivery.status == "pending" and delivery.attempt_started_at is not None  # the trace

    second = _alert(db, 1, "Severe: VIX/VIX3M 1.300")  # the next alert, posted after the restart
    fake.faults.clear()
    seen: list[str] = []
    proc = await _start(db, fake, hook.url)
    try:
        await _read_until(proc, "Possibly lost", seen)
        await fake.wait_for_message(ALERTS, timeout=60, count=2)
    finally:
        proc.send_signal(signal.SIGTERM)
        await proc.wait()

    msgs = fake.messages(ALERTS)
    descriptions = [(m.embed or {}).get("description", "") for m in msgs]
    assert len(msgs) == 2, descriptions  # the first alert once, never a copy; the second once
    assert (
        sum("1.214" in (m.embed or {}).get("title", "") + d for m, d in zip(msgs, descriptions, strict=True))
        <= 1
    )
    # the second message says which alert may be missing above it
    assert "Possibly missing above" in (msgs[1].content or "") and "1.214" in (msgs[1].content or "")
    d = open_db(db)
    try:
        (d1,) = alert_repo.deliveries_for(d, first)
        (d2,) = alert_repo.deliveries_for(d, second)
    finally:
        d.close()
    assert d1.status == "unsure" and d1.attempt_started_at is None and d1.ambiguous == 1
    assert d2.status == "sent" and d2.attempt_started_at is None
    assert "never got its answer recorded" in (d1.last_error or "")
