"""net_liquidity's chart, drawn by the default renderer: net liquidity with its alerts, the three
parts behind it, and each key's percentile against its thresholds."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from signals.base import Params
from signals.charts import Line, Panel, TimeSeriesChart, marks_on
from signals.net_liquidity._model import KEYS
from signals.net_liquidity._readings import SOURCE, model_frames
from signals.net_liquidity._vocab import LEVEL_NAMES, SIGNAL_ID, release_times
from storage.observations import Inputs


def _since(part: pd.Series) -> np.ndarray:
    """A part's change since the first week shown, in billions (its contribution to the change)."""
    v = part.to_numpy(dtype=float) / 1e3
    return v - v[0] if len(v) else v


def chart(
    inputs: Inputs, params: Params, end: datetime, days: int, marks: Iterable[tuple[datetime, str, str]] = ()
) -> TimeSeriesChart:
    title = "Net liquidity: Fed assets - Treasury account - reverse repo"
    got = model_frames(inputs, params)
    if got is None:
        return TimeSeriesChart(signal=SIGNAL_ID, title=title)
    f, lv = got
    at = release_times(pd.DatetimeIndex(f["release"]))
    keep = (at >= pd.Timestamp(end - timedelta(days=days))) & (at <= pd.Timestamp(end))
    x = at[keep].tz_convert(None).to_numpy(dtype="datetime64[ns]")
    f = f.loc[keep]
    net = f["net"].to_numpy(dtype=float) / 1e6
    marks = list(marks)
    panels = [
        Panel(
            "net liquidity ($T)",
            (Line("WALCL - WTREGEN - RRP", x, net),),
            marks=marks_on(x, net, marks, set(KEYS)),
        ),
        Panel(
            "parts, change ($B)",
            (
                Line("Fed assets (WALCL)", x, _since(f["walcl"])),
                Line("minus Treasury account (WTREGEN)", x, -_since(f["tga"])),
                Line("minus reverse repo (RRPONTSYD)", x, -_since(f["rrp"])),
            ),
        ),
    ]
    for key, name in KEYS.items():
        score = lv[key]["score"].loc[keep].to_numpy(dtype=float)
        panels.append(
            Panel(
                f"{key} (pctl)",
                (Line(name, x, score),),
                thresholds={n: params[n] for n in LEVEL_NAMES},
                marks=marks_on(x, score, marks, {key}),
            )
        )
    last = at[keep][-1].to_pydatetime() if keep.any() else None
    return TimeSeriesChart(
        signal=SIGNAL_ID, title=title, source=f"Source: {SOURCE}", as_of=last, panels=tuple(panels)
    )
