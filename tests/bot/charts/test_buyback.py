from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from sqlite_utils import Database

from bot.charts import render_png
from bot.pipeline import load_signal_inputs
from signals.buyback import SIGNAL
from signals.contract import default_params
from storage import earnings as repo
from storage.earnings import Report

P = default_params(SIGNAL)


def calendar(db: Database) -> None:
    rows = []
    for year in (2023, 2024):
        for q in range(4):
            for i in range(40):
                d = date(year, 3 * q + 1, 15) + timedelta(days=(i * 28) // 40)
                rows.append(Report(f"T{i:02d}", d, "bmo", None, 1e11 * (1 + i % 5)))
    repo.write_reports(
        db, rows, source="file", dated=True, now=int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
    )


def test_chart_data_has_history_projection_crossings_and_weekly_reports(db: Database) -> None:
    calendar(db)
    end = datetime(2024, 3, 20, tzinfo=UTC)
    marks = [(datetime(2024, 1, 4, tzinfo=UTC), "alert", "share")]
    data = SIGNAL.chart(load_signal_inputs(db, SIGNAL, end), P, end, 180, marks)
    assert data.signal == "buyback" and len(data.x) > 100
    assert data.today == np.datetime64("2024-03-19")
    assert data.px[0] == data.today and len(data.px) > 40  # projected over the known calendar
    assert np.nanmax(data.pshare) > 50 and np.isfinite(data.share_cap).any()
    kinds = [(str(c[0])[:10], c[1], c[2]) for c in data.crossings]
    assert any(k[1] == "close" and not k[2] for k in kinds) and any(k[1] == "close" and k[2] for k in kinds)
    assert len(data.weeks) == len(data.reports) == len(data.reports_est)
    assert int(data.reports.sum()) > 0 and data.marks[0][1] == "alert"
    assert "estimate" in data.source
    png = render_png(data)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_chart_as_of_the_end_of_the_calendar(db: Database) -> None:
    calendar(db)
    end = datetime(2026, 6, 1, tzinfo=UTC)  # long after the calendar ends
    data = SIGNAL.chart(load_signal_inputs(db, SIGNAL, end), P, end, 800, [])
    assert len(data.x) and data.as_of < datetime(2025, 1, 1, tzinfo=UTC)
    render_png(data)


def test_empty_calendar(db: Database) -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    data = SIGNAL.chart(load_signal_inputs(db, SIGNAL, now), P, now, 100, [])
    assert len(data.x) == 0
    # an alert's chart drawn as of a time before the calendar was first seen (a fresh install's
    # first morning) is an empty chart that says so, not a failed render
    assert render_png(data)[:8] == b"\x89PNG\r\n\x1a\n"


def _crossings_chart(crossings: list[tuple[Any, str, bool]], marks: list[Any]) -> Any:
    from signals.buyback import BuybackChart

    x = np.arange(np.datetime64("2026-01-01"), np.datetime64("2026-05-01")).astype("datetime64[ns]")
    share = 50 + 30 * np.sin(np.linspace(0, 6, len(x)))
    return BuybackChart(
        signal="buyback",
        title="t",
        source="test",
        as_of=datetime(2026, 5, 1, tzinfo=UTC),
        x=x,
        share=share,
        thresholds={"alert": 50.0, "severe": 80.0},
        alert_exit=48.0,
        crossings=crossings,
        marks=marks,
    )


def _drawn(data: Any) -> Any:
    from bot.charts import new_figure
    from bot.charts.buyback import draw

    fig = new_figure()
    draw(fig, data)
    fig.canvas.draw()
    return fig


def test_crossing_triangles_have_legend_entries() -> None:
    """The closings (▲) and reopenings (▼), hollow when projected, each say what they are in the
    legend, with the lines they crossed; a kind not drawn has no entry."""
    from matplotlib.colors import to_hex

    from bot.charts.buyback import LINE

    day = np.datetime64("2026-02-01", "ns")
    crossings = [
        (day, "close", False),
        (day + np.timedelta64(20, "D"), "reopen", False),
        (day + np.timedelta64(40, "D"), "reopen", True),
    ]
    ax = _drawn(_crossings_chart(crossings, [])).axes[0]
    legend = ax.get_legend()
    entries = {
        t.get_text(): to_hex(h.get_facecolor()[0])
        for h, t in zip(legend.legend_handles, legend.get_texts(), strict=True)
        if "closing" in t.get_text() or "reopening" in t.get_text()
    }
    assert entries == {
        "closing (crossed 50% up)": LINE,
        "reopening (crossed 48% down)": LINE,
        "projected reopening": "#ffffff",
    }
    # every triangle drawn is one of those entries
    drawn = {c.get_label() for c in ax.collections if c.get_label() in entries}
    assert drawn == set(entries)

    ax = _drawn(_crossings_chart([], [])).axes[0]
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert not [t for t in texts if "closing" in t or "reopening" in t]


def test_a_closing_is_not_hidden_under_its_alert_dot() -> None:
    """The alert fires where the share crosses the alert line, the dot drawn on that very point:
    the closing's triangle sits just below it (its tip on the crossing), the reopening's just
    above, so both show."""
    day = np.datetime64("2026-02-01", "ns")
    data = _crossings_chart([(day, "close", False), (day, "reopen", False)], [(day, "alert")])
    fig = _drawn(data)
    ax = fig.axes[0]
    line_y = ax.transData.transform((0, 50.0))[1]
    exit_y = ax.transData.transform((0, 48.0))[1]
    half = np.sqrt(34) / 2 * fig.dpi / 72  # half a triangle's height (s=34 pt²), pixels
    centres = {
        c.get_label(): c.get_offset_transform().transform(c.get_offsets())[0][1]
        for c in ax.collections
        if "closing" in c.get_label() or "reopening" in c.get_label()
    }
    close, reopen = centres["closing (crossed 50% up)"], centres["reopening (crossed 48% down)"]
    assert line_y - 1.5 * half < close < line_y - half / 2  # below the alert line, tip near it
    assert exit_y + half / 2 < reopen < exit_y + 1.5 * half  # above the exit line
