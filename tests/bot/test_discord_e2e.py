"""End to end: the real discord.py client and our bot against the local Discord-compatible fake.

Alerts come from the real signal and engine (closes that invert the VIX curve) or, where a
test needs many events or an ``updated`` event, from events written to the outbox directly.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import SimClock
from storage import alerts as alert_repo
from storage import guild_settings, meta, subscriptions
from storage.db import open_db
from storage.timeutil import to_epoch
from tests.bot.discord_harness import (
    ALERT_RATIO,
    CALM_RATIO,
    SEVERE_RATIO,
    after_close,
    bot_settings,
    event,
    fire_vix,
    insert_events,
    running_bot,
    sessions,
    settle,
    subscribe,
    vix_history,
)
from tests.fakediscord import DEFAULT_ADMIN, Defaults, FakeDiscord, tiny_png

pytestmark = pytest.mark.e2e

PNG = b"\x89PNG\r\n\x1a\n"
END = date(2024, 3, 15)
MESSAGES = "/channels/{channel_id}/messages"
ALERTS = Defaults.ALERTS_CHANNEL_ID


def start_clock() -> SimClock:
    return SimClock(datetime(2024, 3, 1, tzinfo=UTC))


async def deliveries(bot: Any) -> list[alert_repo.Delivery]:
    return await bot.app.store.call(
        lambda db: [
            alert_repo.Delivery(*r)
            for r in db.execute(f"SELECT {alert_repo._DELIVERY_COLS} FROM deliveries ORDER BY id")
        ]
    )


async def test_alert_fires_and_the_channel_gets_embed_and_chart(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    clock = start_clock()
    async with running_bot(fake_discord, bot_settings(tmp_path), clock=clock) as bot:
        await subscribe(bot, ALERTS)
        await fire_vix(bot, clock, END, [ALERT_RATIO] * 3)
        msg = await fake_discord.wait_for_message(ALERTS, timeout=10)
        await settle(bot)
        sent = await deliveries(bot)
    embed = msg.embed
    assert embed is not None
    assert embed["title"].startswith("🟠 Alert: VIX/VIX3M 1.053") and "curve inverted" in embed["title"]
    assert embed["color"] == 0xEF6C00
    assert embed["description"].startswith("VIX 20.00 vs VIX3M 19.00")
    assert embed["image"]["url"].endswith("/vix_term-vix3m.png")  # attachment:// resolved, as Discord does
    assert msg.created_by is not None
    att = msg.attachment("vix_term-vix3m.png")
    assert att.data.startswith(PNG) and att.size > 10_000
    names = [f["name"] for f in embed["fields"]]
    assert "Percentile" in names and "As of" in names and "Source" in names
    as_of = next(f["value"] for f in embed["fields"] if f["name"] == "As of")
    assert f"<t:{to_epoch(datetime(2024, 3, 14, 20, 15, tzinfo=UTC))}:R>" in as_of  # the 16:15 ET close
    assert msg.nonce is not None and len(str(msg.nonce)) <= 25
    assert msg.created_by.json["enforce_nonce"] is True
    custom_ids = [c["custom_id"] for row in msg.components for c in row["components"]]
    assert custom_ids == ["fw:ack:1", "fw:s1h:1", "fw:s24h:1", "fw:c30:1"]
    assert msg.content == "" and msg.allowed_mentions == {"parse": []}
    assert [(d.status, d.external_id) for d in sent] == [("sent", str(msg.id))]
    # a clean shutdown: the App stopped and said so
    db = open_db(tmp_path / "bot.db")
    assert meta.get(db, "heartbeat")["stopped"] is True
    db.close()


async def test_run_discord_with_a_rejected_token(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    from bot.cli import CliError
    from bot.discord_client import run_discord

    settings = bot_settings(tmp_path, DISCORD_TOKEN="x" * 30)
    with pytest.raises(CliError) as exc:
        await asyncio.to_thread(run_discord, settings, False)
    assert exc.value.code == 2 and "rejected DISCORD_TOKEN" in str(exc.value)


async def test_severe_pings_only_the_role_and_resolve_never_pings(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    clock = start_clock()
    trader = Defaults.TRADER_ROLE_ID
    async with running_bot(fake_discord, bot_settings(tmp_path), clock=clock) as bot:
        await subscribe(bot, ALERTS, role=trader)
        await fire_vix(bot, clock, END, [SEVERE_RATIO] * 2)
        fired = await fake_discord.wait_for_message(ALERTS, timeout=10)
        # back to calm: one step down is needed below each exit threshold, then resolved
        await fire_vix(bot, clock, END + timedelta(days=7), [SEVERE_RATIO] * 2 + [CALM_RATIO] * 3)
        resolved = await fake_discord.wait_for_message(ALERTS, count=2, timeout=10)
    assert fired.content.startswith(f"<@&{trader}>") and "Severe:" in fired.content
    assert fired.allowed_mentions is not None
    assert fired.allowed_mentions["parse"] == []
    assert [str(r) for r in fired.allowed_mentions["roles"]] == [str(trader)]
    assert fired.mention_roles == [str(trader)] and not fired.mention_everyone
    assert resolved.embed is not None and resolved.embed["title"].startswith("🟢 Over (was Severe):")
    assert (
        resolved.content == "" and resolved.allowed_mentions == {"parse": []} and resolved.mention_roles == []
    )


async def test_429_with_retry_after_is_respected(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    fake_discord.faults.rate_limit("POST", MESSAGES, times=2, retry_after=0.05)
    clock = start_clock()
    async with running_bot(fake_discord, bot_settings(tmp_path), clock=clock, charts=fake_chart) as bot:
        await subscribe(bot, ALERTS)
        await insert_events(bot, [event(1)], [f"discord:{ALERTS}"])
        await fake_discord.wait_for_message(ALERTS, timeout=10)
        await settle(bot)
        sent = await deliveries(bot)
    posts = fake_discord.requests_matching("POST", f"/channels/{ALERTS}/messages")
    assert [p.status for p in posts] == [429, 429, 200]
    assert len(fake_discord.messages(ALERTS)) == 1
    assert sent[0].status == "sent" and sent[0].attempts == 1


async def test_500_then_success(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    fake_discord.faults.server_error("POST", MESSAGES, status=500)  # discord.py retries after ~1 s
    async with running_bot(
        fake_discord, bot_settings(tmp_path), clock=start_clock(), charts=fake_chart
    ) as bot:
        await subscribe(bot, ALERTS)
        await insert_events(bot, [event(1)], [f"discord:{ALERTS}"])
        await fake_discord.wait_for_message(ALERTS, timeout=10)
        await settle(bot)
        sent = await deliveries(bot)
    assert [p.status for p in fake_discord.requests_matching("POST", f"/channels/{ALERTS}/messages")] == [
        500,
        200,
    ]
    assert sent[0].status == "sent"


async def test_503_and_timeout_are_retried_with_backoff_and_land_once(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    fake_discord.faults.server_error("POST", MESSAGES, status=503)  # not retried by discord.py itself
    fake_discord.faults.delay("POST", MESSAGES, seconds=2.0)  # then a request that times out
    clock = start_clock()
    async with running_bot(fake_discord, bot_settings(tmp_path), clock=clock, charts=fake_chart) as bot:
        assert bot.sink is not None
        bot.sink.timeout = 0.3
        await subscribe(bot, ALERTS)
        await insert_events(bot, [event(1)], [f"discord:{ALERTS}"])
        await settle(bot)
        first = (await deliveries(bot))[0]
        assert first.status == "pending" and first.attempts == 1 and "503" in (first.last_error or "")
        assert first.next_attempt_at == to_epoch(clock.now()) + 6  # backoff 5 s (+1)
        clock.advance(timedelta(seconds=6))
        await settle(bot)
        second = (await deliveries(bot))[0]
        assert (
            second.status == "pending" and second.attempts == 2 and "timed out" in (second.last_error or "")
        )
        bot.sink.timeout = 30.0  # the fault is spent; a loaded machine must not time out the last try
        clock.advance(timedelta(seconds=11))
        await settle(bot)
        done = (await deliveries(bot))[0]
    assert done.status == "sent" and done.attempts == 3
    assert len(fake_discord.messages(ALERTS)) == 1


async def test_403_channel_disables_subscription_and_tells_the_guild_once(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    readonly = Defaults.READONLY_CHANNEL_ID
    async with running_bot(
        fake_discord, bot_settings(tmp_path), clock=start_clock(), charts=fake_chart
    ) as bot:
        await subscribe(bot, readonly)  # subscribed while it worked; then its permissions changed
        await subscribe(bot, ALERTS)
        await insert_events(bot, [event(1), event(2)], [f"discord:{readonly}", f"discord:{ALERTS}"])
        await fake_discord.wait_for_message(Defaults.GENERAL_CHANNEL_ID, timeout=10)
        await fake_discord.wait_for_message(ALERTS, count=2, timeout=10)
        await settle(bot)
        subs = await bot.app.store.call(subscriptions.list_subscriptions, Defaults.GUILD_ID)
        sent = await deliveries(bot)
    notices = fake_discord.messages(Defaults.GENERAL_CHANNEL_ID)
    assert len(notices) == 1  # told once, in the system channel (no admin channel configured)
    assert f"<#{readonly}>" in notices[0].content and "403" in notices[0].content
    assert "/alerts subscribe" in notices[0].content
    state = {s.channel_id: (s.enabled, s.disabled_reason) for s in subs}
    assert state[ALERTS] == (True, None)
    assert state[readonly][0] is False and "403" in (state[readonly][1] or "")
    by_dest = sorted((d.destination, d.status) for d in sent)
    assert by_dest == [
        (f"discord:{ALERTS}", "sent"),
        (f"discord:{ALERTS}", "sent"),
        (f"discord:{readonly}", "failed"),
        (f"discord:{readonly}", "skipped"),
    ]
    assert len(fake_discord.requests_matching("POST", f"/channels/{readonly}/messages")) == 1


async def test_403_notice_goes_to_the_configured_admin_channel(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    readonly = Defaults.READONLY_CHANNEL_ID
    async with running_bot(
        fake_discord, bot_settings(tmp_path), clock=start_clock(), charts=fake_chart
    ) as bot:
        await bot.app.store.call(
            guild_settings.set_value, Defaults.GUILD_ID, "admin_channel", Defaults.ADMIN_CHANNEL_ID
        )
        await subscribe(bot, readonly)
        await insert_events(bot, [event(1)], [f"discord:{readonly}"])
        notice = await fake_discord.wait_for_message(Defaults.ADMIN_CHANNEL_ID, timeout=10)
    assert "could not post alerts" in notice.content
    assert fake_discord.messages(Defaults.GENERAL_CHANNEL_ID) == []


async def test_dropped_gateway_reconnects_and_the_bot_keeps_working(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with running_bot(
        fake_discord, bot_settings(tmp_path), clock=start_clock(), charts=fake_chart
    ) as bot:
        await subscribe(bot, ALERTS)
        await fake_discord.gateway.drop()
        await fake_discord.wait_for_resume(timeout=10)
        await fake_discord.wait_for_connected(timeout=10)
        rec = await fake_discord.invoke_slash_command("status", user=DEFAULT_ADMIN)
        await fake_discord.wait_for_interaction_response(rec, timeout=10)
        reply = await fake_discord.wait_for_followup(rec, timeout=10)  # /status defers, then answers
        await insert_events(bot, [event(1)], [f"discord:{ALERTS}"])
        await fake_discord.wait_for_message(ALERTS, timeout=10)
    assert reply.embed is not None and reply.embed["title"] == "flowwatch status"
    assert fake_discord.gateway.identify_count == 1 and fake_discord.gateway.resume_count == 1


async def test_crash_between_send_and_mark_resend_lands_once(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    settings = bot_settings(tmp_path)
    async with running_bot(fake_discord, settings, clock=start_clock(), charts=fake_chart) as bot:
        assert bot.sink is not None
        real_send = bot.sink.send

        async def send_then_die(alert: Any, delivery: Any) -> Any:
            await real_send(alert, delivery)
            raise asyncio.CancelledError  # the process dies before the delivery is marked sent

        bot.sink.send = send_then_die  # type: ignore[method-assign]
        await subscribe(bot, ALERTS)
        await insert_events(bot, [event(1)], [f"discord:{ALERTS}"])
        first = await fake_discord.wait_for_message(ALERTS, timeout=10)
        dispatcher = next(t for t in bot.app._tasks if t.get_name() == "dispatcher")
        await asyncio.wait({dispatcher}, timeout=10)
        assert dispatcher.done()
        assert [d.status for d in await deliveries(bot)] == ["pending"]
    # restart on the same database: the pending delivery is sent again with the same nonce
    async with running_bot(fake_discord, settings, clock=start_clock(), charts=fake_chart) as bot2:
        await fake_discord.wait_until(lambda: first.nonce_duplicates == 1, what="the resend", timeout=10)
        await settle(bot2)
        sent = await deliveries(bot2)
    posts = fake_discord.requests_matching("POST", f"/channels/{ALERTS}/messages")
    assert len(posts) == 2 and posts[0].json["nonce"] == posts[1].json["nonce"]
    assert [m.id for m in fake_discord.messages(ALERTS)] == [first.id]  # landed once
    assert [(d.status, d.external_id) for d in sent] == [("sent", str(first.id))]


async def test_updated_event_edits_the_episode_message_in_place(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with running_bot(
        fake_discord, bot_settings(tmp_path), clock=start_clock(), charts=fake_chart
    ) as bot:
        await subscribe(bot, ALERTS)
        fired = event(1)
        await insert_events(bot, [fired], [f"discord:{ALERTS}"])
        msg = await fake_discord.wait_for_message(ALERTS, timeout=10)
        grown = event(2, ev="updated", ts=fired.ts + 600)
        grown.episode = fired.episode
        grown.summary = "the cascade grew"
        await insert_events(bot, [grown], [f"discord:{ALERTS}"])
        await fake_discord.wait_for_edit(msg.id, timeout=10)
        again = event(3, ev="updated", ts=fired.ts + 1200)
        again.episode, again.summary = fired.episode, "and grew again"
        await insert_events(bot, [again], [f"discord:{ALERTS}"])
        await fake_discord.wait_for_edit(msg.id, count=2, timeout=10)
        await settle(bot)
        sent = await deliveries(bot)
    assert len(fake_discord.messages(ALERTS)) == 1
    assert (
        msg.embed is not None
        and msg.embed["description"].splitlines()[0] == "and grew again"
        and "growing" in msg.embed["title"]
    )
    assert [(d.status, d.external_id) for d in sent] == [("sent", str(msg.id))] * 3
    custom_ids = [c["custom_id"] for row in msg.components for c in row["components"]]
    assert custom_ids[0] == "fw:ack:3"


async def test_updated_event_posts_anew_when_the_message_was_deleted(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with running_bot(
        fake_discord, bot_settings(tmp_path), clock=start_clock(), charts=fake_chart
    ) as bot:
        await subscribe(bot, ALERTS)
        fired = event(1)
        await insert_events(bot, [fired], [f"discord:{ALERTS}"])
        msg = await fake_discord.wait_for_message(ALERTS, timeout=10)
        await fake_discord.store.delete(msg)
        grown = event(2, ev="updated")
        grown.episode = fired.episode
        await insert_events(bot, [grown], [f"discord:{ALERTS}"])
        new = await fake_discord.wait_for_message(ALERTS, count=1, timeout=10)
        await settle(bot)
    assert new.id != msg.id and new.embed is not None and "growing" in new.embed["title"]


async def test_quiet_hours_hold_then_one_digest(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    clock = SimClock(datetime(2024, 3, 15, 23, 0, tzinfo=UTC))  # 23:00 UTC: inside 22:00-07:00
    async with running_bot(fake_discord, bot_settings(tmp_path), clock=clock, charts=fake_chart) as bot:
        await bot.app.store.call(
            guild_settings.set_value,
            Defaults.GUILD_ID,
            "quiet",
            {"start": "22:00", "end": "07:00", "tz": "UTC"},
        )
        await subscribe(bot, ALERTS, min_level="watch")
        router = bot.app.pipeline.router
        held_events = [event(1, level="watch"), event(2, level="alert"), event(3, level="alert", key="vix9d")]
        await insert_events(bot, [*held_events, event(4, level="severe")], None, router=router)
        severe = await fake_discord.wait_for_message(ALERTS, timeout=10)  # severe bypasses quiet hours
        await settle(bot)
        assert await bot.release_quiet() == 0  # still quiet
        states = sorted(d.status for d in await deliveries(bot))
        assert states == ["held", "held", "held", "sent"]
        clock.set(datetime(2024, 3, 16, 7, 1, tzinfo=UTC))
        assert await bot.release_quiet() == 3
        digest = await fake_discord.wait_for_message(ALERTS, count=2, timeout=10)
        assert await bot.release_quiet() == 0
        sent = await deliveries(bot)
    assert severe.embed is not None and "Severe" in severe.embed["title"]
    assert digest.embed is not None and digest.embed["title"].startswith(
        "While quiet hours were on (22:00–07:00 UTC): 3"
    )
    assert digest.embed["description"].count("\n") == 2
    assert len(fake_discord.messages(ALERTS)) == 2
    assert {d.external_id for d in sent if d.id != 4} == {str(digest.id)}


async def test_storm_folds_into_one_digest_and_pacing_never_hits_429(tmp_path: Path) -> None:
    from bot.pacing import ChannelPacer

    async with FakeDiscord(message_rate_limit=(5, 1.0)) as fake:
        settings = bot_settings(tmp_path, FLOWWATCH_STORM_MAX="6")
        pacer = ChannelPacer(5, 1.0)
        async with running_bot(fake, settings, charts=fake_chart, pacer=pacer) as bot:
            await subscribe(bot, ALERTS)
            await insert_events(bot, [event(i) for i in range(1, 16)], [f"discord:{ALERTS}"])
            await fake.wait_until(
                lambda: len(fake.messages(ALERTS)) == 7, what="6 alerts and a digest", timeout=20
            )
            await fake.wait_until(
                lambda: (
                    (fake.messages(ALERTS)[-1].embed or {}).get("title", "").startswith("Alert storm: 9 ")
                ),
                what="all 9 folded",
                timeout=20,
            )
            await settle(bot)
            sent = await deliveries(bot)
    assert fake.rate_limited == []
    msgs = fake.messages(ALERTS)
    assert [m.embed["description"].splitlines()[0] for m in msgs[:6] if m.embed] == [
        f"test event {i}" for i in range(1, 7)
    ]
    digest = msgs[6]
    assert digest.embed is not None and "test event" not in digest.embed["description"]
    assert digest.embed["description"].count("\n") == 8  # nine lines
    assert all(d.status == "sent" for d in sent)
    assert {d.external_id for d in sent[6:]} == {str(digest.id)}
    posts = fake.requests_matching("POST", f"/channels/{ALERTS}/messages")
    assert len(posts) == 7  # the other events edited the digest instead of posting


async def test_pacing_spreads_a_burst_without_429(tmp_path: Path) -> None:
    from bot.pacing import ChannelPacer

    async with FakeDiscord(message_rate_limit=(5, 1.0)) as fake:
        settings = bot_settings(tmp_path, FLOWWATCH_STORM_MAX="0")
        async with running_bot(fake, settings, charts=fake_chart, pacer=ChannelPacer(5, 1.0)) as bot:
            await subscribe(bot, ALERTS)
            await insert_events(bot, [event(i) for i in range(1, 9)], [f"discord:{ALERTS}"])
            await fake.wait_until(lambda: len(fake.messages(ALERTS)) == 8, what="8 messages", timeout=20)
            await settle(bot)
    assert fake.rate_limited == []
    assert [m.embed["description"].splitlines()[0] for m in fake.messages(ALERTS) if m.embed] == [
        f"test event {i}" for i in range(1, 9)
    ]


async def test_stale_data_notice_goes_to_admin_channel_not_alert_channels(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    clock = start_clock()
    async with running_bot(fake_discord, bot_settings(tmp_path), clock=clock, charts=fake_chart) as bot:
        await subscribe(bot, ALERTS)
        await fire_vix(bot, clock, END, [CALM_RATIO])
        clock.set(datetime(2024, 3, 21, 22, 0, tzinfo=UTC))  # days later, no new closes
        await bot.app.evaluate(["vix_term"])
        notice = await fake_discord.wait_for_message(Defaults.GENERAL_CHANNEL_ID, timeout=10)
        await settle(bot)
    assert notice.embed is not None and notice.embed["title"].startswith(
        "⚙️ Operational notice · stale data: vix_term"
    )
    assert "Stale data" in notice.embed["description"] and notice.components == []
    assert fake_discord.messages(ALERTS) == []


async def test_webhook_mode_posts_embed_and_chart(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    from bot.sinks.webhook import webhook_app

    hook = fake_discord.add_webhook(ALERTS)
    settings = bot_settings(tmp_path, DISCORD_WEBHOOK_URL=hook.url)
    clock = start_clock()
    app = webhook_app(settings, clock=clock)
    await app.start(schedule=False, initial_poll=False)
    try:
        days = sessions(END, 40)
        await app.ingest(vix_history(days, [ALERT_RATIO] * 2))
        for d in days[-2:]:
            clock.set(after_close(d))
            await app.evaluate(["vix_term"])
        msg = await fake_discord.wait_for_message(ALERTS, timeout=10)
        fired_title = (msg.embed or {}).get("title", "")
        await app.dispatcher.drain_once()
        sent = await app.store.call(alert_repo.deliveries_for, 1)
        # an updated event of the same episode edits the webhook message in place
        first = await app.store.call(alert_repo.get_alert, 1)
        grown = event(2, ev="updated", ts=first.ts + 60)
        grown.episode, grown.summary = first.episode, "grew"
        await app.store.call(lambda db: alert_repo.insert_event(db, "live", grown, ["webhook"], now=first.ts))
        app.dispatcher.kick()
        await fake_discord.wait_for_edit(msg.id, timeout=10)
    finally:
        await app.stop()
    assert msg.source == "webhook" and msg.webhook_id == hook.id
    assert fired_title.startswith("🟠 Alert:")
    assert msg.attachment("vix_term-vix3m.png").data.startswith(PNG)
    assert msg.components == []
    assert sorted((d.destination, d.status) for d in sent) == [("console", "sent"), ("webhook", "sent")]
    assert next(d for d in sent if d.destination == "webhook").external_id == str(msg.id)
    assert (
        msg.embed is not None
        and msg.embed["description"].splitlines()[0] == "grew"
        and len(fake_discord.messages(ALERTS)) == 1
    )


async def fake_chart(alert: Any) -> bytes:
    return tiny_png()
