"""Per-signal on/off and a minimum level for the console and the webhook (webhook mode has no
``/alerts subscribe``): a crypto-only server gets btc_liq alerts only, from alert level up."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.clock import SimClock
from bot.config import ConfigError, load_settings
from bot.routing import CONSOLE, WEBHOOK, SubscriptionRouter
from bot.sink_filters import console_router_for
from storage import alerts as alert_repo
from storage.alerts import AlertEvent
from storage.db import open_db
from storage.timeutil import to_epoch

NOON = datetime(2025, 10, 10, 21, 0, tzinfo=UTC)


def ev(signal: str, event: str, level: str, n: int, episode: str, kind: str = "alert") -> AlertEvent:
    return AlertEvent(
        signal=signal,
        key="k",
        event=event,
        level=level,
        prev_level="ok",
        ts=to_epoch(NOON) + n,
        summary="s",
        value=1.0,
        episode=episode,
        kind=kind,
    )


@pytest.fixture
def db(tmp_path: Path) -> Any:
    d = open_db(tmp_path / "f.db")
    yield d
    d.close()


def _route(db: Any, router: Any, e: AlertEvent) -> list[str]:
    dests, held = router(db, "live", e)
    alert_repo.insert_event(db, "live", e, dests, held=held)
    return dests


def test_crypto_only_webhook_from_alert_level(db: Any) -> None:
    settings = load_settings(env={"FLOWWATCH_WEBHOOK_SIGNALS": "btc_liq"}, dotenv=None, check_db=False)
    router = SubscriptionRouter(settings, SimClock(NOON), discord=False, webhook=True, console=True)
    # a heads-up cascade: console only (the webhook starts at alert by default)
    assert _route(db, router, ev("btc_liq", "fired", "watch", 1, "e1")) == [CONSOLE]
    # it escalates to alert: now the webhook hears it, and later its end
    assert _route(db, router, ev("btc_liq", "escalated", "alert", 2, "e1")) == [CONSOLE, WEBHOOK]
    assert _route(db, router, ev("btc_liq", "resolved", "ok", 3, "e1")) == [CONSOLE, WEBHOOK]
    # a heads-up that never grew: its end is not news to the webhook
    _route(db, router, ev("btc_liq", "fired", "watch", 4, "e2"))
    assert _route(db, router, ev("btc_liq", "resolved", "ok", 5, "e2")) == [CONSOLE]
    # other signals never reach this webhook, whatever their level; notices of btc_liq do
    assert _route(db, router, ev("vix_term", "fired", "severe", 6, "e3")) == [CONSOLE]
    assert _route(db, router, ev("vix_term", "fired", "watch", 7, "e4", kind="notice")) == [CONSOLE]
    assert _route(db, router, ev("btc_liq", "fired", "watch", 8, "e5", kind="notice")) == [CONSOLE, WEBHOOK]


def test_console_filter_in_console_mode(db: Any) -> None:
    settings = load_settings(
        env={"FLOWWATCH_CONSOLE_SIGNALS": "vix_term,ratecut", "FLOWWATCH_CONSOLE_MIN_LEVEL": "severe"},
        dotenv=None,
        check_db=False,
    )
    route = console_router_for(settings.sink_filter("console"))
    assert _route(db, route, ev("vix_term", "fired", "alert", 1, "a")) == []
    assert _route(db, route, ev("vix_term", "fired", "severe", 2, "b")) == [CONSOLE]
    assert _route(db, route, ev("btc_liq", "fired", "severe", 3, "c")) == []


def test_defaults_and_bad_values() -> None:
    s = load_settings(env={}, dotenv=None, check_db=False)
    assert s.sink_filter("console").describe() == "every signal, from watch"
    assert s.sink_filter("webhook").describe() == "every signal, from alert"
    assert (
        load_settings(env={"FLOWWATCH_WEBHOOK_SIGNALS": "none"}, dotenv=None, check_db=False)
        .sink_filter("webhook")
        .signals
        == frozenset()
    )
    with pytest.raises(ConfigError) as exc:
        load_settings(
            env={"FLOWWATCH_WEBHOOK_SIGNALS": "btc", "FLOWWATCH_CONSOLE_MIN_LEVEL": "high"},
            dotenv=None,
            check_db=False,
        )
    text = str(exc.value)
    assert "unknown signal 'btc': use all, none or a comma-separated list of btc_liq, buyback" in text
    assert "'high' is not a level: use watch (every heads-up), alert or severe" in text
