"""replay.ratecut: the FedWatch history 2015-2021 through the ratecut signal and the engine.

The database is built as a user builds it (``backfill fred --file`` with DFF and the target range,
``backfill fedwatch --file`` with the real ZQ settlements: about 150,000 observations of 68
meetings). The value is readings per second of a full replay (signal, engine, outbox); ``limit``
is the physical floor expressed the same way: the readings divided by the time a raw SQLite read
of the rows the signal reads takes (the replay cannot be faster than reading its input). The ratio
is therefore the raw read's share of the replay's time. Goal: at least 1/10 of the floor and at
least 5,000 readings/s.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from bench.common import DATA, Metric, metric, need_data, paired_medians
from signals.contract import default_params

#: the per-signal metrics this module measures on real history (bench.signals derives the rest)
COVERS = ("replay.ratecut",)


def run() -> Iterator[Metric]:
    if not need_data() or not (DATA / "zq_settlements_2015_2021.csv").exists():
        return
    import httpx

    from bot.backfills import run_backfill
    from bot.replay import run_replay
    from signals.ratecut import SIGNAL
    from signals.sources import fedwatch, fred
    from storage import observations as obs_repo
    from storage.db import open_db

    now = datetime(2026, 9, 1, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "bench.db")

        async def load() -> None:
            async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(503))) as c:
                for module, name in (
                    (fred, "fred_dff_daily.csv"),
                    (fred, "fed_target_range_2015_2021_constructed.csv"),
                    (fedwatch, "zq_settlements_2015_2021.csv"),
                ):
                    await run_backfill(module.BACKFILL, db, client=c, now=now, file=DATA / name)

        asyncio.run(load())
        params = {SIGNAL.id: default_params(SIGNAL)}
        counts: list[tuple[int, int]] = []

        def replay() -> None:
            res = run_replay(db, [SIGNAL], params, resume=False)
            counts.append((res.readings, len(res.events)))

        where, args = obs_repo._series_clause(SIGNAL.inputs)

        def floor() -> None:
            db.execute(
                f"SELECT series, ts, value, source FROM observations WHERE {where} ORDER BY ts", args
            ).fetchall()

        t_replay, t_floor = paired_medians(replay, floor, repeat=5)
        rows = db.execute(f"SELECT COUNT(*) FROM observations WHERE {where}", args).fetchone()[0]
        db.close()
    readings, events = counts[-1]
    yield metric(
        "replay.ratecut",
        readings / t_replay,
        "readings/s",
        readings / t_floor,
        ">= 0.1x, >= 5000",
        note=(
            f"{readings} readings, {events} events over 2015-2021 in {t_replay:.2f} s; {rows} observations "
            f"read raw in {t_floor:.3f} s (limit = the readings over that time)"
        ),
    )
