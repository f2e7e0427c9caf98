"""``/backtest``: how often would a signal have fired under other thresholds, asked from Discord.

The real bot and CommandTree against the local fake Discord, on the real VIX history (2009-2026):
the answer is private, compares lifecycles per year with the current thresholds, lists the last
ones with dates and peaks, carries the chart, writes nothing, and refuses bad names and values with
the messages of ``flowwatch replay --set``; each user waits between two backtests."""

from __future__ import annotations

import logging
import re
import shutil
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import discord
import pytest
import pytest_asyncio

from bot.backtest import open_readonly, params_with_overrides, run_backtest
from bot.cli import main
from bot.config import load_settings
from storage import alerts as alert_repo
from tests.bot.discord_harness import TestBot, bot_settings, running_bot
from tests.fakediscord import DEFAULT_MEMBER, FakeDiscord, InteractionRecord, option

pytestmark = pytest.mark.e2e

PNG = b"\x89PNG\r\n\x1a\n"
DEFERRED, MESSAGE = 5, 4
EPHEMERAL = 64


@pytest.fixture(scope="module")
def vix_db(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    path = tmp_path_factory.mktemp("bt") / "vix.db"
    assert main(["backfill", "cboe", "--dir", str(data_dir), "--db", str(path)]) == 0
    root = logging.getLogger()  # main() logs to this fixture's captured stderr: not to later tests'
    for h in [h for h in root.handlers if getattr(h, "_flowwatch", False)]:
        root.removeHandler(h)
    return path


@pytest.fixture(scope="module")
def data_dir() -> Path:  # module scope for the module-scoped database
    from tests.conftest import DATA, _need

    return _need(DATA)


@pytest_asyncio.fixture
async def bot(fake_discord: FakeDiscord, vix_db: Path, tmp_path: Path) -> AsyncIterator[TestBot]:
    db = tmp_path / "bot.db"
    shutil.copyfile(vix_db, db)
    clock = [0.0]
    settings = bot_settings(tmp_path, FLOWWATCH_DB=str(db), FLOWWATCH_BACKTEST_COOLDOWN="60")
    async with running_bot(fake_discord, settings, monotonic=lambda: clock[0]) as b:
        b.fake_clock = clock  # type: ignore[attr-defined]
        yield b


async def run(fake: FakeDiscord, *options: dict[str, Any]) -> InteractionRecord:
    rec = await fake.invoke_slash_command("backtest", *options, user=DEFAULT_MEMBER)
    await fake.wait_for_interaction_response(rec, timeout=20)
    return rec


async def test_backtest_answers_privately_with_rates_last_lifecycles_and_chart(
    fake_discord: FakeDiscord, bot: TestBot
) -> None:
    rec = await run(
        fake_discord,
        option("signal", "vix_term"),
        option("overrides", "alert=1.05 confirm=3"),
        option("start", "2010-01-01"),
    )
    msg = await fake_discord.wait_for_followup(rec, timeout=60)
    assert [cb.type for cb in rec.callbacks] == [DEFERRED]
    assert rec.callbacks[0].data.get("flags", 0) & EPHEMERAL  # only the asker sees it
    embed = msg.embed
    assert embed is not None and embed["title"] == "Backtest · VIX term structure since 2010-01-01"
    lines = embed["description"].splitlines()
    assert lines[0].startswith("With `alert=1.05`, `confirm=3`: **") and " alerts a year**: " in lines[0]
    assert lines[1].startswith("With the current thresholds: **")
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert "Lifecycles per key (yours vs current)" in fields
    last = fields["Last 5 with these thresholds"].splitlines()
    assert len(last) == 5 and all("<t:" in x and "peak " in x for x in last)
    assert msg.attachment("backtest-vix_term.png").data.startswith(PNG)
    assert bot.app is not None
    assert await bot.app.store.call(alert_repo.list_alerts, scope="replay") == []  # nothing written


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ("alrt=1.05", "Alrt: vix_term has no setting 'alrt'; allowed: watch, watch_exit, alert"),
        ("alert=abc", "Alert: 'abc' is not a number (allowed 0.5 to 2)"),
        ("confirm=2.5", "Confirm: '2.5' must be a whole number (allowed 1 to 20 closes)"),
        ("alert=0.9", "Alert_exit (0.97) must be below alert (0.9)"),
        ("alert", "'alert': use NAME=VALUE, e.g. alert=1.05"),
    ],
)
async def test_bad_names_and_values_get_the_replay_set_messages(
    fake_discord: FakeDiscord, bot: TestBot, overrides: str, needle: str
) -> None:
    rec = await run(fake_discord, option("signal", "vix_term"), option("overrides", overrides))
    assert [cb.type for cb in rec.callbacks] == [MESSAGE]
    msg = fake_discord.original_response(rec)
    assert msg is not None and needle in msg.content, msg.content


