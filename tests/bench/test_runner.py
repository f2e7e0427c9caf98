"""``python -m bench``: the output contract on a tiny fake benchmark package (nothing heavy runs)."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import __main__ as runner
from bench.common import FIELDS, metric

TINY = """
from bench.common import metric


def run():
    yield metric("tiny.time", 0.0123456789, "s", 0.00411522633, "<= 1.3x", note="three of the same")
    yield metric("tiny.rss", 187.25, "MiB", None, "<= 250")
    yield metric("tiny.rate", 123456.789, "frames/s", 246913.578, ">= 0.5x, >= 100000", "rates")
"""
BROKEN = """
def run():
    raise RuntimeError("no data here")
    yield
"""


@pytest.fixture
def fakebench(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    pkg = tmp_path / "fakebench"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "tiny.py").write_text(TINY)
    (pkg / "broken.py").write_text(BROKEN)
    (pkg / "common.py").write_text("raise AssertionError('common is not a benchmark')\n")
    (pkg / "_helpers.py").write_text("raise AssertionError('private modules are not benchmarks')\n")
    (pkg / "norun.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    yield "fakebench"
    for name in [m for m in sys.modules if m.startswith("fakebench")]:
        del sys.modules[name]


def lines(out: str) -> list[dict[str, object]]:
    return [json.loads(x) for x in out.splitlines()]


def test_one_json_line_per_metric_exactly_the_contract(
    fakebench: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = runner.main(["--only", "tiny"], package=fakebench)
    out, err = capsys.readouterr()
    assert code == 0
    rows = lines(out)
    assert [r["metric"] for r in rows] == ["tiny.time", "tiny.rss", "tiny.rate"]
    for raw, r in zip(out.splitlines(), rows, strict=True):
        assert tuple(json.loads(raw).keys()) == FIELDS  # these fields, in this order, nothing else
        assert isinstance(r["metric"], str) and isinstance(r["unit"], str) and isinstance(r["goal"], str)
        assert isinstance(r["value"], float)
        if r["limit"] is None:
            assert r["ratio"] is None
        else:
            assert isinstance(r["limit"], float) and isinstance(r["ratio"], float)
            assert r["ratio"] == pytest.approx(r["value"] / r["limit"], rel=1e-5)  # type: ignore[operator]
    assert rows[0]["value"] == 0.0123457 and rows[0]["ratio"] == 3.0  # six significant digits
    # notes and verdicts go to stderr, never into the lines
    assert "three of the same" not in out and "tiny.time: three of the same" in err
    assert "tiny.time 0.0123457 s (goal MISSED: <= 1.3x)" in err
    assert "tiny.rss 187.25 MiB (goal met: <= 250)" in err
    assert "tiny.rate 123457 frames/s (goal met: >= 0.5x, >= 100000)" in err


def test_a_failing_module_is_reported_and_the_others_still_run(
    fakebench: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = runner.main([], package=fakebench)
    out, err = capsys.readouterr()
    assert code == 1
    assert [r["metric"] for r in lines(out)] == ["tiny.time", "tiny.rss", "tiny.rate"]
    assert "bench broken: failed: RuntimeError('no data here')" in err
    assert runner.modules(fakebench) == ["broken", "norun", "tiny"]


def test_list_and_bad_names(fakebench: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert runner.main(["--list"], package=fakebench) == 0
    assert capsys.readouterr().out.split() == ["broken", "norun", "tiny"]
    with pytest.raises(SystemExit) as exc:
        runner.main(["--only", "nope"], package=fakebench)
    assert exc.value.code == 2 and "'nope' is neither a benchmark module" in capsys.readouterr().err


def test_goals_are_read_on_the_ratio_or_the_value() -> None:
    assert metric("m", 1.2, "s", 1.0, "<= 1.3x").goal_met() is True
    assert metric("m", 1.4, "s", 1.0, "<= 1.3x").goal_met() is False
    assert metric("m", 300, "MiB", None, "<= 250").goal_met() is False
    assert metric("m", 2e5, "frames/s", 1e5, ">= 0.5x, >= 100000").goal_met() is True
    assert metric("m", 9e4, "frames/s", 1e5, ">= 0.5x, >= 100000").goal_met() is False
    assert metric("m", 1.0, "s", None, "<= 1.3x").goal_met() is None  # no limit: no ratio
    assert metric("m", 1.0, "s", 1.0, "fast").goal_met() is None


def test_every_real_benchmark_module_has_a_run() -> None:
    """The real modules import cheaply (heavy imports live inside run) and define run()."""
    names = runner.modules()
    assert {"btc_liq", "buyback", "chart", "replay_ratecut", "replay_vix", "slash", "startup"} <= set(names)
    for name in names:
        assert callable(getattr(importlib.import_module(f"bench.{name}"), "run", None)), name


def test_only_takes_a_metric_name(fakebench: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``--only replay.ratecut``: the module that measures the metric runs and prints it alone."""
    assert runner.main(["--only", "tiny.rss"], package=fakebench) == 0
    assert [r["metric"] for r in lines(capsys.readouterr().out)] == ["tiny.rss"]
    assert runner.main(["--only", "tiny.rate", "tiny.time"], package=fakebench) == 0
    assert [r["metric"] for r in lines(capsys.readouterr().out)] == ["tiny.time", "tiny.rate"]
    assert runner.main(["--only", "tiny.rss", "tiny"], package=fakebench) == 0  # the module: all of it
    assert len(lines(capsys.readouterr().out)) == 3
    # a metric its module does not measure fails, naming it
    assert runner.main(["--only", "tiny.nope"], package=fakebench) == 1
    out, err = capsys.readouterr()
    assert out == "" and "measured no tiny.nope" in err
    with pytest.raises(SystemExit) as exc:
        runner.main(["--only", "other.metric"], package=fakebench)
    assert exc.value.code == 2 and "'other.metric' is neither a benchmark module" in capsys.readouterr().err


def test_the_real_metric_names_resolve_to_their_modules() -> None:
    names = runner.modules()
    assert runner.owner("replay.ratecut", names) == "replay_ratecut"  # COVERS
    assert runner.owner("chart.ratecut", names) == "chart"
    assert runner.owner("replay.no_such_signal", names) == "signals"  # derived for uncovered signals
    assert runner.owner("ratecut", names) is None
