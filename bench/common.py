"""Shared helpers for benchmarks: the metric record, timing by medians, the shared data.

The output contract (DESIGN.md, "The CLI contract"): one JSON object per metric on stdout with
exactly the fields ``metric, value, unit, limit, ratio, goal``, in that order. ``limit`` is the
physical floor measured in the same run (or null when there is none), ``ratio`` = value / limit
(null without a limit), ``goal`` a string such as ``"<= 1.3x"`` (on the ratio) or ``"<= 400"`` (on
the value, in ``unit``); several conditions are comma-separated. A metric's note (what was
measured, on how much data) goes to stderr, never into the line.
"""

from __future__ import annotations

import gc
import json
import math
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FLOWWATCH_SHARED", REPO.parent / "shared"))
DATA = SHARED / "data"
FIXTURES = SHARED / "fixtures"

#: the fields of a line, in order
FIELDS = ("metric", "value", "unit", "limit", "ratio", "goal")
SIGNIFICANT = 6
_GOAL = re.compile(r"^(<=|>=)\s*(\d+(?:\.\d+)?)(x?)$")


def significant(x: float | None, digits: int = SIGNIFICANT) -> float | None:
    """``x`` rounded to ``digits`` significant digits (seconds of 1e-5 keep their precision)."""
    if x is None or x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


@dataclass(frozen=True)
class Metric:
    metric: str
    value: float
    unit: str
    limit: float | None
    ratio: float | None
    goal: str
    note: str = ""

    def record(self) -> dict[str, Any]:
        """The contract's fields only, in order."""
        return {k: getattr(self, k) for k in FIELDS}

    def line(self) -> str:
        return json.dumps(self.record())

    def goal_met(self) -> bool | None:
        """Whether every condition of ``goal`` holds (None when the goal cannot be read)."""
        conds = [c.strip() for c in self.goal.split(",") if c.strip()]
        if not conds:
            return None
        ok = True
        for c in conds:
            m = _GOAL.match(c)
            if m is None:
                return None
            op, num, on_ratio = m.group(1), float(m.group(2)), bool(m.group(3))
            x = self.ratio if on_ratio else self.value
            if x is None:
                return None
            ok = ok and (x <= num if op == "<=" else x >= num)
        return ok


def metric(name: str, value: float, unit: str, limit: float | None, goal: str, note: str = "") -> Metric:
    """A metric with its ratio; values are kept to six significant digits and the ratio is that
    of the rounded numbers, so a consumer recomputing value / limit gets the same."""
    v = significant(float(value))
    lim = significant(float(limit)) if limit else None
    assert v is not None
    ratio = significant(v / lim) if lim else None
    return Metric(name, v, unit, lim, ratio, goal, note)


def median_seconds(fn: Callable[[], Any], repeat: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` over ``repeat`` runs (after ``warmup`` runs)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def paired_medians(a: Callable[[], Any], b: Callable[[], Any], repeat: int = 7) -> tuple[float, float]:
    """Median times of ``a`` and ``b`` run interleaved (after one warm-up each), so machine
    noise hits both alike and a ratio of the medians does not flip on a busy 2-core box."""
    ta, tb = paired_samples(lambda: _timed(a), lambda: _timed(b), repeat)
    return statistics.median(ta), statistics.median(tb)


def paired_samples(
    a: Callable[[], T], b: Callable[[], T], repeat: int = 7, warmup: int = 1
) -> tuple[list[T], list[T]]:
    """``repeat`` measurements each of ``a`` and ``b`` (callables that return their own
    measurement: a time, a memory size), interleaved, after ``warmup`` unrecorded runs each."""
    for _ in range(warmup):
        a()
        b()
    xa: list[T] = []
    xb: list[T] = []
    for _ in range(repeat):
        for fn, out in ((a, xa), (b, xb)):
            gc.collect()
            out.append(fn())
    return xa, xb


def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def need_data() -> bool:
    if not DATA.exists():
        print(f"bench: {DATA} not found; skipping benchmarks that need the shared data", file=sys.stderr)
        return False
    return True


#: A fresh, small process that runs the command and reports its peak RSS. On Linux a child
#: starts with its parent's high-water mark (fork and vfork copy or share the parent's memory,
#: and exec keeps that mark in ``ru_maxrss``), so a bench process at 200 MiB would see every child
#: "peak" at 200 MiB. The launcher holds a few MiB: what ``RUSAGE_CHILDREN`` reports in it is the
#: command's own peak. It writes ``exit-code seconds peak-KiB`` to the descriptor it is given.
_LAUNCHER = """
import os, resource, subprocess, sys, time
fd = int(sys.argv[1])
t0 = time.perf_counter()
code = subprocess.call(sys.argv[2:])
seconds = time.perf_counter() - t0
os.write(fd, f"{code} {seconds!r} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}".encode())
"""


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_mib: float
    returncode: int
    stdout: str
    stderr: str


def run_measured(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path = REPO) -> Measured:
    """Run ``cmd`` through a fresh launcher process: its wall seconds and its own peak RSS (MiB),
    not the high-water mark it would inherit from this process (see ``_LAUNCHER``)."""
    import subprocess

    r, w = os.pipe()
    try:
        proc = subprocess.run(
            [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(w), *cmd],
            cwd=cwd,
            env=env,
            capture_output=True,
            pass_fds=(w,),
            check=False,
        )
        os.close(w)
        w = -1
        with os.fdopen(r, "rb") as fh:
            r = -1
            report = fh.read().decode().split()
    finally:
        for fd in (r, w):
            if fd >= 0:
                os.close(fd)
    if proc.returncode or len(report) != 3:
        raise RuntimeError(f"the launcher of {' '.join(cmd[:5])} failed: {proc.stderr.decode()[-400:]}")
    code, seconds, kib = int(report[0]), float(report[1]), int(report[2])
    return Measured(seconds, kib / 1024, code, proc.stdout.decode(), proc.stderr.decode())
