"""The signal contract, checked over every registered signal (a new signal is checked with no
edit here).

For each signal, on its own demo scenario written to a real SQLite file as a backfill would:

- its readings are deterministic (two computations on the same data are equal);
- ``replay`` equals live: stepping the live pipeline through the same data, at evaluation times
  spread over the scenario, fires the same events as one replay;
- :meth:`~signals.contract.Signal.grade` agrees with the levels ``history`` emits (a guild's
  regrading relies on it);
- its chart renders to a PNG;
- its demo fires at least one alert;
- every parameter round-trips through the environment, ``replay --set`` and, for those a guild may
  set, ``/thresholds``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import pytest

from bot.backtest import params_with_overrides
from bot.charts import render_png
from bot.config import load_settings, param_env_name
from bot.demo import START
from bot.guild_config import guild_params, set_threshold, settable_keys
from bot.pipeline import Pipeline, read_inputs, with_tables
from bot.replay import compute_readings, run_replay
from signals import registry
from signals.base import Level, Param, Reading
from signals.contract import CORE, Signal, chart_of, default_params, has, missing_members, validate_of
from storage import batches
from storage.db import open_db
from storage.timeutil import from_epoch, to_epoch

SIGNALS = sorted(registry())
#: live evaluations spread over each demo (each steps every reading since the one before)
LIVE_STEPS = 40
GUILD = 123456789012345678


@pytest.fixture(params=SIGNALS)
def sig(request: pytest.FixtureRequest) -> Signal:
    return registry()[request.param]


def _demo_db(sig: Signal, path: Path) -> None:
    db = open_db(path)
    try:
        batches.write(db, sig.demo(START).batch(), live=False)
    finally:
        db.close()


@cache
def _demo_file(signal_id: str, root: str) -> Path:
    path = Path(root) / f"{signal_id}.db"
    _demo_db(registry()[signal_id], path)
    return path


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("demos"))


def _readings(sig: Signal, path: Path) -> list[Reading]:
    db = open_db(path)
    try:
        return list(compute_readings(db, sig, default_params(sig), None))
    finally:
        db.close()


def _events(events: list[tuple[str, str, str, int]]) -> list[tuple[str, str, str, int]]:
    return sorted(events, key=lambda e: (e[3], e[0], e[1]))


def test_every_signal_declares_the_core_members(sig: Signal) -> None:
    assert missing_members(sig) == [], f"{sig.id} lacks {missing_members(sig)} of {CORE}"
    assert sig.keys or has(sig, "calendar"), f"{sig.id} declares no key (nor calendar keys)"


def test_readings_are_deterministic(sig: Signal, demo_root: str, tmp_path: Path) -> None:
    first = _readings(sig, _demo_file(sig.id, demo_root))
    _demo_db(sig, tmp_path / "again.db")
    second = _readings(sig, tmp_path / "again.db")
    assert first, f"{sig.id}: its demo gives no reading"
    assert [(r.key, r.ts, r.value, r.level, r.hold, r.summary) for r in first] == [
        (r.key, r.ts, r.value, r.level, r.hold, r.summary) for r in second
    ]


def test_grade_agrees_with_history(sig: Signal, demo_root: str) -> None:
    params = default_params(sig)
    readings = _readings(sig, _demo_file(sig.id, demo_root))
    assert readings, f"{sig.id}: no reading"
    wrong = [(r.key, r.ts, r.value, r.level, sig.grade(r.key, r.value, r.data, params)) for r in readings]
    wrong = [w for w in wrong if w[3] != w[4]]
    assert not wrong, f"{sig.id}: grade() disagrees with history on {len(wrong)} readings, e.g. {wrong[:3]}"


def test_the_demo_fires(sig: Signal, demo_root: str) -> None:
    db = open_db(_demo_file(sig.id, demo_root))
    try:
        events = run_replay(db, [sig], {sig.id: default_params(sig)}, resume=False).events
    finally:
        db.close()
    fired = [e for e in events if e.event in ("fired", "escalated") and Level.parse(e.level) >= Level.ALERT]
    assert fired, f"{sig.id}: its demo fires no alert ({len(events)} events)"


def test_replay_equals_live(sig: Signal, tmp_path: Path) -> None:
    """The live pipeline, stepped through the demo as polls would store it, fires what one
    replay of the same data fires."""
    demo = sig.demo(START)
    whole = tmp_path / "replay.db"
    _demo_db(sig, whole)
    db = open_db(whole)
    try:
        replayed = run_replay(db, [sig], {sig.id: default_params(sig)}, resume=False).events
        times = sorted({to_epoch(r.ts) for r in compute_readings(db, sig, default_params(sig), None)})
    finally:
        db.close()
    want = _events([(e.key, e.event, e.level, e.ts) for e in replayed])

    live_db = open_db(tmp_path / "live.db")
    settings = load_settings(env={"FLOWWATCH_DB": str(tmp_path / "live.db")}, dotenv=None)
    pipe = Pipeline(settings)
    batches.write(live_db, batches.Batch((), demo.rows), live=False)
    obs = sorted(demo.observations, key=lambda o: o.ts)
    picks = sorted({times[round(i * (len(times) - 1) / (LIVE_STEPS - 1))] for i in range(LIVE_STEPS)})
    got: list[tuple[str, str, str, int]] = []
    j = 0
    try:
        for t in picks:
            k = j
            while k < len(obs) and obs[k].ts <= t:
                k += 1
            if k > j:
                batches.write(live_db, batches.Batch(tuple(obs[j:k])), live=False)
                j = k
            out = pipe.evaluate(live_db, [sig.id], from_epoch(t))
            got += [(e.key, e.event, e.level, e.ts) for _id, e in out[sig.id].events if e.kind == "alert"]
    finally:
        live_db.close()
    assert _events(got) == want, f"{sig.id}: live and replay differ"


def test_the_chart_renders(sig: Signal, demo_root: str) -> None:
    db = open_db(_demo_file(sig.id, demo_root))
    try:
        readings = list(compute_readings(db, sig, default_params(sig), None))
        end = max(r.ts for r in readings) + timedelta(days=1)
        inputs = with_tables(db, sig, read_inputs(db, sig, None, to_epoch(end)), to_epoch(end))
        marks = [(r.ts, r.key, r.level.label) for r in readings if r.level >= Level.ALERT][:5]
        data = chart_of(sig, inputs, default_params(sig), end, 400, marks)
    finally:
        db.close()
    png = render_png(data)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5_000, sig.id


def _other_value(spec: Param, default: float) -> list[float]:
    """Values near the default, inside the declared range, whole where the spec is."""
    span = spec.hi - spec.lo
    out = []
    for step in (0.01, -0.01, 0.05, -0.05):
        v = default + step * span
        if spec.integer:
            v = float(round(v) if round(v) != default else default + (1 if step > 0 else -1))
        v = round(v, 6)
        if spec.lo <= v <= spec.hi and v != default:
            out.append(v)
    return out


def _round_trips(sig: Signal) -> Iterator[tuple[Param, float]]:
    base = default_params(sig)
    for spec in sig.params:
        for v in _other_value(spec, base[spec.name]):
            if not validate_of(sig, base.with_overrides({spec.name: v})):
                yield spec, v
                break


def test_parameters_round_trip(sig: Signal, tmp_path: Path) -> None:
    trips = list(_round_trips(sig))
    assert len(trips) >= len(sig.params) // 2, f"{sig.id}: few parameters can move from their default"
    env = {"FLOWWATCH_DB": str(tmp_path / "x.db")}
    for spec, v in trips:
        text = str(int(v)) if spec.integer else repr(v)
        # the environment
        settings = load_settings(env={**env, param_env_name(sig.id, spec.name): text}, dotenv=None)
        assert settings.signal_params(sig.id)[spec.name] == v, (sig.id, spec.name)
        # replay --set / /backtest
        plain = load_settings(env=env, dotenv=None)
        assert params_with_overrides(sig.id, plain, [(spec.name, text)])[spec.name] == v
        assert params_with_overrides(sig.id, plain, [(f"{sig.id}.{spec.name}", text)])[spec.name] == v
    # /thresholds: what a guild may set, stored and read back
    db = open_db(tmp_path / "x.db")
    plain = load_settings(env=env, dotenv=None)
    try:
        for spec, v in trips:
            if spec.name not in settable_keys(sig.id):
                continue
            assert set_threshold(db, plain, GUILD, sig.id, spec.name, str(v)) == v
            got = guild_params(db, plain, GUILD, sig.id)
            assert got is not None and got[spec.name] == v, (sig.id, spec.name)
    finally:
        db.close()


def test_guild_settable_parameters_are_declared(sig: Signal) -> None:
    names = {p.name for p in sig.params}
    assert set(settable_keys(sig.id)) <= names


def test_a_readings_time_is_a_datetime(sig: Signal, demo_root: str) -> None:
    readings = _readings(sig, _demo_file(sig.id, demo_root))
    assert all(isinstance(r.ts, datetime) and r.ts.tzinfo is not None for r in readings), sig.id
