"""What a signal is: nine members every signal declares, and optional capabilities.

A signal module (or package) defines ``SIGNAL``, an object that satisfies :class:`Signal`. It
inherits nothing: each optional capability below is *declared* by having its members, and the
app reads every capability through the accessors at the end of this module (``rules_of``,
``latest_of`` …), which fall back to what a plain signal needs. ``signals.registry()`` refuses
a ``SIGNAL`` that lacks a core member, with what is missing.

The core (every signal):

- ``id``, ``title``, ``description``;
- ``inputs``: exact series ids or SQL ``LIKE`` patterns (``%``) of :mod:`storage.series`;
- ``params``: the :class:`~signals.base.Param` s (thresholds and rules), settable from the
  environment, ``replay --set`` and, for ``Param(guild=True)``, a guild's ``/thresholds``;
- ``keys``: key -> human name, in display order;
- ``history(inputs, params)``: every reading the data allows, in time order, each from data up
  to its own time (pure and deterministic: the same code runs live, in replay and in tests);
- ``grade(key, value, figures, params)``: the entry level a reading's own figures (its value and
  its ``data``) give under ``params``. With the params a reading was made with it is the
  reading's level (``tests/signals/test_contract.py`` checks it on every reading); with a
  guild's params it is how that guild grades the event (per-guild thresholds filter, they
  never fork the lifecycle);
- ``demo(start)``: the built-in scenario of ``flowwatch demo`` (:class:`~signals.base.Demo`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, cast, runtime_checkable

from signals.base import Demo, InputLoader, Level, Param, Params, Reading, Rules, TableLoader
from signals.charts import ChartData, default_chart

if TYPE_CHECKING:
    from signals.presentation import AlertText, Stamp
    from storage.alerts import AlertEvent
    from storage.batches import Batch, Written
    from storage.observations import Inputs
    from storage.series import LiqEvent


@runtime_checkable
class Signal(Protocol):
    """The nine members every signal declares."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def inputs(self) -> tuple[str, ...]: ...
    @property
    def params(self) -> tuple[Param, ...]: ...
    @property
    def keys(self) -> Mapping[str, str]: ...

    def history(self, inputs: Inputs, params: Params) -> list[Reading]: ...

    def grade(self, key: str, value: float, figures: Mapping[str, Any], params: Params) -> Level: ...

    def demo(self, start: datetime) -> Demo: ...


CORE = ("id", "title", "description", "inputs", "params", "keys", "history", "grade", "demo")


# -- optional capabilities: declared by having the members --------------------------------------


@runtime_checkable
class HasRules(Protocol):
    """Engine rules other than the defaults: a cooldown after a resolve, ``updated`` events on
    growth, how values and peaks print (:class:`~signals.base.Rules`)."""

    def rules(self, params: Params) -> Rules: ...


@runtime_checkable
class Validated(Protocol):
    """Rules across parameters (an exit below its entry): a list of problems, each saying what
    is allowed."""

    def validate(self, params: Params) -> list[str]: ...


@runtime_checkable
class Bounded(Protocol):
    """How much history before an evaluated time the baselines need (default: all of it)."""

    @property
    def lookback(self) -> timedelta: ...


@runtime_checkable
class OwnLoader(Protocol):
    """A storage function that builds the inputs instead of reading every input series over the
    lookback (a long, fine history read by range)."""

    def inputs_loader(self) -> InputLoader: ...


@runtime_checkable
class Tables(Protocol):
    """Tables read besides observations (name -> storage loader), into ``Inputs.tables``."""

    @property
    def tables(self) -> Mapping[str, TableLoader]: ...


@runtime_checkable
class Incremental(Protocol):
    """Live evaluation that builds only the tail (default: over :meth:`Signal.history`)."""

    def latest(self, inputs: Inputs, params: Params, now: datetime) -> list[Reading]: ...

    def readings_since(
        self, inputs: Inputs, params: Params, after: datetime | None, now: datetime, warmup: int = 30
    ) -> list[Reading]: ...


@runtime_checkable
class Streaming(Protocol):
    """A replay that yields readings as it goes instead of holding them all."""

    def stream(
        self, inputs: Inputs, params: Params, start: datetime | None = None, end: datetime | None = None
    ) -> Iterable[Reading]: ...


