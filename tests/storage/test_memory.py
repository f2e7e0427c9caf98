"""Freed memory goes back to the OS after large reads."""

from __future__ import annotations

from pathlib import Path

import pytest

import storage.db
from storage.db import AsyncStore
from storage.memory import release_free_memory


def test_release_is_safe_to_call() -> None:
    assert release_free_memory() in (True, False)  # glibc: True; other allocators: a no-op


async def test_a_read_beside_the_owner_hands_its_memory_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[bool] = []
    monkeypatch.setattr(storage.db, "release_free_memory", lambda: calls.append(True) or True)
    store = await AsyncStore(tmp_path / "m.db").open()
    try:
        n = await store.read(lambda db: db.execute("SELECT COUNT(*) FROM observations").fetchone()[0])
    finally:
        await store.close()
    assert n == 0 and calls == [True]
