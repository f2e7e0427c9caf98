"""The subscription router and the send-time plan (Discord-free, real SQLite)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot import guild_config
from bot.clock import SimClock
from bot.config import load_settings
from bot.routing import SubscriptionRouter, plan
from signals.base import Level
from storage import alerts as alert_repo
from storage import guild_state, subscriptions
from storage.alerts import AlertEvent
from storage.timeutil import to_epoch

G1, G2 = 111111111111111111, 222222222222222222
C1, C2, C3 = 101010101010101010, 202020202020202020, 303030303030303030
ROLE = 909090909090909090
NOON = datetime(2024, 3, 15, 12, 0, tzinfo=UTC)


def ev(event: str = "fired", level: str = "alert", value: float = 1.02, **kw: Any) -> AlertEvent:
    base = {
        "signal": "vix_term",
        "key": "vix3m",
        "event": event,
        "level": level,
        "prev_level": kw.pop("prev_level", "ok"),
        "ts": to_epoch(NOON) + kw.pop("dt", 0),
        "summary": "s",
        "value": value,
        "episode": "vix_term:vix3m:1",
    }
    base.update(kw)
    return AlertEvent(**base)


@pytest.fixture
def settings() -> Any:
    return load_settings(env={}, dotenv=None, check_db=False)


@pytest.fixture
def router(settings: Any) -> SubscriptionRouter:
    return SubscriptionRouter(settings, SimClock(NOON))


def route(
    db: Any, router: SubscriptionRouter, e: AlertEvent, scope: str = "live"
) -> tuple[list[str], list[str]]:
    dests, held = router(db, scope, e)
    alert_repo.insert_event(db, scope, e, dests, held=held)  # as engine.persist does
    return dests, held


def test_min_level_per_subscription(db: Any, router: SubscriptionRouter) -> None:
    subscriptions.subscribe(db, G1, C1, "vix_term", "watch")
    subscriptions.subscribe(db, G1, C2, "vix_term", "alert")
    subscriptions.subscribe(db, G2, C3, "vix_term", "severe")
    assert route(db, router, ev(level="watch", dt=1)) == ([f"discord:{C1}"], [])
    assert route(db, router, ev(event="escalated", level="alert", dt=2)) == (
        [f"discord:{C1}", f"discord:{C2}"],
        [],
    )
    assert route(db, router, ev(event="escalated", level="severe", dt=3))[0] == [
        f"discord:{C1}",
        f"discord:{C2}",
        f"discord:{C3}",
    ]


def test_resolve_goes_only_to_channels_that_saw_the_episode(db: Any, router: SubscriptionRouter) -> None:
    subscriptions.subscribe(db, G1, C1, "vix_term", "watch")
    subscriptions.subscribe(db, G1, C2, "vix_term", "alert")
    route(db, router, ev(level="watch", dt=1))
    assert route(db, router, ev(event="resolved", level="ok", prev_level="watch", dt=2)) == (
        [f"discord:{C1}"],
        [],
    )
    # an episode that reached alert: both saw it, both hear the step down and the end
    e2 = {"episode": "vix_term:vix3m:2"}
    route(db, router, ev(level="alert", dt=3, **e2))
    down = route(db, router, ev(event="deescalated", level="watch", prev_level="alert", dt=4, **e2))
    assert down == ([f"discord:{C1}", f"discord:{C2}"], [])
    end = route(db, router, ev(event="resolved", level="ok", prev_level="watch", dt=5, **e2))
    assert end == ([f"discord:{C1}", f"discord:{C2}"], [])


def test_guild_snooze_silences_only_that_guild(db: Any, router: SubscriptionRouter) -> None:
    subscriptions.subscribe(db, G1, C1, "vix_term")
    subscriptions.subscribe(db, G2, C3, "vix_term")
    now = to_epoch(NOON)
    guild_state.snooze(db, G1, "vix_term", now + 3600, None, now)
    assert route(db, router, ev(dt=1)) == ([f"discord:{C3}"], [])
    guild_state.snooze(db, G1, "vix_term", now - 1, None, now)  # expired
    assert route(db, router, ev(dt=2, episode="e2"))[0] == [f"discord:{C1}", f"discord:{C3}"]


def test_guild_thresholds_regrade_events_without_forking_the_lifecycle(
    db: Any, router: SubscriptionRouter, settings: Any
) -> None:
    subscriptions.subscribe(db, G1, C1, "vix_term", "alert")
    subscriptions.subscribe(db, G2, C3, "vix_term", "alert")
    guild_config.set_threshold(db, settings, G1, "vix_term", "alert", "1.05")
    # a global alert at 1.02 is only a watch for G1: not shown to its alert-level subscription
    assert route(db, router, ev(value=1.02, dt=1)) == ([f"discord:{C3}"], [])
    # at 1.06 G1 grades it alert as well
    assert route(db, router, ev(event="updated", value=1.06, dt=2))[0] == [f"discord:{C1}", f"discord:{C3}"]
    # and G1 grading a global watch at 0.99 with a lower alert threshold
    guild_config.set_threshold(db, settings, G1, "vix_term", "alert", "0.98")
    assert route(db, router, ev(level="watch", value=0.99, dt=3, episode="e3"))[0] == [f"discord:{C1}"]


def test_quiet_hours_hold_below_severe(db: Any, settings: Any) -> None:
    clock = SimClock(datetime(2024, 3, 15, 23, 30, tzinfo=UTC))  # 23:30 UTC = 23:30 London (GMT)
    router = SubscriptionRouter(settings, clock)
    subscriptions.subscribe(db, G1, C1, "vix_term", "watch")
    subscriptions.subscribe(db, G2, C3, "vix_term", "watch")
    guild_config.set_quiet_hours(db, G1, guild_config.QuietHours.parse("22:00", "07:00", "Europe/London"))
    assert route(db, router, ev(level="alert", dt=1)) == ([f"discord:{C3}"], [f"discord:{C1}"])
    assert route(db, router, ev(event="escalated", level="severe", dt=2))[0] == [
        f"discord:{C1}",
        f"discord:{C3}",
    ]
    clock.set(datetime(2024, 3, 16, 7, 0, tzinfo=UTC))
    assert route(db, router, ev(event="deescalated", level="alert", prev_level="severe", dt=3))[1] == []


def test_notices_go_to_each_guild_once_and_disabled_subscriptions_are_ignored(
    db: Any, router: SubscriptionRouter
) -> None:
    subscriptions.subscribe(db, G1, C1, "vix_term")
    subscriptions.subscribe(db, G1, C2, "vix_term")
    subscriptions.subscribe(db, G2, C3, "vix_term")
    notice = ev(level="watch", kind="notice", key="stale:vix3m", episode="n1")
    assert route(db, router, notice) == ([f"discord-guild:{G1}", f"discord-guild:{G2}"], [])
    subscriptions.disable_channel(db, C3, "403")
    assert route(db, router, ev(dt=5, episode="x"))[0] == [f"discord:{C1}", f"discord:{C2}"]


def test_other_scopes_and_modes(db: Any, settings: Any) -> None:
    subscriptions.subscribe(db, G1, C1, "vix_term")
    both = SubscriptionRouter(settings, SimClock(NOON), webhook=True, console=True)
    assert both(db, "live", ev()) == (["console", "webhook", f"discord:{C1}"], [])
    assert both(db, "replay", ev()) == (["console", "webhook"], [])
    hook_only = SubscriptionRouter(settings, SimClock(NOON), discord=False, webhook=True)
    assert hook_only(db, "live", ev()) == (["webhook"], [])


@pytest.mark.parametrize(
    ("event", "level", "pings"),
    [
        ("fired", "severe", True),
        ("escalated", "severe", True),
        ("fired", "alert", False),
        ("updated", "severe", False),
    ],
)
def test_plan_pings_the_role_on_severe_only(
    db: Any, settings: Any, event: str, level: str, pings: bool
) -> None:
    subscriptions.subscribe(db, G1, C1, "vix_term", "watch", ROLE)
    p = plan(
        db, settings, f"discord:{C1}", ev(event=event, level=level, value=1.2 if level == "severe" else 1.02)
    )
    assert p.guild_id == G1 and p.role_id == (ROLE if pings else None)


def test_plan_never_pings_closing_events_and_reports_regrading(db: Any, settings: Any) -> None:
    subscriptions.subscribe(db, G1, C1, "vix_term", "watch", ROLE)
    resolved = ev(event="resolved", level="ok", prev_level="severe")
    assert plan(db, settings, f"discord:{C1}", resolved).role_id is None
    guild_config.set_threshold(db, settings, G1, "vix_term", "severe", "1.03")
    p = plan(db, settings, f"discord:{C1}", ev(level="alert", value=1.04))
    assert p.level == Level.SEVERE and p.regraded and p.role_id == ROLE
    assert plan(db, settings, "webhook", ev()).role_id is None


def _statements(db: Any) -> list[str]:
    seen: list[str] = []
    db.conn.set_trace_callback(seen.append)
    return seen


def test_routing_cost_does_not_grow_per_subscription(settings: Any) -> None:
    """Indexed routing: one event to 300 channels costs a handful of statements, not some per
    subscription, and the send-time plan of one channel is an index probe (it used to read every
    subscription of the signal: 2.2 ms a delivery at 1,000 channels, 13 ms at 5,000)."""
    from storage.db import open_db

    db = open_db(":memory:")
    for i in range(300):
        subscriptions.subscribe(db, G1 + i // 3, C1 + i, "vix_term", "watch", ROLE)
    guild_config.set_quiet_hours(db, G1, guild_config.QuietHours.parse("22:00", "07:00", "UTC"))
    guild_state.snooze(db, G1 + 1, "vix_term", to_epoch(NOON) + 3600, None, to_epoch(NOON))
    router = SubscriptionRouter(settings, SimClock(NOON))
    seen = _statements(db)
    dests, held = router(db, "live", ev(level="severe", value=1.2))
    assert len(dests) == 297 and held == []  # G1+1's three channels are snoozed
    assert len(seen) < 12, seen
    seen.clear()
    p = plan(db, settings, f"discord:{C1 + 150}", ev(level="severe", value=1.2))
    assert p.role_id == ROLE
    reads = [q for q in seen if "FROM subscriptions" in q]
    assert reads and all("channel_id = " in q for q in reads), reads
    uses = db.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM subscriptions WHERE channel_id = ? AND signal = ?",
        [C1, "vix_term"],
    ).fetchall()
    assert any("subscriptions_by_channel" in str(r[-1]) for r in uses)
