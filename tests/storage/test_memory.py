"""Freed memory goes back to the OS after large reads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import storage.db
from storage.db import AsyncStore
from storage.memory import release_free_memory, tune_allocator


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


PROBE = """
import sys
from storage.memory import tune_allocator
if sys.argv[1] == "tuned":
    assert tune_allocator()
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
big = bytearray(8 * 2**20)
del big  # untuned glibc now serves blocks up to 8 MiB from the heap
blocks, pins = [], []
for _ in range(100):
    blocks.append(bytearray(2**20))
    pins.append(bytearray(64))  # a small live object after each block pins the heap
before = rss()
del blocks
print(before - rss())
"""


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs Linux /proc for RSS")
@pytest.mark.skipif(not release_free_memory(), reason="needs glibc's allocator")
def test_tuned_allocator_returns_freed_arrays_to_the_os() -> None:
    """After one large free, untuned glibc keeps the next megabyte-sized arrays in its heap
    when they are freed; tuned, each goes back to the OS as it is freed."""
    repo = Path(__file__).resolve().parents[2]

    def freed(mode: str) -> float:
        out = subprocess.run(
            [sys.executable, "-c", PROBE, mode], cwd=repo, capture_output=True, text=True, check=True
        )
        return float(out.stdout.strip())

    assert freed("tuned") >= 90  # MiB of the 100 freed
    assert freed("default") < 20


def test_tune_allocator_is_safe_to_call_twice() -> None:
    first = tune_allocator()
    assert tune_allocator() is first
