"""credit's chart, drawn by the default renderer: the high-yield spread with its alerts, the
widening's percentile against its thresholds, the 2s10s curve with its heads-ups."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from signals.base import Params
from signals.charts import Line, Panel, TimeSeriesChart, marks_on
from signals.credit._model import curve_frame, hy_frame, hy_levels
from signals.credit._readings import CURVE_SOURCE, HY_SOURCE
from signals.credit._vocab import CURVE_OUT, HY_OUT, LEVEL_NAMES, SIGNAL_ID, model_rules, out_times
from storage.observations import Inputs
from storage.series import FRED_DGS2, FRED_DGS10, FRED_HY_OAS


def _window(idx: pd.DatetimeIndex, end: datetime, days: int) -> np.ndarray:
    return np.asarray((idx >= pd.Timestamp(end - timedelta(days=days))) & (idx <= pd.Timestamp(end)))


def chart(
    inputs: Inputs, params: Params, end: datetime, days: int, marks: Iterable[tuple[datetime, str, str]] = ()
) -> TimeSeriesChart:
    ru = model_rules(params)
    marks = list(marks)
    panels: list[Panel] = []
    last: datetime | None = None
    oas = inputs.series(FRED_HY_OAS)
    if not oas.empty:
        f = hy_frame(oas, ru)
        lv = hy_levels(f, ru)
        at = out_times(pd.DatetimeIndex(f.index), HY_OUT)
        keep = _window(at, end, days)
        x = at[keep].tz_convert(None).to_numpy(dtype="datetime64[ns]")
        bp = f["oas_bp"].to_numpy(dtype=float)[keep]
        score = lv["score"].to_numpy(dtype=float)[keep]
        panels += [
            Panel(
                "high-yield OAS (bp)",
                (Line("ICE BofA US High Yield OAS", x, bp),),
                marks=marks_on(x, bp, marks, {"hy"}),
            ),
            Panel(
                "widening (pctl)",
                (Line("high-yield spread widening", x, score),),
                thresholds={n: params[n] for n in LEVEL_NAMES},
                marks=marks_on(x, score, marks, {"hy"}),
            ),
        ]
        if keep.any():
            last = at[keep][-1].to_pydatetime()
    ten, two = inputs.series(FRED_DGS10), inputs.series(FRED_DGS2)
    if not ten.empty and not two.empty:
        c = curve_frame(ten, two)
        if not c.empty:
            at = out_times(pd.DatetimeIndex(c.index), CURVE_OUT)
            keep = _window(at, end, days)
            x = at[keep].tz_convert(None).to_numpy(dtype="datetime64[ns]")
            spread = c["spread_bp"].to_numpy(dtype=float)[keep]
            panels.append(
                Panel(
                    "2s10s (bp)",
                    (Line("10-year - 2-year Treasury yield", x, spread),),
                    thresholds={"inverted below": 0.0},
                    marks=marks_on(x, spread, marks, {"curve"}),
                )
            )
    return TimeSeriesChart(
        signal=SIGNAL_ID,
        title="Credit stress: high-yield spread and the 2s10s curve",
        source=f"Source: {HY_SOURCE}; {CURVE_SOURCE}",
        as_of=last,
        panels=tuple(panels),
    )
