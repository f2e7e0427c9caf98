"""The database under faults, attacked from outside: a damaged file, a newer schema, a failed
backup, a disk that fills while the bot runs, and commands that only read."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.clock import SimClock
from bot.config import load_settings
from bot.health import HealthReport, storage_report
from bot.runner import App
from storage import batches, runlock
from storage.batches import Batch
from storage.db import open_db, open_readonly, pending_migrations
from storage.observations import Observation, upsert
from tests.storage.test_release_db import release_db


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def filled(path: Path, n: int = 4000) -> Path:
    db = open_db(path)
    upsert(db, [Observation("cboe.vix.close", 1_000_000_000 + i * 86400, 10 + i % 30, "x") for i in range(n)])
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path


def damage(path: Path) -> None:
    """Overwrite the second half of the file with garbage, page-aligned (a bad disk, a torn copy)."""
    size = path.stat().st_size
    with path.open("r+b") as fh:
        start = (size // 2) // 4096 * 4096
        fh.seek(start)
        fh.write(os.urandom(size - start))


@pytest.fixture
def damaged(tmp_path: Path) -> Path:
    p = filled(tmp_path / "bad.db")
    damage(p)
    return p


def test_run_refuses_a_damaged_database(damaged: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "run", "--no-initial-poll", "--db", str(damaged))
    assert code == 1 and "is damaged" in err and "flowwatch db backup" in err and "restore" in err
    assert "Traceback" not in err
    assert runlock.holder(damaged) is None


@pytest.mark.parametrize(
    "argv",
    [
        ["db", "stats"],
        ["replay", "vix_term"],
        ["health"],
        ["import", "cboe.vix.close", "{csv}"],
    ],
)
def test_other_commands_say_it_clearly(
    damaged: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    csv = tmp_path / "v.csv"
    csv.write_text("ts,value\n2024-01-02,13.1\n")
    args = [a.replace("{csv}", str(csv)) for a in argv]
    code, out, err = run(capsys, *args, "--db", str(damaged))
    text = out + err
    assert code != 0 and "Traceback" not in text
    assert "damaged" in text or "malformed" in text, text


def test_health_reports_the_last_integrity_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = filled(tmp_path / "ok.db", 50)
    db = open_db(p)
    from bot.dbwatch import record, run_check

    record(db, run_check(db), int(datetime.now(UTC).timestamp()))
    db.close()
    code, out, _ = run(capsys, "health", "--db", str(p))
    assert "integrity: last check " in out and "ago: ok" in out
    db = open_db(p)
    record(
        db,
        {"ok": False, "problems": ["*** in database main *** Page 7: btreeInitPage() returns error code 11"]},
        1,
    )
    db.close()
    code, out, _ = run(capsys, "health", "--db", str(p))
    assert code == 1 and "found damage" in out and "btreeInitPage" in out


def test_a_newer_schema_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = filled(tmp_path / "new.db", 5)
    with sqlite3.connect(p) as con:
        con.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('flowwatch', '0099_future', '2030')"
        )
    from storage.migrations import MIGRATIONS

    mine = MIGRATIONS._migrations[-1].name
    csv = tmp_path / "v.csv"
    csv.write_text("ts,value\n2024-01-02,13.1\n")
    before = p.read_bytes()
    for argv in (
        ["run", "--no-initial-poll"],
        ["db", "stats"],
        ["db", "migrate"],
        ["health"],
        ["replay", "vix_term"],
        ["import", "cboe.vix.close", str(csv)],
    ):
        code, out, err = run(capsys, *argv, "--db", str(p))
        text = out + err
        assert code != 0 and "0099_future" in text and "newer than this flowwatch" in text, argv
        assert f"up to {mine}" in text and "Traceback" not in text, (argv, text)
    assert p.read_bytes() == before
    # a copy is not a use: a newer release's database can still be backed up (before a downgrade)
    code, out, err = run(capsys, "db", "backup", str(tmp_path / "copy.db"), "--db", str(p))
    assert code == 0 and "backed up" in out, err


def test_a_failed_backup_leaves_nothing_behind(
    damaged: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "b.db"
    code, _, err = run(capsys, "db", "backup", str(dest), "--db", str(damaged))
    assert code != 0 and ("integrity" in err or "damaged" in err or "malformed" in err), err
    assert not dest.exists() and not Path(str(dest) + "-journal").exists()
    good = filled(tmp_path / "good.db", 20)
    code, out, err = run(capsys, "db", "backup", str(dest), "--db", str(good))
    assert code == 0 and "backed up" in out, err  # the same name works after a failure


def test_read_only_commands_never_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An old release's database: health, db stats and db backup read it as it is (no migration,
    no write); their connection refuses writes."""
    p = release_db(tmp_path)
    before = p.read_bytes()
    for argv in (["health"], ["db", "stats"], ["db", "backup", str(tmp_path / "copy.db")]):
        run(capsys, *argv, "--db", str(p))
    assert p.read_bytes() == before
    db = open_readonly(p)
    try:
        assert pending_migrations(db)  # still unmigrated
        with pytest.raises(sqlite3.OperationalError):
            db.execute("CREATE TABLE x (a)")
    finally:
        db.close()
    migrated = open_db(p)
    assert not pending_migrations(migrated)  # open_db migrates it to this release's schema
    migrated.close()