async def test_cooldown_per_user(fake_discord: FakeDiscord, bot: TestBot) -> None:
    opts = (option("signal", "vix_term"), option("overrides", "severe=1.2"), option("start", "2024-01-01"))
    rec = await run(fake_discord, *opts)
    await fake_discord.wait_for_followup(rec, timeout=60)
    again = await run(fake_discord, *opts)
    msg = fake_discord.original_response(again)
    assert msg is not None and "Try again in 60 s" in msg.content
    bot.fake_clock[0] += 61  # type: ignore[attr-defined]
    rec = await run(fake_discord, *opts)
    assert (await fake_discord.wait_for_followup(rec, timeout=60)).embed is not None


def test_same_messages_as_replay_set(vix_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "vix_term", "--set", "alrt=1.05", "--db", str(vix_db)]) == 2
    assert (
        "--set alrt: vix_term has no setting 'alrt'; allowed: watch, watch_exit, alert"
        in capsys.readouterr().err
    )


def test_time_budget_and_read_only(vix_db: Path) -> None:
    settings = load_settings(env={"FLOWWATCH_DB": str(vix_db)}, dotenv=None)
    params = params_with_overrides("vix_term", settings, [("alert", "1.05")])
    db = open_readonly(vix_db)
    try:
        from bot.backtest import BudgetExceeded

        with pytest.raises(BudgetExceeded):
            run_backtest(db, settings, "vix_term", params, None, time.monotonic() - 1)
        res = run_backtest(
            db, settings, "vix_term", params, datetime(2020, 1, 1, tzinfo=UTC), time.monotonic() + 60
        )
        assert res.overrides == {"alert": 1.05}
        # fewer lifecycles reach Alert with a higher alert line; Mar 2020 still does
        from signals.base import Level

        assert res.tested.at_least(Level.ALERT) < res.current.at_least(Level.ALERT)
        assert any(
            c.key == "vix3m"
            and datetime.fromtimestamp(c.start, UTC).strftime("%Y-%m") in ("2020-02", "2020-03")
            for c in res.tested.lifecycles
        )
        with pytest.raises(Exception, match=r"readonly|read-only"):
            db.execute("DELETE FROM observations")
    finally:
        db.close()


