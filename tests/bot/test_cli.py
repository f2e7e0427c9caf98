"""The CLI contract: commands, flags, outputs and errors (in-process, through ``main``)."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from bot.cli import main
from signals import registry
from storage.db import open_db

FIXTURE_CBOE = ["VIX_History.csv", "VIX3M_History.csv", "VIX9D_History.csv", "VIX6M_History.csv"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def loaded(tmp_path: Path, fixtures_dir: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    d = tmp_path / "cboe"
    d.mkdir()
    for n in FIXTURE_CBOE:
        shutil.copy(fixtures_dir / "cboe" / n, d / n)
    db = tmp_path / "f.db"
    code, out, _ = run(capsys, "backfill", "cboe", "--dir", str(d), "--db", str(db))
    assert code == 0, out
    return db


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for cmd in ("run", "demo", "import", "backfill", "replay", "check", "chart", "db"):
        assert cmd in out


def test_backfill_dir_and_file_are_idempotent(
    loaded: Path, fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "backfill", "cboe", "--file", str(fixtures_dir / "cboe/VIX_History.csv"), "--db", str(loaded)
    )
    assert code == 0 and "cboe.vix.close: 13 rows from VIX_History.csv (0 new, 0 updated)" in out


def test_import_and_backfill_same_day_land_on_same_row(
    loaded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "vix.csv"
    f.write_text("ts,value\n2026-04-13,19.12\n2026-04-14T00:00:00Z,18.36\n1776643200,99.5\n")
    code, out, _ = run(capsys, "import", "cboe.vix.close", str(f), "--db", str(loaded))
    assert code == 0
    assert "3 rows read from vix.csv; 0 new, 1 updated, 2 unchanged" in out


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("time,val\n2024-01-01,1\n", "the first line must be the header ts,value"),
        ("ts,value\n2024-01-01,abc\n", "line 2: value 'abc' is not a number"),
        ("ts,value\nyesterday,1\n", "line 2: cannot read timestamp 'yesterday'"),
        ("ts,value\n2024-01-01,nan\n", "is not finite"),
        ("ts,value\n2999-01-01,1\n", "is in the future"),
    ],
)
def test_import_rejects_bad_files_and_imports_nothing(
    tmp_path: Path, content: str, needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "bad.csv"
    f.write_text(content)
    db = tmp_path / "x.db"
    code, _, err = run(capsys, "import", "test.series", str(f), "--db", str(db), "--custom")
    assert code == 1 and needle in err
    assert "nothing imported" in err or "header" in err


def test_import_bad_series_id_and_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "import", "Bad Series", str(tmp_path / "x.csv"))
    assert code == 2 and "invalid series id" in err
    code, _, err = run(capsys, "import", "cboe.vix.close", str(tmp_path / "none.csv"))
    assert code == 2 and "no such file" in err


def test_replay_jsonl_contract(loaded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the fixture window has a calm curve: lower the thresholds to get events
    code, out, err = run(
        capsys,
        "replay",
        "vix_term",
        "--db",
        str(loaded),
        "--format",
        "jsonl",
        "--set",
        "watch=0.80",
        "--set",
        "watch_exit=0.78",
        "--set",
        "confirm=1",
        "--set",
        "front_watch=0.9",
        "--set",
        "front_exit=0.85",
    )
    assert code == 0
    lines = out.strip().splitlines()
    assert lines, "expected events"
    for line in lines:
        obj = json.loads(line)
        assert set(obj) == {"signal", "key", "event", "ts", "level", "value", "summary"}
        assert obj["event"] in ("fired", "escalated", "deescalated", "updated", "resolved")
        assert obj["ts"].endswith("Z") and obj["signal"] == "vix_term"
    assert "replay vix_term:" in err  # progress and totals on stderr only


def test_replay_text_and_chart(loaded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "r.png"
    code, _out, _err = run(
        capsys, "replay", "vix_term", "--db", str(loaded), "--from", "2026-04-01", "--chart", str(png)
    )
    assert code == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("argv", "needle", "code"),
    [
        (["replay", "vix_term", "--set", "nosuch=1"], "has no setting 'nosuch'; allowed: watch", 2),
        (["replay", "vix_term", "--set", "alert=abc"], "alert: 'abc' is not a number", 2),
        (["replay", "vix_term", "--set", "alert_exit=1.5"], "alert_exit (1.5) must be below alert", 2),
        (
            ["replay", "vix_term", "--from", "2024-02-01", "--to", "2024-01-01"],
            "--from must be on or before",
            2,
        ),
        (["replay", "vix_term", "--chart", "x.svg"], "ending in .png", 2),
        (["chart", "vix_term", "-o", "x.jpg"], "ending in .png", 2),
        (["replay", "vix_term"], "no stored data for vix_term", 1),
    ],
)
def test_bad_flags_get_clear_errors(
    tmp_path: Path, argv: list[str], needle: str, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    got, _, err = run(capsys, *argv, "--db", str(tmp_path / "e.db"))
    assert got == code and needle in err


@pytest.mark.parametrize(
    "argv",
    [
        ["replay", "nosignal"],
        ["replay", "vix_term", "--from", "last week"],
        ["chart", "vix_term"],
        ["chart", "vix_term", "--days", "0", "-o", "x.png"],
        ["backfill", "nosource"],
        ["db"],
        ["frobnicate"],
        ["backfill", "cboe", "--file", "a", "--dir", "b"],
    ],
)
def test_argparse_errors_exit_2_with_usage(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "usage:" in err and "error:" in err


def test_chart_and_check_and_db(loaded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "c.png"
    code, out, _ = run(capsys, "chart", "vix_term", "--days", "90", "-o", str(png), "--db", str(loaded))
    assert code == 0 and png.stat().st_size > 10_000 and "vix_term over 90 days" in out
    code, out, _ = run(capsys, "check", "vix_term", "--no-fetch", "--db", str(loaded))
    assert code == 0 and "vix_term/vix3m" in out and "VIX/VIX3M" in out
    code, out, _ = run(capsys, "db", "stats", "--db", str(loaded))
    assert code == 0 and "cboe.vix.close" in out and "observations" in out
    code, out, _ = run(capsys, "db", "migrate", "--db", str(tmp_path / "new.db"))
    assert code == 0 and " migration(s) (0001_initial" in out  # every migration, whatever their number


def test_backfill_bad_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "backfill", "cboe", "--file", str(tmp_path / "none.csv"))
    assert code == 2 and "no such file" in err
    f = tmp_path / "prices.csv"
    f.write_text("x")
    code, _, err = run(capsys, "backfill", "cboe", "--file", str(f), "--db", str(tmp_path / "a.db"))
    assert code == 1 and "cannot tell which index prices.csv holds" in err
    html = tmp_path / "VIX_History.csv"
    html.write_text("<html><body>blocked</body></html>")
    code, _, err = run(capsys, "backfill", "cboe", "--file", str(html), "--db", str(tmp_path / "a.db"))
    assert code == 1 and "expected the index history CSV, got an HTML page" in err


def test_unwritable_db_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "db", "stats", "--db", str(tmp_path / "nope" / "x.db"))
    assert code == 2 and "does not exist" in err


def test_demo_writes_charts_and_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "demo"
    code, out, _err = run(capsys, "demo", "--format", "jsonl", "--out", str(out_dir))
    assert code == 0
    events = [json.loads(x) for x in out.splitlines()]
    vix = [e for e in events if e["signal"] == "vix_term" and e["key"] == "vix3m"]
    assert next(e["event"] for e in vix) == "fired" and vix[-1]["event"] == "resolved"
    assert any(e["level"] == "severe" for e in vix)  # the vol shock inverts deeply
    summary = (out_dir / "summary.txt").read_text()
    assert summary.startswith("flowwatch daily summary")
    assert "STALE" not in summary and "Stale data" not in summary  # recorded data is never stale
    assert (out_dir / "vix_term.png").exists() and list(out_dir.glob("alert-*.png"))
    assert {e["signal"] for e in events} == set(registry())  # every signal fires in its demo
    # the demo's database is its own, in its folder; its replayed events were never delivered
    code, out, _err = run(capsys, "db", "stats", "--db", str(out_dir / "demo.db"))
    assert code == 0 and "sent" not in out and "deliveries                0 rows" in out


def test_demo_help_names_every_signals_scenario_and_its_own_database(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``demo --help`` described four of the scenarios after the flow signals were added."""
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for sid in registry():
        assert sid in text, sid
    assert "default: OUT/demo.db; never $FLOWWATCH_DB" in text