async def test_disk_full_while_running_is_said_retried_and_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings(env={"FLOWWATCH_DB": str(tmp_path / "run.db")}, dotenv=None)
    lock = runlock.RunLock(settings.db_path).acquire()
    app = App(settings, clock=SimClock(datetime(2024, 3, 1, tzinfo=UTC)))
    await app.start(schedule=False, initial_poll=False)
    try:
        # the database can no longer grow, as on a full disk (SQLITE_FULL)
        await app.store.call(
            lambda db: db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")
        )
        rows = [Observation("cboe.vix.close", 1_000_000_000 + i * 86400, 15.0, "x") for i in range(5000)]
        caplog.set_level(logging.WARNING)
        try:
            await app.store.call(batches.write, Batch(tuple(rows)), live=True)
        except sqlite3.OperationalError as exc:
            app._write_failed(exc, "storing rows")
        await app.heartbeat()
        assert "cannot write the database" in caplog.text and "disk is full" in caplog.text
        db = open_readonly(settings.db_path)
        rep = HealthReport()
        storage_report(db, settings.db_path, rep, datetime.now(UTC))
        db.close()
        assert any("cannot write the database" in p for p in rep.problems), rep.problems
        await app.store.call(lambda db: db.execute("PRAGMA max_page_count = 1073741823"))
        await app.ingest(rows[:10], ["vix_term"])
        assert "can be written again" in caplog.text
        assert not (runlock.holder(settings.db_path) or {}).get("storage_error")
    finally:
        await app.stop()
        lock.release()


