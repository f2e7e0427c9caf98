"""``flowwatch demo``: a built-in scenario driven through the whole pipeline, offline.

Each signal contributes its own synthetic scenario (``Signal.demo``: observations and, for
table inputs, table rows): for vix_term a vol shock that inverts the curve deeply and recovers, for
buyback an earnings calendar with two seasons. The observations go into a fresh SQLite
file in the output folder, the replay engine drives every signal over them with a simulated
clock, alerts go to the console (text or JSON lines), and the charts and the summary are
written to the output folder.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.alert_text import alert_chart
from bot.charts import render_png
from bot.config import Settings
from bot.formatting import event_jsonl, event_line
from bot.queries import alert_chart_data, chart_data
from bot.replay import run_replay
from bot.summary import summary_text
from signals import registry
from signals.contract import alert_chart_days_of
from storage import batches
from storage import state as state_repo
from storage.alerts import AlertEvent
from storage.db import open_db
from storage.timeutil import from_epoch

START = datetime(2026, 1, 5, tzinfo=UTC)


def run_demo(settings: Settings, out: Path, fmt: str = "text", db_path: Path | None = None) -> int:
    out.mkdir(parents=True, exist_ok=True)
    db_path = db_path or out / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    db = open_db(db_path)
    sigs = list(registry().values())
    for sig in sigs:
        batches.write(db, sig.demo(START).batch(), live=False)
    tz = settings.timezone
    fired: list[AlertEvent] = []

    def emit(_id: int, ev: AlertEvent) -> None:
        sys.stdout.write((event_jsonl(ev) if fmt == "jsonl" else event_line(ev, tz)) + "\n")
        sys.stdout.flush()
        fired.append(ev)

    params = {s.id: settings.signal_params(s.id) for s in sigs}
    res = run_replay(db, sigs, params, START, None, emit=emit, resume=False)
    # The demo's replay lifecycle becomes the "live" state that the summary reads.
    with db.atomic():
        state_repo.delete_scope(db, "live")
        state_repo.save_states(db, "live", list(state_repo.load_states(db, "replay").values()))
        db.execute("UPDATE alerts SET scope = 'live' WHERE scope = 'replay'")
        # the replay printed them; nothing was delivered anywhere
        db.execute("DELETE FROM deliveries")
    end = max((from_epoch(ev.ts) for ev in fired), default=START) + timedelta(days=14)
    written = []
    for n, ev in enumerate([e for e in fired if e.event in ("fired", "escalated")], start=1):
        at = from_epoch(ev.ts) + timedelta(seconds=1)
        path = out / f"alert-{n:02d}-{ev.signal}-{ev.key}-{ev.event}.png"
        days = min(120, alert_chart_days_of(registry()[ev.signal]))
        # the chart the alert would carry (btc_liq draws the cascade itself)
        data = alert_chart_data(db, settings, ev) or alert_chart(
            chart_data(db, settings, ev.signal, at, days), ev
        )
        path.write_bytes(render_png(data))
        written.append(path)
    for sig in sigs:
        last = db.execute("SELECT MAX(ts) FROM observations").fetchone()[0]
        at = from_epoch(last) + timedelta(days=1) if last else end
        path = out / f"{sig.id}.png"
        path.write_bytes(render_png(chart_data(db, settings, sig.id, at, 200)))
        written.append(path)
    last = db.execute("SELECT MAX(ts) FROM observations").fetchone()[0]
    summary_at = from_epoch(last) + timedelta(minutes=1) if last else end  # as the last data arrives
    # recorded data is never stale (as in replay): the summary does not judge it by the wall clock
    text = summary_text(db, settings, summary_at, judge_stale=False)
    (out / "summary.txt").write_text(text + "\n", encoding="utf-8")
    db.close()
    print(
        f"demo: {res.readings} readings, {len(fired)} alert events; wrote {len(written)} charts, summary.txt "
        f"and the database {db_path} to {out}/",
        file=sys.stderr,
    )
    return 0
