"""Loading stored series into the wide frame signals read: the same frame, a bounded footprint."""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from storage import observations as obs_repo
from storage.db import open_db
from tests.fuzzing import fuzz_settings

NAMES = [
    "cboe.vix.close",
    "cboe.vix3m.close",
    "kalshi.fomc.2026-12-09.cut",
    "liq.btc.okx.long_usd.1m",
    "zz.other",
]
PATTERNS = [
    ["cboe.vix.close"],
    ["cboe.%"],
    ["kalshi.fomc.%", "cboe.vix3m.close"],
    ["liq.btc.%", "zz.other"],
    ["nothing.%"],
]


def reference(db: Any, patterns: list[str], start: int | None, end: int | None) -> obs_repo.Inputs:
    return obs_repo.inputs_from_long(obs_repo.load_long(db, patterns, start, end))


rows = st.lists(
    st.tuples(
        st.sampled_from(NAMES),
        st.integers(0, 50),
        st.floats(0.01, 1e9, allow_nan=False),
        st.sampled_from(["a", "b"]),
    ),
    max_size=60,
)


@given(
    rows=rows,
    patterns=st.sampled_from(PATTERNS),
    start=st.none() | st.integers(0, 50),
    end=st.none() | st.integers(0, 50),
)
@fuzz_settings
def test_the_frame_equals_the_row_by_row_pivot(
    tmp_path_factory: Any,
    rows: list[tuple[str, int, float, str]],
    patterns: list[str],
    start: int | None,
    end: int | None,
) -> None:
    db = open_db(tmp_path_factory.mktemp("obs") / "t.db")
    try:
        obs_repo.write_many(db, rows)
        got = obs_repo.load_inputs(db, patterns, start, end)
        want = reference(db, patterns, start, end)
    finally:
        db.close()
    pd.testing.assert_frame_equal(got.values, want.values, check_index_type=False)
    assert isinstance(got.values.index, pd.DatetimeIndex) and str(got.values.index.tz) == "UTC"
    assert got.last_source == want.last_source


def test_series_names_are_found_by_pattern(db: Any) -> None:
    obs_repo.write_many(db, [(n, 1_700_000_000, 1.0, "s") for n in NAMES])
    assert obs_repo.series_names(db, ["cboe.%", "zz.other"]) == [
        "cboe.vix.close",
        "cboe.vix3m.close",
        "zz.other",
    ]
    assert obs_repo.series_names(db, ["missing"]) == []


def test_loading_months_of_minutes_stays_near_the_frames_size(tmp_path: Path) -> None:
    """Thirty days of 1-minute liquidation buckets (six series, 260,000 rows): the load must not
    hold the rows as Python objects (the row-by-row pivot peaked at about 38 times the frame)."""
    db = open_db(tmp_path / "m.db")
    minutes = np.arange(0, 30 * 86400, 60) + 1_790_000_000
    rng = np.random.default_rng(1)
    names = [f"liq.btc.{v}.{s}_usd.1m" for v in ("bybit", "binance", "okx") for s in ("long", "short")]
    with db.atomic():
        for n in names:
            db.conn.executemany(
                "INSERT INTO observations VALUES (?, ?, ?, ?)",
                zip(
                    [n] * len(minutes),
                    minutes.tolist(),
                    rng.exponential(2e4, len(minutes)).tolist(),
                    ["x"] * len(minutes),
                    strict=True,
                ),
            )
    tracemalloc.start()
    try:
        inputs = obs_repo.load_inputs(db, ["liq.btc.%"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        db.close()
    size = inputs.values.to_numpy().nbytes
    assert inputs.values.shape == (len(minutes), 6)
    assert peak < 6 * size, f"peak {peak / 2**20:.1f} MiB for a {size / 2**20:.1f} MiB frame"
