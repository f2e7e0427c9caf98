"""Shared fixtures. Tests that need ../shared (real data, recorded payloads) skip without it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# The local Discord-compatible fake: ``fake_discord`` / ``fake_discord_options`` in every test.
pytest_plugins = ("tests.fakediscord.fixtures",)

os.environ.setdefault("MPLCONFIGDIR", "/tmp/flowwatch-test-mpl")

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FLOWWATCH_SHARED", REPO.parent / "shared"))
DATA = SHARED / "data"
FIXTURES = SHARED / "fixtures"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is not available (the shared data folder lives beside the checkout in CI)")
    return path


@pytest.fixture
def data_dir() -> Path:
    return _need(DATA)


@pytest.fixture
def fixtures_dir() -> Path:
    return _need(FIXTURES)


def fixture_text(rel: str) -> str:
    return _need(FIXTURES / rel).read_text(encoding="utf-8")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[object]:
    from storage.db import open_db

    database = open_db(tmp_path / "test.db")
    yield database
    database.close()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never read the developer's .env or FLOWWATCH_* settings."""
    for k in list(os.environ):
        if k.startswith("FLOWWATCH_") or k in ("DISCORD_TOKEN", "DISCORD_WEBHOOK_URL"):
            monkeypatch.delenv(k, raising=False)
    monkeypatch.chdir(tmp_path)


def source_context(
    client: object,
    now: object = None,
    *,
    settings: object = None,
    sleep: object = None,
    db: object = None,
) -> object:
    """A poll's context for a test: ``now`` a datetime or a clock, the default settings, reads of
    ``db`` (an empty in-memory database when none is given)."""
    from datetime import datetime

    from bot.config import Settings
    from signals.sources.base import SourceContext
    from storage.db import SyncReader, open_db

    clock = (lambda: now) if isinstance(now, datetime) else now
    return SourceContext(
        client=client,  # type: ignore[arg-type]
        now=clock,  # type: ignore[arg-type]
        settings=settings or Settings(),  # type: ignore[arg-type]
        reader=SyncReader(db or open_db(":memory:")),  # type: ignore[arg-type]
        sleep=sleep,  # type: ignore[arg-type]
    )