def damage_a_table(path: Path) -> None:
    """Garbage over three pages in the middle of the observations (the schema page survives: the
    file opens, and only a check finds the damage)."""
    size = path.stat().st_size
    with path.open("r+b") as fh:
        for k in (2, 3, 4):
            fh.seek((size * k // 8) // 4096 * 4096)
            fh.write(os.urandom(4096))


@pytest.fixture
def damaged_after_a_good_check(tmp_path: Path) -> Path:
    """A sound file checked 31 minutes ago ("ok" recorded), damaged since."""
    from bot.dbwatch import record, run_check

    p = filled(tmp_path / "late.db", 20000)
    db = open_db(p)
    record(db, run_check(db), int(datetime.now(UTC).timestamp()) - 31 * 60)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    damage_a_table(p)
    from storage.db import quick_check

    check = open_readonly(p)
    try:
        assert quick_check(check)  # the damage is real
    finally:
        check.close()
    return p


@pytest.mark.parametrize(
    "argv",
    [
        ["import", "cboe.vix.close", "{csv}"],
        ["backfill", "cboe", "--file", "{cboe}"],
        ["backfill", "all", "--dir", "{dir}"],
        ["replay", "vix_term"],
    ],
)
def test_writers_check_now_and_refuse_a_file_damaged_since_the_last_check(
    damaged_after_a_good_check: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    """import and backfill trusted a recorded "ok" for 26 h and wrote into the damaged file; replay
    (which trusts a check of the last day: the next test) refuses it when it meets the damage."""
    p = damaged_after_a_good_check
    csv = tmp_path / "v.csv"
    csv.write_text("ts,value\n2024-01-02,13.1\n")
    folder = tmp_path / "files"
    folder.mkdir()
    cboe = folder / "VIX_History.csv"
    cboe.write_text("DATE,OPEN,HIGH,LOW,CLOSE\n01/02/2024,13.1,13.5,12.9,13.2\n")
    before = p.read_bytes()
    args = [
        a.replace("{csv}", str(csv)).replace("{cboe}", str(cboe)).replace("{dir}", str(folder)) for a in argv
    ]
    code, out, err = run(capsys, *args, "--db", str(p))
    assert code != 0 and "Traceback" not in out + err
    assert "is damaged" in err and "restore the newest good backup" in err, err
    assert p.read_bytes() == before  # nothing written into it


def test_replay_trusts_a_sound_check_of_the_last_day_and_never_a_damaged_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """replay writes only its own replay rows: a sound check recorded in the last day stands (the
    running bot checks daily), so replaying one day of a year of minutes does not read the whole
    file first; with no recent check it checks now and records it; a damaged record always stands.
    (import and backfill check every time: the test above.)"""
    from bot import dbwatch

    p = filled(tmp_path / "r.db", 2000)
    checks: list[int] = []
    real = dbwatch.run_check

    def counted(db: object) -> dict[str, object]:
        checks.append(1)
        return real(db)  # type: ignore[arg-type]

    monkeypatch.setattr(dbwatch, "run_check", counted)
    assert run(capsys, "replay", "vix_term", "--db", str(p))[0] == 0
    assert len(checks) == 1  # none recorded: checked now, and recorded
    assert run(capsys, "replay", "vix_term", "--restart", "--db", str(p))[0] == 0
    assert len(checks) == 1  # the recorded check stands
    with sqlite3.connect(p) as con:  # a day and more old: checked again
        con.execute("UPDATE meta SET updated_at = updated_at - 27 * 3600 WHERE key = 'integrity'")
    assert run(capsys, "replay", "vix_term", "--restart", "--db", str(p))[0] == 0
    assert len(checks) == 2
    db = open_db(p)
    dbwatch.record(db, {"ok": False, "problems": ["page 7: btreeInitPage() returns error code 11"]}, 10**10)
    db.close()
    code, _out, err = run(capsys, "replay", "vix_term", "--restart", "--db", str(p))
    assert code != 0 and "is damaged" in err and "btreeInitPage" in err, err


def test_health_shows_the_checks_age_and_checks_again_when_asked_or_stale(
    damaged_after_a_good_check: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """health said "integrity ok" from a check made before the damage."""
    p = damaged_after_a_good_check
    _code, out, _ = run(capsys, "health", "--db", str(p))
    assert "integrity: last check 31m" in out and "ago: ok" in out and "health --integrity" in out
    assert "integrity ok" not in out
    code, out, _ = run(capsys, "health", "--integrity", "--db", str(p))  # on demand
    assert code == 1 and "integrity check just now found damage" in out, out
    with sqlite3.connect(p) as con:  # the recorded check is over an hour old: checked again
        con.execute("UPDATE meta SET updated_at = updated_at - 3600 WHERE key = 'integrity'")
    code, out, _ = run(capsys, "health", "--db", str(p))
    assert code == 1 and "integrity check just now found damage" in out, out


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A real, small file system (tmpfs, 1 MB) holding a database, then filled to the last byte."""
    import subprocess

    where = tmp_path / "full"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"mounting a small tmpfs needs root (CAP_SYS_ADMIN): {mounted.stderr.decode().strip()}")
    try:
        csv = tmp_path / "v.csv"
        csv.write_text("ts,value\n2024-01-02,13.2\n")
        assert main(["import", "cboe.vix.close", str(csv), "--db", str(where / "fd.db")]) == 0
        with (where / "filler").open("wb", buffering=0) as fh, contextlib.suppress(OSError):
            while True:
                fh.write(b"\0" * 4096)
                fh.flush()
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_run_on_a_full_disk_says_what_where_and_what_to_do(full_disk: Path) -> None:
    """It exited with a bare "flowwatch: error: No space left on device" (the lock file's buffered
    write failing again at close masked the real error)."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWWATCH_", "DISCORD_"))}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    csv = full_disk.parent / "more.csv"
    csv.write_text("ts,value\n" + "".join(f"{1_000_000_000 + i * 60},{15 + i % 7}\n" for i in range(20_000)))
    for argv in (["run", "--no-initial-poll"], ["health"], ["import", "cboe.vix.close", str(csv)]):
        proc = subprocess.run(
            [sys.executable, "-m", "bot", *argv, "--db", str(full_disk / "fd.db")],
            capture_output=True,
            text=True,
            env=env,
            cwd=full_disk.parent,
            timeout=60,
        )
        text = proc.stdout + proc.stderr
        assert proc.returncode != 0 and "Traceback" not in text, text
        assert f"the disk holding {full_disk} is full" in text, text
        assert "Free some space on that disk" in text and "db prune" in text, text
    # room to open the database, not to import the file: the disk fills during the import
    filler = (full_disk / "filler").stat().st_size
    os.truncate(full_disk / "filler", max(0, filler - 160 * 1024))
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "import", "cboe.vix.close", str(csv), "--db", str(full_disk / "fd.db")],
        capture_output=True,
        text=True,
        env=env,
        cwd=full_disk.parent,
        timeout=60,
    )
    text = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "Traceback" not in text, text
    assert f"the disk holding {full_disk}" in text and "is full" in text and "nothing imported" in text, text
    (full_disk / "filler").unlink()
    db = open_readonly(full_disk / "fd.db")
    try:
        assert db.execute("SELECT COUNT(*) FROM observations").fetchone()[0] == 1  # the import left nothing
    finally:
        db.close()


