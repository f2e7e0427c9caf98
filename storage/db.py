"""Opening the database, and the single owner thread.

A ``sqlite_utils.Database`` is bound to the thread that opened it, so the running bot owns
its connection on one dedicated single-worker executor (:class:`AsyncStore`) and every
repository call goes through it. Command-line tools use :func:`open_db` directly on their
main thread.
"""

from __future__ import annotations

import asyncio
import functools
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from sqlite_utils import Database

from storage.memory import release_free_memory
from storage.migrations import MIGRATIONS

P = ParamSpec("P")
T = TypeVar("T")


class StorageError(RuntimeError):
    """The database cannot be opened or written (path, permissions, corruption)."""


class NewerSchema(StorageError):
    """The database was migrated by a newer flowwatch: this one must not touch it."""


def unknown_migrations(db: Database) -> list[str]:
    """Applied migrations this flowwatch does not know (a newer release migrated the file)."""
    known = {m.name for m in MIGRATIONS._migrations}
    return [m.name for m in MIGRATIONS.applied(db) if m.name not in known]


def refuse_newer(db: Database, path: str | Path) -> None:
    unknown = unknown_migrations(db)
    if unknown:
        mine = MIGRATIONS._migrations[-1].name
        raise NewerSchema(
            f"database {path} has schema {unknown[-1]}, newer than this flowwatch knows (up to {mine}); "
            "run the newer flowwatch release that migrated it, or restore a backup made before the upgrade"
        )


def check_writable(path: Path) -> None:
    """Raise StorageError with a readable reason when ``path`` cannot hold a database."""
    if str(path) == ":memory:":
        return
    if "\x00" in str(path):
        raise StorageError(f"database path {str(path)[:120]!r} contains a NUL character")
    try:
        _check_writable(path)
    except OSError as exc:  # the path itself is unusable (a name too long, a loop of links)
        raise StorageError(f"database path {str(path)[:120]!r}: {exc.strerror or exc}") from None


def _check_writable(path: Path) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise StorageError(
            f"database path {path} is a directory; give a file name such as {path / 'flowwatch.db'}"
        )
    if not parent.exists():
        raise StorageError(
            f"database folder {parent} does not exist; create it or set FLOWWATCH_DB to another path"
        )
    if path.exists():
        if not os.access(path, os.R_OK | os.W_OK):
            raise StorageError(f"database file {path} is not readable and writable by this user")
    elif not os.access(parent, os.W_OK | os.X_OK):
        raise StorageError(f"cannot create the database in {parent}: the folder is not writable by this user")


def connect_readonly(p: Path, timeout: float = 10.0) -> sqlite3.Connection:
    """``mode=ro``; on a read-only file system with no ``-wal`` beside the file (nobody has it
    open for writing), ``immutable=1``: SQLite cannot create the ``-shm`` a WAL database needs
    there, and without a ``-wal`` the file alone is the whole database."""
    uri = p.resolve().as_uri()
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=timeout)
    try:
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError as exc:
        conn.close()
        wal = p.with_name(p.name + "-wal")
        if "unable to open" not in str(exc) or wal.exists() or os.access(p.parent, os.W_OK):
            raise
    return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, timeout=timeout)


def open_readonly(path: str | Path) -> Database:
    """Open an existing database for reading only: ``health``, ``db stats``, ``db backup``, and
    every query behind a slash command, a chart, ``check`` and the summaries (beside the owner
    thread: under WAL a reader never blocks the writer and never sees half a transaction).

    Never creates, migrates or writes the file: a user who may only read it can still ask, and
    a database the running bot has not migrated yet is read as it is.
    """
    p = Path(path)
    if not p.parent.exists():
        raise StorageError(f"database folder {p.parent} does not exist; check --db or FLOWWATCH_DB")
    if not p.is_file():
        raise StorageError(f"no database at {p} (flowwatch run or import creates it)")
    if not os.access(p, os.R_OK):
        raise StorageError(f"database file {p} is not readable by this user")
    try:
        conn = connect_readonly(p)
        db = Database(conn)
        db.execute("PRAGMA query_only = ON")
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        refuse_newer(db, p)
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"cannot read database {p}: {exc}") from exc
    return db


def quick_check(db: Database, max_errors: int = 10) -> list[str]:
    """SQLite's ``PRAGMA quick_check``: [] when the file is sound, else what is wrong."""
    try:
        rows = [str(r[0]) for r in db.execute(f"PRAGMA quick_check({int(max_errors)})").fetchall()]
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    return [] if rows == ["ok"] else rows


def open_db(path: str | Path, *, migrate: bool = True) -> Database:
    """Open (creating if needed) the database at ``path`` with WAL and our pragmas."""
    p = Path(path)
    check_writable(p)
    try:
        db = Database(p if str(p) != ":memory:" else ":memory:")
        db.execute("PRAGMA busy_timeout = 10000")
        db.execute("PRAGMA foreign_keys = ON")
        if str(p) != ":memory:":
            db.enable_wal()
            # NORMAL is durable against process crashes (the WAL is written before a commit
            # returns); only an OS crash or power loss can lose the last transactions.
            db.execute("PRAGMA synchronous = NORMAL")
        refuse_newer(db, p)
        if migrate:
            MIGRATIONS.apply(db)
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"cannot open database {p}: {exc}") from exc
    return db


def pending_migrations(db: Database) -> list[str]:
    return [m.name for m in MIGRATIONS.pending(db)]


def applied_migrations(db: Database) -> list[str]:
    return [m.name for m in MIGRATIONS.applied(db)]


class AsyncStore:
    """The database owned by one worker thread; coroutines call into it with :meth:`call`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-owner")
        self._db: Database | None = None

    async def open(self) -> AsyncStore:
        loop = asyncio.get_running_loop()
        self._db = await loop.run_in_executor(self._executor, open_db, self.path)
        return self

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(db, *args, **kwargs)`` on the owner thread."""
        if self._db is None:
            raise StorageError("the store is not open")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, self._db, *args, **kwargs))

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(db, *args, **kwargs)`` on a read-only connection of its own in a worker thread.

        Every query behind a slash command, a chart or a summary reads here, never on the owner
        thread, so an alert's outbox write never waits behind a read (``bench``:
        ``latency.btc_liq.write_under_read``, an alert write while ``/liquidations 720`` runs).
        Why it is safe: the connection is ``query_only`` (a write raises), and under WAL a
        reader never blocks the writer nor sees a half-written transaction. The one wait left:
        the daily prune's ``wal_checkpoint(TRUNCATE)`` waits (up to the busy timeout) for a
        read in progress to finish. An in-memory database has no second connection: the owner
        reads.
        """
        if str(self.path) == ":memory:":
            return await self.call(fn, *args, **kwargs)

        def run() -> T:
            db = open_readonly(self.path)
            try:
                return fn(db, *args, **kwargs)
            finally:
                db.close()
                release_free_memory()

        return await asyncio.to_thread(run)

    def call_sync(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run on the owner thread from outside the event loop (threads, shutdown)."""
        if self._db is None:
            raise StorageError("the store is not open")
        return self._executor.submit(functools.partial(fn, self._db, *args, **kwargs)).result()

    async def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._executor, db.close)
        self._executor.shutdown(wait=True)


class SyncReader:
    """Reads of a database used on this thread, as a coroutine (what a source's context reads
    with in command-line tools and tests; the running bot reads through :meth:`AsyncStore.read`)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return fn(self.db, *args, **kwargs)
