"""chart.<signal>: render time of each signal's chart against a bare matplotlib figure.

Each bare figure has the same size, dpi, panels and artists (lines, fills, spans, scatters,
texts, annotations, legend, grid, date locator and formatter, twin axis) on the same data,
drawn with no flowwatch code: the ratio says what our drawing code costs on top of matplotlib
(goal <= 1.3x). The data is real history through the real pipeline (alert marks from a replay):

- ``chart.vix_term``: Cboe VIX and VIX3M, three years (2009-2026 replayed for the marks);
- ``chart.ratecut``: Kalshi and Polymarket odds of the December 2025 meeting (30-minute books);
- ``chart.btc_liq``: Binance liquidations from Coinglass (4 h over daily) and Binance 4 h closes,
  a year (``/liquidations 365``);
- ``chart.net_liquidity``: the H.4.1 history (WALCL, WTREGEN, RRPONTSYD from ``backfill fred
  --file``), three years of weeks in four panels (2002-2025 replayed for the marks);
- ``chart.credit``: the high-yield spread and the 2s10s curve, three years of sessions in three
  panels (1996-2026 replayed for the marks). Both are drawn by the default time-series renderer.

``chart.buyback`` is in ``bench/buyback.py``.
"""

from __future__ import annotations

import asyncio
import io
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import DATA, Metric, metric, need_data, paired_medians
from signals.contract import default_params

NOTE = "limit = bare matplotlib figure, same panels/artists/size/dpi/data"

#: the per-signal metrics this module measures on real history (bench.signals derives the rest)
COVERS = ("chart.vix_term", "chart.ratecut", "chart.btc_liq", "chart.net_liquidity", "chart.credit")


def _figure(data: Any) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 6), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Any, data: Any) -> bytes:
    """The footer (the same text as ours) and the PNG."""
    as_of = data.as_of
    when = f"  ·  as of {as_of.astimezone(UTC):%Y-%m-%d %H:%M UTC}" if isinstance(as_of, datetime) else ""
    fig.text(0.01, 0.01, f"{data.source}{when}  ·  flowwatch", fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def _dates(ax: Any, **kw: Any) -> None:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator(**kw)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))


# -- bare figures: the same artists, texts and sizes as bot/charts/<signal>.py, colours aside ----


def bare_vix(data: Any) -> bytes:
    fig = _figure(data)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2], "hspace": 0.08})
    fig.subplots_adjust(left=0.07, right=0.91, top=0.93, bottom=0.1)
    fig.suptitle(data.title, x=0.07, ha="left", fontsize=12)
    x, vix, ratio = data.x, data.vix, data.ratio
    top.plot(x, vix, linewidth=1.3, label="VIX")
    top.plot(x, data.vix3m, linewidth=1.3, label="VIX3M")
    front = data.front_marks
    if front and len(x):
        idx = np.clip(np.searchsorted(x, np.array(front, dtype="datetime64[ns]")), 0, len(x) - 1)
        top.scatter(x[idx], vix[idx], marker="v", s=40, zorder=5, label="VIX9D > VIX (front end)")
    top.set_ylabel("index")
    top.legend(loc="upper left", frameon=True, framealpha=0.85, edgecolor="none", ncol=2)
    top.grid(alpha=0.25)
    bottom.plot(x, ratio, linewidth=1.1, label="VIX / VIX3M")
    bottom.fill_between(x, 1.0, ratio, where=ratio >= 1.0, alpha=0.3, interpolate=True, label="inverted")
    for name, v in data.thresholds.items():
        bottom.axhline(v, linewidth=0.9, linestyle="--")
        bottom.text(
            1.0,
            v,
            f" {name} {v:.2f}",
            transform=bottom.get_yaxis_transform(),
            va="center",
            fontsize=7,
            clip_on=False,
        )
    if data.marks:
        idx = np.clip(
            np.searchsorted(x, np.array([m[0] for m in data.marks], dtype="datetime64[ns]")), 0, len(x) - 1
        )
        bottom.scatter(
            x[idx], ratio[idx], s=36, c=["k"] * len(idx), zorder=5, edgecolors="white", linewidths=0.8
        )
    bottom.set_ylabel("VIX / VIX3M")
    bottom.grid(alpha=0.25)
    return _png(fig, data)