def test_the_full_disk_text_only_when_the_disk_is_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import shutil
    from collections import namedtuple

    from bot.cli import disk_full_text

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**9, 10**9 - 4096, 4096))
    text = disk_full_text(tmp_path / "x.db", OSError(errno.ENOSPC, "No space left on device"))
    assert text is not None and f"the disk holding {tmp_path} is full" in text
    assert disk_full_text(tmp_path / "x.db", OSError(errno.EACCES, "Permission denied")) is None
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**9, 10**8, 9 * 10**8))
    assert disk_full_text(tmp_path / "x.db", sqlite3.OperationalError("disk I/O error")) is None


async def test_a_poll_on_a_real_full_disk_is_said_retried_and_reported(
    full_disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A poll that runs while the disk is full (a real one: a small tmpfs filled to the last byte).

    Its outcome record failed first and the exception left ``run_poll``: the scheduler printed
    a traceback, the storage watch never heard of it (no "cannot write" line, nothing for
    ``health``), and the start-up polls swallowed it without a word.
    """
    from signals.sources.base import Poll

    db_path = full_disk / "fd.db"
    settings = load_settings(env={"FLOWWATCH_DB": str(db_path)}, dotenv=None)
    (full_disk / "filler").unlink()  # room to start: the bot opens and writes its heartbeat
    lock = runlock.RunLock(db_path).acquire()
    app = App(settings, clock=SimClock(datetime(2024, 3, 1, tzinfo=UTC)))
    await app.start(schedule=False, initial_poll=False)
    rows = tuple(
        Observation("cboe.vix.close", 1_000_000_000 + i * 86400, 15.0 + i % 9, "x") for i in range(3000)
    )

    async def fetch(ctx: object) -> Batch:
        return Batch(rows)

    poll = Poll(name="drill", trigger={"trigger": "interval", "minutes": 1}, run=fetch, signals=("vix_term",))
    try:
        with (full_disk / "filler").open("wb", buffering=0) as fh, contextlib.suppress(OSError):
            while True:
                fh.write(b"\0" * 4096)
        caplog.set_level(logging.WARNING)
        await app.run_poll(poll)  # must not raise
        assert "cannot write the database" in caplog.text and "disk is full" in caplog.text, caplog.text
        assert (runlock.holder(db_path) or {}).get("storage_error"), runlock.holder(db_path)
        await app.heartbeat()  # (a small write may fit on a full disk: it proves nothing yet)
        assert (runlock.holder(db_path) or {}).get("storage_error")
        (full_disk / "filler").unlink()
        await app.run_poll(poll)  # the next run writes: nothing was lost for good
        assert "can be written again" in caplog.text
        assert not (runlock.holder(db_path) or {}).get("storage_error")
        n = await app.store.call(lambda db: db.execute("SELECT COUNT(*) FROM observations").fetchone()[0])
        assert n >= len(rows)
    finally:
        await app.stop()
        lock.release()


async def test_the_running_bot_checks_integrity_daily_and_health_reports_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """``run`` schedules a daily quick_check; its result is what ``health`` reports, and damage
    found by it is logged with what to do (``db backup``, restore)."""
    from bot.scheduler import build_scheduler

    p = filled(tmp_path / "daily.db", 20000)
    settings = load_settings(env={"FLOWWATCH_DB": str(p)}, dotenv=None)
    app = App(settings, clock=SimClock(datetime.now(UTC)))
    job = {j.id: j for j in build_scheduler(app).get_jobs()}["integrity"]
    first = job.trigger.get_next_fire_time(None, datetime(2024, 3, 1, tzinfo=UTC))
    assert getattr(job.func, "__wrapped__", job.func) == app.integrity_check
    assert job.trigger.get_next_fire_time(first, first) - first == timedelta(days=1)  # daily
    await app.start(schedule=False, initial_poll=False)
    try:
        assert await app.integrity_check() is True
        code, out, _ = run(capsys, "health", "--db", str(p))
        assert "integrity: last check" in out and "ago: ok" in out, out
        await app.store.call(lambda db: db.execute("PRAGMA wal_checkpoint(TRUNCATE)"))
        damage_a_table(p)
        caplog.set_level(logging.ERROR)
        assert await app.integrity_check() is False
        assert "is damaged" in caplog.text and "flowwatch db backup" in caplog.text
        assert "restore the newest good backup" in caplog.text
        code, out, _ = run(capsys, "health", "--db", str(p))
        assert code == 1 and "found damage" in out, out
    finally:
        await app.stop()


def test_read_only_commands_work_on_a_read_only_file_system(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """health, db stats and db backup on a database whose file system is mounted read-only (a
    read-only volume beside the bot's container): they answer, they need no write access."""
    import subprocess

    where = tmp_path / "ro"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(where)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"mounting a tmpfs needs root (CAP_SYS_ADMIN): {mounted.stderr.decode().strip()}")
    try:
        p = filled(where / "ro.db", 200)
        subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)
        with pytest.raises(OSError):
            (where / "probe").write_text("x")  # really read-only, even for root
        code, out, err = run(capsys, "db", "stats", "--db", str(p))
        assert code == 0 and "observations" in out, err
        code, out, err = run(capsys, "db", "backup", str(tmp_path / "copy.db"), "--db", str(p))
        assert code == 0 and "backed up" in out and "integrity ok" in out, err
        code, out, err = run(capsys, "health", "--db", str(p))
        assert "integrity: checked just now: ok" in out and "Traceback" not in out + err, out + err
        assert "read-only" not in out + err and "cannot" not in err, out + err
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


