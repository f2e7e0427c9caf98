"""btc_liq at a year of history: ``history.btc_liq.*`` and ``latency.btc_liq.write_under_read``.

Two databases seeded by the soak harness (``tests/bot/soak_harness.py --seed-only``): 400 days
of 1-minute buckets from three venues with BTC minute closes (what a year of ``flowwatch run``
with every minute kept leaves: about 4 million rows, 250 MB with the roll-ups), and the same
for 7 days. They are cached under the temporary folder, keyed by the harness, the migrations
and the roll-up code, so a second run starts at once.

``history.btc_liq.<op>``: seconds on the 400-day database; ``limit`` is the same on the 7-day
one (the cost a week of history has); goal: at most 1.5x. Each op is its own process, run
interleaved on the two databases, median of three:

- ``check``: ``flowwatch check btc_liq --no-fetch`` (the whole process);
- ``alert_chart``: an alert's cascade chart, read and rendered (in process, after a warm-up);
- ``liquidations_24``: ``/liquidations 24``'s report, chart data and render (in process);
- ``replay_day``: ``flowwatch replay btc_liq --from <the last day>`` (the whole process).

``history.btc_liq.<op>.rss``: the peak RSS of that process in MiB on the 400-day database;
``limit`` is the 7-day one; goal: at most 400 MiB. Each process is started by a small launcher
(:func:`bench.common.run_measured`) that reads its children's peak: a child started from here
would inherit this process's high-water mark (203 MiB for every op, whatever it used).

``latency.btc_liq.write_under_read``: an alert's outbox write (an event and its deliveries, one
transaction, through the database owner thread) while ``/liquidations 720`` runs on the read
connection, on the 400-day database: the 99th percentile in ms of the writes made during the
reads; ``limit`` is the same writes with nothing reading. Goal: at most 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.common import REPO, Metric, metric, run_measured

RUNS = 3
SEED_DAYS = (7, 400)
#: the soak harness's seeded history ends here (its default start)
END = "2026-11-20T09:00:00+00:00"
LAST_DAY = "2026-11-19"


def cache_dir() -> Path:
    """Seeded databases, kept between runs (keyed by the code that makes them)."""
    h = hashlib.sha256()
    for rel in ("tests/bot/soak_harness.py", "storage/migrations.py", "storage/liq_rollups.py"):
        h.update((REPO / rel).read_bytes())
    return Path(tempfile.gettempdir()) / "flowwatch-bench-history" / h.hexdigest()[:12]


def seeded(days: int) -> Path:
    out = cache_dir() / f"seed{days}.db"
    if out.exists():
        return out
    work = cache_dir() / f"seed{days}.tmp"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.bot.soak_harness",
            "--seed-only",
            "--seed-days",
            str(days),
            "--dir",
            str(work),
        ],
        cwd=REPO,
        env=_env(),
        check=True,
        capture_output=True,
    )
    os.replace(work / "soak.db", out)
    shutil.rmtree(work, ignore_errors=True)
    return out


def _env(db: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWWATCH_", "DISCORD_"))}
    env.update(PYTHONPATH=str(REPO), FLOWWATCH_LIQ_VENUES="none")
    if db is not None:
        env["FLOWWATCH_DB"] = str(db)
    return env


def _run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run ``cmd`` (seconds, its own peak RSS in MiB, stdout) through a fresh launcher process
    (:func:`bench.common.run_measured`): ``wait4`` from here would report this process's peak."""
    got = run_measured(cmd, env=env)
    if got.returncode:
        raise RuntimeError(f"{' '.join(cmd[1:5])} exited with {got.returncode}: {got.stderr[-400:]}")
    return got.seconds, got.peak_mib, got.stdout


def op_command(op: str, db: Path) -> list[str]:
    if op == "check":
        return [sys.executable, "-m", "bot.cli", "check", "btc_liq", "--no-fetch", "--db", str(db)]
    if op == "replay_day":
        return [
            sys.executable,
            "-m",
            "bot.cli",
            "replay",
            "btc_liq",
            "--from",
            LAST_DAY,
            "--restart",
            "--format",
            "jsonl",
            "--db",
            str(db),
        ]
    return [sys.executable, "-m", "bench.btc_liq_history", "--op", op, "--db", str(db)]


def measure(op: str, dbs: dict[int, Path]) -> dict[int, tuple[float, float]]:
    """Median seconds and peak RSS per database, runs interleaved (one warm-up each)."""
    samples: dict[int, list[tuple[float, float]]] = {d: [] for d in dbs}
    for i in range(RUNS + 1):
        for days, db in dbs.items():
            seconds, rss, out = _run(op_command(op, db), _env(db))
            if op in ("alert_chart", "liquidations_24"):
                seconds = float(json.loads(out.strip().splitlines()[-1])["seconds"])
            if i:
                samples[days].append((seconds, rss))
    return {d: (statistics.median(s for s, _r in v), max(r for _s, r in v)) for d, v in samples.items()}


