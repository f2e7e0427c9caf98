"""chart.<signal>: render time of each chart against a bare matplotlib figure.

The bare figure has the same size, dpi, panels, artists and data, drawn with no flowwatch
code; the ratio says what our drawing code costs on top of matplotlib (goal <= 1.3x).
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import DATA, Metric, metric, need_data, paired_medians


def bare_vix(data: dict[str, Any]) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 6), dpi=100)
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2], "hspace": 0.08})
    fig.subplots_adjust(left=0.07, right=0.91, top=0.93, bottom=0.1)
    fig.suptitle("t", x=0.07, ha="left")
    x, ratio = data["x"], data["ratio"]
    top.plot(x, data["vix"], label="VIX")
    top.plot(x, data["vix3m"], label="VIX3M")
    top.legend(loc="upper left", frameon=False, ncol=2)
    top.grid(alpha=0.25)
    bottom.plot(x, ratio)
    bottom.fill_between(x, 1.0, ratio, where=ratio >= 1.0, alpha=0.3, interpolate=True)
    for v in data["thresholds"].values():
        bottom.axhline(v, linestyle="--")
        bottom.text(1.0, v, "t", transform=bottom.get_yaxis_transform())
    if data["marks"]:
        idx = np.clip(
            np.searchsorted(x, np.array([m[0] for m in data["marks"]], dtype="datetime64[ns]")), 0, len(x) - 1
        )
        bottom.scatter(x[idx], ratio[idx])
    bottom.grid(alpha=0.25)
    fig.text(0.01, 0.01, "footer")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def run() -> Iterator[Metric]:
    if not need_data():
        return
    from bot.charts import render_png
    from bot.config import load_settings
    from bot.queries import chart_data
    from bot.replay import run_replay
    from signals.sources import cboe
    from signals.vix_term import SIGNAL
    from storage import observations as obs_repo
    from storage.db import open_db
    from storage.timeutil import from_epoch

    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "bench.db")
        for name in ("cboe_vix_daily.csv", "cboe_vix3m_daily.csv"):
            index = cboe.index_from_filename(Path(name))
            obs_repo.upsert(db, cboe.parse_csv((DATA / name).read_text(), index))
        run_replay(db, [SIGNAL], {SIGNAL.id: SIGNAL.default_params()}, resume=False)
        settings = load_settings(env={}, dotenv=None, check_db=False)
        end = from_epoch(db.execute("SELECT MAX(ts) FROM observations").fetchone()[0]) + timedelta(days=1)
        data = chart_data(db, settings, "vix_term", end, 365 * 3, marks_scope="replay")
        db.close()
    ours, bare = paired_medians(lambda: render_png(data), lambda: bare_vix(data), repeat=7)
    yield metric(
        "chart.vix_term",
        ours,
        "s",
        bare,
        "<= 1.3x",
        note=f"{len(data['x'])} points; limit = bare matplotlib figure, same panels/artists/size/dpi/data",
    )
