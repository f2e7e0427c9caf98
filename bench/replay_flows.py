"""replay.net_liquidity, replay.credit: each flow signal over its whole shared history through the
signal and the engine (``flowwatch replay``), the history loaded with ``backfill fred --file``
(target under 1 s each).

``limit`` is the floor of the same work's I/O: reading the same observation rows from the same
SQLite file with a raw cursor. ``goal`` is on the value (seconds).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from bench.common import DATA, Metric, metric, need_data, paired_medians
from signals.contract import default_params

FILES = {
    "net_liquidity": ("fred_walcl_weekly.csv", "fred_wtregen_weekly.csv", "fred_rrpontsyd_daily.csv"),
    "credit": ("fred_bamlh0a0hym2_daily.csv", "fred_dgs10_daily.csv", "fred_dgs2_daily.csv"),
}

#: the per-signal metrics this module measures on real history (bench.signals derives the rest)
COVERS = ("replay.net_liquidity", "replay.credit")


def run() -> Iterator[Metric]:
    if not need_data():
        return
    for sid, files in FILES.items():
        yield _replay(sid, files)


def _replay(sid: str, files: tuple[str, ...]) -> Metric:
    import httpx

    from bot.backfills import run_backfill
    from bot.replay import run_replay
    from signals import get_signal
    from signals.sources import fred
    from storage import observations as obs_repo
    from storage.db import open_db

    sig = get_signal(sid)
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "bench.db")

        async def load() -> None:
            async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(404))) as c:
                for name in files:
                    now = datetime(2026, 12, 1, tzinfo=UTC)
                    await run_backfill(fred.BACKFILL, db, client=c, now=now, file=DATA / name)

        asyncio.run(load())
        params = {sig.id: default_params(sig)}
        events: list[int] = []

        def replay() -> None:
            res = run_replay(db, [sig], params, resume=False)
            events.append(len(res.events))

        where, args = obs_repo._series_clause(sig.inputs)

        def floor() -> None:
            db.execute(
                f"SELECT series, ts, value, source FROM observations WHERE {where} ORDER BY ts", args
            ).fetchall()

        t_replay, t_floor = paired_medians(replay, floor, repeat=5)
        rows = db.execute(f"SELECT COUNT(*) FROM observations WHERE {where}", args).fetchone()[0]
        db.close()
    return metric(
        f"replay.{sid}",
        t_replay,
        "s",
        t_floor,
        "<= 1",
        note=f"{rows} observations, {events[-1]} events; limit = raw SQLite read of the same rows",
    )
