"""The running bot's view of its own database: integrity checks and write failures.

* Integrity: ``PRAGMA quick_check`` at start-up (``run`` refuses a damaged file) and daily on a
  read-only connection beside the writer; the result is kept in ``meta`` (``integrity``) for
  ``flowwatch health``.
* Writes that fail (a full disk, an I/O error) are said at once and again every minute while
  they last, and noted in the run lock file, which is written in place and so still works on a
  full disk: ``health`` reports it even though the database cannot record it.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from sqlite_utils import Database

from storage import meta, runlock
from storage.db import quick_check

log = logging.getLogger("flowwatch.database")

INTEGRITY_KEY = "integrity"
#: seconds between repeated "still cannot write" lines
REPEAT_S = 60.0


def damaged_text(path: object, problems: list[str]) -> str:
    return (
        f"the database {path} is damaged (quick_check: {'; '.join(problems)[:300]}). Stop flowwatch, keep "
        f"the file aside, and restore the newest good backup: copy it over {path} (remove {path}-wal and "
        f"{path}-shm), then start again. `flowwatch db backup FILE` makes checked backups while the bot runs; "
        "see docs/operations.md, 'A damaged database'"
    )


def run_check(db: Database) -> dict[str, Any]:
    """quick_check now; the record kept under ``meta.integrity`` (not written here)."""
    t0 = time.monotonic()
    problems = quick_check(db)
    return {"ok": not problems, "problems": problems[:10], "seconds": round(time.monotonic() - t0, 2)}


def record(db: Database, result: dict[str, Any], now: int) -> None:
    meta.put(db, INTEGRITY_KEY, result, now)


#: a recorded check younger than this stands for now (the running bot checks daily)
FRESH_S = 26 * 3600


def last_or_now(db: Database, now: int, *, save: bool) -> tuple[dict[str, Any], int | None]:
    """The last recorded check when it is fresh, else one run now (and recorded when ``save``).

    Returns the result and when it was recorded (None: run just now). A sound recorded result
    is trusted for :data:`FRESH_S`; a damaged one always stands.
    """
    found = meta.get_with_time(db, INTEGRITY_KEY)
    if (
        found is not None
        and isinstance(found[0], dict)
        and (now - found[1] < FRESH_S or not found[0].get("ok"))
    ):
        return found[0], found[1]
    result = run_check(db)
    if save:
        with contextlib.suppress(sqlite3.Error):
            record(db, result, now)
    return result, None


def is_storage_failure(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError) and any(
        w in str(exc).lower() for w in ("full", "disk i/o", "readonly", "read-only", "unable to open")
    )


class StorageWatch:
    """Says when the database cannot be written, keeps saying it, and says when it can again."""

    def __init__(self, path: object, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self._monotonic = monotonic
        self.failing_since: float | None = None
        self.last_failed: float | None = None
        self._last_said = -1e18
        self.error: str | None = None

    def quiet_for(self, seconds: float) -> bool:
        """No write has failed for ``seconds`` (True also when none is failing)."""
        return self.last_failed is None or self._monotonic() - self.last_failed >= seconds

    def failed(self, exc: BaseException, what: str) -> None:
        now = self._monotonic()
        text = str(exc)
        self.last_failed = now
        if self.failing_since is None:
            self.failing_since = now
        self.error = text
        if now - self._last_said >= REPEAT_S:
            self._last_said = now
            hint = (
                "the disk is full: free some space (flowwatch db prune removes old rows)"
                if "full" in text.lower()
                else "check the disk and the file's permissions"
            )
            log.error(
                "cannot write the database %s (%s: %s); %s. Retrying: polls, evaluations and deliveries "
                "resume by themselves once it can be written",
                self.path,
                what,
                text,
                hint,
            )
        lock = runlock.current()
        if lock is not None:
            lock.note(storage_error=f"{what}: {text}", storage_error_since=int(time.time()))

    def ok(self) -> None:
        if self.failing_since is None:
            return
        log.warning(
            "the database %s can be written again (after %.0f s)",
            self.path,
            self._monotonic() - self.failing_since,
        )
        self.failing_since = None
        self.last_failed = None
        self.error = None
        lock = runlock.current()
        if lock is not None:
            lock.note(storage_error=None, storage_error_since=None)
