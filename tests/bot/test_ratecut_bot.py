"""ratecut through the bot: live notices, /status and the summary, /ratecut, the CLI, the chart."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.charts import render_png
from bot.cli import main
from bot.config import load_settings
from bot.pipeline import Pipeline
from bot.queries import chart_data, status
from bot.ratecut import RatecutInputError, parse_meeting, ratecut_answer
from bot.summary import status_line, summary_text
from signals import fomc
from signals.contract import default_params
from signals.fomc_dist import Bucket, dist_observations
from signals.ratecut import SIGNAL
from storage import observations as obs_repo
from storage.observations import Observation

DEC, JAN = "2026-12-09", "2027-01-27"
T = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def settings() -> Any:
    return load_settings(env={}, dotenv=None, check_db=False)


def quotes(
    venue: str, meeting: str, start: datetime, end: datetime, p: float, step: int = 5
) -> list[Observation]:
    out = []
    t = start
    while t <= end:
        out.append(Observation(f"{venue}.fomc.{meeting}.cut", int(t.timestamp()), p, venue))
        out.append(Observation(f"{venue}.fomc.{meeting}.hold", int(t.timestamp()), 1 - p, venue))
        t += timedelta(minutes=step)
    return out


def test_live_a_stale_venue_gets_its_own_notice_and_alerts_use_the_other(db: Any) -> None:
    start = T - timedelta(hours=6)
    rows = quotes("kalshi", DEC, start, T - timedelta(minutes=40), 0.30)
    rows += quotes("polymarket", DEC, start, T - timedelta(minutes=40), 0.30)
    rows += quotes("polymarket", DEC, T - timedelta(minutes=35), T, 0.50)  # +20 pp: a swing
    obs_repo.upsert(db, rows)
    pipe = Pipeline(settings())
    ev = pipe.evaluate(db, ["ratecut"], T + timedelta(minutes=1))["ratecut"]
    got = {(e.kind, e.key, e.event) for _, e in ev.events}
    assert ("notice", "stale:kalshi", "fired") in got
    assert not any(k == "stale:polymarket" for _, k, _ in got)
    assert ev.stale == {"kalshi": "no fresh Kalshi quote for 41 min (last at 2026-11-20 14:20 UTC)"}
    swing = next(r for r in ev.readings if r.key == f"{DEC}.swing")
    assert swing.data["primary"] == "polymarket"
    # Kalshi comes back: a recovery notice
    obs_repo.upsert(db, quotes("kalshi", DEC, T + timedelta(minutes=5), T + timedelta(minutes=5), 0.50))
    ev = pipe.evaluate(db, ["ratecut"], T + timedelta(minutes=6))["ratecut"]
    assert ("notice", "stale:kalshi", "resolved") in {(e.kind, e.key, e.event) for _, e in ev.events}
    # both silent for an hour: the readings themselves are stale, no alert is evaluated
    ev = pipe.evaluate(db, ["ratecut"], T + timedelta(minutes=70))["ratecut"]
    assert f"{DEC}.swing" in ev.stale and "for 65 min" in ev.stale[f"{DEC}.swing"]
    assert all(e.kind == "notice" for _, e in ev.events)


def test_status_and_summary_show_the_odds_of_the_next_two_meetings(db: Any) -> None:
    rows = quotes("kalshi", DEC, T - timedelta(days=2), T, 0.25, step=30)
    rows += quotes("polymarket", DEC, T - timedelta(days=2), T, 0.27, step=30)
    rows += quotes("kalshi", JAN, T - timedelta(days=2), T, 0.45, step=30)
    obs_repo.upsert(db, rows)
    now = T + timedelta(minutes=2)
    rows_ = [ks for ks in status(db, settings(), now) if ks.signal == "ratecut"]
    assert [ks.key for ks in rows_] == [f"{DEC}.swing", f"{JAN}.swing"]
    line = status_line(rows_[0])
    assert line.startswith(
        "[      OK] ratecut · FOMC Dec 9, 2026: P(cut) 25% on Kalshi (1 h / 1 d / 1 w ago: 25% / 25% / n/a)"
    )
    assert "Polymarket 27%; majority: no cut; venues 2 pp apart; as of 2026-11-20 15:00Z" in line
    text = summary_text(db, settings(), now)
    assert "ratecut · FOMC Jan 27, 2027: P(cut) 45% on Kalshi" in text


def test_ratecut_answer_for_a_meeting(db: Any) -> None:
    rows = quotes("kalshi", DEC, T - timedelta(days=2), T, 0.25, step=30)
    rows += [Observation(f"kalshi.fomc.{DEC}.hike", int(T.timestamp()), 0.01, "kalshi")]
    obs_repo.upsert(db, rows)
    ans = ratecut_answer(db, settings(), T + timedelta(minutes=2), parse_meeting("dec", T))
    assert ans.title.startswith("FOMC Dec 9, 2026 (statement 2026-12-09 19:00 UTC, in 19d")
    assert ans.fields["Kalshi"].startswith(
        "25% cut · 75% hold · 1% hike (as of 11-20 15:00 UTC) · 1 h ago 25%"
    )
    assert ans.fields["Polymarket"] == "no market stored for this meeting"
    assert ans.fields["FedWatch"].startswith("not imported (no free live source of ZQ prices")
    assert ans.fields["Alerts"] == "swing ok, flip ok, divergence ok, size ok"
    assert ans.chart.signal == "ratecut" and ans.chart.meeting == DEC
    assert render_png(ans.chart)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "P(cut) 25% on Kalshi" in ans.text


@pytest.mark.parametrize(
    ("text", "meeting"),
    [
        (None, DEC),
        ("next", DEC),
        ("2", JAN),
        ("2026-12-09", DEC),
        ("2026-12-08", DEC),
        ("dec", DEC),
        ("December 2025", "2025-12-10"),
        ("2027-03", "2027-03-17"),
        (" Jan ", JAN),
    ],
)
def test_parse_meeting(text: str | None, meeting: str) -> None:
    assert parse_meeting(text, T).id == meeting


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("soon", "cannot read meeting 'soon'"),
        ("2026-12-10", "not an FOMC decision date"),
        ("aug 2026", "no FOMC meeting"),
    ],
)
def test_parse_meeting_errors_say_what_is_allowed(text: str, needle: str) -> None:
    with pytest.raises(RatecutInputError, match=needle):
        parse_meeting(text, T)


def test_chart_follows_the_alerts_meeting(db: Any) -> None:
    rows = quotes("kalshi", DEC, T - timedelta(days=3), T, 0.25, step=60)
    rows += quotes("kalshi", JAN, T - timedelta(days=3), T, 0.45, step=60)
    obs_repo.upsert(db, rows)
    inp = obs_repo.load_inputs(db, SIGNAL.inputs)
    p = default_params(SIGNAL)
    assert SIGNAL.chart(inp, p, T, 10).meeting == DEC  # the next meeting by default
    at = T - timedelta(hours=5)
    data = SIGNAL.chart(inp, p, at + timedelta(seconds=1), 10, [(at, "alert", f"{JAN}.swing")])
    assert data.meeting == JAN and data.marks[0][2:] == ("alert", "swing")
    labels = [r[2] for r in data.refs]
    assert labels == ["1D", "now"]  # 1W and 1M are before the data starts
    assert data.show_decision is False  # January is two months after the chart's end
    assert render_png(data)[:4] == b"\x89PNG"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_backfill_replay_and_chart_of_the_december_2025_file(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = str(data_dir / "fed_dec2025_nochange_polymarket_kalshi_30min.csv")
    db = str(tmp_path / "f.db")
    code, out, _ = run(capsys, "backfill", "kalshi", "--file", f, "--db", db)
    assert code == 0 and "kalshi: 2012 observations" in out and "P(cut) = 1 - P(hold)" in out
    code, out, _ = run(capsys, "backfill", "polymarket", "--file", f, "--db", db)
    assert code == 0 and "polymarket: 2010 observations" in out
    code, out, err = run(
        capsys, "replay", "ratecut", "--format", "jsonl", "--db", db, "--chart", str(tmp_path / "r.png")
    )
    assert code == 0
    events = [json.loads(line) for line in out.splitlines()]
    assert len(events) == 9 and {e["signal"] for e in events} == {"ratecut"}
    assert events[3]["key"] == "2025-12-10.swing" and events[3]["level"] == "severe"
    assert events[3]["ts"] == "2025-11-21T13:30:27Z" and "WHIPSAW" in events[3]["summary"]
    assert "replay ratecut: 3018 readings, 9 events" in err
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"
    code, out, _ = run(capsys, "chart", "ratecut", "--days", "30", "-o", str(tmp_path / "c.png"), "--db", db)
    assert code == 0 and "ratecut over 30 days" in out
    # a stricter swing size is a backtest away
    code, out, _ = run(capsys, "replay", "ratecut", "--format", "jsonl", "--set", "swing_pp=25", "--db", db)
    assert (
        code == 0 and json.loads(out.splitlines()[0])["ts"] > events[0]["ts"]
    )  # the first watch comes later


def test_cli_rejects_bad_ratecut_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "x.db")
    code, _, err = run(capsys, "backfill", "fedwatch", "--db", db)
    assert code == 2 and "fedwatch needs --file F" in err and "no live source" in err
    code, _, err = run(capsys, "replay", "ratecut", "--set", "flip_band=50", "--db", db)
    assert code == 2 and "flip_band: '50' is out of range (allowed 0.5 to 20 pp)" in err
    code, _, err = run(capsys, "replay", "ratecut", "--set", "exit_ratio=0.9", "--db", db)
    assert code == 2 and "ratios must rise" in err


def test_chart_data_loads_the_whole_range_not_only_the_lookback(db: Any) -> None:
    obs_repo.upsert(db, quotes("kalshi", DEC, T - timedelta(days=40), T, 0.25, step=180))
    data = chart_data(db, settings(), "ratecut", T + timedelta(minutes=1), 45)
    assert [r[2] for r in data.refs] == ["1M", "1W", "1D", "now"]
    assert fomc.get(data.meeting) is not None


async def test_live_polls_through_the_app_with_a_429_and_a_broken_json_string(tmp_path: Path) -> None:
    """The runner's path: both venues polled (Kalshi answers 429 first), stored, evaluated."""
    import httpx

    from bot.clock import SimClock
    from bot.runner import App
    from signals import sources
    from tests.conftest import fixture_text

    now = datetime(2026, 11, 20, 15, 0, 30, tzinfo=UTC)
    gamma = json.loads(fixture_text("polymarket/gamma_events.json"))
    gamma[0]["markets"][0]["outcomePrices"] = '["0.004", '  # a tail bucket's string is cut off
    gamma[0]["markets"][0]["bestBid"] = None  # so its price has to come from that string:
    gamma[0]["markets"][0]["lastTradePrice"] = None  # the bucket is skipped, the meeting is not
    calls = {"kalshi": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "external-api.kalshi.com":
            calls["kalshi"] += 1
            if calls["kalshi"] == 1:
                return httpx.Response(429, headers={"Retry-After": "0"})
            return httpx.Response(200, text=fixture_text("kalshi/events_KXFEDDECISION_nested.json"))
        return httpx.Response(200, json=gamma)

    s = load_settings(env={"FLOWWATCH_DB": str(tmp_path / "live.db")}, dotenv=None)
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    app = App(s, clock=SimClock(now), client=client, sinks=[])
    await app.store.open()
    try:
        await app.store.call(app.pipeline.load)
        for poll in sources.polls():
            if poll.name in ("kalshi_fomc", "polymarket_fomc"):
                await app.run_poll(poll)
        rows = await app.store.call(lambda db: [ks for ks in status(db, s, now) if ks.signal == "ratecut"])
        stats = await app.store.call(lambda db: obs_repo.series_stats(db))
    finally:
        await client.aclose()
        await app.store.close()
        app.renderer.close()
    assert calls["kalshi"] == 2
    assert {st["series"] for st in stats} >= {
        f"kalshi.fomc.{DEC}.cut",
        f"polymarket.fomc.{DEC}.cut",
        f"kalshi.fomc.{JAN}.cut",
    }
    line = status_line(rows[0])
    assert "P(cut) 2% on Kalshi" in line and "Polymarket 2%" in line
    assert "majority: undecided" in line  # one reading so far; the side needs two


def test_ratecut_answer_names_the_expected_move_and_a_size_repricing(db: Any) -> None:
    """With the buckets stored, the answer gives each venue's expected move and the size line."""
    start = T - timedelta(days=2)
    rows = []
    for i in range(2 * 48 + 1):
        t = start + timedelta(minutes=30 * i)
        q = 0.1 if t < T - timedelta(hours=6) else 0.5  # the odds of 50 bp or more: 10 % -> 50 %
        dist = {Bucket(-25): 1 - q, Bucket(-50, True): q}
        rows += dist_observations("kalshi", DEC, int(t.timestamp()), dist, "kalshi")
        rows.append(Observation(f"kalshi.fomc.{DEC}.path_bp", int(t.timestamp()), -25 - 25 * q, "kalshi"))
    obs_repo.upsert(db, rows)
    ans = ratecut_answer(db, settings(), T + timedelta(minutes=2), parse_meeting("dec", T))
    assert "expected move -38 bp" in ans.fields["Kalshi"]
    assert ans.fields["Size"].startswith(
        "Dec 9: odds of a cut of 50 bp or more 10% → 50% in 6 h; expected move −38 bp (was −28 bp)"
    )
