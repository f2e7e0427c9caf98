"""Running a backfill: its batches written one by one, its description collected.

A backfill (``signals.sources.base.Backfill``) yields :class:`~storage.batches.Batch` es and
never writes; :func:`run_backfill` writes each (a file's rows refused whole when one value is
implausible or one time has two values, :mod:`storage.filerules`) before the backfill goes on, so a staged backfill reads what it wrote before
(FedWatch reads the FRED rates it downloaded). ``flowwatch backfill``, ``backfill all``, the
bench and the tests run backfills through it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlite_utils import Database

from signals.sources.base import Backfill, BackfillContext, SettingValues
from storage import batches
from storage.batches import Batch, Written
from storage.db import SyncReader

log = logging.getLogger("flowwatch.backfill")


def described(batch: Batch, written: Written, logger: logging.Logger = log) -> str:
    """A written batch's description; a fetch that partly failed also logs it as one WARNING."""
    text = batch.describe(written)
    if batch.warn and text:
        logger.warning("%s", " / ".join(text.splitlines()))
    return text


async def run_backfill(
    bf: Backfill,
    db: Database,
    *,
    client: httpx.AsyncClient,
    now: datetime,
    settings: SettingValues | None = None,
    file: Path | None = None,
    dir: Path | None = None,
    since: datetime | None = None,
    progress: Callable[[int], None] = lambda n: None,
    options: dict[str, Any] | None = None,
) -> str:
    """Run ``bf`` on ``db`` (this thread); the lines it describes, one per batch that says anything."""
    if settings is None:
        from bot.config import Settings

        settings = Settings()
    ctx = BackfillContext(
        client=client,
        now=now,
        settings=settings,
        reader=SyncReader(db),
        file=file,
        dir=dir,
        since=since,
        progress=progress,
        options=dict(options or {}),
    )
    lines = []
    origin = file.name if file is not None else (str(dir) if dir is not None else None)
    async for batch in bf.run(ctx):
        if origin is not None and batch.file is None:
            batch = dataclasses.replace(batch, file=origin)  # read from a file: the file rules hold
        text = described(batch, batches.write(db, batch, live=False))
        if text:
            lines.append(text)
    return "\n".join(lines)
