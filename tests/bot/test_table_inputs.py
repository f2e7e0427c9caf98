"""Generic table inputs: a signal may declare tables besides observation series."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import ClassVar

import pandas as pd
from sqlite_utils import Database

from bot.formatting import fmt_value
from bot.pipeline import load_signal_inputs, with_tables
from bot.replay import compute_readings
from signals.base import Demo, Level, Params, Reading, TableLoader
from signals.contract import default_params
from storage.observations import Inputs, load_inputs

seen_ends: list[int | None] = []


def load_things(db: Database, end: int | None) -> pd.DataFrame:
    seen_ends.append(end)
    return pd.DataFrame({"n": [1, 2, 3]})


class TableSignal:
    """A plain signal: the core members and one capability (tables), nothing inherited."""

    id = "tabletest"
    title = "t"
    description = "t"
    inputs = ()
    params = ()
    keys: ClassVar[dict[str, str]] = {"k": "k"}
    tables: ClassVar[Mapping[str, TableLoader]] = {"things": load_things}

    def history(self, inputs: Inputs, params: Params) -> list[Reading]:
        n = len(inputs.table("things"))
        t = datetime(2024, 1, 2, tzinfo=UTC)
        return [Reading(self.id, "k", t, float(n), Level.OK, Level.OK, f"{n} things", "test")]

    def grade(self, key: str, value: float, figures: Mapping[str, object], params: Params) -> Level:
        return Level.OK

    def demo(self, start: datetime) -> Demo:
        return Demo()


def test_tables_are_loaded_for_live_and_replay(db: Database) -> None:
    sig = TableSignal()
    seen_ends.clear()
    now = datetime(2024, 1, 3, tzinfo=UTC)
    inp = load_signal_inputs(db, sig, now)
    assert list(inp.tables) == ["things"] and len(inp.table("things")) == 3
    assert inp.table("missing").empty
    assert seen_ends == [int(now.timestamp())]
    (r,) = compute_readings(db, sig, default_params(sig), None)
    assert r.value == 3.0 and seen_ends[-1] is None


def test_signals_without_tables_are_untouched(db: Database) -> None:
    from signals.vix_term import SIGNAL

    inp = load_inputs(db, SIGNAL.inputs)
    assert with_tables(db, SIGNAL, inp, None) is inp and inp.tables == {}


def test_value_format_defaults_to_three_decimals() -> None:
    assert fmt_value("vix_term", 1.23456) == "1.235"
    assert fmt_value("vix_term", 0.02, signed=True) == "+0.020"
    assert fmt_value("no-such-signal", 2.0) == "2.000"