@runtime_checkable
class CalendarKeys(Protocol):
    """Keys that follow the calendar (one per upcoming meeting) instead of the static ``keys``."""

    def keys_at(self, now: datetime) -> dict[str, str]: ...

    def key_label(self, key: str) -> str: ...


@runtime_checkable
class Stale(Protocol):
    """Why a reading is too old to alert on at ``now`` (live only), or None."""

    def stale_reason(self, reading: Reading, now: datetime) -> str | None: ...


@runtime_checkable
class KeyInputs(Protocol):
    """Live only: the input series each key's readings need (key -> name -> series id), so a
    stale-data notice can name the input that lags while the others are current."""

    @property
    def key_inputs(self) -> Mapping[str, Mapping[str, str]]: ...


@runtime_checkable
class FeedNotices(Protocol):
    """Live only: staleness of individual feeds behind the readings (name -> reason or None)."""

    def source_notices(self, readings: Sequence[Reading], now: datetime) -> dict[str, str | None]: ...


@runtime_checkable
class Charted(Protocol):
    """The signal's own chart of ``days`` to ``end`` (``marks``: time, level and key of its
    alerts), drawn by the renderer its class names. Without it, :func:`chart_of` gives the
    default chart of the readings (:func:`signals.charts.default_chart`)."""

    def chart(
        self,
        inputs: Inputs,
        params: Params,
        end: datetime,
        days: int,
        marks: Iterable[tuple[datetime, str, str]] = (),
    ) -> ChartData: ...


@runtime_checkable
class Thresholds(Protocol):
    """The entry line of each level of a key (level label -> value), drawn by the default chart."""

    def thresholds(self, key: str, params: Params) -> Mapping[str, float]: ...


@runtime_checkable
class AlertCharted(Protocol):
    """A chart of one alert drawn differently from the history chart (btc_liq: the cascade);
    ``alert``: its ``ts``, ``event``, ``level``, ``prev_level``, ``value``, ``data``, ``summary``.
    None: the history chart of ``alert_chart_days`` with the alert marked."""

    def alert_chart(self, inputs: Inputs, params: Params, alert: Mapping[str, Any]) -> ChartData | None: ...


@runtime_checkable
class AlertChartDays(Protocol):
    """Days of history an alert's chart shows (default 180)."""

    @property
    def alert_chart_days(self) -> int: ...


class StreamHealth(Protocol):
    """What a live model may know of a stream's health (the app's clients keep it)."""

    @property
    def connected(self) -> bool: ...
    @property
    def unavailable(self) -> str | None: ...
    @property
    def down_since(self) -> float | None: ...
    @property
    def last_error(self) -> str | None: ...

    def up_seconds(self, a: float, b: float) -> float: ...


class LiveModel(Protocol):
    """A signal evaluated in memory as stream frames arrive, by the app's stream service
    (``bot.streams``): pure, no I/O; the service owns the clients, the tasks and the writes."""

    signal: str
    key: str
    #: keep the raw frames for an audit (the service turns it off when they are not kept)
    keep_raw: bool

    def load(self, db: Any, now: float, until: float, minutes: bool = True) -> Any:
        """Stored history it needs (run on a read-only connection)."""
        ...

    def warm(self, loaded: Any, now: float) -> None: ...
    def refresh(self, loaded: Any) -> None: ...
    def start(self, now: float) -> None: ...
    def on_events(self, events: Sequence[LiqEvent], frame: str | bytes = "") -> None: ...
    def step(self, now: float, connected: Iterable[str]) -> Reading: ...
    def notice(self, venue: str, stale: bool, now: float, health: StreamHealth) -> Reading: ...
    def rows_due(
        self, now: float, started_at: float, health: Mapping[str, StreamHealth]
    ) -> tuple[list[tuple[str, int, float, str]], Any, int]: ...
    def flushed(self, cur: int) -> None: ...
    def absorb(self, batch: Batch, written: Written) -> int: ...


@runtime_checkable
class Streamed(Protocol):
    """Evaluated live in memory by a stream service (a source's ``STREAMS`` names the signal)."""

    def live_model(self, params: Params) -> LiveModel: ...


