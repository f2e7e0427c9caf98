"""The btc_liq alert chart: the cascade from a little before it began, cumulative, with its
headline figure, the long/short split and the BTC move, under a title that names the alert."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from bot.charts import render_png
from bot.config import load_settings
from bot.queries import alert_chart_data
from bot.replay import run_replay
from signals.btc_liq import SIGNAL
from signals.contract import default_params
from storage import observations as obs_repo
from storage.db import open_db

START = datetime(2026, 1, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:  # type: ignore[type-arg]
    path = tmp_path_factory.mktemp("chart") / "c.db"
    db = open_db(path)
    obs_repo.upsert(db, SIGNAL.demo(START).observations)
    res = run_replay(db, [SIGNAL], {SIGNAL.id: default_params(SIGNAL)}, START, None, resume=False)
    db.close()
    return path, [e for e in res.events if e.kind == "alert"]


def test_the_alert_chart_shows_the_cascade(demo: tuple[Path, list]) -> None:  # type: ignore[type-arg]
    path, events = demo
    settings = load_settings(env={}, dotenv=None)
    db = open_db(path)
    try:
        grown = [e for e in events if e.event == "updated"][-1]
        data = alert_chart_data(db, settings, grown)
        over = alert_chart_data(db, settings, events[-1])
    finally:
        db.close()
    assert data is not None and over is not None
    start = grown.data["start"]
    # from a little before the cascade began (a quarter of its length, at least 30 minutes)
    assert data.x[0] <= np.datetime64(start - 1800, "s") and data.start == np.datetime64(start, "s")
    assert data.x[-1] < np.datetime64(grown.ts, "s")
    # the cumulative lines start at the cascade and end at the headline figure of the alert
    before = data.x < np.datetime64(start, "s")
    assert data.cum_long[before].max() == 0 and data.cum_short[before].max() == 0
    end_total = (data.cum_long[-1] + data.cum_short[-1]) * 1e6
    assert end_total == pytest.approx(grown.data["total_usd"], rel=0.02)
    assert data.headline.startswith("$1.12B liquidated in 45 min")
    assert data.split.startswith("longs $9") and "shorts $" in data.split
    assert data.title == "ALERT · BTC liquidation cascade growing: $1.12B since 2026-01-06 13:26 UTC"
    assert data.price_move.startswith("BTC -4.8%") and len(data.price) > 10
    assert data.res == 60
    # the resolve: its peak level in the title, the final total on the curve
    assert over.title.startswith("ALERT · BTC liquidation cascade over: $1.46B")
    assert over.headline == "$1.46B liquidated in 3h 50m" and over.res == 60
    png = render_png(data)
    assert png[:4] == b"\x89PNG" and "matplotlib.pyplot" not in sys.modules


def test_other_signals_keep_their_history_chart(demo: tuple[Path, list]) -> None:  # type: ignore[type-arg]
    from storage.alerts import AlertEvent

    path, _events = demo
    db = open_db(path)
    try:
        ev = AlertEvent("vix_term", "vix3m", "fired", "alert", int(START.timestamp()), "x")
        assert alert_chart_data(db, load_settings(env={}, dotenv=None), ev) is None
    finally:
        db.close()
