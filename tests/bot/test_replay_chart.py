"""``flowwatch replay SIGNAL --chart``: the replay's alerts are on the chart, and its legend says
what each marker is (one entry per level shown, in the level's colour)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from matplotlib.colors import to_hex

import bot.charts as charts
from bot.charts import LEVEL_COLOURS
from bot.cli import main


@pytest.fixture
def spx(tmp_path: Path, data_dir: Path) -> Path:
    folder = tmp_path / "files"
    folder.mkdir()
    shutil.copy(data_dir / "sp500_index_daily.csv", folder / "sp500_index_daily.csv")
    db = tmp_path / "h.db"
    assert main(["backfill", "all", "--dir", str(folder), "--db", str(db)]) == 0
    return db


def test_replay_chart_has_a_legend_entry_per_alert_level(
    spx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Vol-control over 2020: the replay's alerts are marked, and every level marked has its
    legend entry in that panel, in its colour; no entry for a level that is not on the panel."""
    figs: list[Any] = []
    real = charts.to_png

    def keep(fig: Any) -> bytes:
        figs.append(fig)
        return real(fig)

    monkeypatch.setattr(charts, "to_png", keep)
    png = tmp_path / "r.png"
    code = main(
        [
            "replay",
            "vol_control",
            "--db",
            str(spx),
            "--from",
            "2020-01-01",
            "--to",
            "2020-12-31",
            "--chart",
            str(png),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "vol_control/" in out  # the replay alerted
    (fig,) = figs
    checked = 0
    for ax in fig.axes:
        marked = {to_hex(c) for coll in ax.collections for c in coll.get_facecolors()} & set(
            LEVEL_COLOURS.values()
        )
        if not marked:
            continue
        legend = ax.get_legend()
        assert legend is not None, f"{ax.get_ylabel()}: alert markers without a legend"
        entries = {
            t.get_text(): to_hex(h.get_markerfacecolor())
            for h, t in zip(legend.legend_handles, legend.get_texts(), strict=True)
            if t.get_text() in LEVEL_COLOURS
        }
        assert set(entries.values()) == marked, ax.get_ylabel()
        assert all(LEVEL_COLOURS[name] == colour for name, colour in entries.items())
        checked += 1
    assert checked >= 2  # the price panel and the selling panel at least