def test_db_stats_does_not_count_replay_events_as_deliveries(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "r.db")
    assert run(capsys, "backfill", "cboe", "--dir", str(data_dir), "--db", db)[0] == 0
    assert run(capsys, "replay", "vix_term", "--from", "2020-01-01", "--to", "2020-12-31", "--db", db)[0] == 0
    code, out, _err = run(capsys, "db", "stats", "--db", db)
    assert code == 0 and "live deliveries" not in out
    assert "replay events" in out and "never delivered" in out
    # no delivery rows at all: the replay's events used to be stored as "sent" console deliveries
    assert re.search(r"deliveries +0 rows", out), out
    assert re.search(r"replay events +[1-9]", out), out
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0] == 0
    finally:
        conn.close()


@pytest.mark.parametrize(
    "argv",
    [
        ["chart", "btc_liq", "-o", "{tmp}/x.png"],
        ["check", "vix_term", "--no-fetch"],
    ],
    ids=["chart", "check --no-fetch"],
)
def test_a_mistyped_db_path_is_no_database_never_an_empty_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    """Observed: these created an empty database (with -wal and -shm) at a mistyped --db path,
    then said "no stored data ... backfill first"; db stats and health say "no database at"."""
    db = tmp_path / "flowwatch.dbb"
    code, _, err = run(capsys, *[a.replace("{tmp}", str(tmp_path)) for a in argv], "--db", str(db))
    assert code == 2 and f"no database at {db}" in err and "--db" in err, err
    assert list(tmp_path.iterdir()) == []