@pytest.fixture(scope="module")
def all_db(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """Every signal's history, as ``flowwatch backfill all --dir ../shared/data`` stores it."""
    path = tmp_path_factory.mktemp("bt_all") / "all.db"
    assert main(["backfill", "all", "--dir", str(data_dir), "--db", str(path)]) == 0
    root = logging.getLogger()
    for h in [h for h in root.handlers if getattr(h, "_flowwatch", False)]:
        root.removeHandler(h)
    return path


def _embed_within_limits(embed: discord.Embed) -> None:
    """Discord's embed limits: title 256, description 4,096, 25 fields of name 256 and value
    1,024, footer 2,048, and 6,000 characters in all (beyond any of them the post fails)."""
    assert embed.title is not None and len(embed.title) <= 256
    assert embed.description is not None and len(embed.description) <= 4096
    assert len(embed.fields) <= 25
    for f in embed.fields:
        assert f.name is not None and 0 < len(f.name) <= 256, f.name
        assert f.value is not None and 0 < len(f.value) <= 1024, (f.name, len(f.value or ""))
    assert len(embed.footer.text or "") <= 2048
    assert len(embed) <= 6000


BACKTESTS = [
    ("vix_term", [("alert", "1.05")]),
    ("btc_liq", [("k_alert", "4")]),
    ("buyback", [("confirm", "2")]),
    # the overrides that broke the embed: 1,209 characters of lifecycles per key
    ("ratecut", [("swing_pp", "8")]),
    ("ratecut", [("size_bp", "3")]),
    # the flow signals: percentile lines over ten-year windows of the S&P 500 and FRED's series
    ("vol_control", [("alert", "99")]),
    ("cta_trend", [("alert", "99"), ("flow_days", "5")]),
    ("net_liquidity", [("watch", "95")]),
    ("credit", [("confirm", "1")]),
]


@pytest.mark.parametrize(("signal", "pairs"), BACKTESTS, ids=[f"{s}-{p[0][0]}" for s, p in BACKTESTS])
def test_every_signals_backtest_embed_fits_discord(
    all_db: Path, signal: str, pairs: list[tuple[str, str]]
) -> None:
    from bot.commands.backtest import backtest_embed

    settings = load_settings(env={"FLOWWATCH_DB": str(all_db)}, dotenv=None)
    params = params_with_overrides(signal, settings, pairs)
    db = open_readonly(all_db)
    try:
        res = run_backtest(db, settings, signal, params, None, time.monotonic() + 120)
    finally:
        db.close()
    assert res.tested.lifecycles and res.current.lifecycles
    embed = backtest_embed(res, f"backtest-{signal}.png")
    _embed_within_limits(embed)
    fields = {f.name: f.value or "" for f in embed.fields}
    keys = {c.key for c in res.tested.lifecycles + res.current.lifecycles}
    if signal == "ratecut":
        # a key per meeting and kind: summed by kind, every lifecycle still counted
        (name,) = [n for n in fields if n and n.startswith("Lifecycles per kind of key")]
        assert f"{len(keys)} keys" in name
        shown = re.findall(r"`\*\.(\w+)` (\d+) vs (\d+)", fields[name])
        assert sum(int(t) for _k, t, _c in shown) == len(res.tested.lifecycles)
        assert sum(int(c) for _k, _t, c in shown) == len(res.current.lifecycles)


def test_headline_counts_alerts_and_heads_ups_apart(vix_db: Path) -> None:
    """``alert=1.05`` changes how often VIX/VIX3M alerts; the bold number says so (it was the count
    of every lifecycle, two thirds of them VIX9D heads-ups the override cannot touch)."""
    from bot.commands.backtest import backtest_embed
    from signals.base import Level

    settings = load_settings(env={"FLOWWATCH_DB": str(vix_db)}, dotenv=None)
    params = params_with_overrides("vix_term", settings, [("alert", "1.05")])
    db = open_readonly(vix_db)
    try:
        res = run_backtest(db, settings, "vix_term", params, None, time.monotonic() + 60)
    finally:
        db.close()
    desc = backtest_embed(res, "x.png").description or ""
    yours, current = desc.splitlines()[:2]
    rate = re.compile(
        r"\*\*([\d.]+) alerts a year\*\*: (\d+) reaching Alert or Severe in [\d.]+ years; (\d+) heads-ups besides"
    )
    ((t_rate, t_alerts, t_heads),), ((c_rate, c_alerts, c_heads),) = (
        rate.findall(yours),
        rate.findall(current),
    )
    assert (
        int(t_alerts) == res.tested.at_least(Level.ALERT) < int(c_alerts) == res.current.at_least(Level.ALERT)
    )
    assert float(t_rate) < float(c_rate)  # the number asked about moves
    assert float(t_rate) == pytest.approx(int(t_alerts) / res.years, abs=0.05)
    assert int(t_heads) + int(t_alerts) == len(res.tested.lifecycles)
    assert int(c_heads) + int(c_alerts) == len(res.current.lifecycles)


@pytest_asyncio.fixture
async def bot_all(fake_discord: FakeDiscord, all_db: Path, tmp_path: Path) -> AsyncIterator[TestBot]:
    db = tmp_path / "bot.db"
    shutil.copyfile(all_db, db)
    settings = bot_settings(tmp_path, FLOWWATCH_DB=str(db), FLOWWATCH_BACKTEST_COOLDOWN="0")
    async with running_bot(fake_discord, settings) as b:
        yield b


FLOWS = [
    ("vol_control", "alert=99"),
    ("cta_trend", "alert=99 flow_days=5"),
    ("net_liquidity", "watch=95"),
    ("credit", "confirm=1"),
]


@pytest.mark.parametrize(("signal", "overrides"), FLOWS, ids=[f[0] for f in FLOWS])
async def test_the_flow_signals_backtest_from_discord(
    fake_discord: FakeDiscord,
    bot_all: TestBot,
    all_db: Path,
    signal: str,
    overrides: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The four flow signals answer /backtest as vix_term does: private, rates against the current
    thresholds, the last lifecycles with dates and peaks, the chart, nothing written; a bad value
    gets the message of ``replay --set``."""
    rec = await run(
        fake_discord, option("signal", signal), option("overrides", overrides), option("start", "2012-01-01")
    )
    msg = await fake_discord.wait_for_followup(rec, timeout=120)
    assert [cb.type for cb in rec.callbacks] == [DEFERRED]
    assert rec.callbacks[0].data.get("flags", 0) & EPHEMERAL
    embed = msg.embed
    assert (
        embed is not None
        and embed["title"].startswith("Backtest · ")
        and "since 2012-01-01" in embed["title"]
    )
    first = embed["description"].splitlines()[0]
    assert first.startswith("With `") and " a year**" in first, first
    assert all(f"`{pair}`" in first.split(":")[0] for pair in overrides.split()), first
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    (last_name,) = [n for n in fields if n.startswith("Last ")]
    last = fields[last_name].splitlines()
    assert last and all("<t:" in x for x in last), last
    # a peak in the unit the alerts use (a percentile), never a bare "peak 97.7"
    peaks = [x.split(" · peak ")[1].split(" · ")[0] for x in last if " · peak " in x]
    assert peaks and all(p.endswith(" percentile") for p in peaks), last
    if signal == "cta_trend":  # the trigger's value is a distance: no peak
        assert all(" · peak " not in x for x in last if x.endswith("`trigger`")), last
    assert msg.attachment(f"backtest-{signal}.png").data.startswith(PNG)
    assert bot_all.app is not None
    assert await bot_all.app.store.call(alert_repo.list_alerts, scope="replay") == []

    bad = await run(fake_discord, option("signal", signal), option("overrides", "alert=abc"))
    assert [cb.type for cb in bad.callbacks] == [MESSAGE]
    said = fake_discord.original_response(bad)
    capsys.readouterr()
    assert main(["replay", signal, "--set", "alert=abc", "--db", str(all_db)]) == 2
    cli = capsys.readouterr().err.strip().split("--set alert: ", 1)[1]
    assert "is not a number (allowed 50 to 100 pctl)" in cli
    assert said is not None and f"Alert: {cli}" in said.content, (said.content, cli)
