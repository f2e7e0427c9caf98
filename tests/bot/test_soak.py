"""Soak: ``flowwatch run`` over simulated hours at an accelerated clock (``tests/bot/soak_harness.py``).

The harness runs in a process of its own (so its RSS is the bot's) and reports samples and
end-of-run facts; these tests hold them to the rules:

- memory: RSS stays flat after the warm-up (the first cascade's charts load matplotlib's
  fonts) and ends under its target; gc-tracked objects, open files, threads and tasks too;
- in-memory structures stay bounded (the live book's ring and price list, latency samples,
  parse-error reasons, up-intervals, the raw batch between writes, engine states);
- the database grows as retention says and no more: raw frames kept
  ``FLOWWATCH_LIQ_RETENTION_DAYS`` (pruned hourly by the service and by the daily prune),
  1-minute buckets kept ``FLOWWATCH_LIQ_MINUTE_RETENTION_DAYS`` (whole days, by the daily prune)
  while their roll-ups keep every minute, ``yahoo.%.5m`` kept 30 days, alert lifecycles older
  than the alert retention dropped, nothing left in the outbox, the WAL checkpointed by the prune;
- everything that was sent was read, every alert delivered with its chart, and no error logged.

The default variant covers an hour and a half around the 04:17 UTC prune of a bot with four
days of history (seconds); the slow one a whole day of a bot with 402 days of 1-minute buckets
(a year with every minute kept: what bounded reads must not mind) and takes about ten minutes
on two cores.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.streams import LATENCY_SAMPLES

REPO = Path(__file__).resolve().parents[2]
RAW_BYTES_PER_FRAME = 600  # a stored frame is ~250-330 characters; pages and the index add the rest
EXPECTED_WARNINGS = (
    r"sp500: the list has only \d+ constituents",  # the recorded list is a subset
    r"okx liquidation-orders: skipped 0 malformed frame\(s\) and \d+ bad liquidation\(s\): .* in the future",
    r"stream down \(closed by the venue \(code 1011: going away\)\)",  # the drops the run makes
)


def soak(tmp_path: Path, *args: str, timeout: float) -> dict[str, Any]:
    out = tmp_path / "report.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWWATCH_", "DISCORD_"))}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.bot.soak_harness",
            *args,
            "--dir",
            str(tmp_path / "run"),
            "--out",
            str(out),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def check(r: dict[str, Any], *, rss_target: float, warm_hours: float, rss_growth: float) -> None:
    cfg = r["config"]
    t0, hours, step = _t0(cfg), cfg["hours"], cfg["step"]
    t_end = t0 + hours * 3600
    samples = r["samples"]
    assert samples[-2]["hour"] == pytest.approx(hours)

    # -- everything sent was read, delivered, charted; nothing went wrong -----------------
    assert r["frames_read"] == r["frames"] and sum(r["frames"].values()) > 1000 * hours
    assert r["unknown_urls"] == []
    assert r["jobs"]["heartbeat"] == round(hours * 60) and r["jobs"]["evaluate"] == round(hours * 4)
    assert r["jobs"]["poll:kalshi_fomc"] == r["jobs"]["poll:polymarket_fomc"] == round(hours * 12)
    cascades = [h for h in cfg["cascades"] if h < hours - 1]
    ev = r["events"]
    assert ev.get("alert:btc_liq:fired", 0) >= len(cascades) >= 1
    assert ev.get("alert:btc_liq:resolved", 0) == ev["alert:btc_liq:fired"]
    alerts = sum(n for k, n in ev.items() if k.startswith("alert:"))
    assert r["console_lines"] == sum(ev.values()) and r["charts"] == alerts
    assert r["end_db"]["deliveries"].get("pending", 0) == 0 and "failed" not in r["end_db"]["deliveries"]
    assert r["logs"].get("ERROR", 0) == 0 and r["logs"].get("CRITICAL", 0) == 0
    for w in r["warnings"]:
        assert any(re.search(p, w) for p in EXPECTED_WARNINGS), w
    assert r["latency_ms"]["p99"] < 250  # frame to outbox, the alert writes of the run
    assert r["end_db"]["integrity"] == "ok"

    # -- memory: flat after the warm-up, under the target at the end ---------------------
    warm = [s for s in samples[:-1] if s["hour"] >= warm_hours]
    base = warm[0]
    rss = [s["rss"] for s in warm]
    assert max(rss) - base["rss"] <= rss_growth, rss
    assert samples[-1]["rss"] < rss_target, rss
    assert _slope([s["hour"] for s in warm], rss) < rss_growth / max(hours - warm_hours, 1)
    assert max(s["objects"] for s in warm) <= 1.15 * base["objects"]
    assert max(s["fds"] for s in warm) <= base["fds"] + 3
    assert max(s["threads"] for s in warm) <= base["threads"] + 2
    assert max(s["tasks"] for s in warm) <= base["tasks"] + 3
    for s in samples:
        m = s["memory"]
        assert m["book_ring_minutes"] == 3000 and m["book_prices"] <= 6000
        assert m["latencies"] <= LATENCY_SAMPLES and m["stats_reasons"] <= 5
        assert m["raw_batch_frames"] <= 2000 and m["book_touched"] <= 120
        assert m["health_up_intervals"] <= 1 + len(cfg["drops"]) + 1  # one per session, 2 days kept
        assert m["app_tasks"] <= 3 and m["notices"] == 3
    assert {s["memory"]["engine_states"] for s in warm} == {base["memory"]["engine_states"]}  # one per key
    periods = [s["memory"]["baseline_periods"] for s in samples]
    assert max(periods) - min(periods) <= 4 * hours + 8  # the lookback slides; it does not pile up

    # -- the database: as retention says, and no more --------------------------------------
    db = r["end_db"]
    keep_ms = (t_end - cfg["retention_days"] * 86400) * 1000
    raw = db["liq_raw"]
    # pruned hourly by the service (its refresh) and daily by App.prune: nothing older than the
    # retention and one refresh interval; what is newer is all there
    assert raw["min_last_ms"] >= keep_ms - 3600 * 1000 - 60_000
    assert raw["min_first_ms"] <= keep_ms + 3600 * 1000
    sent = {ms: n for ms, n in r["btc_frames"]}
    assert sum(n for ms, n in sent.items() if ms > keep_ms) <= raw["frames"]
    assert raw["frames"] <= sum(n for ms, n in sent.items() if ms > keep_ms - 3600 * 1000 - step * 1000)
    end = samples[-1]["db"]
    assert end["tables"]["liq_raw"] <= RAW_BYTES_PER_FRAME * raw["frames"] + 64 * 1024
    # 1-minute buckets: one per minute of the run, and the seeded ones the minute retention keeps
    # (FLOWWATCH_LIQ_MINUTE_RETENTION_DAYS, whole UTC days, applied by the daily prune); the
    # roll-ups keep every minute ever written, pruned or not
    minutes = int(hours * 60)
    prune = r["after_prune"]
    seed_start = int(t0) // 60 * 60 - cfg["seed_days"] * 86400
    keep_from = seed_start
    if prune and cfg["minute_retention_days"]:
        cut = int(t0 + prune["hour"] * 3600 - cfg["minute_retention_days"] * 86400) // 86400 * 86400
        keep_from = max(seed_start, cut)
    for name, b in db["liq_1m"].items():
        assert b["rows"] == b["in_run"] + (int(t0) // 60 * 60 - keep_from) // 60, name
        assert minutes - 1 <= b["in_run"] <= minutes + 1, name
    for venue, rolled in db["rollup_minutes"].items():
        run_minutes = db["liq_1m"][f"{venue}.long"]["in_run"]
        assert rolled["minutes"] == cfg["seed_days"] * 1440 + run_minutes, venue
    # yahoo.%.5m: 30 days as of the prune, the run's own bars added
    if prune:
        cut = t0 + prune["hour"] * 3600 - 30 * 86400
        seeded = [t for t in r["seed"]["yahoo_stamps"] if t >= cut]
        assert [t for t in db["yahoo"] if t < t0] == seeded
        assert prune["wal"] == 0  # checkpointed (TRUNCATE)
        # the lifecycle older than the alert retention is gone with its deliveries; the recent one stays
        assert "btc_liq:cascade:old" not in db["alerts_by_episode"]
    assert db["alerts_by_episode"]["btc_liq:cascade:recent"] == 2
    assert max(s["db"]["wal"] for s in samples) <= 32 * 2**20
    assert end["free"] <= max(4 * 2**20, 2 * end["tables"]["liq_raw"])  # freed pages are reused


def _t0(cfg: dict[str, Any]) -> float:
    from datetime import datetime

    return datetime.fromisoformat(cfg["start"]).timestamp()


def _slope(xs: list[float], ys: list[float]) -> float:
    if len(xs) < 3:
        return 0.0
    return statistics.linear_regression(xs, ys).slope


def test_soak_short(tmp_path: Path, fixtures_dir: Path) -> None:
    """An hour and a half around the daily prune: a cascade, a dropped connection, the polls, the
    minute retention."""
    r = soak(
        tmp_path,
        *("--start", "2026-11-21T03:30:00+00:00", "--hours", "1.5", "--seed-days", "4"),
        # the prune takes the seeded minutes of the day before the last three (their roll-ups stay)
        *("--minute-retention-days", "3"),
        *("--cascades", "0.1", "--drops", "0.6", "--retention-days", "0.02", "--sample-every", "600"),
        timeout=300,
    )
    check(r, rss_target=250, warm_hours=0.5, rss_growth=15)
    assert r["jobs"]["prune"] == 1 and r["wall_seconds"] < 60


@pytest.mark.slow
def test_soak_a_day_with_a_year_of_history(tmp_path: Path, fixtures_dir: Path, data_dir: Path) -> None:
    # 402 days: the live baselines read 400 days and a day's margin, so the lookback is full
    # from the start and slides (with less, the first day only fills it and the periods grow)
    # the minute retention (400 days) takes the seeded minutes older than that at the daily prune
    r = soak(tmp_path, "--hours", "24", "--seed-days", "402", "--minute-retention-days", "400", timeout=3600)
    check(r, rss_target=250, warm_hours=4, rss_growth=40)
    assert r["jobs"]["prune"] == 1 and r["jobs"]["summary"] == 1 and r["jobs"]["poll:earnings_calendar"] == 1
    assert r["http"]["query1.finance.yahoo.com"] > 200  # a US session of 5-minute polls
    assert r["peak_rss"] < 1024