def bare_ratecut(data: Any) -> bytes:
    fig = _figure(data)
    ax = fig.subplots()
    fig.subplots_adjust(left=0.07, right=0.97, top=0.92, bottom=0.12)
    fig.suptitle(data.title, x=0.07, ha="left", fontsize=12)
    styles = {"fedwatch": {"marker": "s", "markersize": 3.5, "linestyle": "--"}}  # markers cost time
    for s in data.series:
        ax.plot(s.x, s.y, label=s.label, **styles.get(s.venue, {}))
    ax.axhline(50, linewidth=0.8, linestyle=":")
    ax.text(0.0, 50, " 50 %", transform=ax.get_yaxis_transform(), va="bottom", fontsize=7)
    if data.show_decision:
        ax.axvline(data.decision, linewidth=1.0, linestyle="--")
        ax.text(data.decision, 98, f" {data.decision_label}", fontsize=8, va="top", ha="right", rotation=90)
    refs = data.refs
    if refs:
        ax.scatter(
            np.array([r[0] for r in refs], dtype="datetime64[ns]"),
            np.array([r[1] for r in refs]),
            s=46,
            facecolors="white",
            edgecolors="k",
            linewidths=1.1,
            zorder=6,
        )
        for x, y, label in refs:
            off = -13 if label == "now" else 8
            ax.annotate(
                f"{label} {y:.0f}%",
                (x, y),
                textcoords="offset points",
                xytext=(0, off),
                ha="center",
                fontsize=7,
            )
    marks = data.marks
    for kind, marker in (("divergence", "X"), ("flip", "D"), ("swing", "o")):
        sel = [m for m in marks if m[3] == kind]
        if sel:
            ax.scatter(
                np.array([m[0] for m in sel], dtype="datetime64[ns]"),
                np.array([m[1] for m in sel]),
                s=60,
                marker=marker,
                c=["k"] * len(sel),
                edgecolors="white",
                linewidths=0.8,
                zorder=7,
                label=kind,
            )
    _dates(ax, minticks=4, maxticks=9)
    ax.set_ylim(0, 100)
    ax.set_ylabel("P(cut), %")
    ax.grid(alpha=0.25)
    ax.legend(loc="upper left", frameon=True, framealpha=0.85, edgecolor="none", ncol=6, fontsize=8)
    return _png(fig, data)


def bare_btc_liq(data: Any) -> bytes:
    fig = _figure(data)
    ax = fig.subplots()
    fig.subplots_adjust(left=0.08, right=0.9, top=0.92, bottom=0.1)
    fig.suptitle(data.title, x=0.08, ha="left", fontsize=12)
    x, long, short = data.x, data.long, data.short
    edges = np.append(x, x[-1] + np.timedelta64(int(data.res), "s"))
    ax.fill_between(edges, np.append(long, long[-1]), step="post", lw=0, label="longs liquidated")
    ax.fill_between(edges, -np.append(short, short[-1]), step="post", lw=0, label="shorts liquidated")
    top = float(max(long.max(), short.max(), 1e-9))
    ax.set_ylim(-top * 1.1, top * 1.1)
    ax.axhline(0, linewidth=0.6)
    for a, b, _level in data.cascades:
        ax.axvspan(a, b, alpha=0.15, lw=0)
    for a, b, _label in data.gaps:
        ax.axvspan(a, b, facecolor="none", hatch="///", lw=0, alpha=0.6)
    if data.marks:
        mx = np.array([m[0] for m in data.marks], dtype="datetime64[s]")
        ax.scatter(mx, np.full(len(mx), top * 1.1 * 0.92), s=36, c=["k"] * len(mx), marker="v", zorder=5)
    _dates(ax)
    ax.set_ylabel("USD liquidated per bucket (millions; shorts below zero)")
    ax.grid(alpha=0.25)
    ax.legend(loc="upper left", frameon=True, framealpha=0.85, edgecolor="none", ncol=2, fontsize=8)
    if len(data.price):
        tw = ax.twinx()
        tw.plot(data.price_x, data.price, linewidth=1.0)
        tw.set_ylabel("BTC (USD)")
    return _png(fig, data)


# -- data ------------------------------------------------------------------------------------


def bare_timeseries(data: Any) -> bytes:
    """The default renderer's panels: lines, the levels' dashed lines and labels, alert dots."""
    fig = _figure(data)
    panels = list(data.panels)
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    fig.subplots_adjust(left=0.08, right=0.9, top=0.92, bottom=0.1, hspace=0.12)
    fig.suptitle(data.title, x=0.08, ha="left", fontsize=12)
    for ax, panel in zip(axes, panels, strict=True):
        for line in panel.lines:
            ax.plot(line.x, line.y, linewidth=1.2, label=line.label)
        for name, value in panel.thresholds.items():
            ax.axhline(value, linewidth=0.9, linestyle="--")
            ax.text(1.0, value, f" {name} {value:g}", transform=ax.get_yaxis_transform(), va="center",
                    ha="left", fontsize=7, clip_on=False)  # fmt: skip
        if panel.marks:
            ax.scatter(np.array([m.at for m in panel.marks], dtype="datetime64[ns]"),
                       np.array([m.y for m in panel.marks], dtype=float), s=36, zorder=5,
                       edgecolors="white", linewidths=0.8)  # fmt: skip
        ax.set_ylabel(panel.ylabel, fontsize=8)
        ax.grid(alpha=0.25)
        ax.legend(loc="upper left", frameon=True, framealpha=0.85, edgecolor="none", fontsize=8)
    _dates(axes[-1])
    return _png(fig, data)