def test_replay_checks_the_chart_folder_before_it_runs(
    loaded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Observed: ``replay --chart /nonexistent/x.png`` ran the whole replay, stored its events,
    then failed; ``chart -o`` checks the folder before doing any work."""
    target = tmp_path / "nonexistent" / "x.png"
    code, out, err = run(capsys, "replay", "vix_term", "--chart", str(target), "--db", str(loaded))
    assert code == 2 and f"folder {target.parent} does not exist" in err, err
    assert out == "" and "readings" not in err
    conn = open_db(loaded)
    try:
        assert conn.execute("SELECT COUNT(*) FROM replay_runs").fetchone()[0] == 0
    finally:
        conn.close()


def test_migration_drops_the_replay_deliveries_an_older_replay_wrote(tmp_path: Path) -> None:
    """An older database: replay events with "sent" console deliveries, and a killed replay whose
    last two events were not printed. The migration removes the replay's delivery rows (live ones
    stay) and remembers what was printed, so the killed replay still resumes where it stopped."""
    from storage.alerts import AlertEvent, insert_event
    from storage.db import open_db
    from storage.migrations import MIGRATIONS

    db = open_db(tmp_path / "old.db", migrate=False)
    MIGRATIONS.apply(db, stop_before="0007_replay_without_deliveries")
    ids = [
        insert_event(
            db, "replay", AlertEvent("vix_term", "vix3m", "fired", "alert", 1000 + i, f"e{i}"), ["console"]
        )
        for i in range(5)
    ]
    live = insert_event(db, "live", AlertEvent("vix_term", "vix3m", "fired", "alert", 99, "x"), ["console"])
    for i in ids[:3]:
        db.execute("UPDATE deliveries SET status = 'sent' WHERE alert_id = ?", [i])
    db.execute("INSERT INTO replay_runs (signal, args_hash, started_at) VALUES ('vix_term', 'h', 1)")
    db.conn.commit()
    MIGRATIONS.apply(db)
    rows = db.execute("SELECT alert_id FROM deliveries").fetchall()
    through = db.execute("SELECT emitted_through FROM replay_runs").fetchone()[0]
    db.close()
    assert rows == [(live,)]
    assert through == ids[2]


@pytest.mark.parametrize(
    ("argv", "usage", "needle"),
    [
        (["--bogus"], "usage: flowwatch [-h]", "unrecognized option --bogus: give a command first"),
        (
            ["run", "--bogus"],
            "usage: flowwatch run [-h]",
            "unrecognized option --bogus (flowwatch run --help",
        ),
        (["db", "--bogus"], "usage: flowwatch db [-h]", "unrecognized option --bogus: give a command first"),
        (["db", "stats", "--bogus"], "usage: flowwatch db stats [-h]", "unrecognized option --bogus"),
        (["check", "vix_term", "stray"], "usage: flowwatch check [-h]", "unrecognized arguments: stray"),
    ],
)
def test_an_unknown_option_is_named_with_its_commands_usage(
    capsys: pytest.CaptureFixture[str], argv: list[str], usage: str, needle: str
) -> None:
    """Observed: ``flowwatch --bogus`` said "the following arguments are required: COMMAND", and
    ``flowwatch run --bogus`` printed the top-level usage, not run's."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert err.startswith(usage) and needle in err, err


