"""What every signal is: pure functions from stored series to readings.

A signal module defines one :class:`Signal` subclass instance named ``SIGNAL``. It never
does I/O: it receives :class:`storage.observations.Inputs` (a wide pandas frame) and its
parameters, and returns :class:`Reading` objects. The same code runs live, on replay over
history and in tests.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from storage.batches import Batch, TableWrite
from storage.observations import Inputs, Observation

if TYPE_CHECKING:
    import pandas as pd
    from sqlite_utils import Database

#: a table input's loader: (db, end epoch s or None) -> the rows known by ``end``
TableLoader = Callable[["Database", int | None], "pd.DataFrame"]
#: a signal's own input loader: (db, start, end, alert scope) -> Inputs (see ``Signal.loader``)
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

    def describe_range(self) -> str:
        fmt = (lambda x: str(int(x))) if self.integer else (lambda x: f"{x:g}")
        unit = f" {self.unit}" if self.unit else ""
        return f"allowed {fmt(self.lo)} to {fmt(self.hi)}{unit}"


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
class Demo:
    """A signal's built-in scenario for ``flowwatch demo`` (and the storm, the contract test):
    observations and table rows (:mod:`storage.batches` records), written as a backfill would."""

    observations: tuple[Observation, ...] = ()
    rows: tuple[TableWrite, ...] = ()

    def batch(self) -> Batch:
        """The scenario as one batch, written like a backfill (``storage.batches.write``)."""
        return Batch(self.observations, self.rows)


class Signal:
    """Base class. Subclasses set the class attributes and implement :meth:`history`."""

    id: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]
    #: exact series ids or SQL LIKE patterns (with ``%``) the signal reads
    inputs: ClassVar[tuple[str, ...]]
    #: tables the signal reads besides observations: name -> storage loader. The pipeline,
    #: replay and queries load them into ``Inputs.tables``; the signal stays pure.
    tables: ClassVar[Mapping[str, TableLoader]] = {}
    params: ClassVar[tuple[Param, ...]]
    #: keys in display order, with a human name
    keys: ClassVar[dict[str, str]]
    #: the engine's cooldown after a resolve, in seconds (may be overridden by a param)
    cooldown_param: ClassVar[str | None] = None
    #: how much history before the evaluated range baselines need (None = all of it)
    lookback: ClassVar[timedelta | None] = None
    #: for 'updated' events: a new peak at least this multiple of the last one (None = never)
    update_growth: ClassVar[float | None] = None
    #: 'updated' events only at or above this level
    update_min_level: ClassVar[Level] = Level.WATCH
    #: how values print in status lines and engine texts (the unit is appended after it)
    value_format: ClassVar[str] = "{:.3f}"

    def describe_peak(self, key: str, value: float) -> str | None:
        """How a resolve message states a lifecycle's peak value (None: leave it out)."""
        return self.value_format.format(value)

    #: days of history an alert's chart shows
    alert_chart_days: ClassVar[int] = 180

    def inputs_loader(self) -> InputLoader | None:
        """A storage function that builds the signal's :class:`Inputs` instead of reading every
        ``inputs`` series over ``lookback`` (None: that default): for a signal whose history is
        large and read by range (btc_liq: a reader over the roll-ups, queried as it needs)."""
        return None

    def default_params(self) -> Params:
        return Params(self.params)

    def validate(self, params: Params) -> list[str]:
        """Cross-parameter rules (e.g. exit below entry); a list of problems."""
        return []

    def cooldown_seconds(self, params: Params) -> int:
        if self.cooldown_param is None:
            return 0
        return int(params[self.cooldown_param] * 86400)

    def rules(self, params: Params) -> Rules:
        """The engine rules under ``params`` (live and replay alike)."""
        return Rules(
            cooldown_s=self.cooldown_seconds(params),
            update_growth=self.update_growth,
            update_min_level=self.update_min_level,
            value_format=self.value_format,
            describe_peak=self.describe_peak,
        )

    def history(self, inputs: Inputs, params: Params) -> list[Reading]:
        """Every reading the data allows, in time order, each using only data up to its ts."""
        raise NotImplementedError

    def stream(
        self, inputs: Inputs, params: Params, start: datetime | None = None, end: datetime | None = None
    ) -> Iterable[Reading]:
        """Readings in time order for a replay of ``[start, end]``, with those before ``start``
        that seed the engine (default: :meth:`history`). A signal with a long, fine history
        yields them as it goes, so a replay never holds them all."""
        return self.history(inputs, params)

    def latest(self, inputs: Inputs, params: Params, now: datetime) -> list[Reading]:
        """The current reading per key (default: the last of :meth:`history` per key)."""
        last: dict[str, Reading] = {}
        for r in self.history(inputs, params):
            if r.ts <= now:
                last[r.key] = r
        return [last[k] for k in self.keys if k in last]

    def readings_since(
        self, inputs: Inputs, params: Params, after: datetime | None, now: datetime, warmup: int = 30
    ) -> list[Reading]:
        """Live catch-up: readings with ``after < ts <= now`` in time order.

        With ``after=None`` (a key never evaluated), the last ``warmup`` readings per key, so
        the engine can count a streak that is already running. Override when the signal can
        build only the tail cheaply.
        """
        out = [r for r in self.history(inputs, params) if r.ts <= now and (after is None or r.ts > after)]
        if after is None:
            per_key: dict[str, list[Reading]] = {}
            for r in out:
                per_key.setdefault(r.key, []).append(r)
            keep = {id(r) for rs in per_key.values() for r in rs[-warmup:]}
            out = [r for r in out if id(r) in keep]
        return out

    def keys_at(self, now: datetime) -> dict[str, str]:
        """Keys shown in ``/status`` and the summary at ``now``, with their names.

        Static for most signals; a signal whose keys follow the calendar (one per upcoming
        meeting) overrides it.
        """
        return dict(self.keys)

    def key_label(self, key: str) -> str:
        """The human name of any key this signal emits (also keys no longer in ``keys_at``)."""
        return self.keys.get(key, key)

    def stale_reason(self, reading: Reading, now: datetime) -> str | None:
        """Why ``reading`` is too old to alert on at ``now`` (live only), or None."""
        return None

    def source_notices(self, readings: Sequence[Reading], now: datetime) -> dict[str, str | None]:
        """Live only: staleness of individual feeds behind the readings, name -> reason or None.

        For a signal that blends several feeds, one feed can go stale while the readings stay
        fresh (they use the others). Each name gets its own stale notice (and a recovery notice
        when the reason clears), next to the per-reading notices of :meth:`stale_reason`.
        """
        return {}

    def classify(self, key: str, value: float, params: Params) -> Level:
        """The entry level of a value under ``params`` (used for per-guild thresholds)."""
        return Level.OK

    def chart_data(
        self,
        inputs: Inputs,
        params: Params,
        end: datetime,
        days: int,
        marks: Iterable[tuple[datetime, str, str]] = (),
    ) -> dict[str, Any]:
        """Everything the chart needs, as plain data (pure). ``marks``: (time, level, key) of alerts."""
        raise NotImplementedError

    def alert_chart_data(
        self, inputs: Inputs, params: Params, alert: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """The chart of one alert (``alert``: its ``ts``, ``event``, ``level``, ``prev_level``,
        ``value`` and ``data``), when the signal draws its alerts differently from its history
        (None: the history chart of ``alert_chart_days`` with the alert marked)."""
        return None

    def demo(self, start: datetime) -> Demo:
        """A built-in synthetic scenario for ``flowwatch demo``."""
        return Demo()

    def grade(self, key: str, value: float, figures: Mapping[str, Any], params: Params) -> Level:
        """The entry level of a reading's figures under ``params`` (per-guild regrading)."""
        return self.classify(key, value, params)