# -- the in-process operations (run in a child: ``--op``) ---------------------------------------


def in_process(op: str, db_path: Path) -> float:
    """Seconds of one operation after a warm-up (imports, fonts) in this process."""
    from datetime import datetime

    from bot.charts import render_png
    from bot.config import load_settings
    from storage.db import open_readonly

    settings = load_settings(env=_env(db_path), dotenv=None)
    now = datetime.fromisoformat(END)

    def once() -> None:
        db = open_readonly(db_path)
        try:
            if op == "liquidations_24":
                from bot.liquidations import liquidations_chart, liquidations_report, liquidations_text

                liquidations_text(liquidations_report(db, settings, now, 24))
                data = liquidations_chart(db, settings, now, 24)
            else:
                from bot.queries import alert_chart_data
                from storage.alerts import StoredAlert

                t = int(now.timestamp()) - 600
                alert = StoredAlert(
                    signal="btc_liq",
                    key="cascade",
                    event="updated",
                    level="alert",
                    ts=t,
                    summary="bench",
                    value=120.0,
                    data={"start": t - 5400, "total_usd": 120e6, "long_usd": 100e6, "short_usd": 20e6},
                )
                got = alert_chart_data(db, settings, alert)
                assert got is not None
                data = got
        finally:
            db.close()
        render_png(data)

    once()
    t0 = time.perf_counter()
    once()
    return time.perf_counter() - t0


# -- write under read ---------------------------------------------------------------------------


async def _write_under_read(db_path: Path) -> tuple[list[float], list[float], int]:
    from datetime import datetime

    from bot.config import load_settings
    from bot.engine import console_router, persist
    from bot.liquidations import liquidations_chart, liquidations_report
    from storage.alerts import AlertEvent
    from storage.db import AsyncStore

    settings = load_settings(env=_env(db_path), dotenv=None)
    now = datetime.fromisoformat(END)
    store = await AsyncStore(db_path).open()
    n = [0]

    def write(db: Any) -> None:
        n[0] += 1
        ev = AlertEvent(
            "btc_liq", "cascade", "updated", "alert", 2_000_000_000 + n[0], "bench write", value=1.0
        )
        with db.atomic():
            persist(db, "bench", [], [ev], console_router)

    async def timed_write() -> float:
        t0 = time.perf_counter()
        await store.call(write)
        return time.perf_counter() - t0

    async def report720() -> None:
        await store.read(liquidations_report, settings, now, 720)
        await store.read(liquidations_chart, settings, now, 720)

    try:
        bare = []
        for _ in range(60):
            bare.append(await timed_write())
            await asyncio.sleep(0.01)
        under: list[float] = []
        reads = 0
        for _ in range(3):
            task = asyncio.create_task(report720())
            await asyncio.sleep(0)
            while not task.done():
                under.append(await timed_write())
                await asyncio.sleep(0.02)
            await task
            reads += 1
        await store.call(lambda db: db.execute("DELETE FROM alerts WHERE scope = 'bench'"))
        await store.call(lambda db: db.conn.commit())
    finally:
        await store.close()
    return under, bare, reads


def latency_metric(db400: Path) -> Metric:
    work = Path(tempfile.mkdtemp(prefix="flowwatch-bench-wur-"))
    try:
        db = work / "w.db"
        shutil.copy(db400, db)
        under, bare, reads = asyncio.run(_write_under_read(db))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if len(under) < 5:
        raise RuntimeError(f"only {len(under)} writes happened during the reads")
    p99 = statistics.quantiles(under, n=100, method="inclusive")[98] * 1000
    f99 = statistics.quantiles(bare, n=100, method="inclusive")[98] * 1000
    return metric(
        "latency.btc_liq.write_under_read",
        p99,
        "ms",
        f99,
        "<= 50",
        f"{len(under)} alert writes (event + deliveries, one transaction, owner thread) while /liquidations 720 "
        f"read the 400-day database {reads} times; max {max(under) * 1000:.1f} ms; limit = the same writes alone",
    )


def run() -> Iterator[Metric]:
    dbs = {d: seeded(d) for d in SEED_DAYS}
    for op in ("check", "alert_chart", "liquidations_24", "replay_day"):
        got = measure(op, dbs)
        (s7, r7), (s400, r400) = got[7], got[400]
        note = f"400-day vs 7-day soak-harness database; median of {RUNS} runs, interleaved"
        yield metric(f"history.btc_liq.{op}", s400, "s", s7, "<= 1.5x", note)
        yield metric(
            f"history.btc_liq.{op}.rss", r400, "MiB", r7, "<= 400", f"peak RSS of the process; {note}"
        )
    yield latency_metric(dbs[400])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.btc_liq_history")
    p.add_argument("--op", choices=["alert_chart", "liquidations_24"], required=True)
    p.add_argument("--db", type=Path, required=True)
    args = p.parse_args(argv)
    print(json.dumps({"seconds": in_process(args.op, args.db)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
