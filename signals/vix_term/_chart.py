"""vix_term's chart: VIX and VIX3M, their ratio with thresholds and alerts (VIX9D for its alert)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

import numpy as np
import pandas as pd

from signals.base import Params
from signals.charts import ChartData
from signals.vix_term._readings import daily_closes
from signals.vix_term._vocab import I_VIX, I_VIX3M, I_VIX9D, SIGNAL_ID, VIX, close_times
from storage.observations import Inputs


@dataclass(frozen=True, kw_only=True)
class VixTermChart(ChartData):
    """VIX and VIX3M, their ratio with the thresholds and alerts; for the VIX9D/VIX alert's
    chart (``focus_key`` ``vix9d``) VIX9D and the front ratio."""

    renderer: ClassVar[str] = "vix_term"

    x: np.ndarray
    vix: np.ndarray
    vix3m: np.ndarray
    ratio: np.ndarray
    vix9d: np.ndarray
    front_ratio: np.ndarray
    thresholds: Mapping[str, float]
    front_thresholds: Mapping[str, float]
    marks: list[tuple[np.datetime64, str]]
    front_marks: list[np.datetime64]

    @property
    def empty(self) -> bool:
        return len(self.x) == 0


def chart(
    inputs: Inputs,
    params: Params,
    end: datetime,
    days: int,
    marks: Iterable[tuple[datetime, str, str]] = (),
) -> VixTermChart:
    daily = daily_closes(inputs).dropna(subset=["vix", "vix3m"])
    end_ts = pd.Timestamp(end)
    daily = daily[(daily.index <= end_ts) & (daily.index >= end_ts - pd.Timedelta(days=days))]
    x = close_times(pd.DatetimeIndex(daily.index)) if not daily.empty else pd.DatetimeIndex([], tz="UTC")
    vix = daily["vix"].to_numpy(dtype=float)
    vix3m = daily["vix3m"].to_numpy(dtype=float)
    vix9d = daily["vix9d"].to_numpy(dtype=float)
    iv = pd.DataFrame(
        {"vix": inputs.series(I_VIX), "vix3m": inputs.series(I_VIX3M), "vix9d": inputs.series(I_VIX9D)}
    ).dropna(subset=["vix", "vix3m"])
    if not iv.empty:
        iv = iv[(iv.index > (x[-1] if len(x) else end_ts - pd.Timedelta(days=days))) & (iv.index <= end_ts)]
        x = pd.DatetimeIndex(x.append(pd.DatetimeIndex(iv.index)))
        vix = np.concatenate([vix, iv["vix"].to_numpy(dtype=float)])
        vix3m = np.concatenate([vix3m, iv["vix3m"].to_numpy(dtype=float)])
        vix9d = np.concatenate([vix9d, iv["vix9d"].to_numpy(dtype=float)])
    last_src = inputs.last_source.get(VIX, "cboe")
    marks = list(marks)
    return VixTermChart(
        signal=SIGNAL_ID,
        title="VIX term structure: VIX vs VIX3M",
        x=x.tz_convert("UTC").tz_localize(None).to_numpy(),
        vix=vix,
        vix3m=vix3m,
        ratio=vix / vix3m if len(vix) else np.array([]),
        # the front end, for the VIX9D/VIX alert's chart (NaN where VIX9D is missing)
        vix9d=vix9d,
        front_ratio=vix9d / vix if len(vix) else np.array([]),
        front_thresholds={"watch": params["front_watch"]},
        thresholds={"watch": params["watch"], "alert": params["alert"], "severe": params["severe"]},
        marks=[
            (pd.Timestamp(t).tz_convert("UTC").tz_localize(None).to_datetime64(), lv)
            for t, lv, key in marks
            if key == "vix3m"
        ],
        front_marks=[
            pd.Timestamp(t).tz_convert("UTC").tz_localize(None).to_datetime64()
            for t, lv, key in marks
            if key == "vix9d"
        ],
        source=f"Source: {last_src.upper() if last_src in ('cboe', 'fred') else last_src}",
        as_of=x[-1].to_pydatetime() if len(x) else None,
    )