async def test_the_start_up_evaluation_waits_out_a_full_disk(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Observed: with the disk full at start-up the first evaluation was skipped in silence. It is
    said, retried every minute until it runs, and only then is the start-up report printed."""
    import io

    import httpx

    settings = load_settings(env={"FLOWWATCH_DB": str(tmp_path / "start.db")}, dotenv=None)
    full = [True]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if seconds == 60.0 and len([s for s in slept if s == 60.0]) >= 3:
            full[0] = False  # space freed during the third minute

    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(503)))
    app = App(settings, clock=SimClock(datetime(2024, 3, 1, 15, tzinfo=UTC)), client=client, sleep=sleep)
    real = app.pipeline.evaluate
    calls: list[bool] = []

    def evaluate(db: object, signal_ids: list[str], now: datetime) -> object:
        calls.append(full[0])
        if full[0]:
            raise sqlite3.OperationalError("database or disk is full")
        return real(db, signal_ids, now)  # type: ignore[arg-type]

    app.pipeline.evaluate = evaluate  # type: ignore[method-assign]
    report = io.StringIO()
    app.report_stream = report
    caplog.set_level(logging.ERROR)
    await app.start(schedule=False, initial_poll=True)
    try:
        initial = next(t for t in app._tasks if t.get_name() == "initial-polls")
        await asyncio.wait_for(initial, timeout=60)
    finally:
        await app.stop()
        await client.aclose()
    assert "cannot write the database" in caplog.text and "evaluation of" in caplog.text
    assert slept.count(60.0) == 3 and calls[-1] is False  # retried each minute until it ran
    assert report.getvalue()  # and then the start-up report


async def test_after_a_full_disk_a_quiet_bot_says_when_it_can_write_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No batch may come for hours (a weekend): ten minutes with no failed write and a written
    heartbeat clear the failure that ``health`` reports."""
    from bot.runner import HEALED_AFTER_S

    settings = load_settings(env={"FLOWWATCH_DB": str(tmp_path / "quiet.db")}, dotenv=None)
    lock = runlock.RunLock(settings.db_path).acquire()
    clock = SimClock(datetime(2024, 3, 2, 12, tzinfo=UTC))
    app = App(settings, clock=clock)
    await app.start(schedule=False, initial_poll=False)
    try:
        caplog.set_level(logging.WARNING)
        app._write_failed(sqlite3.OperationalError("database or disk is full"), "storing rows of cboe_daily")
        assert (runlock.holder(settings.db_path) or {}).get("storage_error")
        clock.advance(timedelta(seconds=HEALED_AFTER_S / 2))
        await app.heartbeat()  # too soon after the failure
        assert (runlock.holder(settings.db_path) or {}).get("storage_error")
        clock.advance(timedelta(seconds=HEALED_AFTER_S / 2))
        await app.heartbeat()
        assert not (runlock.holder(settings.db_path) or {}).get("storage_error")
        assert "can be written again" in caplog.text
    finally:
        await app.stop()
        lock.release()
