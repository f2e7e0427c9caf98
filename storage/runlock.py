"""One ``flowwatch run`` per database: OS locks on the database file and on a file beside it.

The lock is on the database *file*, not on the name it was given: ``flock`` on the database file
itself (its inode: a symlink, a hard link, a bind mount or a second container on the same volume
all reach the same lock), and on ``<real path>.lock`` beside the file the symlinks resolve to
(which carries the note below). Both are held for the life of ``run``. The kernel releases them
when the process ends however it ends (SIGKILL, OOM, power cut of the container), so a crash
never leaves a stale lock behind; the lock file stays and only says who held it last.

(``flock`` and SQLite's POSIX locks do not interact on Linux, but closing *any* descriptor of
the database file drops the POSIX locks the process holds on it: the descriptor is therefore
opened before the database and closed only by :meth:`RunLock.release`, after ``run`` closed it.
On the BSDs and macOS the two kinds of lock are one mechanism, so an exclusive ``flock`` would
lock SQLite itself out: there only the lock file beside the real path is taken, which a symlink
cannot bypass and a hard link can.)
Other commands (``import``, ``backfill``, ``replay``, ``health``, ``db``) never take the lock and
keep working beside a running bot: SQLite's own locking orders their writes.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import IO, Any

#: the database file itself is flocked where that cannot touch SQLite's own locks (Linux)
FLOCK_BESIDE_SQLITE = sys.platform.startswith("linux")


class AlreadyRunning(RuntimeError):
    """Another ``flowwatch run`` holds the database."""

    def __init__(self, message: str, holder: dict[str, Any]) -> None:
        super().__init__(message)
        self.holder = holder


def lock_path(db_path: Path) -> Path:
    """``<real path>.lock``: through a symlink (to the file or a directory) the same lock file."""
    real = Path(os.path.realpath(db_path))
    return real.with_name(real.name + ".lock")


def _flock_holder_pid(fd: int) -> int | None:
    """The pid holding a ``flock`` on the file of ``fd`` (Linux ``/proc/locks``), or None."""
    try:
        st = os.fstat(fd)
        with open("/proc/locks", encoding="ascii") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    want = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    for line in lines:
        parts = line.split()
        # "1: FLOCK  ADVISORY  WRITE 12345 08:01:1234567 0 EOF"
        if len(parts) >= 6 and parts[1] == "FLOCK" and parts[5] == want and parts[4].isdigit():
            return int(parts[4])
    return None


def _describe(holder: dict[str, Any]) -> str:
    pid = holder.get("pid", "?")
    host = holder.get("host", "?")
    started = holder.get("started")
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(started)) if started else "an unknown time"
    argv = holder.get("argv") or ""
    return f"pid {pid} on {host}, started {when}" + (f" ({argv})" if argv else "")


#: the lock file's fixed size: notes are written in place, so they work on a full disk
NOTE_SIZE = 2048

_current: RunLock | None = None


def current() -> RunLock | None:
    """The run lock this process holds (None outside ``flowwatch run``)."""
    return _current


class RunLock:
    """Hold with ``with RunLock(path):`` or :meth:`acquire` / :meth:`release`.

    The file also carries a small note the running bot keeps up to date where the database
    cannot (``storage_error`` while the disk is full), for ``flowwatch health`` to read.
    """

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = Path(db_path)
        self.path = lock_path(self.db_path)
        self._fh: IO[str] | None = None
        self._db_fd: int | None = None
        self._info: dict[str, Any] = {}

    def note(self, **fields: Any) -> None:
        """Set (or with None, clear) fields of the note, rewritten in place."""
        if self._fh is None:
            return
        for k, v in fields.items():
            if v is None:
                self._info.pop(k, None)
            else:
                self._info[k] = v
        data = json.dumps(self._info, default=str)[: NOTE_SIZE - 1].ljust(NOTE_SIZE - 1) + "\n"
        with contextlib.suppress(OSError):
            os.pwrite(self._fh.fileno(), data.encode(), 0)

    def acquire(self) -> RunLock:
        if str(self.db_path) == ":memory:":
            return self
        self._acquire_note_file()  # the same name or a symlink: refused here, naming the holder
        if not FLOCK_BESIDE_SQLITE:
            return self
        try:
            self._lock_database_file()
        except BaseException:
            self.release()
            raise
        return self

    def _lock_database_file(self) -> None:
        """``flock`` the database file itself: whatever name reaches it (a hard link too)."""
        # O_CREAT: a first ``run`` creates the database; SQLite takes an empty file as a new one
        fd = os.open(self.db_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _flock_holder_pid(fd)
            os.close(fd)  # (nothing of SQLite is open on it yet in this process)
            holder = {"pid": pid} if pid is not None else {}
            via = ""
            real = Path(os.path.realpath(self.db_path))
            if real != self.db_path.absolute():
                via = f" (reached through a symlink: the file is {real})"
            raise AlreadyRunning(
                f"another flowwatch run is using the database file {self.db_path}{via}"
                f"{f': pid {pid}' if pid is not None else ''}, possibly under another name (a symlink or "
                "a hard link to the same file). One bot per database: stop that one first (systemctl stop "
                f"flowwatch, docker stop, or kill {pid if pid is not None else 'its pid'}). import, backfill, "
                "replay, health and db work beside it.",
                holder,
            ) from None
        except OSError:
            os.close(fd)
            raise
        self._db_fd = fd

    def _release_database_file(self) -> None:
        if self._db_fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._db_fd, fcntl.LOCK_UN)
            with contextlib.suppress(OSError):
                os.close(self._db_fd)
            self._db_fd = None

    def _acquire_note_file(self) -> None:
        # not O_APPEND: the note is rewritten in place with pwrite (which O_APPEND would append)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fh = os.fdopen(fd, "r+", encoding="utf-8")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            try:
                holder = json.loads(fh.read() or "{}")
            except ValueError:
                holder = {}
            fh.close()
            raise AlreadyRunning(
                f"another flowwatch run is using {self.db_path}: {_describe(holder)}. "
                "One bot per database: stop that one first (systemctl stop flowwatch, docker stop, or kill "
                f"{holder.get('pid', 'its pid')}). import, backfill, replay, health and db work beside it.",
                holder,
            ) from None
        except OSError:
            fh.close()
            raise
        try:
            # unbuffered (a buffered write that fails on a full disk fails again at close)
            os.ftruncate(fh.fileno(), 0)
            os.pwrite(fh.fileno(), b" " * NOTE_SIZE, 0)  # allocated now: later notes overwrite, never grow
        except OSError:
            pass  # a full disk: the lock holds all the same; notes may not fit
        self._fh = fh
        self._info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": int(time.time()),
            "argv": " ".join(sys.argv[:4])[:200],
        }
        self.note()
        global _current
        _current = self

    def release(self) -> None:
        global _current
        if _current is self:
            _current = None
        if self._fh is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            with contextlib.suppress(OSError):  # (nothing buffered; a full disk must not mask the error)
                self._fh.close()
            self._fh = None
        self._release_database_file()

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def holder(db_path: str | Path) -> dict[str, Any] | None:
    """Who holds the run lock now (None: nobody runs on this database)."""
    path = lock_path(Path(db_path))
    if not path.exists():
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                try:
                    return dict(json.loads(fh.read() or "{}"))
                except ValueError:
                    return {}
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
            return None
    except OSError:
        return None
