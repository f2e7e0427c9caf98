"""``flowwatch test-alert``: one marked test alert through every configured sink, each answer
reported. Against the local fake Discord: the real discord.py client logs in over REST and posts
to the subscribed channels (one of which it may not post in), and a real webhook on the fake."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config import load_settings
from bot.testalert import TEST_MARK, run_test_alert
from signals import registry
from storage import alerts as alert_repo
from storage import subscriptions
from storage.db import open_db
from tests.fakediscord import Defaults, FakeDiscord
from tests.fakediscord.faults import FaultRule

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
PNG = b"\x89PNG"


async def test_every_sink_gets_the_test_alert_and_each_answer_is_reported(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    hook = fake_discord.add_webhook(Defaults.GENERAL_CHANNEL_ID)
    settings = load_settings(
        env={
            "FLOWWATCH_DB": str(tmp_path / "t.db"),
            "DISCORD_TOKEN": fake_discord.token,
            "DISCORD_WEBHOOK_URL": hook.url,
        },
        dotenv=None,
    )
    db = open_db(settings.db_path)
    g = Defaults.GUILD_ID
    subscriptions.subscribe(
        db, g, Defaults.ALERTS_CHANNEL_ID, "btc_liq", "alert", Defaults.TRADER_ROLE_ID, None
    )
    subscriptions.subscribe(db, g, Defaults.READONLY_CHANNEL_ID, "btc_liq", "watch", None, None)
    subscriptions.subscribe(db, g, Defaults.ADMIN_CHANNEL_ID, "vix_term", "watch", None, None)  # other signal
    out, notes = io.StringIO(), []
    try:
        answers = await run_test_alert(settings, db, "btc_liq", NOW, out, notes.append)
        assert (
            alert_repo.list_alerts(db, scope="live") == [] and alert_repo.list_alerts(db, scope="test") == []
        )
    finally:
        db.close()
    by_sink = {a.sink: a for a in answers}
    assert list(by_sink) == [
        "console",
        "webhook",
        f"channel {Defaults.ALERTS_CHANNEL_ID} (server {g})",
        f"channel {Defaults.READONLY_CHANNEL_ID} (server {g})",
    ]
    assert by_sink["console"].ok and out.getvalue().startswith(f"{TEST_MARK} (not a market signal)")
    assert "BTC liquidations: $22.6M in 7 min (longs 85%)" in out.getvalue()
    # each sink says what it did with the chart: the console shows none, Discord has it attached
    assert by_sink["console"].answer == (
        "printed on stdout; chart rendered, not shown: set FLOWWATCH_CHART_DIR to save it"
    )
    assert "[chart:" not in out.getvalue()
    [hook_msg] = fake_discord.messages(Defaults.GENERAL_CHANNEL_ID)
    assert by_sink["webhook"].ok
    assert by_sink["webhook"].answer == f"posted message {hook_msg.id}; chart attached (btc_liq-cascade.png)"
    posted = by_sink[f"channel {Defaults.ALERTS_CHANNEL_ID} (server {g})"]
    [chan_msg] = fake_discord.messages(Defaults.ALERTS_CHANNEL_ID)
    assert (
        posted.ok and posted.answer == f"posted message {chan_msg.id}; chart attached (btc_liq-cascade.png)"
    )
    refused = by_sink[f"channel {Defaults.READONLY_CHANNEL_ID} (server {g})"]
    assert not refused.ok and refused.answer.startswith("403 Forbidden: Missing Permissions")
    assert notes == [
        "test alert for btc_liq from the built-in demo scenario (no stored data yet); chart rendered"
    ]

    for channel in (Defaults.ALERTS_CHANNEL_ID, Defaults.GENERAL_CHANNEL_ID):
        [msg] = fake_discord.messages(channel)
        assert msg.embed is not None and msg.embed["title"].startswith(f"{TEST_MARK} · ")
        assert "not a market signal" in msg.embed["description"]
        assert msg.content in ("", None)  # never pings the subscription's role
        assert msg.attachment("btc_liq-cascade.png").data.startswith(PNG)
    assert fake_discord.messages(Defaults.ADMIN_CHANNEL_ID) == []


async def test_bot_without_subscriptions_and_a_deleted_webhook_are_reported(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    hook = fake_discord.add_webhook(Defaults.GENERAL_CHANNEL_ID)
    url = hook.url
    del fake_discord.webhooks[hook.id]  # deleted in the channel's settings
    settings = load_settings(
        env={
            "FLOWWATCH_DB": str(tmp_path / "t.db"),
            "DISCORD_TOKEN": fake_discord.token,
            "DISCORD_WEBHOOK_URL": url,
        },
        dotenv=None,
    )
    db = open_db(settings.db_path)
    try:
        answers = await run_test_alert(settings, db, "vix_term", NOW, io.StringIO(), lambda s: None)
    finally:
        db.close()
    by_sink = {a.sink: a for a in answers}
    assert not by_sink["webhook"].ok and by_sink["webhook"].answer.startswith("HTTP 404: Unknown Webhook")
    bot = by_sink["bot"]
    assert (
        not bot.ok and bot.answer == "no channel is subscribed to vix_term: /alerts subscribe in your server"
    )


@pytest.mark.parametrize("signal", sorted(set(registry()) - {"btc_liq"}))  # btc_liq: above
async def test_each_signal_has_a_test_alert_with_a_chart(signal: str, tmp_path: Path) -> None:
    settings = load_settings(env={"FLOWWATCH_DB": str(tmp_path / "t.db")}, dotenv=None)
    db = open_db(settings.db_path)
    out: list[str] = []
    try:
        answers = await run_test_alert(settings, db, signal, NOW, io.StringIO(), out.append)
    finally:
        db.close()
    assert [a.sink for a in answers] == ["console"] and answers[0].ok
    # rendered, and the console alone cannot show it: it says so instead of "attached"
    assert out[0].endswith("; chart rendered")
    assert answers[0].answer.endswith("chart rendered, not shown: set FLOWWATCH_CHART_DIR to save it")


def test_cli_prints_each_sinks_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.cli import main

    for k in ("DISCORD_TOKEN", "DISCORD_WEBHOOK_URL"):
        monkeypatch.delenv(k, raising=False)
    code = main(["test-alert", "--signal", "vix_term", "--db", str(tmp_path / "c.db")])
    got = capsys.readouterr()
    out = got.out
    assert code == 0
    assert out.startswith(f"{TEST_MARK} (not a market signal)") and "VIX/VIX3M" in out
    assert (
        "sinks:\n  console  ok      printed on stdout; chart rendered, not shown: set FLOWWATCH_CHART_DIR "
        "to save it\n" in out
    )
    assert "attached" not in got.out + got.err  # nothing is attached anywhere with the console alone
    # a path with no database (a typo, or nothing loaded yet) is said so, and never created
    assert f"no database at {tmp_path / 'c.db'}" in got.err
    assert list(tmp_path.iterdir()) == []


async def test_the_versioned_webhook_url_form_reaches_the_webhook(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    hook = fake_discord.add_webhook(Defaults.GENERAL_CHANNEL_ID)
    url = hook.url.replace("/api/webhooks/", "/api/v10/webhooks/")
    assert url != hook.url
    settings = load_settings(
        env={"FLOWWATCH_DB": str(tmp_path / "t.db"), "DISCORD_WEBHOOK_URL": url}, dotenv=None
    )
    db = open_db(settings.db_path)
    try:
        answers = await run_test_alert(settings, db, "btc_liq", NOW, io.StringIO(), lambda _n: None)
    finally:
        db.close()
    by_sink = {a.sink: a for a in answers}
    assert by_sink["webhook"].ok, by_sink["webhook"].answer


def _webhook_settings(fake: FakeDiscord, tmp_path: Path, **extra: str) -> tuple[Any, Any]:
    hook = fake.add_webhook(Defaults.GENERAL_CHANNEL_ID)
    env = {"FLOWWATCH_DB": str(tmp_path / "t.db"), "DISCORD_WEBHOOK_URL": hook.url, **extra}
    return hook, load_settings(env=env, dotenv=None)


async def _test_alert(settings: Any) -> dict[str, Any]:
    db = open_db(settings.db_path)
    try:
        answers = await run_test_alert(settings, db, "vix_term", NOW, io.StringIO(), lambda s: None)
    finally:
        db.close()
    return {a.sink: a for a in answers}


async def test_a_200_that_is_not_json_is_posted_as_run_counts_it(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    """It crashed with a TypeError inside discord.py's webhook client; run counts it as posted."""
    _hook, settings = _webhook_settings(fake_discord, tmp_path)
    fake_discord.faults.stored_then_garbage("POST", "/webhooks/*", times=1)
    answer = (await _test_alert(settings))["webhook"]
    assert answer.ok and "message id is unknown" in answer.answer
    assert answer.answer.endswith(
        "chart sent as vix_term-vix3m.png (the answer does not say whether it was kept)"
    )
    assert len(fake_discord.messages(Defaults.GENERAL_CHANNEL_ID)) == 1