def test_replay_to_a_date_evaluates_that_whole_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--to 2019-07-19`` is the last date evaluated: its FedWatch settlement (stamped 19:00 UTC,
    the day of the July 2019 size whipsaw) is in the replay, not cut off at midnight; a time is
    kept as given."""
    from datetime import UTC, datetime

    from storage import observations as obs_repo
    from storage.observations import Observation

    db = tmp_path / "r.db"
    conn = open_db(db)
    for day in (16, 17, 18, 19):
        ts = int(datetime(2019, 7, day, 19, tzinfo=UTC).timestamp())
        obs_repo.upsert(
            conn,
            [
                Observation("fedwatch.fomc.2019-07-31.cut", ts, 0.3, "fedwatch-zq"),
                Observation("fedwatch.fomc.2019-07-31.hold", ts, 0.7, "fedwatch-zq"),
            ],
        )
    conn.close()

    def readings(to: str) -> int:
        code, _out, err = run(
            capsys, "replay", "ratecut", "--from", "2019-07-18", "--to", to, "--db", str(db), "--restart"
        )
        found = re.search(r"replay ratecut: (\d+) readings", err)
        assert code == 0 and found, err
        return int(found.group(1))

    one_day = readings("2019-07-18")
    assert one_day > 0  # the 18th's settlement: cut off at midnight, there was none
    assert readings("2019-07-19") == 2 * one_day
    assert readings("2019-07-19T18:00") == one_day  # before the 19th's settlement


def test_chart_at_a_date_draws_that_whole_day() -> None:
    """``chart --at 2024-08-05`` is as of the end of that day (its close is on the chart), as
    ``replay --to``; a time is kept as given."""
    from datetime import UTC, datetime

    from bot.cli import build_parser

    args = build_parser().parse_args(["chart", "vix_term", "--at", "2024-08-05", "-o", "x.png"])
    assert args.at == datetime(2024, 8, 5, 23, 59, 59, tzinfo=UTC)
    args = build_parser().parse_args(["chart", "vix_term", "--at", "2024-08-05T14:00", "-o", "x.png"])
    assert args.at == datetime(2024, 8, 5, 14, tzinfo=UTC)
