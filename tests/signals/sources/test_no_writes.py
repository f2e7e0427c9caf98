"""Sources fetch and parse; they never write. A poll returns and a backfill yields a batch
(``storage.batches``) that the app writes, so every write goes through one place (plausible
values, one transaction, the live/backfill rule), and a source can be tested without a database."""

from __future__ import annotations

import ast
from pathlib import Path

SOURCES = Path(__file__).resolve().parents[3] / "signals"
#: calls that write (or reach the database directly) and have no place under signals/
WRITES = {
    "upsert",
    "write_many",
    "write_reports",
    "replace_members",
    "put",
    "execute",
    "executemany",
    "atomic",
}


def test_nothing_under_signals_writes_or_runs_sql() -> None:
    found = []
    for path in sorted(SOURCES.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in WRITES
            ):
                found.append(f"{path.relative_to(SOURCES.parent)}:{node.lineno} .{node.func.attr}(...)")
    assert found == []
