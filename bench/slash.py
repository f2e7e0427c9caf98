"""slash.vix.p50 / slash.vix.p95: ``/vix 365`` end to end, chart included (goal p95 <= 400 ms).

The real bot (discord.py, our command tree, the App with its database thread and render
worker) runs against the local Discord-compatible fake on 127.0.0.1, on the real Cboe history.
One sample is the time from the fake dispatching INTERACTION_CREATE to the followup with the
chart being stored: gateway frame → defer callback → chart data query → render → multipart
followup.

``limit`` is the floor measured in the same run, per sample: the same chart rendered alone
(``render_png`` of the same data, no query) plus the fake's round trip alone (an interaction
whose command defers and follows up with the same PNG bytes, already rendered). What is left
is our own overhead: the query, the signal's chart data and the Discord glue.
"""

from __future__ import annotations

import asyncio
import io
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import DATA, Metric, metric, need_data
from signals.contract import default_params

RUNS = 30
WARMUP = 3


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def _load(db_path: Path) -> Any:
    from bot.replay import run_replay
    from signals.sources import cboe
    from signals.vix_term import SIGNAL
    from storage import observations as obs_repo
    from storage.db import open_db
    from storage.timeutil import from_epoch

    db = open_db(db_path)
    for name in ("cboe_vix_daily.csv", "cboe_vix3m_daily.csv", "cboe_vix9d_daily.csv"):
        obs_repo.upsert(db, cboe.parse_csv((DATA / name).read_text(), cboe.index_from_filename(Path(name))))
    run_replay(db, [SIGNAL], {SIGNAL.id: default_params(SIGNAL)}, resume=False)
    db.execute("UPDATE alerts SET scope = 'live' WHERE scope = 'replay'")  # alert marks on the chart
    db.conn.commit()
    end = from_epoch(db.execute("SELECT MAX(ts) FROM observations").fetchone()[0]) + timedelta(hours=22)
    db.close()
    return end


async def _measure(tmp: Path) -> tuple[list[float], list[float], int]:
    import discord
    from discord import app_commands

    from bot.charts import render_png
    from bot.clock import SimClock
    from bot.config import load_settings
    from bot.discord_client import FlowwatchBot
    from bot.queries import chart_data
    from tests.fakediscord import FAST_GUILD_READY_TIMEOUT, FakeDiscord, option, running_client

    db_path = tmp / "bench.db"
    end = await asyncio.to_thread(_load, db_path)
    settings = load_settings(
        env={"FLOWWATCH_DB": str(db_path), "FLOWWATCH_CHART_COOLDOWN": "0"}, dotenv=None, check_db=False
    )
    png_box: dict[str, bytes] = {}

    async def floor_callback(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send(
            file=discord.File(io.BytesIO(png_box["png"]), filename="vix_term-365d.png")
        )

    async with FakeDiscord() as fake:
        bot = FlowwatchBot(
            settings,
            clock=SimClock(end),
            initial_poll=False,
            schedule=False,
            guild_ready_timeout=FAST_GUILD_READY_TIMEOUT,
        )
        bot.tree.add_command(
            app_commands.Command(name="floor", description="bench floor", callback=floor_callback)
        )
        async with running_client(bot, fake):
            assert bot.app is not None
            data = await bot.app.store.call(chart_data, settings, "vix_term", end, 365)
            png_box["png"] = await asyncio.to_thread(render_png, data)

            async def round_trip(name: str, *opts: dict[str, Any]) -> float:
                t0 = time.perf_counter()
                rec = await fake.invoke_slash_command(name, *opts)
                await fake.wait_for_followup(rec, timeout=30)
                return time.perf_counter() - t0

            ours: list[float] = []
            floor: list[float] = []
            for i in range(WARMUP + RUNS):
                t_vix = await round_trip("vix", option("days", 365))
                t0 = time.perf_counter()
                await bot.app.renderer.render(data)
                t_render = time.perf_counter() - t0
                t_trip = await round_trip("floor")
                if i >= WARMUP:
                    ours.append(t_vix * 1000)
                    floor.append((t_render + t_trip) * 1000)
            points = len(data.x)
    return ours, floor, points


def run() -> Iterator[Metric]:
    if not need_data():
        return
    with tempfile.TemporaryDirectory() as tmp:
        ours, floor, points = asyncio.run(_measure(Path(tmp)))
    note = (
        f"{RUNS} runs of /vix 365 ({points} points) against the local fake; limit = the same chart rendered "
        "alone + the fake's defer/followup round trip with the same PNG, per sample"
    )
    yield metric("slash.vix.p50", percentile(ours, 50), "ms", percentile(floor, 50), "<= 400", note)
    yield metric("slash.vix.p95", percentile(ours, 95), "ms", percentile(floor, 95), "<= 400", note)
