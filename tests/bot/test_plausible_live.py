"""Bad data never alerts: an implausible value from a live source is dropped with a logged
reason (the good rows beside it are kept), and a backfill file holding one imports nothing."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.clock import SimClock
from bot.runner import App
from storage import alerts as alert_repo
from storage.db import open_db
from storage.observations import Observation
from tests.bot.discord_harness import CALM_RATIO, after_close, bot_settings, sessions, vix_history

END = datetime(2024, 3, 20, tzinfo=UTC).date()


async def test_live_garbage_is_dropped_and_never_alerts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    days = sessions(END, 40)
    clock = SimClock(after_close(days[-1]))
    app = App(bot_settings(tmp_path), clock=clock)
    await app.start(schedule=False, initial_poll=False)
    try:
        history = vix_history(days, [CALM_RATIO])
        bad = Observation("cboe.vix.close", history[-2].ts, 1e308, "cboe")  # the last day's VIX
        negative = Observation("cboe.vix3m.close", history[-1].ts, -4.0, "cboe")
        caplog.set_level(logging.WARNING)
        await app.ingest([*history[:-2], bad, negative], ["vix_term"])
        rows = await app.store.call(
            lambda db: db.execute("SELECT COUNT(*), MAX(value) FROM observations").fetchone()
        )
        events = await app.store.call(lambda db: alert_repo.list_alerts(db, "live", kind=None))
    finally:
        await app.stop()
    assert rows[0] == len(history) - 2 and rows[1] < 100
    assert "outside the plausible range" in caplog.text and "cboe.vix.close" in caplog.text
    assert [e for e in events if e.kind == "alert"] == []


def test_a_backfill_file_with_an_absurd_value_imports_nothing(
    tmp_path: Path, fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (fixtures_dir / "cboe" / "VIX_History.csv").read_text()
    lines = text.splitlines()
    head, first = lines[0], lines[1].split(",")
    first[4] = "1e308"  # the close
    bad = tmp_path / "VIX_History.csv"
    bad.write_text("\n".join([head, ",".join(first), *lines[2:]]) + "\n")
    db = tmp_path / "x.db"
    code = main(["backfill", "cboe", "--file", str(bad), "--db", str(db)])
    err = capsys.readouterr().err
    assert code == 1 and "implausible" in err and "nothing written" in err, err
    conn = open_db(db)
    try:
        assert conn.execute("SELECT COUNT(*) FROM observations").fetchone()[0] == 0
    finally:
        conn.close()
