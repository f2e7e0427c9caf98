"""Threshold labels never overlap, and alert markers have legend entries, in every renderer that
draws them. Checked on the drawn artists in display coordinates (after a full draw), not pixels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import combinations, pairwise
from typing import Any

import numpy as np
import pytest

from bot.charts import LEVEL_COLOURS, new_figure
from bot.charts._levels import spread
from signals.charts import Line, Mark, Panel, TimeSeriesChart

LEVELS = ("watch", "alert", "severe")
AS_OF = datetime(2026, 7, 1, tzinfo=UTC)


def _x(n: int) -> np.ndarray:
    return np.array(
        [(AS_OF - timedelta(days=n - i)).replace(tzinfo=None) for i in range(n)], dtype="datetime64[ns]"
    )


def _drawn(draw: Any, data: Any, width: float = 10.0, height: float = 6.0) -> Any:
    fig = new_figure(width, height)
    draw(fig, data)
    fig.canvas.draw()
    return fig


def _threshold_labels(ax: Any) -> list[Any]:
    return [t for t in ax.texts if t.get_text().strip().split(" ")[0] in LEVELS]


def _anchor(t: Any) -> tuple[float, float]:
    """Where a label points: its line at the right edge (an annotation's ``xy``, a text's position)."""
    xy = getattr(t, "xy", None)
    return tuple(xy if xy is not None else t.get_position())  # type: ignore[return-value]


def _assert_apart(fig: Any, ax: Any, expect: int) -> None:
    renderer = fig.canvas.get_renderer()
    labels = _threshold_labels(ax)
    assert len(labels) == expect, [t.get_text() for t in labels]
    boxes = {t.get_text(): t.get_window_extent(renderer) for t in labels}
    for (a, ba), (b, bb) in combinations(boxes.items(), 2):
        assert not ba.overlaps(bb), f"{a!r} {ba} overlaps {b!r} {bb}"
    # each label stays by its own line, in the lines' order
    trans = ax.get_yaxis_transform()
    by_value = sorted(labels, key=lambda t: _anchor(t)[1])
    centres = [boxes[t.get_text()].y0 + boxes[t.get_text()].height / 2 for t in by_value]
    assert centres == sorted(centres)
    height = max(b.height for b in boxes.values())
    for t, c in zip(by_value, centres, strict=True):
        assert abs(c - trans.transform(_anchor(t))[1]) < len(labels) * height


def _timeseries(thresholds: dict[str, float], marks: tuple[Mark, ...] = ()) -> TimeSeriesChart:
    x = _x(200)
    y = 50 + 49 * np.sin(np.linspace(0, 6, len(x)))
    panel = Panel("selling (pctl)", (Line("estimated selling", x, y),), thresholds=thresholds, marks=marks)
    return TimeSeriesChart(signal="vol_control", title="t", source="test", as_of=AS_OF, panels=[panel, panel])


def test_timeseries_threshold_labels_never_overlap() -> None:
    """The percentile ladder (watch 90, alert 97.5, severe 99.5) on a 0-100 panel: the three
    labels were drawn on top of each other at the right edge."""
    from bot.charts.timeseries import draw

    fig = _drawn(draw, _timeseries({"watch": 90.0, "alert": 97.5, "severe": 99.5}))
    for ax in fig.axes:
        _assert_apart(fig, ax, 3)


def test_labels_far_apart_stay_on_their_lines() -> None:
    from bot.charts.timeseries import draw

    fig = _drawn(draw, _timeseries({"watch": 20.0, "alert": 60.0}))
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    for t in _threshold_labels(ax):
        box = t.get_window_extent(renderer)
        line_y = ax.get_yaxis_transform().transform(_anchor(t))[1]
        assert abs(box.y0 + box.height / 2 - line_y) < 1.0


def test_labels_spread_on_the_dashboard_too() -> None:
    """A dashboard panel is a smaller subfigure: the spacing is computed when drawn, on its size."""
    from bot.charts import Dashboard
    from bot.charts.dashboard import draw

    data = _timeseries({"watch": 90.0, "alert": 97.5, "severe": 99.5})
    fig = _drawn(draw, Dashboard(signal="summary", title="", source="test", panels=[data, data]))
    axes = [ax for ax in fig.axes if _threshold_labels(ax)]
    assert len(axes) == 4
    for ax in axes:
        _assert_apart(fig, ax, 3)


def _vix_term(front: bool) -> Any:
    from signals.vix_term import VixTermChart

    x = _x(120)
    ratio = 0.9 + 0.15 * np.sin(np.linspace(0, 5, len(x)))
    th = {"watch": 1.0, "alert": 1.01, "severe": 1.02}
    return VixTermChart(
        signal="vix_term",
        title="t",
        source="test",
        as_of=AS_OF,
        x=x,
        vix=20 * ratio,
        vix3m=np.full(len(x), 20.0),
        ratio=ratio,
        thresholds=th,
        marks=[(x[60], "alert")],
        vix9d=20 * ratio,
        front_ratio=ratio,
        front_thresholds=th,
        front_marks=[x[60]],
        focus_key="vix9d" if front else None,
    )


@pytest.mark.parametrize("front", [False, True], ids=["vix3m", "vix9d"])
def test_vix_term_threshold_labels_never_overlap(front: bool) -> None:
    from bot.charts.vix_term import draw

    fig = _drawn(draw, _vix_term(front))
    _assert_apart(fig, fig.axes[1], 3)


def test_buyback_threshold_labels_never_overlap() -> None:
    from bot.charts.buyback import draw
    from signals.buyback import BuybackChart

    x = _x(100)
    share = 40 + 30 * np.sin(np.linspace(0, 4, len(x)))
    data = BuybackChart(
        signal="buyback",
        title="t",
        source="test",
        as_of=AS_OF,
        x=x,
        share=share,
        thresholds={"watch": 60.0, "alert": 62.0, "severe": 64.0},
        marks=[(x[50], "severe")],
    )
    fig = _drawn(draw, data)
    _assert_apart(fig, fig.axes[0], 3)


def test_spread_keeps_order_bounds_and_gap() -> None:
    assert spread([10.0, 50.0], 5.0) == [10.0, 50.0]  # already apart: untouched
    assert spread([10.0, 10.0, 10.0], 4.0) == [6.0, 10.0, 14.0]  # centred on their line
    assert spread([99.0, 97.0], 4.0, 0.0, 100.0) == [100.0, 96.0]  # order kept, top bound kept
    tight = spread([5.0, 5.0, 5.0], 10.0, 0.0, 12.0)  # cannot fit: no overlap wins over bounds
    assert sorted(tight) == tight and all(b - a >= 10.0 for a, b in pairwise(tight))


def _legend_levels(ax: Any) -> dict[str, str]:
    from matplotlib.colors import to_hex

    legend = ax.get_legend()
    assert legend is not None, "no legend"
    out = {}
    for handle, text in zip(legend.legend_handles, legend.get_texts(), strict=True):
        if text.get_text() in LEVELS:
            out[text.get_text()] = to_hex(handle.get_markerfacecolor())
    return out


def test_timeseries_alert_markers_have_a_legend_entry_per_level() -> None:
    from bot.charts.timeseries import draw

    x = _x(200)
    marks = (Mark(x[50], 90.0, "watch"), Mark(x[60], 99.0, "severe"), Mark(x[70], 99.0, "severe"))
    fig = _drawn(draw, _timeseries({"watch": 90.0}, marks))
    got = _legend_levels(fig.axes[0])
    assert got == {"watch": LEVEL_COLOURS["watch"], "severe": LEVEL_COLOURS["severe"]}
    assert list(got) == ["watch", "severe"]


def test_vix_term_and_buyback_alert_markers_have_legend_entries() -> None:
    from bot.charts.buyback import draw as draw_buyback
    from bot.charts.vix_term import draw as draw_vix
    from signals.buyback import BuybackChart

    fig = _drawn(draw_vix, _vix_term(False))
    assert _legend_levels(fig.axes[1]) == {"alert": LEVEL_COLOURS["alert"]}
    fig = _drawn(draw_vix, _vix_term(True))
    assert _legend_levels(fig.axes[1]) == {"watch": LEVEL_COLOURS["watch"]}
    x = _x(100)
    data = BuybackChart(
        signal="buyback",
        title="t",
        source="test",
        as_of=AS_OF,
        x=x,
        share=np.full(len(x), 70.0),
        thresholds={"alert": 62.0},
        marks=[(x[50], "severe")],
    )
    assert _legend_levels(_drawn(draw_buyback, data).axes[0]) == {"severe": LEVEL_COLOURS["severe"]}


def test_ratecut_legend_tells_kind_by_shape_and_level_by_colour() -> None:
    """A ratecut mark's shape is its kind and its colour its level: each kind's entry is grey
    (it was drawn in the colour of whichever mark came first), and each level shown has its own."""
    from matplotlib.colors import to_hex

    from bot.charts.ratecut import draw
    from signals.ratecut import RateCutChart, VenueLine

    x = _x(60)
    p = 40 + 20 * np.sin(np.linspace(0, 3, len(x)))
    marks = [
        (x[10], 50.0, "watch", "swing"),
        (x[20], 60.0, "severe", "swing"),
        (x[30], 52.0, "alert", "flip"),
    ]
    data = RateCutChart(
        signal="ratecut",
        title="t",
        source="test",
        as_of=AS_OF,
        meeting="2026-07-29",
        x=x,
        series=[VenueLine("kalshi", "Kalshi", x, p)],
        decision=x[-1],
        decision_label="decision",
        show_decision=False,
        refs=[],
        marks=marks,
        size_series=[],
        size_label="",
    )
    ax = _drawn(draw, data).axes[0]
    legend = ax.get_legend()

    def entry(h: Any) -> tuple[str | None, str]:  # a scatter's own handle has no marker name
        if hasattr(h, "get_marker"):
            return h.get_marker(), to_hex(h.get_markerfacecolor())
        return None, to_hex(h.get_facecolor()[0])

    entries = {
        t.get_text(): entry(h)
        for h, t in zip(legend.legend_handles, legend.get_texts(), strict=True)
        if t.get_text() != "Kalshi"
    }
    grey = "#757575"
    assert entries == {
        "flip": ("D", grey),
        "swing": ("o", grey),
        "watch": ("o", LEVEL_COLOURS["watch"]),
        "alert": ("o", LEVEL_COLOURS["alert"]),
        "severe": ("o", LEVEL_COLOURS["severe"]),
    }


def test_btc_liq_alert_markers_have_legend_entries() -> None:
    from bot.charts.btc_liq import draw
    from signals.btc_liq import BtcLiqChart

    x = _x(48)
    data = BtcLiqChart(
        signal="btc_liq",
        title="t",
        source="test",
        as_of=AS_OF,
        x=x,
        res=3600,
        long=np.linspace(1, 50, len(x)),
        short=np.linspace(1, 20, len(x)),
        marks=[(x[40], "alert"), (x[44], "severe")],
    )
    ax = _drawn(draw, data).axes[0]
    assert _legend_levels(ax) == {"alert": LEVEL_COLOURS["alert"], "severe": LEVEL_COLOURS["severe"]}
    markers = {h.get_marker() for h in ax.get_legend().legend_handles if hasattr(h, "get_marker")}
    assert "v" in markers  # the markers' own shape
