"""The daily summary dashboard: a panel per registered signal, drawn by each signal's own chart."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import numpy as np

from bot.charts import DPI, render_png
from bot.charts.dashboard import FOOTER_IN, PANEL_HEIGHT_IN


def size(png: bytes) -> tuple[int, int]:
    w, h = struct.unpack(">II", png[16:24])
    return int(w), int(h)


def vix_panel() -> dict[str, object]:
    x = np.arange("2024-01-01", "2024-04-01", dtype="datetime64[D]").astype("datetime64[ns]")
    vix = 15 + np.sin(np.arange(len(x)) / 5)
    vix3m = np.full(len(x), 16.0)
    return {
        "signal": "vix_term",
        "title": "VIX term structure",
        "x": x,
        "vix": vix,
        "vix3m": vix3m,
        "ratio": vix / vix3m,
        "thresholds": {"watch": 0.95, "alert": 1.0, "severe": 1.1},
        "marks": [],
        "front_marks": [],
        "source": "Source: CBOE",
    }


def test_one_panel_per_signal_even_broken_or_empty_ones() -> None:
    panels = [
        vix_panel(),
        {"signal": "vix_term", "title": "empty", "x": np.array([], dtype="datetime64[ns]")},
        {"signal": "no_such_chart", "title": "missing"},
        {"signal": "vix_term", "error": "database locked"},
    ]
    data = {
        "signal": "dashboard",
        "panels": panels,
        "levels": {"vix_term": "alert"},
        "source": "Source: CBOE",
        "as_of": datetime(2024, 4, 1, tzinfo=UTC),
    }
    png = render_png(data)
    assert png.startswith(b"\x89PNG")
    w, h = size(png)
    assert w == 1000 and h == round((PANEL_HEIGHT_IN * 4 + FOOTER_IN) * DPI)