@runtime_checkable
class Presented(Protocol):
    """Its own alert messages (:mod:`signals.presentation`); None for an alert it leaves to the
    generic message (the app presents every other signal's alerts generically)."""

    def present(self, ev: AlertEvent, stamp: Stamp) -> AlertText | None: ...


@runtime_checkable
class CoverageReport(Protocol):
    """A note on the coverage of the data, for ``flowwatch check``."""

    def coverage_report(self, inputs: Inputs, params: Params) -> str | None: ...


# -- accessors: what the app calls ----------------------------------------------------------------


#: id(signal) -> (the signal, its capabilities); the signal is held so its id is never reused
_CAPS: dict[int, tuple[object, frozenset[str]]] = {}


def _caps(sig: Signal) -> frozenset[str]:
    """The capabilities ``sig`` declares, looked up once (not on every evaluation)."""
    hit = _CAPS.get(id(sig))
    if hit is not None and hit[0] is sig:
        return hit[1]
    table: dict[str, type] = {
        "rules": HasRules,
        "validate": Validated,
        "lookback": Bounded,
        "loader": OwnLoader,
        "tables": Tables,
        "incremental": Incremental,
        "stream": Streaming,
        "calendar": CalendarKeys,
        "stale": Stale,
        "key_inputs": KeyInputs,
        "notices": FeedNotices,
        "coverage": CoverageReport,
        "chart": Charted,
        "thresholds": Thresholds,
        "alert_chart": AlertCharted,
        "alert_chart_days": AlertChartDays,
        "streamed": Streamed,
        "present": Presented,
    }
    caps = frozenset(name for name, proto in table.items() if isinstance(sig, proto))
    _CAPS[id(sig)] = (sig, caps)
    return caps


def has(sig: Signal, capability: str) -> bool:
    return capability in _caps(sig)


def missing_members(obj: object) -> list[str]:
    """The core members ``obj`` lacks (empty: it is a signal)."""
    return [m for m in CORE if not hasattr(obj, m)]


def default_params(sig: Signal) -> Params:
    return Params(sig.params)


def rules_of(sig: Signal, params: Params) -> Rules:
    if has(sig, "rules"):
        return cast(HasRules, sig).rules(params)
    return Rules()


def value_format_of(sig: Signal) -> str:
    """How the signal's values print in status lines and texts (its rules' ``value_format``)."""
    return rules_of(sig, default_params(sig)).value_format


def validate_of(sig: Signal, params: Params) -> list[str]:
    if has(sig, "validate"):
        return list(cast(Validated, sig).validate(params))
    return []


def lookback_of(sig: Signal) -> timedelta | None:
    if has(sig, "lookback"):
        return cast(Bounded, sig).lookback
    return None


def loader_of(sig: Signal) -> InputLoader | None:
    if has(sig, "loader"):
        return cast(OwnLoader, sig).inputs_loader()
    return None


def tables_of(sig: Signal) -> Mapping[str, TableLoader]:
    if has(sig, "tables"):
        return cast(Tables, sig).tables
    return {}


def latest_of(
    sig: Signal, inputs: Inputs, params: Params, now: datetime, history: Sequence[Reading] | None = None
) -> list[Reading]:
    """The current reading per key (default: the last of ``history`` per key up to ``now``;
    ``history``, when given, is ``sig.history(inputs, params)`` already computed)."""
    if has(sig, "incremental"):
        return list(cast(Incremental, sig).latest(inputs, params, now))
    last: dict[str, Reading] = {}
    for r in sig.history(inputs, params) if history is None else history:
        if r.ts <= now:
            last[r.key] = r
    return [last[k] for k in sig.keys if k in last]


def readings_since_of(
    sig: Signal,
    inputs: Inputs,
    params: Params,
    after: datetime | None,
    now: datetime,
    warmup: int = 30,
    history: Sequence[Reading] | None = None,
) -> list[Reading]:
    """Live catch-up: readings with ``after < ts <= now`` in time order; with ``after=None`` (a key
    never evaluated) the last ``warmup`` per key, so the engine counts a streak already running.
    ``history``, when given, is ``sig.history(inputs, params)`` already computed."""
    if has(sig, "incremental"):
        return list(cast(Incremental, sig).readings_since(inputs, params, after, now, warmup))
    hist = sig.history(inputs, params) if history is None else history
    out = [r for r in hist if r.ts <= now and (after is None or r.ts > after)]
    if after is None:
        per_key: dict[str, list[Reading]] = {}
        for r in out:
            per_key.setdefault(r.key, []).append(r)
        keep = {id(r) for rs in per_key.values() for r in rs[-warmup:]}
        out = [r for r in out if id(r) in keep]
    return out


