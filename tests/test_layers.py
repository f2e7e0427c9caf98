"""The layers of ``.importlinter`` hold: nothing under signals/ or storage/ imports bot, each signal
and signals.sources stand alone, no import cycles, only sources talk to the network.

``.ci/run`` runs ``lint-imports`` too; here the suite fails on a broken layer as well, and a
contract that breaks says which import chain broke it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).parent / "lint-imports"


@pytest.mark.skipif(
    not LINT.exists(), reason="import-linter is not installed (pip install -r requirements.lock)"
)
def test_every_import_contract_is_kept() -> None:
    res = subprocess.run(
        [str(LINT), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert "Contracts: 5 kept, 0 broken." in res.stdout, res.stdout[-2000:]
