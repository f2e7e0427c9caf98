"""replay.vix_term: VIX replay 2009–2026 through the signal and the engine (target under 1 s).

``limit`` is the floor of the same work's I/O: reading the same observation rows from the
same SQLite file with a raw cursor. ``goal`` is on the value (seconds).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

from bench.common import DATA, Metric, metric, need_data, paired_medians
from signals.contract import default_params

#: the per-signal metrics this module measures on real history (bench.signals derives the rest)
COVERS = ("replay.vix_term",)


def run() -> Iterator[Metric]:
    if not need_data():
        return
    from bot.replay import run_replay
    from signals.sources import cboe
    from signals.vix_term import SIGNAL
    from storage import observations as obs_repo
    from storage.db import open_db

    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "bench.db")
        for name in ("cboe_vix_daily.csv", "cboe_vix3m_daily.csv", "cboe_vix9d_daily.csv"):
            index = cboe.index_from_filename(Path(name))
            obs_repo.upsert(db, cboe.parse_csv((DATA / name).read_text(), index))
        params = {SIGNAL.id: default_params(SIGNAL)}
        events = []

        def replay() -> None:
            res = run_replay(db, [SIGNAL], params, resume=False)
            events.append(len(res.events))

        where, args = obs_repo._series_clause(SIGNAL.inputs)

        def floor() -> None:
            db.execute(
                f"SELECT series, ts, value, source FROM observations WHERE {where} ORDER BY ts", args
            ).fetchall()

        t_replay, t_floor = paired_medians(replay, floor, repeat=5)
        rows = db.execute(f"SELECT COUNT(*) FROM observations WHERE {where}", args).fetchone()[0]
        db.close()
    yield metric(
        "replay.vix_term",
        t_replay,
        "s",
        t_floor,
        "<= 1",
        note=f"{rows} observations, {events[-1]} events; limit = raw SQLite read of the same rows",
    )