def stream_of(
    sig: Signal, inputs: Inputs, params: Params, start: datetime | None = None, end: datetime | None = None
) -> Iterable[Reading]:
    """Readings in time order for a replay of ``[start, end]`` (with those before ``start`` that
    seed the engine); default: ``history``."""
    if has(sig, "stream"):
        return cast(Streaming, sig).stream(inputs, params, start, end)
    return sig.history(inputs, params)


def keys_at_of(sig: Signal, now: datetime) -> dict[str, str]:
    """Keys shown in ``/status`` and the summary at ``now``, with their names."""
    if has(sig, "calendar"):
        return dict(cast(CalendarKeys, sig).keys_at(now))
    return dict(sig.keys)


def key_label_of(sig: Signal, key: str) -> str:
    """The human name of any key the signal emits (also keys no longer in ``keys_at``)."""
    if has(sig, "calendar"):
        return cast(CalendarKeys, sig).key_label(key)
    return sig.keys.get(key, key)


def stale_reason_of(sig: Signal, reading: Reading, now: datetime) -> str | None:
    if has(sig, "stale"):
        return cast(Stale, sig).stale_reason(reading, now)
    return None


def key_inputs_of(sig: Signal) -> Mapping[str, Mapping[str, str]]:
    """Each key's input series by name (empty: the signal does not say)."""
    if has(sig, "key_inputs"):
        return cast(KeyInputs, sig).key_inputs
    return {}


def source_notices_of(sig: Signal, readings: Sequence[Reading], now: datetime) -> dict[str, str | None]:
    if has(sig, "notices"):
        return dict(cast(FeedNotices, sig).source_notices(readings, now))
    return {}


def coverage_report_of(sig: Signal, inputs: Inputs, params: Params) -> str | None:
    if has(sig, "coverage"):
        return cast(CoverageReport, sig).coverage_report(inputs, params)
    return None


def chart_of(
    sig: Signal,
    inputs: Inputs,
    params: Params,
    end: datetime,
    days: int,
    marks: Iterable[tuple[datetime, str, str]] = (),
) -> ChartData:
    """The signal's chart: its own, else the default chart of its readings (a panel per key,
    with its thresholds when it declares them, and its alerts marked)."""
    if has(sig, "chart"):
        return cast(Charted, sig).chart(inputs, params, end, days, marks)
    lines = None
    if has(sig, "thresholds"):
        lines = {k: cast(Thresholds, sig).thresholds(k, params) for k in sig.keys}
    return default_chart(sig.id, sig.title, sig.keys, sig.history(inputs, params), end, days, marks, lines)


def alert_chart_of(sig: Signal, inputs: Inputs, params: Params, alert: Mapping[str, Any]) -> ChartData | None:
    if has(sig, "alert_chart"):
        return cast(AlertCharted, sig).alert_chart(inputs, params, alert)
    return None


def alert_chart_days_of(sig: Signal) -> int:
    if has(sig, "alert_chart_days"):
        return int(cast(AlertChartDays, sig).alert_chart_days)
    return 180


def guild_params_of(sig: Signal) -> tuple[str, ...]:
    """The parameters a guild may set with ``/thresholds`` (``Param(guild=True)``), in order."""
    return tuple(p.name for p in sig.params if p.guild)


def live_model_of(sig: Signal, params: Params) -> LiveModel:
    if not has(sig, "streamed"):
        raise TypeError(f"{sig.id} is not evaluated from streams")
    return cast(Streamed, sig).live_model(params)


def present_of(sig: Signal, ev: AlertEvent, stamp: Stamp) -> AlertText | None:
    """The signal's own message of one of its alerts (None: the generic one)."""
    if has(sig, "present"):
        return cast(Presented, sig).present(ev, stamp)
    return None