async def test_a_500_page_is_one_post_not_five(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    """discord.py's webhook client repeated the POST after a 500: five copies. Now one request, and
    the answer says what run would do (an ambiguous 500 page is never re-sent)."""
    _hook, settings = _webhook_settings(fake_discord, tmp_path)
    fake_discord.faults.stored_then_garbage("POST", "/webhooks/*", status=500, times=None)
    answer = (await _test_alert(settings))["webhook"]
    assert not answer.ok and "may or may not have been posted" in answer.answer
    assert len(fake_discord.requests_matching("POST", "/webhooks/{webhook_id}/{webhook_token}")) == 1
    assert len(fake_discord.messages(Defaults.GENERAL_CHANNEL_ID)) == 1


async def test_an_edge_503_is_reported_as_run_would_retry_it(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    _hook, settings = _webhook_settings(fake_discord, tmp_path)
    fake_discord.faults.edge_error("POST", "/webhooks/*", status=503, times=None)
    answer = (await _test_alert(settings))["webhook"]
    assert not answer.ok and "503" in answer.answer and "would retry" in answer.answer
    assert len(fake_discord.requests_matching("POST", "/webhooks/{webhook_id}/{webhook_token}")) == 1


async def test_the_chart_dir_gets_the_test_chart(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    """FLOWWATCH_CHART_DIR: the report said "chart attached" and nothing was saved."""
    _hook, settings = _webhook_settings(fake_discord, tmp_path, FLOWWATCH_CHART_DIR=str(tmp_path / "charts"))
    by_sink = await _test_alert(settings)
    saved = list((tmp_path / "charts").glob("*.png"))
    assert len(saved) == 1 and saved[0].read_bytes().startswith(PNG)
    assert (
        by_sink["console"].ok and by_sink["console"].answer == f"printed on stdout; chart saved to {saved[0]}"
    )
    assert by_sink["webhook"].ok and by_sink["webhook"].answer.endswith(
        "; chart attached (vix_term-vix3m.png)"
    )


async def test_a_message_posted_without_its_chart_is_reported_as_failed(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    """The webhook answers 200 with the message, but the message carries no attachment: the chart
    did not arrive, and the answer says so instead of "attached"."""
    _hook, settings = _webhook_settings(fake_discord, tmp_path)
    fake_discord.faults.add(
        FaultRule("POST", "/webhooks/*", status=200, body={"id": "123", "attachments": []}, after=True)
    )
    answer = (await _test_alert(settings))["webhook"]
    assert not answer.ok
    assert answer.answer == (
        "posted message 123; the chart vix_term-vix3m.png was sent but the posted message has no such attachment"
    )


def test_chart_report_says_what_became_of_the_chart() -> None:
    from bot.testalert import chart_report, demo_test_alert

    alert = demo_test_alert(load_settings(env={}, dotenv=None), "vix_term", "test").event
    assert chart_report(alert, None, ["x.png"]) == (True, "no chart (none could be rendered)")
    assert chart_report(alert, PNG, ["vix_term-vix3m.png"]) == (True, "chart attached (vix_term-vix3m.png)")
    assert chart_report(alert, PNG, None)[1].startswith("chart sent as vix_term-vix3m.png")
    assert chart_report(alert, PNG, ["other.png"])[0] is False


async def test_stale_stored_data_is_called_stale_with_its_age_not_calm(tmp_path: Path) -> None:
    """Observed: "from the built-in demo scenario (the current reading is calm)" when the stored
    data was 386 days old: nothing current was read at all."""
    from storage import observations as obs_repo
    from storage.observations import Observation

    settings = load_settings(env={"FLOWWATCH_DB": str(tmp_path / "t.db")}, dotenv=None)
    db = open_db(settings.db_path)
    last = datetime(2025, 11, 14, tzinfo=UTC)
    days = [int(last.timestamp()) - 86400 * k for k in range(400) if (last.weekday() - k) % 7 < 5]
    obs_repo.upsert(
        db,
        [
            Observation(f"cboe.{i}.close", t, v, "test")
            for t in days
            for i, v in (("vix", 15.0), ("vix3m", 18.0), ("vix9d", 14.0))
        ],
    )
    notes: list[str] = []
    try:
        await run_test_alert(settings, db, "vix_term", NOW, io.StringIO(), notes.append)
        fresh: list[str] = []
        await run_test_alert(
            settings, db, "vix_term", datetime(2025, 11, 15, 12, tzinfo=UTC), io.StringIO(), fresh.append
        )
    finally:
        db.close()
    assert "the current reading is calm" not in notes[0], notes
    assert "the stored data is stale, 384d 14h old" in notes[0] and "latest reading 2025-11-14" in notes[0], (
        notes
    )
    assert "the current reading is calm" in fresh[0], fresh  # a day later it really is calm
