"""The vocabulary every signal shares: levels, parameters, readings, engine rules, demos.

A signal (see :mod:`signals.contract`) is pure: it receives :class:`storage.observations.Inputs`
(a wide pandas frame) and its :class:`Params`, and returns :class:`Reading` objects. It never
does I/O. The same code runs live, on replay over history and in tests.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from storage.batches import Batch, TableWrite
from storage.observations import Inputs, Observation

if TYPE_CHECKING:
    import pandas as pd
    from sqlite_utils import Database

#: a table input's loader: (db, end epoch s or None) -> the rows known by ``end``
TableLoader = Callable[["Database", int | None], "pd.DataFrame"]
#: a signal's own input loader: (db, start, end, alert scope) -> Inputs (``contract.OwnLoader``)
InputLoader = Callable[["Database", int | None, int | None, str], Inputs]


class Level(enum.IntEnum):
    OK = 0
    WATCH = 1
    ALERT = 2
    SEVERE = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Level:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown level {text!r}: use one of ok, watch, alert, severe") from None


@dataclass(frozen=True)
class Param:
    """A tunable threshold or rule setting, validated wherever it is set.

    Settable from the environment (``FLOWWATCH_<SIGNAL>_<NAME>``), ``replay --set`` and a
    guild's ``/thresholds set`` (which only filters what that guild is shown).
    """

    name: str
    default: float
    lo: float
    hi: float
    help: str
    integer: bool = False
    unit: str = ""
    #: a guild may set it with ``/thresholds set`` (it changes how :meth:`grade` grades a
    #: reading's figures; timing rules, exits and cooldowns stay global)
    guild: bool = False

    def parse(self, text: str | float) -> float:
        try:
            v = float(text)
        except (TypeError, ValueError):
            raise ValueError(f"{self.name}: {text!r} is not a number ({self.describe_range()})") from None
        if not math.isfinite(v):
            raise ValueError(f"{self.name}: {text!r} is not a finite number ({self.describe_range()})")
        if self.integer and v != int(v):
            raise ValueError(f"{self.name}: {text!r} must be a whole number ({self.describe_range()})")
        if not self.lo <= v <= self.hi:
            raise ValueError(f"{self.name}: {text!r} is out of range ({self.describe_range()})")
        return int(v) if self.integer else v

    def with_unit(self, number: str) -> str:
        """``number`` and the unit as messages write them (``50%``, ``5 pp``, ``3 days``)."""
        if not self.unit:
            return number
        return f"{number}{self.unit}" if self.unit == "%" else f"{number} {self.unit}"

    def describe_range(self) -> str:
        fmt = (lambda x: str(int(x))) if self.integer else (lambda x: f"{x:g}")
        return f"allowed {fmt(self.lo)} to {self.with_unit(fmt(self.hi))}"


class Params(Mapping[str, float]):
    """Resolved parameter values of one signal (defaults overlaid with overrides)."""

    def __init__(self, specs: Sequence[Param], values: Mapping[str, float] | None = None) -> None:
        self._specs = {p.name: p for p in specs}
        self._values = {p.name: p.default for p in specs}
        for k, v in (values or {}).items():
            if k not in self._specs:
                raise ValueError(f"unknown parameter {k!r}; allowed: {', '.join(self._specs)}")
            self._values[k] = self._specs[k].parse(v)

    def __getitem__(self, k: str) -> float:
        return self._values[k]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def with_overrides(self, overrides: Mapping[str, float | str]) -> Params:
        return Params(
            list(self._specs.values()),
            {**self._values, **{k: float(v) for k, v in overrides.items()}},
        )

    def as_dict(self) -> dict[str, float]:
        return dict(self._values)


@dataclass(frozen=True)
class Threshold:
    """The next threshold above a reading, for ``/status`` ("0.04 below alert")."""

    level: Level
    value: float


@dataclass(frozen=True)
class Reading:
    """One evaluation of one key of a signal at the market time ``ts``.

    ``level`` is the level the entry thresholds give; ``hold`` the highest level the (lower)
    exit thresholds still support. The engine keeps a current level while ``hold`` allows
    it, which is the hysteresis. ``confirm`` is how many consecutive readings must agree
    before the engine fires or escalates.
    """

    signal: str
    key: str
    ts: datetime
    value: float
    level: Level
    hold: Level
    summary: str
    source: str
    confirm: int = 1
    fields: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    next_threshold: Threshold | None = None
    unit: str = ""
    #: one short line for ``/status`` and the daily summary (empty: value, change and distance)
    headline: str = ""


@dataclass(frozen=True)
class Rules:
    """A signal's engine rules (the same live and in replay)."""

    #: after a resolve, the same key cannot fire again for this long
    cooldown_s: int = 0
    #: an ``updated`` event when the value reaches this multiple of the last one reported (None: never)
    update_growth: float | None = None
    #: 'updated' events only at or above this level (e.g. severe: new figures inside an extreme)
    update_min_level: Level = Level.WATCH
    #: how values print in status lines and engine texts (the unit follows)
    value_format: str = "{:.3f}"
    #: the peak as resolve messages state it, or None to leave it out (default: value_format)
    describe_peak: Callable[[str, float], str | None] | None = None


@dataclass(frozen=True)
class Evaluations:
    """Evaluations of a live run: at ``first``, then every ``every`` up to ``last`` (inclusive)."""

    first: datetime
    last: datetime
    every: timedelta = timedelta(days=1)
    #: also in the short run (a few seconds that still show every signal fire)
    short: bool = True

    def times(self) -> list[datetime]:
        out, t = [], self.first
        while t <= self.last:
            out.append(t)
            t += self.every
        return out


@dataclass(frozen=True)
class LiveRun:
    """How a demo unfolds as one live run on a simulated clock (the storm test plays every
    signal's demo at once, killing the bot as it goes): when its observations are published, when
    the signal is evaluated, the settings the run needs and, for a streamed signal, the minutes
    fed through its stream. Table rows are stored before the run (a calendar is known ahead).

    A demo without one is run daily around each alert its replay fires."""

    #: an observation is published this long after its time (a close stamped at midnight: that
    #: evening)
    published_after: timedelta = timedelta(0)
    #: observations published late, by their time: when each is published (a stale-data notice,
    #: then its recovery)
    late: Mapping[datetime, datetime] = field(default_factory=dict, hash=False)
    evaluations: tuple[Evaluations, ...] = ()
    #: settings the run needs (``FLOWWATCH_...`` variables)
    env: Mapping[str, str] = field(default_factory=dict, hash=False)
    #: a streamed signal: (the first minute fed through its live stream, how many minutes); what
    #: comes before is stored before the run, as earlier runs would have written it
    stream: tuple[datetime, int] | None = None


@dataclass(frozen=True)
class Demo:
    """A signal's built-in scenario for ``flowwatch demo`` (and the storm, the contract test):
    observations and table rows (:mod:`storage.batches` records), written as a backfill would,
    and how it unfolds as a live run (:class:`LiveRun`; None: derived from its alerts)."""

    observations: tuple[Observation, ...] = ()
    rows: tuple[TableWrite, ...] = ()
    live: LiveRun | None = None

    def batch(self) -> Batch:
        """The scenario as one batch, written like a backfill (``storage.batches.write``)."""
        return Batch(self.observations, self.rows)
