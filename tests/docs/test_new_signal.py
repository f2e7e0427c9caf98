"""docs/new-signal.md: its example is a whole signal. Saved as a module, it is registered and
``replay`` and ``chart`` run it with no other edit; it passes the contract's checks."""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from bot.cli import main
from bot.demo import START
from bot.replay import compute_readings, run_replay
from signals import registry
from signals.base import Level
from signals.contract import default_params, missing_members
from storage import batches
from storage.db import open_db

DOC = Path(__file__).resolve().parents[2] / "docs" / "new-signal.md"


def _example(tmp_path: Path) -> ModuleType:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) == 1, "the page holds one Python example"
    path = tmp_path / "vix_front.py"
    path.write_text(blocks[0])
    spec = importlib.util.spec_from_file_location("vix_front_example", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def example(tmp_path: Path) -> Iterator[ModuleType]:
    mod = _example(tmp_path)
    reg = registry()
    reg[mod.SIGNAL.id] = mod.SIGNAL
    try:
        yield mod
    finally:
        del reg[mod.SIGNAL.id]


def test_the_example_is_a_signal_that_fires(example: ModuleType, tmp_path: Path) -> None:
    sig = example.SIGNAL
    assert missing_members(sig) == []
    db = open_db(tmp_path / "x.db")
    batches.write(db, sig.demo(START).batch(), live=False)
    params = default_params(sig)
    readings = list(compute_readings(db, sig, params, None))
    assert readings and all(sig.grade(r.key, r.value, r.data, params) == r.level for r in readings)
    events = run_replay(db, [sig], {sig.id: params}, resume=False).events
    db.close()
    assert any(e.event in ("fired", "escalated") and Level.parse(e.level) >= Level.ALERT for e in events)
    assert events[-1].event == "resolved"


def test_the_cli_runs_it_with_no_other_edit(
    example: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db_path = tmp_path / "cli.db"
    db = open_db(db_path)
    batches.write(db, example.SIGNAL.demo(START).batch(), live=False)
    db.close()
    assert main(["replay", "vix_front", "--db", str(db_path), "--format", "jsonl"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert any(x.get("event") == "fired" for x in lines), lines
    png = tmp_path / "c.png"
    assert main(["chart", "vix_front", "--db", str(db_path), "-o", str(png), "--days", "400"]) == 0
    assert png.read_bytes().startswith(b"\x89PNG")
