"""One ``flowwatch run`` per database: a second one is refused and names the first; a crash
(SIGKILL) releases the lock; the other commands keep working beside a running bot; SIGHUP
stops ``run`` as cleanly as SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from storage import runlock
from storage.db import open_db

REPO = Path(__file__).resolve().parents[2]


def _env(db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWWATCH_", "DISCORD_"))}
    env["PYTHONPATH"] = str(REPO)
    env["FLOWWATCH_DB"] = str(db)
    return env


def _start_run(tmp_path: Path, db: Path) -> tuple[subprocess.Popen[str], list[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--no-initial-poll", "--db", str(db)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=_env(db),
        cwd=tmp_path,
    )
    assert proc.stderr is not None
    seen: list[str] = []
    for line in proc.stderr:
        seen.append(line)
        if "flowwatch running" in line:
            return proc, seen
    proc.wait(timeout=30)
    raise AssertionError("run did not start: " + "".join(seen))


@pytest.fixture
def running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    for k in list(os.environ):
        if k.startswith(("FLOWWATCH_", "DISCORD_")):
            monkeypatch.delenv(k)
    db = tmp_path / "one.db"
    proc, _ = _start_run(tmp_path, db)
    yield db, proc
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=30)


def test_second_run_is_refused_and_names_the_first(
    running: tuple[Path, subprocess.Popen[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    db, proc = running
    assert main(["run", "--no-initial-poll", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert f"pid {proc.pid}" in err and "another flowwatch run" in err and str(db) in err
    assert runlock.holder(db) is not None and runlock.holder(db)["pid"] == proc.pid  # type: ignore[index]


def test_other_commands_work_beside_a_running_bot(
    running: tuple[Path, subprocess.Popen[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, _proc = running
    csv = tmp_path / "v.csv"
    csv.write_text("ts,value\n2024-01-02,13.2\n2024-01-03,14.0\n")
    assert main(["import", "cboe.vix.close", str(csv), "--db", str(db)]) == 0
    cboe = tmp_path / "VIX3M_History.csv"
    cboe.write_text(
        "DATE,OPEN,HIGH,LOW,CLOSE\n01/02/2024,15.1,15.5,14.9,15.2\n01/03/2024,15.6,16.0,15.4,15.9\n"
    )
    assert main(["backfill", "cboe", "--file", str(cboe), "--db", str(db)]) == 0
    assert main(["replay", "vix_term", "--db", str(db)]) == 0
    assert main(["db", "stats", "--db", str(db)]) == 0
    assert main(["health", "--db", str(db)]) in (0, 1)  # runs; health itself is judged elsewhere
    assert main(["db", "backup", str(tmp_path / "b.db"), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "2 new" in out and "backed up" in out
    check = open_db(db)
    try:
        series = dict(check.execute("SELECT series, COUNT(*) FROM observations GROUP BY series").fetchall())
    finally:
        check.close()
    assert series == {"cboe.vix.close": 2, "cboe.vix3m.close": 2}, series


def test_a_killed_run_releases_the_lock(running: tuple[Path, subprocess.Popen[str]], tmp_path: Path) -> None:
    db, proc = running
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert runlock.holder(db) is None
    second, _ = _start_run(tmp_path, db)
    try:
        assert runlock.holder(db)["pid"] == second.pid  # type: ignore[index]
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0


def test_sighup_stops_run_cleanly(
    running: tuple[Path, subprocess.Popen[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    db, proc = running
    proc.send_signal(signal.SIGHUP)
    assert proc.stderr is not None
    rest = proc.stderr.read()
    assert proc.wait(timeout=30) == 0, rest
    assert "flowwatch stopped" in rest
    assert runlock.holder(db) is None
    from storage import meta

    hb = open_db(db)
    try:
        value = meta.get(hb, "heartbeat")
    finally:
        hb.close()
    assert value is not None and value.get("stopped") is True
    capsys.readouterr()
    assert main(["health", "--db", str(db)]) == 1  # not "healthy" right after
    assert "the bot stopped at" in capsys.readouterr().out


def test_lock_in_process(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    with runlock.RunLock(db):
        with pytest.raises(runlock.AlreadyRunning) as info:
            runlock.RunLock(db).acquire()
        assert info.value.holder["pid"] == os.getpid()
    with runlock.RunLock(db):
        pass


@pytest.mark.parametrize("link", ["symlink", "hardlink", "symlinked_dir"])
def test_another_name_for_the_same_file_is_refused(
    running: tuple[Path, subprocess.Popen[str]], tmp_path: Path, link: str
) -> None:
    """A second bot through a symlink or a hard link to the running bot's database is refused
    (it used to lock ``<its own name>.lock`` and post every alert a second time)."""
    db, proc = running
    if link == "symlink":
        other = tmp_path / "link.db"
        other.symlink_to(db)
    elif link == "hardlink":
        other = tmp_path / "hard.db"
        os.link(db, other)
    else:
        (tmp_path / "alias").symlink_to(tmp_path, target_is_directory=True)
        other = tmp_path / "alias" / db.name
    second = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--no-initial-poll", "--db", str(other)],
        capture_output=True,
        text=True,
        env=_env(other),
        cwd=tmp_path,
        timeout=60,
    )
    assert second.returncode == 2, second.stderr
    assert "another flowwatch run" in second.stderr and f"pid {proc.pid}" in second.stderr
    assert proc.poll() is None  # the first keeps running


def test_a_hard_link_is_refused_in_process(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    open_db(db).close()
    os.link(db, tmp_path / "y.db")
    with runlock.RunLock(db):
        with pytest.raises(runlock.AlreadyRunning) as info:
            runlock.RunLock(tmp_path / "y.db").acquire()
        assert info.value.holder.get("pid") == os.getpid()
        assert "hard link" in str(info.value)
    with runlock.RunLock(tmp_path / "y.db"):  # released: the other name may run now
        pass


def test_where_flock_would_touch_sqlite_only_the_lock_file_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the BSDs and macOS ``flock`` and SQLite's POSIX locks are one mechanism: the database
    file is not flocked there (SQLite would be locked out), the lock file beside its real path is;
    a second run through a symlink is still refused."""
    monkeypatch.setattr(runlock, "FLOCK_BESIDE_SQLITE", False)
    db_path = tmp_path / "x.db"
    link = tmp_path / "link.db"
    link.symlink_to(db_path)
    with runlock.RunLock(db_path):
        db = open_db(db_path)
        db.execute("CREATE TABLE t (x)")
        db.close()
        with pytest.raises(runlock.AlreadyRunning):
            runlock.RunLock(link).acquire()
