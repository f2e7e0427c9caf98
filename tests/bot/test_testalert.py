"""``flowwatch test-alert``: one marked test alert through every configured sink, each answer
reported. Against the local fake Discord: the real discord.py client logs in over REST and posts
to the subscribed channels (one of which it may not post in), and a real webhook on the fake."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.testalert import TEST_MARK, run_test_alert
from storage import alerts as alert_repo
from storage import subscriptions
from storage.db import open_db
from tests.fakediscord import Defaults, FakeDiscord

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
    assert by_sink["webhook"].ok and by_sink["webhook"].answer.startswith("posted message ")
    posted = by_sink[f"channel {Defaults.ALERTS_CHANNEL_ID} (server {g})"]
    assert posted.ok and posted.answer.startswith("posted message ")
    refused = by_sink[f"channel {Defaults.READONLY_CHANNEL_ID} (server {g})"]
    assert not refused.ok and refused.answer.startswith("403 Forbidden: Missing Permissions")
    assert notes == [
        "test alert for btc_liq from the built-in demo scenario (no stored data yet); chart attached"
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
    assert not by_sink["webhook"].ok and by_sink["webhook"].answer.startswith("404 Not Found")
    bot = by_sink["bot"]
    assert (
        not bot.ok and bot.answer == "no channel is subscribed to vix_term: /alerts subscribe in your server"
    )


@pytest.mark.parametrize("signal", ["vix_term", "ratecut", "buyback"])
async def test_each_signal_has_a_test_alert_with_a_chart(signal: str, tmp_path: Path) -> None:
    settings = load_settings(env={"FLOWWATCH_DB": str(tmp_path / "t.db")}, dotenv=None)
    db = open_db(settings.db_path)
    out: list[str] = []
    try:
        answers = await run_test_alert(settings, db, signal, NOW, io.StringIO(), out.append)
    finally:
        db.close()
    assert [a.sink for a in answers] == ["console"] and answers[0].ok
    assert out[0].endswith("chart attached")


def test_cli_prints_each_sinks_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.cli import main

    for k in ("DISCORD_TOKEN", "DISCORD_WEBHOOK_URL"):
        monkeypatch.delenv(k, raising=False)
    code = main(["test-alert", "--signal", "vix_term", "--db", str(tmp_path / "c.db")])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith(f"{TEST_MARK} (not a market signal)") and "VIX/VIX3M" in out
    assert "sinks:\n  console  ok      printed on stdout" in out


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
