"""vol_control's chart: the S&P 500 with the alerts, the realized volatility against the target,
the exposure against its target (the gap is what is still to trade), and the two scores with
their levels. Drawn by the default renderer (stacked panels)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import pandas as pd

from signals import _spx
from signals._levels import usd_text
from signals.base import Params
from signals.charts import Line, Panel, TimeSeriesChart, marks_on
from signals.vol_control._readings import model_frames
from signals.vol_control._vocab import KEYS, SIGNAL_ID, entry_lines
from storage.observations import Inputs


def chart(
    inputs: Inputs, params: Params, end: datetime, days: int, marks: Iterable[tuple[datetime, str, str]] = ()
) -> TimeSeriesChart:
    f, lv = model_frames(inputs, params)
    title = "Vol-control funds (estimate): S&P 500 volatility, exposure and selling"
    if f.empty:
        return TimeSeriesChart(signal=SIGNAL_ID, title=title)
    times = _spx.close_times(pd.DatetimeIndex(f.index))
    keep = (times <= pd.Timestamp(end)) & (times >= pd.Timestamp(end) - pd.Timedelta(days=days))
    f = f[keep]
    x = _spx.naive_utc(times[keep])
    ms = list(marks)
    close = f["close"].to_numpy(dtype=float)
    pct = 100.0
    scores = {k: lv[k]["score"].to_numpy(dtype=float)[keep] for k in KEYS}
    panels = (
        Panel("S&P 500", (Line("S&P 500 close", x, close),), marks=marks_on(x, close, ms, set(KEYS))),
        Panel(
            "Realized volatility (%)",
            (
                Line("1-month", x, f["vol_short"].to_numpy(dtype=float) * pct),
                Line("3-month", x, f["vol_long"].to_numpy(dtype=float) * pct),
            ),
            thresholds={"target": params["target_vol"] * pct},
        ),
        Panel(
            "Equity exposure (%)",
            (
                Line("held (lagged)", x, f["exposure"].to_numpy(dtype=float) * pct),
                Line("target", x, f["target"].to_numpy(dtype=float) * pct),
            ),
        ),
        Panel(
            "Selling (pctl)",
            (Line(KEYS["selling"], x, scores["selling"]),),
            thresholds=entry_lines("selling", params),
            marks=marks_on(x, scores["selling"], ms, {"selling"}),
        ),
        Panel(
            "Rebuilding (pctl)",
            (Line(KEYS["buying"], x, scores["buying"]),),
            thresholds=entry_lines("buying", params),
            marks=marks_on(x, scores["buying"], ms, {"buying"}),
        ),
    )
    src = inputs.last_source.get("spx.close", "")
    return TimeSeriesChart(
        signal=SIGNAL_ID,
        title=title,
        source=(
            f"Source: S&P 500 closes ({src}); an estimate: {usd_text(params['aum_bn'] * 1e9)} assumed to target "
            f"{params['target_vol']:.0%} volatility"
        ),
        as_of=times[keep][-1].to_pydatetime() if keep.any() else None,
        panels=panels,
    )
