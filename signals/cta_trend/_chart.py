"""cta_trend's chart: the S&P 500 with the four trigger levels as they stood each day and the net
flip level (the 1- and 3-month triggers drawn; the others are in the texts), the alerts marked; the replicated position; the de/re-leveraging scores with their
levels. Drawn by the default renderer (stacked panels)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import numpy as np
import pandas as pd

from signals import _spx
from signals._levels import usd_text
from signals.base import Params
from signals.charts import Line, Panel, TimeSeriesChart, marks_on
from signals.cta_trend._model import NAMES
from signals.cta_trend._readings import model_frames
from signals.cta_trend._vocab import KEYS, SIGNAL_ID, entry_lines, model_of
from storage.observations import Inputs

DISTANCE_CAP = 8.0


def chart(
    inputs: Inputs, params: Params, end: datetime, days: int, marks: Iterable[tuple[datetime, str, str]] = ()
) -> TimeSeriesChart:
    f, lv = model_frames(inputs, params)
    title = "CTA trend replication (estimate): S&P 500, trigger levels and position"
    if f.empty:
        return TimeSeriesChart(signal=SIGNAL_ID, title=title)
    m = model_of(params)
    times = _spx.close_times(pd.DatetimeIndex(f.index))
    keep = (times <= pd.Timestamp(end)) & (times >= pd.Timestamp(end) - pd.Timedelta(days=days))
    f = f[keep]
    x = _spx.naive_utc(times[keep])
    ms = list(marks)
    close = f["close"].to_numpy(dtype=float)
    # each trigger is the close n-1 sessions back: drawn as it stood that day
    price_lines = [Line("S&P 500 close", x, close)]
    price_lines += [
        Line(f"{NAMES.get(n, n)} trigger", x, f[f"trigger_{n}"].to_numpy(dtype=float))
        for n in m.lookbacks[:2]
    ]
    price_lines.append(Line("net flip level", x, f["flip_level"].to_numpy(dtype=float)))
    scores = {k: lv[k]["score"].to_numpy(dtype=float)[keep] for k in ("selling", "buying")}
    # beyond a few daily moves the distance says only "far": capped, so the heads-up line shows
    distance = np.minimum(f["flip_sigma"].to_numpy(dtype=float), DISTANCE_CAP)
    panels = (
        Panel("S&P 500", tuple(price_lines), marks=marks_on(x, close, ms, set(KEYS))),
        Panel("Position (%)", (Line("replicated position", x, f["position"].to_numpy(dtype=float) * 100.0),)),
        Panel(
            "De-leveraging (pctl)",
            (Line(KEYS["selling"], x, scores["selling"]),),
            thresholds=entry_lines("selling", params),
            marks=marks_on(x, scores["selling"], ms, {"selling"}),
        ),
        Panel(
            "Re-leveraging (pctl)",
            (Line(KEYS["buying"], x, scores["buying"]),),
            thresholds=entry_lines("buying", params),
            marks=marks_on(x, scores["buying"], ms, {"buying"}),
        ),
        Panel(
            "To net flip (daily σ)",
            (Line(KEYS["trigger"], x, distance),),
            thresholds=entry_lines("trigger", params),
            marks=marks_on(x, distance, ms, {"trigger"}),
        ),
    )
    src = inputs.last_source.get("spx.close", "")
    return TimeSeriesChart(
        signal=SIGNAL_ID,
        title=title,
        source=(
            f"Source: S&P 500 closes ({src}); an estimate: a 1/3/6/12-month trend replication, a full "
            f"position assumed {usd_text(params['full_bn'] * 1e9)}"
        ),
        as_of=times[keep][-1].to_pydatetime() if keep.any() else None,
        panels=panels,
    )
