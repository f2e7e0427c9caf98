"""Real history from ``../shared/data`` for the flow models' regression tests, and the helpers
that judge a model's lifecycle over a named stretch of it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
import pytest

from signals._levels import LEVEL_NAMES, episodes, events
from tests.conftest import DATA


def need_data() -> None:
    if not DATA.exists():
        pytest.skip(f"{DATA} is not available (the shared data folder lives beside the checkout in CI)")


def _utc_dates(raw: pd.Series) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(raw, format="%Y-%m-%d")).tz_localize("UTC")


@cache
def spx_close() -> pd.Series:
    """S&P 500 daily closes (``sp500_index_daily.csv``: Yahoo ^GSPC, 2001-07-06 onward)."""
    need_data()
    df = pd.read_csv(DATA / "sp500_index_daily.csv", dtype={"date": str})
    return pd.Series(df["close"].to_numpy(dtype=float), index=_utc_dates(df["date"]), name="spx.close")


@cache
def fred(name: str) -> pd.Series:
    """A FRED series from ``fred_<name>.csv`` (header ``date,<ID>``; empty = missing)."""
    need_data()
    df = pd.read_csv(DATA / f"fred_{name}.csv", dtype={"date": str})
    values = pd.to_numeric(df.iloc[:, 1], errors="coerce").to_numpy(dtype=float)
    return pd.Series(values, index=_utc_dates(df["date"]), name=df.columns[1])


@dataclass(frozen=True)
class Stretch:
    """A named stretch of history and what a key must do in it, with the reason."""

    name: str
    start: str
    end: str
    #: the lowest (episodes) or highest (calm) lifecycle level expected inside
    level: int
    why: str

    def __str__(self) -> str:
        return self.name


def peak_in(lv: pd.DataFrame, s: Stretch) -> int:
    """The highest engine level the key reaches on the stretch's dates."""
    seg = lv.loc[pd.Timestamp(s.start, tz="UTC") : pd.Timestamp(s.end, tz="UTC")]
    return int(seg["state"].max()) if len(seg) else 0


def first_fire(lv: pd.DataFrame, s: Stretch, level: int) -> pd.Timestamp | None:
    """When the key first reaches ``level`` (fired or escalated) inside the stretch."""
    ev = events(pd.DatetimeIndex(lv.index), lv["state"].to_numpy())
    inside = ev[(ev["ts"] >= pd.Timestamp(s.start, tz="UTC")) & (ev["ts"] <= pd.Timestamp(s.end, tz="UTC"))]
    hit = inside[inside["event"].isin(["fired", "escalated"]) & (inside["level"] >= level)]
    return None if hit.empty else pd.Timestamp(hit["ts"].iloc[0])


def describe(level: int) -> str:
    return LEVEL_NAMES[level]


def per_year(lv: pd.DataFrame, min_level: int) -> float:
    """Episodes reaching ``min_level`` per year, counted from the first ranked reading."""
    eps = episodes(pd.DatetimeIndex(lv.index), lv["state"].to_numpy())
    ranked = lv.index[np.isfinite(lv["score"].to_numpy())]
    years = (lv.index[-1] - ranked[0]).days / 365.25
    return float((eps["peak_level"] >= min_level).sum() / years)


def lifecycles_in(lv: pd.DataFrame, s: Stretch) -> int:
    """How many lifecycles (fired ... resolved) overlap the stretch."""
    eps = episodes(pd.DatetimeIndex(lv.index), lv["state"].to_numpy())
    a, b = pd.Timestamp(s.start, tz="UTC"), pd.Timestamp(s.end, tz="UTC")
    return int(((eps["start"] <= b) & (eps["end"].isna() | (eps["end"] >= a))).sum())
