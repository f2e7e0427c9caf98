"""Alert messages read in three seconds, checked on every event of the built-in scenario (all four
signals through the real replay engine): a headline with the number, the level in words, a first
line a phone shows whole, one unit style, Discord timestamps in Discord, nothing said twice, and a
level that never contradicts the words."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.alert_text import present, usd
from bot.config import load_settings
from bot.demo import START
from bot.discord_embeds import alert_embed, notice_embed
from bot.formatting import event_json, event_line
from bot.replay import run_replay
from signals import registry
from signals.contract import default_params
from storage import batches
from storage import observations as obs_repo
from storage.alerts import AlertEvent, StoredAlert
from storage.db import open_db
from storage.timeutil import from_epoch


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> list[AlertEvent]:
    db = open_db(Path(tmp_path_factory.mktemp("demo")) / "demo.db")
    sigs = list(registry().values())
    for sig in sigs:
        batches.write(db, sig.demo(START).batch(), live=False)
    settings = load_settings(env={}, dotenv=None, check_db=False)
    out: list[AlertEvent] = []
    run_replay(
        db,
        sigs,
        {s.id: settings.signal_params(s.id) for s in sigs},
        START,
        None,
        emit=lambda _id, ev: out.append(ev),
        resume=False,
    )
    db.close()
    assert {e.signal for e in out} == set(registry())
    return out


def _stored(ev: AlertEvent) -> StoredAlert:
    return StoredAlert(**{**vars(ev), "id": 1, "scope": "live", "created_at": 0})


def test_every_title_carries_its_number_and_level_in_words(events: list[AlertEvent]) -> None:
    for ev in events:
        text = present(ev, str)
        assert re.match(r"(Easing to )?(Heads-up|Alert|Severe|Over)\b", text.title), text.title
        assert re.search(r"\d", text.title), text.title
        assert len(text.first_line) <= 200, text.first_line
        assert "USD" not in text.first_line + " ".join(text.fields.values())
        for word in ("watch", "[alert]", "(severe)"):
            assert word not in text.title


def test_units_are_one_style() -> None:
    assert [usd(x) for x in (950_000, 14_564_936, 1_457_934_389)] == ["$950K", "$14.6M", "$1.46B"]


def test_btc_cascade_headline_is_the_number_and_its_time(events: list[AlertEvent]) -> None:
    fired = next(e for e in events if e.signal == "btc_liq" and e.event == "fired")
    assert present(fired, str).title == "Heads-up: BTC liquidations: $7.4M in 5 min (longs 83%)"
    over = next(e for e in events if e.signal == "btc_liq" and e.event == "resolved")
    text = present(over, str)
    # the demo's cascade has 8 days of history behind it: too little to call it the year's record
    assert text.title.startswith("Over (was Alert): BTC cascade: $1.46B in ")
    assert "Peak $1.46B (Alert)" in text.first_line
    assert " min" not in text.first_line and "over after" not in text.first_line.lower()  # one duration


def test_level_never_contradicts_the_words(events: list[AlertEvent]) -> None:
    """VIX/VIX3M 1.122 is past the 1.10 Severe line on one close; the 2-close rule fires it as a
    heads-up, and the message says that Severe waits for confirmation."""
    ev = next(e for e in events if e.key == "vix3m" and e.event == "fired")
    assert ev.level == "watch" and ev.value > 1.10
    text = present(ev, str)
    assert text.title.startswith("Heads-up: VIX/VIX3M 1.122")
    assert "already at Severe" in text.pending and "after 1 more close at that level" in text.pending
    assert "awaiting" not in json.dumps(event_json(ev))  # the jsonl contract is unchanged
    sig = registry()["vix_term"]
    for other in events:
        if other.signal == "vix_term" and other.event in ("fired", "escalated"):
            shown = sig.grade(other.key, other.value, other.data, default_params(sig)).label
            assert shown == other.level or other.data["awaiting"]["level"] == shown, other


def test_discord_embed_uses_timestamps_and_repeats_nothing(events: list[AlertEvent]) -> None:
    for ev in events:
        e = alert_embed(_stored(ev))
        fields = {f.name: f.value or "" for f in e.fields}
        assert re.fullmatch(r"<t:\d+:f> \(<t:\d+:R>\)", fields["As of"])
        assert " UTC" not in (e.description or "") + "".join(fields.values())
        first = (e.description or "").splitlines()[0]
        for value in fields.values():
            assert value not in first or len(value) < 6, (value, first)


def test_jsonl_keeps_the_machine_levels(events: list[AlertEvent]) -> None:
    assert {event_json(e)["level"] for e in events} <= {"ok", "watch", "alert", "severe"}


def test_notices_never_look_like_market_alerts() -> None:
    notice = AlertEvent(
        signal="btc_liq",
        key="stale:bybit",
        event="fired",
        level="watch",
        prev_level="ok",
        ts=1_767_706_000,
        summary="Stale data for btc_liq/bybit: no frames for 20 min; no alerts from it until fresh data arrives",
        kind="notice",
    )
    line = event_line(notice)
    assert (
        "NOTICE" in line and "not a market alert" in line and "FIRED" not in line and "Heads-up" not in line
    )
    e = notice_embed(_stored(notice))
    assert (e.title or "").startswith("⚙️ Operational notice · stale data: btc_liq/bybit")
    assert (
        "Not a market alert" in (e.description or "") and e.colour is not None and e.colour.value == 0x607D8B
    )


def test_alert_charts_are_titled_with_the_alert_and_vix9d_plots_vix9d(
    events: list[AlertEvent], tmp_path: Path
) -> None:
    from bot.alert_text import alert_chart
    from bot.charts import render_png
    from bot.queries import chart_data
    from storage.timeutil import from_epoch

    db = open_db(tmp_path / "c.db")
    obs_repo.upsert(db, registry()["vix_term"].demo(START).observations)
    settings = load_settings(env={}, dotenv=None, check_db=False)
    ev = next(e for e in events if e.key == "vix9d" and e.event == "fired")
    data = alert_chart(chart_data(db, settings, "vix_term", from_epoch(ev.ts + 1), 120), ev)
    db.close()
    assert data.title == "Heads-up: VIX9D/VIX 1.078: front end inverted · 2026-05-14"
    assert data.focus_key == "vix9d"
    front = data.front_ratio
    assert abs(front[-1] - 1.078) < 0.001 and data.front_thresholds == {"watch": 1.0}
    assert render_png(data).startswith(b"\x89PNG")


def test_a_size_repricing_names_the_expected_move_in_bp(events: list[AlertEvent]) -> None:
    sizes = [e for e in events if e.signal == "ratecut" and e.key.endswith(".size")]
    assert sizes, "the ratecut demo has a size repricing"
    for ev in sizes:
        text = present(ev, str)
        # the next meeting's own move, or a later meeting's path through it (never called its move)
        what = "expected path to it" if ev.data.get("path") else "expected move"
        assert re.search(what + r" ([+−-]\d+|0) bp", text.title), text.title
        assert "P(cut)" not in text.title, text.title
        if ev.event != "resolved":
            assert "repricing size" in text.fields.get("Size", ""), text.fields


def test_a_chart_seen_alone_says_the_level_awaiting_confirmation(events: list[AlertEvent]) -> None:
    """The demo's VIX/VIX3M 1.122 fires as a heads-up past the Severe line: its chart title says
    Severe awaits confirmation; a chart of an alert at its own level says nothing of the kind."""
    from bot.alert_text import chart_title

    ev = next(e for e in events if e.key == "vix3m" and e.event == "fired")
    title = chart_title(ev)
    assert title.startswith("Heads-up: VIX/VIX3M 1.122: curve inverted · Severe awaiting confirmation · ")
    assert len(title) <= 110
    plain = next(e for e in events if e.event in ("fired", "escalated") and "awaiting" not in e.data)
    assert "awaiting" not in chart_title(plain)


def test_a_worded_unit_is_set_apart_from_its_number() -> None:
    """``check`` printed "23.1pctl below Heads-up" for one flow signal and "56.9 pctl" for another."""
    from bot.formatting import fmt_amount

    assert fmt_amount("credit", 23.1, "pctl").endswith(" pctl")
    assert fmt_amount("vol_control", 56.9, " pctl").endswith(" pctl") and "  " not in fmt_amount(
        "vol_control", 56.9, " pctl"
    )
    assert fmt_amount("btc_liq", 13.8, "M USD") == "$13.8M"


def test_every_signal_reads_the_same_way(events: list[AlertEvent]) -> None:
    """The same rules for all eight signals, the flow signals added later included: one money style
    ($1.46B, $41B, $1.25T: never "$41bn" beside "$1.46B"), one percent style ("-1.1%", never
    "-1.1 %" beside "+78%"), a peak with its unit (never a bare "peak 91.7"), percentile ordinals
    in English ("99.2nd"), a line on what the move usually means, the level's colour, and a chart
    title that names the alert and keeps its date."""
    from bot.alert_text import chart_title

    colours = {"watch": 0xF9A825, "alert": 0xEF6C00, "severe": 0xC62828, "ok": 0x2E7D32}
    seen: set[str] = set()
    for ev in events:
        text = present(ev, str)
        shown = " ".join([text.title, text.first_line, *text.fields.values()])
        money = re.findall(r"-?\$\d[\d.,]*[A-Za-z]*", shown)
        bad_money = [m for m in money if not re.fullmatch(r"-?\$\d[\d,]*(\.\d+)?[KMBT]?", m)]
        assert not bad_money, (ev.signal, bad_money, shown)
        assert not re.search(r"\d %", shown), (ev.signal, shown)
        assert not re.search(r"\d\.[123]th percentile", shown), (ev.signal, shown)
        assert not re.search(r"-\$0\b|\$0m|-0 points", shown), (ev.signal, shown)
        if ev.event == "resolved":
            if ev.signal != "vix_term":  # a VIX ratio's peak is the ratio, as in its title
                assert not re.search(r"[Pp]eak -?\d+(\.\d+)? \(", text.first_line), (
                    ev.signal,
                    text.first_line,
                )
        else:
            assert text.meaning and "\n" not in text.meaning and len(text.meaning) <= 200, (ev.signal, text)
        e = alert_embed(_stored(ev))
        assert e.colour is not None and e.colour.value == colours[ev.level], (ev.signal, ev.level, e.colour)
        title = chart_title(ev)
        date = f" · {from_epoch(ev.ts):%Y-%m-%d}"
        assert title.endswith(date) and len(title) <= 110, title
        assert title.startswith(text.title[:30]), (title, text.title)
        seen.add(ev.signal)
    assert seen == set(registry())


def test_the_console_writes_times_in_flowwatch_timezone(events: list[AlertEvent], tmp_path: Path) -> None:
    """Discord gets ``<t:…:f>`` (each reader's own zone); the console line, the run's own console
    sink included, uses ``FLOWWATCH_TIMEZONE``."""
    from zoneinfo import ZoneInfo

    from bot.runner import App
    from bot.sinks.console import ConsoleSink

    ev = next(e for e in events if e.key == "vix3m" and e.event == "fired")
    local = from_epoch(ev.ts).astimezone(ZoneInfo("America/New_York"))
    line = event_line(ev, ZoneInfo("America/New_York"))
    assert line.startswith(f"{local:%Y-%m-%d %H:%M} E") and "<t:" not in line, line
    assert event_line(ev).startswith(f"{from_epoch(ev.ts):%Y-%m-%d %H:%M}Z")
    settings = load_settings(
        env={"FLOWWATCH_DB": str(tmp_path / "tz.db"), "FLOWWATCH_TIMEZONE": "America/New_York"}, dotenv=None
    )
    app = App(settings)
    sink = app.sinks[0]
    assert isinstance(sink, ConsoleSink) and sink.tz == ZoneInfo("America/New_York")


def test_the_signal_pages_show_alerts_as_the_bot_writes_them(events: list[AlertEvent]) -> None:
    """A signal page's "What an alert says" example is the message the bot writes for that demo
    event today (title, first line, meaning): a changed message fails here until the page follows."""
    docs = Path(__file__).resolve().parents[2] / "docs" / "signals"
    shown = {
        (t.title, t.first_line, t.meaning) for t in (present(e, str) for e in events if e.event != "resolved")
    }
    pages = 0
    for page in sorted(docs.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        if "## What an alert says" not in text:
            continue
        pages += 1
        block = text.split("## What an alert says", 1)[1].split("```text\n", 1)[1].split("\n```", 1)[0]
        assert tuple(block.splitlines()) in shown, (page.name, block)
    assert pages >= 4


def test_times_in_discord_notices_are_discord_timestamps() -> None:
    """A stale notice's text names when the next figure was due ("2025-11-28 21:30 UTC", right for
    the console); in Discord it is a timestamp each reader sees in their own zone. Dates stay."""
    from bot.discord_embeds import discord_times

    notice = AlertEvent(
        signal="net_liquidity",
        key="stale:data",
        event="fired",
        level="watch",
        prev_level="ok",
        ts=1_764_400_000,
        summary=(
            "Stale data for net_liquidity: the latest net liquidity figures are for Wednesday 2025-11-19; "
            "the H.4.1 with Wednesday 2025-11-26's levels was due 2025-11-28 21:30 UTC"
        ),
        kind="notice",
    )
    e = notice_embed(_stored(notice))
    assert "was due <t:1764365400:f>" in (e.description or ""), e.description
    assert " UTC" not in (e.description or "") and "Wednesday 2025-11-19" in (e.description or "")
    assert "2025-11-28 21:30 UTC" in event_line(notice)  # the console keeps its own zone
    assert discord_times("at 2026-03-30 14:00Z and 2026-03-30") == "at <t:1774879200:f> and 2026-03-30"
