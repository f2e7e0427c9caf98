"""Every stable series id has its own plausible range, and absurd values are refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from storage import series

DOC = Path(__file__).resolve().parents[2] / "docs" / "series.md"
TS = 1_767_225_600  # 2026-01-01


def documented_examples() -> list[str]:
    """A concrete id for every pattern the series page lists (placeholders filled in)."""
    fill = {"<venue>": "kalshi", "<decision-date>": "2026-01-28", "<bucket>": "1m", "<N>": "25"}
    ids: list[str] = []
    for cell in re.findall(r"^\| (`.+?) \|", DOC.read_text(), re.M):
        row_stem = ""
        for code in re.findall(r"`([^`]+)`", cell):
            for k, v in fill.items():
                code = code.replace(k, v)
            if code.startswith("."):  # a suffix of the row's first id: `.hike<N>`
                code = row_stem + code
            first, *alts = code.split("\\|")  # `a.b.cut\|hold\|hike`
            stem = first.rsplit(".", 1)[0]
            row_stem = row_stem or stem
            ids += [first] + [f"{stem}.{a}" for a in alts]
    return ids


def test_every_documented_series_has_its_own_declaration() -> None:
    ids = documented_examples()
    assert len(ids) >= 15, ids
    missing = [i for i in ids if series.range_for(i) is series.ANY]
    assert missing == []


@pytest.mark.parametrize(
    ("sid", "good", "bad"),
    [
        ("cboe.vix.close", 82.69, 1e308),
        ("cboe.vix.close", 9.14, -3.0),
        ("kalshi.fomc.2026-01-28.cut", 0.4, 7.0),
        ("kalshi.fomc.2026-01-28.move_bp", -38.0, 1e6),
        ("fedwatch.fomc.2026-01-28.path_bp", -125.0, -5000.0),
        ("fedwatch.fomc.2026-01-28.rate", 3.62, 400.0),
        ("liq.btc.bybit.long_usd.1m", 1.9e10, -1.0),
        ("btc.usd.close.1m", 102_000.0, 0.0),
    ],
)
def test_real_extremes_pass_and_garbage_is_refused(sid: str, good: float, bad: float) -> None:
    assert series.problem(sid, TS, good) is None
    why = series.problem(sid, TS, bad)
    assert why is not None and "plausible range" in why


def test_the_year_0001_is_refused() -> None:
    why = series.problem("cboe.vix.close", -62135596800, 20.0)
    assert why is not None and "plausible dates" in why


def test_every_series_a_signal_reads_or_its_demo_writes_is_declared() -> None:
    """The vocabulary is complete: a signal's inputs (LIKE patterns) and its demo's ids all have
    their own range, so a new series cannot slip in undeclared."""
    from datetime import UTC, datetime

    from signals import registry

    missing = []
    for sig in registry().values():
        for pattern in sig.inputs:
            example = pattern.replace("%", "x")
            if series.range_for(example) is series.ANY:
                missing.append(f"{sig.id} reads {pattern}")
        demo = sig.demo(datetime(2026, 1, 5, tzinfo=UTC))
        for sid in sorted({o.series for o in getattr(demo, "observations", demo)}):
            if series.range_for(sid) is series.ANY:
                missing.append(f"{sig.id} demo writes {sid}")
    assert missing == []
