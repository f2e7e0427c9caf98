from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.engine import Engine, Rules, persist
from signals.base import Level, Reading
from storage import alerts as alert_repo
from storage import state as state_repo

T0 = datetime(2024, 8, 1, 20, 15, tzinfo=UTC)
L = Level


def rd(
    i: int, value: float, level: Level, hold: Level | None = None, confirm: int = 2, key: str = "k"
) -> Reading:
    return Reading(
        signal="s",
        key=key,
        ts=T0 + timedelta(days=i),
        value=value,
        level=level,
        hold=level if hold is None else hold,
        summary=f"v={value}",
        source="test",
        confirm=confirm,
    )


def run(engine: Engine, readings: list[Reading], rules: Rules | None = None) -> list[tuple[str, str]]:
    out = []
    for r in readings:
        out += [(e.event, e.level) for e in engine.step(r, rules or Rules())]
    return out


def test_confirm_rule_ignores_one_day_blips() -> None:
    e = Engine()
    assert run(e, [rd(0, 1.01, L.ALERT), rd(1, 0.9, L.OK), rd(2, 1.02, L.ALERT)]) == []
    assert e.state("s", "k").state == "pending"
    assert run(e, [rd(3, 1.03, L.ALERT)]) == [("fired", "alert")]


def test_fires_at_the_level_sustained_over_the_streak() -> None:
    e = Engine()
    assert run(e, [rd(0, 0.96, L.WATCH), rd(1, 1.2, L.SEVERE)]) == [("fired", "watch")]
    assert run(e, [rd(2, 1.05, L.ALERT), rd(3, 1.15, L.SEVERE)]) == [("escalated", "alert")]


def test_the_close_that_fires_counts_toward_the_level_it_already_shows() -> None:
    """Two closes per level, from OK or from the level below: a reading past a higher line than
    the one it fires is that level's first, so the next one escalates (and not the one after)."""
    e = Engine()
    assert run(e, [rd(0, 1.02, L.ALERT), rd(1, 1.19, L.SEVERE)]) == [("fired", "alert")]
    assert e.state("s", "k").pending_count == 1 and e.state("s", "k").pending_level == "severe"
    assert run(e, [rd(2, 1.31, L.SEVERE)]) == [("escalated", "severe")]
    # escalating works the same way: watch fired, the firing close already inverted
    e = Engine()
    assert run(e, [rd(0, 0.99, L.WATCH), rd(1, 1.005, L.ALERT)]) == [("fired", "watch")]
    assert run(e, [rd(2, 1.009, L.ALERT)]) == [("escalated", "alert")]
    # a reading at the fired level only starts no count: the next higher one is its first
    e = Engine()
    run(e, [rd(0, 1.02, L.ALERT), rd(1, 1.03, L.ALERT)])
    assert run(e, [rd(2, 1.2, L.SEVERE)]) == []
    assert run(e, [rd(3, 1.2, L.SEVERE)]) == [("escalated", "severe")]
    # and one blip past the line is still not enough
    e = Engine()
    run(e, [rd(0, 1.02, L.ALERT), rd(1, 1.2, L.SEVERE)])
    assert run(e, [rd(2, 1.03, L.ALERT), rd(3, 1.2, L.SEVERE)]) == []


def test_hysteresis_holds_level_until_exit_threshold() -> None:
    e = Engine()
    run(e, [rd(0, 1.02, L.ALERT), rd(1, 1.02, L.ALERT)])
    # below the entry (1.00) but above the exit (0.97): still alert
    assert run(e, [rd(2, 0.98, L.WATCH, hold=L.ALERT)]) == []
    assert e.state("s", "k").level == "alert"
    assert run(e, [rd(3, 0.96, L.WATCH, hold=L.WATCH)]) == [("deescalated", "watch")]
    assert run(e, [rd(4, 0.90, L.OK, hold=L.OK)]) == [("resolved", "ok")]


def test_resolve_carries_duration_and_peak() -> None:
    e = Engine()
    run(e, [rd(0, 1.02, L.ALERT), rd(1, 1.25, L.SEVERE), rd(2, 1.1, L.ALERT)])
    evs = e.step(rd(5, 0.8, L.OK), Rules())
    assert len(evs) == 1
    ev = evs[0]
    assert ev.event == "resolved" and ev.prev_level == "alert"
    assert ev.duration_s == 4 * 86400
    assert ev.peak == 1.25
    assert "Resolved after 4d" in ev.summary and "Peak 1.250" in ev.summary
    assert ev.episode == f"s:k:{int((T0 + timedelta(days=1)).timestamp())}"


