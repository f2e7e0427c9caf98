"""The daily summary dashboard: a panel per registered signal, drawn by each signal's own chart."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

import numpy as np

from bot.charts import DPI, Dashboard, Unavailable, render_png
from bot.charts.dashboard import FOOTER_IN, PANEL_HEIGHT_IN
from signals.charts import ChartData
from signals.vix_term import VixTermChart


def size(png: bytes) -> tuple[int, int]:
    w, h = struct.unpack(">II", png[16:24])
    return int(w), int(h)


def vix_panel(days: str = "2024-04-01") -> VixTermChart:
    x = np.arange("2024-01-01", days, dtype="datetime64[D]").astype("datetime64[ns]")
    vix = 15 + np.sin(np.arange(len(x)) / 5)
    vix3m = np.full(len(x), 16.0)
    return VixTermChart(
        signal="vix_term",
        title="VIX term structure" if len(x) else "empty",
        x=x,
        vix=vix,
        vix3m=vix3m,
        ratio=vix / vix3m,
        vix9d=np.full(len(x), np.nan),
        front_ratio=np.full(len(x), np.nan),
        thresholds={"watch": 0.95, "alert": 1.0, "severe": 1.1},
        front_thresholds={"watch": 1.0},
        marks=[],
        front_marks=[],
        source="Source: CBOE",
    )


@dataclass(frozen=True, kw_only=True)
class NoRenderer(ChartData):
    renderer: ClassVar[str] = "no_such_chart"


def test_one_panel_per_signal_even_broken_or_empty_ones() -> None:
    panels: list[ChartData] = [
        vix_panel(),
        vix_panel("2024-01-01"),
        NoRenderer(signal="no_such_chart", title="missing"),
        Unavailable(signal="vix_term", title="vix_term", error="database locked"),
    ]
    data = Dashboard(
        signal="dashboard",
        title="",
        panels=panels,
        levels={"vix_term": "alert"},
        source="Source: CBOE",
        as_of=datetime(2024, 4, 1, tzinfo=UTC),
    )
    png = render_png(data)
    assert png.startswith(b"\x89PNG")
    w, h = size(png)
    assert w == 1000 and h == round((PANEL_HEIGHT_IN * 4 + FOOTER_IN) * DPI)
