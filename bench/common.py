"""Shared helpers for benchmarks: the metric record, timing by medians, the shared data."""

from __future__ import annotations

import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FLOWWATCH_SHARED", REPO.parent / "shared"))
DATA = SHARED / "data"
FIXTURES = SHARED / "fixtures"


@dataclass
class Metric:
    metric: str
    value: float
    unit: str
    limit: float | None
    ratio: float | None
    goal: str
    note: str = ""

    def line(self) -> str:
        d: dict[str, Any] = asdict(self)
        if not d["note"]:
            d.pop("note")
        for k in ("value", "limit", "ratio"):
            if isinstance(d[k], float):
                d[k] = round(d[k], 6)
        return json.dumps(d)


def metric(name: str, value: float, unit: str, limit: float | None, goal: str, note: str = "") -> Metric:
    ratio = value / limit if limit else None
    return Metric(name, value, unit, limit, ratio, goal, note)


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
    """Median times of ``a`` and ``b`` run interleaved, so machine noise hits both alike."""
    a()
    b()
    ta, tb = [], []
    for _ in range(repeat):
        for fn, out in ((a, ta), (b, tb)):
            gc.collect()
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return statistics.median(ta), statistics.median(tb)


def need_data() -> bool:
    if not DATA.exists():
        print(f"bench: {DATA} not found; skipping benchmarks that need the shared data", file=sys.stderr)
        return False
    return True
