"""fanout.1000, fanout.1000.with_slash, fanout.slash.p95: one alert to 1,000 subscribed channels.

The real bot (discord.py, the router, the dispatcher, the channel sink, the App's database
thread and chart renderer) against the local Discord-compatible fake on 127.0.0.1, with the
fake answering every channel post after 250 ms (a real post with a chart takes 0.15-0.4 s). The
alert is a real ``vix_term`` event over the real Cboe history, its chart rendered by the App.

* ``fanout.1000``: from the event written to the outbox to the 1,000th message stored. Limit:
  1,000 posts at Discord's global 50 requests/s, 20 s (the bot may not go faster however many
  connections it opens). Goal <= 1.5x.
* ``fanout.1000.with_slash``: the same while ``/vix 365`` commands arrive back to back. Limit:
  ``fanout.1000`` of the same run. Goal <= 1.5x.
* ``fanout.slash.p95``: those commands' answers (interaction to followup with the chart), p95.
  Limit: the same command's p95 with no fan-out running, same run. Goal <= 400 ms.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.common import Metric, metric, need_data
from bench.slash import _load, percentile

CHANNELS = 1000
POST_DELAY = 0.25
GLOBAL_LIMIT_S = CHANNELS / 50.0


def _channels() -> list[int]:
    from tests.fakediscord.snowflake import fixed_snowflake

    return [fixed_snowflake(2024, 6, 1, 100 + i) for i in range(CHANNELS)]


def _subscribe(db_path: Path, channel_ids: list[int]) -> None:
    from storage import subscriptions
    from storage.db import open_db
    from tests.fakediscord import Defaults

    db = open_db(db_path)
    with db.atomic():
        for cid in channel_ids:
            subscriptions.subscribe(db, Defaults.GUILD_ID, cid, "vix_term", "watch")
    db.close()


async def _measure(tmp: Path) -> dict[str, Any]:
    from bot.clock import SimClock
    from bot.config import load_settings
    from bot.discord_client import FlowwatchBot
    from storage import alerts as alert_repo
    from storage.timeutil import to_epoch
    from tests.fakediscord import FAST_GUILD_READY_TIMEOUT, FakeDiscord, option, running_client
    from tests.fakediscord.world import FakeChannel, default_guild

    db_path = tmp / "fanout.db"
    end = await asyncio.to_thread(_load, db_path)
    channel_ids = _channels()
    await asyncio.to_thread(_subscribe, db_path, channel_ids)
    settings = load_settings(
        env={"FLOWWATCH_DB": str(db_path), "FLOWWATCH_CHART_COOLDOWN": "0", "FLOWWATCH_STORM_MAX": "0"},
        dotenv=None,
        check_db=False,
    )
    guild = default_guild()
    guild.channels += [FakeChannel(cid, f"alerts-{i}", position=10 + i) for i, cid in enumerate(channel_ids)]
    async with FakeDiscord(guilds=[guild]) as fake:
        fake.faults.delay("POST", "/channels/*/messages", seconds=POST_DELAY, times=None)
        wanted = set(channel_ids)
        landed = [0]

        def count(rec: Any) -> None:
            post = rec.method == "POST" and rec.route == "/channels/{channel_id}/messages"
            if post and rec.status == 200 and int(rec.path.split("/")[2]) in wanted:
                landed[0] += 1

        fake.response_hooks.append(count)
        bot = FlowwatchBot(
            settings,
            clock=SimClock(end),
            initial_poll=False,
            schedule=False,
            guild_ready_timeout=FAST_GUILD_READY_TIMEOUT,
        )
        async with running_client(bot, fake, ready_timeout=60):
            app = bot.app
            assert app is not None
            await bot.tree.sync()
            base = await app.store.call(
                lambda db: alert_repo.list_alerts(db, "live", signal="vix_term", newest_first=True, limit=1)[
                    0
                ]
            )
            router = app.pipeline.router

            async def fan_out(round_: int) -> float:
                ev = alert_repo.AlertEvent(
                    signal=base.signal,
                    key=base.key,
                    event="fired",
                    level="severe",
                    ts=base.ts - round_,  # a new event each round, the same chart
                    summary=base.summary,
                    value=base.value,
                    prev_level="ok",
                    fields=base.fields,
                    data=base.data,
                    source=base.source,
                    as_of=base.as_of,
                    episode=f"bench:{round_}",
                )
                before = landed[0]
                t0 = time.perf_counter()

                def write(db: Any) -> int:
                    dests, held = router(db, "live", ev)
                    alert_id = alert_repo.insert_event(db, "live", ev, dests, now=to_epoch(end), held=held)
                    assert alert_id is not None and len(dests) >= CHANNELS
                    return alert_id

                await app.store.call(write)
                app.dispatcher.kick()
                await fake.wait_until(
                    lambda: landed[0] >= before + CHANNELS or None, timeout=600, what="fan-out"
                )
                return time.perf_counter() - t0

            async def slash_once() -> float:
                t0 = time.perf_counter()
                rec = await fake.invoke_slash_command("vix", option("days", 365))
                await fake.wait_for_followup(rec, timeout=60)
                return (time.perf_counter() - t0) * 1000

            quiet = [await slash_once() for _ in range(12)][2:]
            alone = await fan_out(1)
            latencies: list[float] = []
            done = asyncio.Event()

            async def slash_loop() -> None:
                while not done.is_set():
                    latencies.append(await slash_once())

            looper = asyncio.create_task(slash_loop())
            try:
                with_slash = await fan_out(2)
            finally:
                done.set()
                await looper
            posts = len(fake.requests_matching("POST", "/channels/{channel_id}/messages"))
    return {
        "alone": alone,
        "with_slash": with_slash,
        "latencies": latencies,
        "quiet": quiet,
        "posts": posts,
    }


def run() -> Iterator[Metric]:
    if not need_data():
        return
    with tempfile.TemporaryDirectory() as tmp:
        r = asyncio.run(_measure(Path(tmp)))
    note = (
        f"one vix_term alert with its chart to {CHANNELS} channels, the fake answering each post after "
        f"{POST_DELAY * 1000:.0f} ms; {r['posts']} channel posts in all"
    )
    yield metric(
        "fanout.1000", r["alone"], "s", GLOBAL_LIMIT_S, "<= 1.5x", note + f"; limit {CHANNELS} posts at 50/s"
    )
    yield metric(
        "fanout.1000.with_slash",
        r["with_slash"],
        "s",
        r["alone"],
        "<= 1.5x",
        note + f"; {len(r['latencies'])} /vix 365 commands back to back meanwhile; limit = fanout.1000",
    )
    lat = r["latencies"]
    p95 = percentile(lat, 95) if len(lat) >= 2 else (lat[0] if lat else float("nan"))
    quiet = percentile(r["quiet"], 95)
    yield metric(
        "fanout.slash.p95",
        p95,
        "ms",
        quiet,
        "<= 400",
        f"{len(lat)} /vix 365 answers during the fan-out (median {statistics.median(lat):.0f} ms); "
        f"limit = the same command's p95 with nothing else running",
    )