def _fred(*names: str) -> Any:
    def load(db: Any) -> None:
        _backfill(db, [("fred", DATA / name) for name in names])

    return load


def _backfill(db: Any, items: list[tuple[str, Path]]) -> None:
    """Load history files through the sources' own backfills (as ``flowwatch backfill``)."""
    import httpx

    from bot.backfills import run_backfill
    from bot.config import load_settings
    from signals import sources

    settings = load_settings(env={}, dotenv=None, check_db=False)

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(404))) as client:
            for name, path in items:
                now = datetime(2026, 11, 21, tzinfo=UTC)
                bf = sources.backfills()[name]
                await run_backfill(bf, db, client=client, now=now, file=path, settings=settings)

    asyncio.run(run())


def _chart_data(signal_id: str, load: Any, days: int) -> Any:
    """Replay the signal over what ``load(db)`` stored (alert marks), then its chart data."""
    from bot.config import load_settings
    from bot.queries import chart_data
    from bot.replay import run_replay
    from signals import registry
    from storage.db import open_db
    from storage.timeutil import from_epoch

    sig = registry()[signal_id]
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "bench.db")
        load(db)
        run_replay(db, [sig], {sig.id: default_params(sig)}, resume=False)
        end = from_epoch(db.execute("SELECT MAX(ts) FROM observations").fetchone()[0]) + timedelta(hours=1)
        data = chart_data(
            db, load_settings(env={}, dotenv=None, check_db=False), signal_id, end, days, "replay"
        )
        db.close()
    return data


def _cboe(db: Any) -> None:
    from signals.sources import cboe
    from storage import observations as obs_repo

    for name in ("cboe_vix_daily.csv", "cboe_vix3m_daily.csv", "cboe_vix9d_daily.csv"):
        obs_repo.upsert(db, cboe.parse_csv((DATA / name).read_text(), cboe.index_from_filename(Path(name))))


def _odds(db: Any) -> None:
    f = DATA / "fed_dec2025_nochange_polymarket_kalshi_30min.csv"
    _backfill(db, [("kalshi", f), ("polymarket", f)])


def _liquidations(db: Any) -> None:
    _backfill(
        db,
        [
            ("coinglass", DATA / "btc_liquidations_binance_daily_coinglass.csv"),
            ("coinglass", DATA / "btc_liquidations_binance_4h_coinglass.csv"),
            ("binance", DATA / "btc_usdt_binance_4h.csv"),
        ],
    )


def _bench(name: str, data: Any, bare: Any, what: str) -> Metric:
    from bot.charts import render_png

    ours, floor = paired_medians(lambda: render_png(data), lambda: bare(data), repeat=7)
    return metric(name, ours, "s", floor, "<= 1.3x", f"{what}; {NOTE}")


def run() -> Iterator[Metric]:
    if not need_data():
        return
    data = _chart_data("vix_term", _cboe, 365 * 3)
    yield _bench("chart.vix_term", data, bare_vix, f"{len(data.x)} days, {len(data.marks)} alert marks")
    data = _chart_data("ratecut", _odds, 30)
    points = sum(len(s.x) for s in data.series)
    yield _bench(
        "chart.ratecut",
        data,
        bare_ratecut,
        f"{len(data.series)} venues, {points} points, {len(data.marks)} marks",
    )
    data = _chart_data("btc_liq", _liquidations, 365)
    yield _bench(
        "chart.btc_liq",
        data,
        bare_btc_liq,
        f"{len(data.x)} bars of {data.res // 3600} h, {len(data.price)} closes, "
        f"{len(data.cascades)} cascades, {len(data.marks)} marks",
    )
    for sid, files in (
        ("net_liquidity", ("fred_walcl_weekly.csv", "fred_wtregen_weekly.csv", "fred_rrpontsyd_daily.csv")),
        ("credit", ("fred_bamlh0a0hym2_daily.csv", "fred_dgs10_daily.csv", "fred_dgs2_daily.csv")),
    ):
        data = _chart_data(sid, _fred(*files), 365 * 3)
        points = sum(len(line.x) for p in data.panels for line in p.lines)
        marks = sum(len(p.marks) for p in data.panels)
        yield _bench(
            f"chart.{sid}",
            data,
            bare_timeseries,
            f"{len(data.panels)} panels, {points} points, {marks} marks",
        )
