"""The pyfedwatch cross-check's verdict (tools/pyfedwatch/compare.py; .ci/run runs it against the
peer): what makes it fail, checked without the peer's environment."""

from __future__ import annotations

import importlib.util
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compare() -> Any:
    spec = importlib.util.spec_from_file_location("pyfedwatch_compare", REPO / "tools/pyfedwatch/compare.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def row(compare: Any, gap: float, same: bool, cause: str = "") -> Any:
    return compare.Row(date(2019, 5, 2), date(2019, 6, 19), gap, same, cause, {0: 1.0}, {0: 1.0})


def test_named_causes_pass(compare: Any) -> None:
    doc = compare.DOC.read_text()
    rows = [row(compare, 0.0, True), row(compare, 40.0, False, "overdetermined")]
    assert compare.failures(rows, True, 1.0, doc) == []


def test_a_gap_with_the_same_anchor_fails(compare: Any) -> None:
    rows = [row(compare, 0.5, True), row(compare, 1.5, True)]
    assert compare.failures(rows, False, 1.0, compare.DOC.read_text()) == [
        "1 meeting-days with the same anchor disagree by more than 1 pp"
    ]


def test_nothing_compared_fails(compare: Any) -> None:
    got = compare.failures([row(compare, 0.2, False, "overdetermined")], False, 1.0, "")
    assert got == ["no meeting-day was solved the same way by both: nothing was checked"]


def test_an_unexplained_gap_fails(compare: Any) -> None:
    rows = [
        row(compare, 0.0, True),
        row(compare, 0.5, False, "unexplained"),
        row(compare, 3.0, False, "unexplained"),
    ]
    assert compare.failures(rows, False, 1.0, compare.DOC.read_text()) == [
        "1 meeting-days disagree by more than 1 pp for no named cause"
    ]


def test_a_cause_the_page_does_not_name_fails(compare: Any) -> None:
    """Every gap above the tolerance has its cause in the ratecut page's table."""
    doc = compare.DOC.read_text()
    assert "| overdetermined |" in doc and "| expired anchor |" in doc
    rows = [row(compare, 0.0, True), row(compare, 2.0, False, "chain-forward")]
    (problem,) = compare.failures(rows, False, 1.0, doc.replace("| chain forward |", "| - |"))
    assert "'chain-forward', which docs/signals/ratecut.md does not name" in problem
    assert compare.failures(rows, False, 1.0, doc + "\n| chain forward | 1 | 1 | 2 pp |\n") == []
    (problem,) = compare.failures([row(compare, 0.0, True)], True, 1.0, doc.replace("| peer failed |", ""))
    assert "'peer-failed'" in problem