def test_the_resolving_reading_counts_toward_the_peak() -> None:
    """A cascade resolves on the reading that carries its final total: the Over message's peak is
    never below the total it reports (btc_liq 2020-12-29: total $577.4M, peak was $522.4M)."""
    e = Engine()
    run(e, [rd(0, 54.7, L.WATCH, confirm=1), rd(1, 522.4, L.WATCH, confirm=1)])
    (ev,) = e.step(rd(2, 577.4, L.OK, confirm=1), Rules())
    assert ev.event == "resolved" and ev.peak == 577.4
    assert "Peak 577.400 on 2024-08-03" in ev.summary


def test_cooldown_blocks_refire_then_allows() -> None:
    e = Engine()
    rules = Rules(cooldown_s=10 * 86400)
    assert run(e, [rd(0, 1.1, L.ALERT), rd(1, 1.1, L.ALERT), rd(2, 0.5, L.OK)], rules) == [
        ("fired", "alert"),
        ("resolved", "ok"),
    ]
    assert run(e, [rd(3, 1.1, L.ALERT), rd(4, 1.1, L.ALERT), rd(5, 1.1, L.ALERT)], rules) == []
    assert run(e, [rd(12, 1.1, L.ALERT), rd(13, 1.1, L.ALERT)], rules) == [("fired", "alert")]


def test_updated_when_growing_past_threshold() -> None:
    e = Engine()
    rules = Rules(update_growth=1.5)
    run(e, [rd(0, 10, L.ALERT, confirm=1)], rules)
    assert run(e, [rd(1, 12, L.ALERT, confirm=1), rd(2, 16, L.ALERT, confirm=1)], rules) == [
        ("updated", "alert")
    ]
    assert run(e, [rd(3, 20, L.ALERT, confirm=1), rd(4, 24.1, L.ALERT, confirm=1)], rules) == [
        ("updated", "alert")
    ]


def test_updated_only_at_or_above_the_minimum_level() -> None:
    rules = Rules(update_growth=1.5, update_min_level=L.SEVERE)
    e = Engine()
    run(e, [rd(0, 1.0, L.WATCH, confirm=1)], rules)
    assert run(e, [rd(1, 2.0, L.WATCH, confirm=1)], rules) == []  # growth at watch: no event
    assert run(e, [rd(2, 3.0, L.SEVERE, confirm=1)], rules) == [("escalated", "severe")]
    assert run(e, [rd(3, 4.6, L.SEVERE, confirm=1)], rules) == [("updated", "severe")]


def test_replayed_or_old_readings_are_skipped() -> None:
    e = Engine()
    run(e, [rd(0, 1.1, L.ALERT), rd(1, 1.1, L.ALERT)])
    assert run(e, [rd(1, 1.1, L.ALERT), rd(0, 0.1, L.OK)]) == []


def test_seed_pending_counts_streak_before_from() -> None:
    e = Engine()
    e.seed_pending(rd(-1, 1.1, L.ALERT), streak=5, level=L.ALERT)
    assert run(e, [rd(0, 1.1, L.ALERT)]) == [("fired", "alert")]


def test_persist_is_atomic_and_restart_neither_repeats_nor_forgets(db) -> None:  # type: ignore[no-untyped-def]
    e = Engine()
    evs = e.step(rd(0, 1.1, L.ALERT, confirm=1), Rules())
    written = persist(db, "live", e.take_dirty(), evs, now=1)
    assert len(written) == 1
    # a new process loads the state: the same reading again writes nothing
    e2 = Engine(state_repo.load_states(db, "live"))
    assert e2.step(rd(0, 1.1, L.ALERT, confirm=1), Rules()) == []
    # writing the same event twice (a crash between commit and bookkeeping) is ignored
    assert persist(db, "live", [], evs, now=2) == []
    assert len(alert_repo.list_alerts(db, "live")) == 1


def test_persist_rolls_back_state_with_event(db) -> None:  # type: ignore[no-untyped-def]
    e = Engine()
    evs = e.step(rd(0, 1.1, L.ALERT, confirm=1), Rules())

    def broken_router(db, scope, ev):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        persist(db, "live", e.take_dirty(), evs, broken_router)
    assert state_repo.load_states(db, "live") == {}
    assert alert_repo.list_alerts(db, "live") == []
