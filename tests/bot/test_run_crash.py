"""Kill a live run (SIGKILL) at random points and restart it: no alert repeated, none lost."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from signals import tradingcal
from storage import alerts as alert_repo
from storage.db import open_db

REPO = Path(__file__).resolve().parents[2]


def harness(db: Path, out: Path, data: Path, start: str, end: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tests.bot.live_harness",
        "--db",
        str(db),
        "--out",
        str(out),
        "--data",
        str(data),
        "--from",
        start,
        "--to",
        end,
    ]


def outbox(db_path: Path) -> list[tuple[str, str, str, int, str]]:
    db = open_db(db_path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = [(a.kind, a.key, a.event, a.ts, a.level) for a in alert_repo.list_alerts(db, "live", kind=None)]
    undelivered = db.execute("SELECT COUNT(*) FROM deliveries WHERE status != 'sent'").fetchone()[0]
    db.close()
    assert undelivered == 0
    return rows


def run_with_kills(cmd: list[str], kills: int, rng: random.Random, total_days: int) -> int:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done_kills = 0
    while True:
        proc = subprocess.Popen(
            cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env, cwd=REPO
        )
        assert proc.stderr is not None
        target = rng.randint(1, max(2, total_days // (kills + 1))) if done_kills < kills else None
        seen = 0
        for line in proc.stderr:
            if line.startswith("day "):
                seen += 1
                if target is not None and seen >= target:
                    proc.send_signal(signal.SIGKILL)
                    break
        proc.stderr.read()
        proc.wait()
        if proc.returncode == -signal.SIGKILL:
            done_kills += 1
            continue
        assert proc.returncode == 0
        return done_kills


@pytest.mark.parametrize(
    ("seed", "kills", "start", "end"),
    [
        (11, 3, "2020-02-18", "2020-05-08"),
        pytest.param(12, 12, "2020-01-02", "2020-06-30", marks=pytest.mark.slow),
        pytest.param(13, 12, "2018-01-16", "2018-04-30", marks=pytest.mark.slow),
    ],
)
def test_live_run_killed_and_restarted(
    tmp_path: Path, data_dir: Path, seed: int, kills: int, start: str, end: str
) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    ref_db, ref_out = tmp_path / "ref.db", tmp_path / "ref.jsonl"
    subprocess.run(
        harness(ref_db, ref_out, data_dir, start, end), check=True, env=env, cwd=REPO, capture_output=True
    )
    expected = outbox(ref_db)
    ref_lines = ref_out.read_text().splitlines()
    assert len(ref_lines) == len(set(ref_lines)) == len(expected)  # each event printed once
    assert any(e[2] == "fired" for e in expected) and any(e[2] == "resolved" for e in expected)

    db, out = tmp_path / "k.db", tmp_path / "k.jsonl"
    n_days = len(tradingcal.sessions_between(date.fromisoformat(start), date.fromisoformat(end)))
    killed = run_with_kills(harness(db, out, data_dir, start, end), kills, random.Random(seed), n_days)
    assert killed == kills
    assert outbox(db) == expected  # every event once, in order, all delivered
    got = out.read_text().splitlines()
    assert set(got) == set(ref_lines)  # nothing lost on the console
    assert len(got) - len(ref_lines) <= killed  # at most the line in flight per kill repeated
    for line in got:
        json.loads(line)
