"""startup.seconds and startup.rss: ``flowwatch run`` from process start to "flowwatch running".

The bot starts in console mode (no token) on a migrated temporary database, with
``--no-initial-poll`` and ``FLOWWATCH_LIQ_VENUES=none``: nothing touches the network, and the
polls and streams (which never delay the "running" line anyway) stay out of the measurement.
The value is the wall time from spawning the process to reading that log line on its stderr,
and the process's RSS at that moment (``/proc/<pid>/status``); then it is stopped with SIGTERM.

``limit`` is the same measurement of a bare interpreter that imports the heavy libraries the
bot is built on (``discord, pandas, matplotlib, apscheduler, httpx, sqlite_utils``) and says so:
the floor of starting Python with them. Medians of interleaved runs (after a warm-up of each).
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench.common import REPO, Metric, metric, paired_samples

RUNS = 7
BARE = (
    "import discord, pandas, matplotlib, apscheduler, httpx, sqlite_utils, sys; "
    "sys.stderr.write('ready\\n'); sys.stderr.flush(); sys.stdin.read()"
)


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def launch(cmd: list[str], marker: str, env: dict[str, str], cwd: Path, stop: str) -> tuple[float, float]:
    """(seconds until ``marker`` appears on stderr, RSS in MiB then); the process is then stopped."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
    )
    assert proc.stderr is not None and proc.stdin is not None
    seen = []
    try:
        for line in proc.stderr:
            if marker in line:
                seconds = time.perf_counter() - t0
                rss = _rss_mib(proc.pid)
                break
            seen.append(line)
        else:
            raise RuntimeError(f"{cmd[2:4]} exited before {marker!r}: {''.join(seen)[-500:]}")
    finally:
        if stop == "term":
            proc.send_signal(signal.SIGTERM)
        proc.stdin.close()
        rest = proc.stderr.read()
        code = proc.wait(timeout=60)
    if code != 0:
        raise RuntimeError(f"{cmd[2:4]} exited with {code}: {rest[-500:]}")
    return seconds, rss


def run() -> Iterator[Metric]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWWATCH_", "DISCORD_"))}
    env.update(FLOWWATCH_LIQ_VENUES="none", PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        db = str(cwd / "startup.db")
        subprocess.run(
            [sys.executable, "-m", "bot", "db", "migrate", "--db", db],
            env=env,
            cwd=cwd,
            check=True,
            capture_output=True,
        )
        bot = [sys.executable, "-m", "bot", "run", "--no-initial-poll", "--db", db]
        bare = [sys.executable, "-c", BARE]
        ours, floor = paired_samples(
            lambda: launch(bot, "flowwatch running", env, cwd, "term"),
            lambda: launch(bare, "ready", env, cwd, "stdin"),
            repeat=RUNS,
        )
    secs = statistics.median(s for s, _ in ours)
    rss = statistics.median(r for _, r in ours)
    f_secs = statistics.median(s for s, _ in floor)
    f_rss = statistics.median(r for _, r in floor)
    what = f"medians of {RUNS} starts each, console mode, --no-initial-poll, no streams"
    yield metric(
        "startup.seconds",
        secs,
        "s",
        f_secs,
        "<= 1.5x",
        f"{what}; limit = python importing discord, pandas, matplotlib, apscheduler, httpx, sqlite_utils",
    )
    yield metric("startup.rss", rss, "MiB", f_rss, "<= 250", f"{what}; limit = the same bare import's RSS")
