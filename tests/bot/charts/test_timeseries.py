"""The default renderer's stacked panels: no panel's y label runs into another's, on every signal
drawn by it (its demo scenario, in its own chart and on the dashboard) and on absurd labels.
Checked on the drawn artists in display coordinates (after a full draw), not pixels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.charts import Dashboard, new_figure
from bot.demo import START
from bot.pipeline import read_inputs, with_tables
from bot.replay import compute_readings
from signals import registry
from signals.base import Level
from signals.charts import Line, Panel, TimeSeriesChart
from signals.contract import chart_of, default_params
from storage import batches
from storage.db import open_db
from storage.timeutil import to_epoch

#: the signals whose chart is the default renderer's stacked panels
STACKED = ("credit", "cta_trend", "net_liquidity", "vol_control")
AS_OF = datetime(2026, 7, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demos")


def _demo_chart(signal_id: str, root: Path) -> Any:
    """The signal's chart over its demo scenario, with its first alerts marked."""
    sig = registry()[signal_id]
    db = open_db(root / f"{signal_id}.db")
    try:
        batches.write(db, sig.demo(START).batch(), live=False)
        readings = list(compute_readings(db, sig, default_params(sig), None))
        end = max(r.ts for r in readings) + timedelta(days=1)
        inputs = with_tables(db, sig, read_inputs(db, sig, None, to_epoch(end)), to_epoch(end))
        marks = [(r.ts, r.key, r.level.label) for r in readings if r.level >= Level.ALERT][:5]
        return chart_of(sig, inputs, default_params(sig), end, 400, marks)
    finally:
        db.close()


def _drawn(draw: Any, data: Any) -> Any:
    fig = new_figure()
    draw(fig, data)
    fig.canvas.draw()
    return fig


def _assert_ylabels_apart(fig: Any, expect: int) -> None:
    """Every panel's y label: within its panel's height, inside the figure, and clear of every
    other panel's label."""
    renderer = fig.canvas.get_renderer()
    axes = [ax for ax in fig.axes if ax.get_ylabel().strip()]
    assert len(axes) == expect
    boxes = []
    for ax in axes:
        box = ax.yaxis.label.get_window_extent(renderer)
        text = ax.get_ylabel()
        assert ax.bbox.y0 <= box.y0 and box.y1 <= ax.bbox.y1, f"{text!r} {box} runs past its panel {ax.bbox}"
        assert box.x0 >= fig.bbox.x0 and box.x1 <= ax.bbox.x0, f"{text!r} {box} is not left of its panel"
        assert fig.bbox.y0 <= box.y0 and box.y1 <= fig.bbox.y1
        boxes.append((text, box))
    for (a, ba), (b, bb) in combinations(boxes, 2):
        assert not ba.overlaps(bb), f"{a!r} {ba} overlaps {b!r} {bb}"


@pytest.fixture(scope="module")
def demo_charts(demo_root: Path) -> dict[str, Any]:
    return {s: _demo_chart(s, demo_root) for s in STACKED}


def test_the_stacked_signals_are_drawn_here(demo_charts: dict[str, Any]) -> None:
    for signal_id, data in demo_charts.items():
        assert isinstance(data, TimeSeriesChart) and data.renderer == "timeseries", signal_id
        assert len(data.panels) >= 3 and not data.empty, signal_id


@pytest.mark.parametrize("signal_id", STACKED)
def test_y_labels_of_stacked_panels_never_overlap(signal_id: str, demo_charts: dict[str, Any]) -> None:
    """vol_control's "Realized volatility (%)" and "Equity exposure (%)", cta_trend's
    "De-leveraging (pctl)" and "Re-leveraging (pctl)" were longer than their panels were high and
    ran into each other."""
    from bot.charts.timeseries import draw

    data = demo_charts[signal_id]
    _assert_ylabels_apart(_drawn(draw, data), len(data.panels))


def test_y_labels_fit_the_smaller_dashboard_panels(demo_charts: dict[str, Any]) -> None:
    """On the dashboard each chart is drawn in a smaller subfigure: its labels fit there too."""
    from bot.charts.dashboard import draw

    panels = [demo_charts[s] for s in STACKED]
    fig = _drawn(draw, Dashboard(signal="summary", title="", source="test", panels=panels))
    _assert_ylabels_apart(fig, sum(len(p.panels) for p in panels))


def _x(n: int) -> np.ndarray:
    return np.array(
        [(AS_OF - timedelta(days=n - i)).replace(tzinfo=None) for i in range(n)], dtype="datetime64[ns]"
    )


def _chart(ylabels: list[str]) -> TimeSeriesChart:
    x = _x(100)
    y = np.sin(np.linspace(0, 6, len(x)))
    panels = tuple(Panel(label, (Line(label, x, y),)) for label in ylabels)
    return TimeSeriesChart(signal="t", title="t", source="test", as_of=AS_OF, panels=panels)


def test_absurd_labels_on_many_panels_still_never_overlap() -> None:
    """Eight panels, long labels and one word longer than any panel: wrapped, then made smaller,
    never run into each other."""
    from bot.charts.timeseries import draw

    labels = [
        "Estimated vol-control selling as a percentile of its own history (pctl)",
        "Supercalifragilisticexpialidocious-and-then-some",
        "Realized volatility (%)",
        "Equity exposure (%)",
        "a b c d e f g h i j k l m n o p q r s t u v w x y z",
        "S&P 500",
        "To net flip (daily σ)",
        "parts, change ($B)",
    ]
    _assert_ylabels_apart(_drawn(draw, _chart(labels)), len(labels))


def test_short_labels_stay_one_line_at_full_size() -> None:
    from bot.charts.timeseries import YLABEL_PT, draw

    fig = _drawn(draw, _chart(["S&P 500", "Position (%)"]))
    for ax, want in zip(fig.axes, ["S&P 500", "Position (%)"], strict=True):
        assert ax.get_ylabel() == want
        assert ax.yaxis.label.get_fontsize() == YLABEL_PT


def test_fit_label_wraps_before_it_shrinks() -> None:
    from bot.charts.timeseries import fit_label

    def length(line: str) -> float:  # 5 px a character at full size
        return 5.0 * len(line)

    assert fit_label("Realized volatility (%)", length, 200) == ("Realized volatility (%)", 8.0)
    assert fit_label("Realized volatility (%)", length, 80) == ("Realized\nvolatility (%)", 8.0)
    assert fit_label("Realized volatility (%)", length, 50) == ("Realized\nvolatility\n(%)", 8.0)
    # one word longer than the room: made just small enough
    text, size = fit_label("Supercalifragilistic", length, 80)
    assert text == "Supercalifragilistic" and size == pytest.approx(8.0 * 80 / 100)
    # three lines still too long: the wrapping that allows the largest size
    text, size = fit_label("aaaaaaaaaa bbbbbbbbbb cccccccccc", length, 20)
    assert text.count("\n") == 2 and size == pytest.approx(8.0 * 20 / 50)
    assert fit_label("", length, 10) == ("", 8.0)
    # a word breaks after its hyphen, not elsewhere
    assert fit_label("De-leveraging (pctl)", length, 75) == ("De-leveraging\n(pctl)", 8.0)
    assert fit_label("De-leveraging (pctl)", length, 55) == ("De-\nleveraging\n(pctl)", 8.0)
    assert fit_label("x - y", length, 10)[0] == "x\n-\ny"
