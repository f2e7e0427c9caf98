"""What every source shares: errors, validation of values, and the plug-in records.

A source module (one per provider) exposes any of:

- ``POLLS``: :class:`Poll` records the scheduler runs live;
- ``BACKFILL``: a :class:`Backfill` for ``flowwatch backfill <name>``;
- ``STREAMS``: :class:`Stream` s, live websocket feeds the app runs as a service;
- ``SETTINGS``: the :class:`Setting` s it reads;
- ``RETENTION``: how long its series are kept.

A source fetches and parses; it never writes. A poll returns and a backfill yields a
:class:`~storage.batches.Batch` (observations and table rows) that the app writes. Sources know
nothing of signals beyond the ids they ask the scheduler to re-evaluate.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, overload

import httpx

from storage import filerules
from storage.batches import Batch

log = logging.getLogger("flowwatch.sources")
T = TypeVar("T")
R = TypeVar("R")

#: timestamps further in the future than this are refused (clock skew allowance)
FUTURE_SKEW = timedelta(minutes=10)
#: 2100-01-01: a provider's epoch-seconds stamp beyond this (or at or before 1970) is garbage
MAX_EPOCH = 4_102_444_800


def years_back(d: date, years: int) -> date:
    """The same day ``years`` earlier (29 February gives the 28th of a common year)."""
    try:
        return d.replace(year=d.year - years)
    except ValueError:
        return d.replace(year=d.year - years, day=28)


def epoch_seconds(value: Any) -> int | None:
    """A provider's epoch-seconds field as an int, or None when it is not a plausible stamp
    (not a number, a bool, NaN, infinite, before 1970 or after 2100)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not (isinstance(value, int) or math.isfinite(value)) or not 0 < value < MAX_EPOCH:
        return None
    return int(value)


class SourceError(Exception):
    """A provider answered with something we cannot use. ``str()`` is the one log line."""

    def __init__(
        self,
        source: str,
        message: str,
        *,
        retry_after: float | None = None,
        unresolved_host: str | None = None,
    ) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.message = message
        self.retry_after = retry_after
        #: the host whose name did not resolve (nothing more to ask of it in this poll run)
        self.unresolved_host = unresolved_host


def undecodable(what: str, text: str, exc: ValueError) -> str:
    """Why ``json.loads`` refused a body: its position for malformed (often cut off) JSON."""
    if isinstance(exc, json.JSONDecodeError):
        return f"malformed JSON in the {what} answer ({exc})"
    return f"expected {what} JSON, got {describe_body(text)} ({str(exc)[:80]})"


def looks_like_html(text: str) -> bool:
    head = text.lstrip()[:512].lower()
    return head.startswith("<!doctype html") or head.startswith("<html") or "<html" in head[:200]


def describe_body(text: str) -> str:
    """A short, log-safe description of an unexpected body."""
    t = text.strip()
    if not t:
        return "an empty body"
    if looks_like_html(t):
        return "an HTML page"
    if t[:1] in "{[":
        return f"JSON ({t[:120]!r})"
    return repr(t[:80])


def bad_value_reason(
    value: float,
    *,
    now: datetime | None = None,
    ts: int | None = None,
    positive: bool = True,
    probability: bool = False,
    allow_zero: bool = False,
) -> str | None:
    """Why a value must not become an observation, or None when it is fine."""
    if value is None or not math.isfinite(value):
        return "not a number"
    if probability and not 0.0 <= value <= 1.0:
        return f"probability {value} outside [0, 1]"
    if positive and (value < 0 or (value == 0 and not allow_zero)):
        return f"non-positive value {value}"
    if now is not None and ts is not None and ts > int((now + FUTURE_SKEW).timestamp()):
        return "timestamp in the future"
    return None


def read_csv(text: str, label: str) -> list[list[str]]:
    """Every row of a CSV body. A body the csv module cannot read (an unterminated quote that
    runs past its field limit) raises :class:`SourceError`, like any unusable body."""
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise SourceError(label, f"unreadable CSV ({exc})") from None


def read_csv_dicts(text: str, label: str) -> tuple[list[str], list[dict[str | None, Any]]]:
    """The header and the rows (as ``csv.DictReader`` gives them) of a CSV body; see :func:`read_csv`."""
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        rows = list(reader)
        return list(reader.fieldnames or []), rows
    except csv.Error as exc:
        raise SourceError(label, f"unreadable CSV ({exc})") from None


def read_csv_numbered(text: str, label: str) -> tuple[list[str], list[tuple[int, dict[str | None, Any]]]]:
    """:func:`read_csv_dicts` with the line number each row ends on (blank lines are skipped, so
    counting rows would drift), for messages that name a file's lines."""
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        rows = [(reader.line_num, row) for row in reader]
        return list(reader.fieldnames or []), rows
    except csv.Error as exc:
        raise SourceError(label, f"unreadable CSV ({exc})") from None


def check_complete(text: str, label: str) -> None:
    """A live CSV download always ends with a line break; one that does not was cut off in
    transfer (what arrived may look fine but lacks the newest rows): :class:`SourceError`."""
    t = text.strip()
    if t and t[:1] not in "{[" and not looks_like_html(t) and not text.endswith(("\n", "\r")):
        tail = text[-40:].rsplit("\n", 1)[-1]
        raise SourceError(
            label, f"the file was cut off (no line break after {tail!r}); trying again at the next poll"
        )


def check_file_complete(text: str, label: str) -> None:
    """A CSV *file* without a final line break was cut off (a copy or a download that stopped):
    its last row may be a fragment that still parses (``1675209600000,21`` from ``…,2125001.27``).
    Refuse it, with nothing imported (the rule of :mod:`storage.filerules`)."""
    t = text.strip()
    cut = filerules.cut_off_line(text)
    if t and t[:1] not in "{[" and cut is not None:
        raise SourceError(label, filerules.cut_off_message(*cut))


def read_file(path: Path, label: str) -> str:
    """The text of a provider file (``backfill --file``/``--dir``), refused when it was cut off
    (:func:`check_file_complete`). A JSON body cut off fails to parse on its own."""
    text = path.read_text(encoding="utf-8", errors="replace")
    check_file_complete(text.lstrip("\ufeff"), label)
    return text


def refuse_conflicts(
    conflicts: filerules.Conflicts, label: str, describe_key: Callable[[Any], str] = str
) -> None:
    """A file that gives one time two different values is refused whole (:mod:`storage.filerules`):
    :class:`SourceError` naming the lines."""
    text = conflicts.message(describe_key)
    if text is not None:
        raise SourceError(label, text)


def refuse_damaged(rejects: Rejects) -> None:
    """A file whose rows do not all parse is damaged: refuse it whole (nothing imported) rather than
    keep the rows that happen to parse. Live answers skip bad rows instead (:meth:`Rejects.log`)."""
    if rejects.items:
        shown = "; ".join(rejects.items[:5])
        more = f" (and {len(rejects.items) - 5} more)" if len(rejects.items) > 5 else ""
        raise SourceError(
            rejects.source,
            f"{len(rejects.items)} damaged row(s), nothing imported: {shown}{more}. Fix or remove them",
        )


@dataclass
class Rejects:
    """Collects rejected rows so a whole file yields one clear log line, not one per row.

    ``child(prefix)`` shares the list, prefixing each entry: several bodies of one poll run
    (four index files, three symbols) collect into one summary.
    """

    source: str
    items: list[str] = field(default_factory=list)
    prefix: str = ""

    def add(self, where: str, reason: str) -> None:
        self.items.append(f"{self.prefix}{where}: {reason}")

    def child(self, prefix: str) -> Rejects:
        return Rejects(self.source, self.items, f"{prefix} " if prefix else "")

    def summary(self) -> str:
        shown = "; ".join(self.items[:5])
        more = f" (and {len(self.items) - 5} more)" if len(self.items) > 5 else ""
        return f"skipped {len(self.items)} row(s): {shown}{more}"

    def log(self, logger: logging.Logger = log) -> None:
        if self.items:
            logger.warning("%s: %s", self.source, self.summary())


_URL_RE = re.compile(r" from https?://\S+")
_SHAPE_RE = re.compile(r"'[^']*'|\d+")


class PollReport:
    """What one run of a poll met across its fetches, told in ONE line.

    A failed fetch is logged at DEBUG when it happens (the run may still succeed through the
    other fetches or a fallback) and rejected rows are collected (:meth:`rows`). :meth:`finish`
    then returns the rows, with one WARNING naming what failed or was skipped when anything
    was; or, when nothing usable came back, raises :class:`SourceError` naming it all, which
    the runner logs once and records as the source's failing health.
    """

    def __init__(self, source: str, logger: logging.Logger = log) -> None:
        self.source = source
        self.logger = logger
        self.failures: list[tuple[str, str]] = []
        self.rejects = Rejects(source)
        self.notes: list[str] = []

    def failed(self, what: str, exc: SourceError) -> None:
        self.failures.append((what, exc.message))
        self.logger.debug("%s", exc)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def rows(self, what: str, parse: Callable[[Rejects], list[T]]) -> list[T]:
        """``parse(rejects)`` one body, its bad rows collected here; a body whose every row was
        refused is a failed fetch (:class:`SourceError`), not an empty answer."""
        n0 = len(self.rejects.items)
        child = self.rejects.child(what)
        out = parse(child)
        if not out and len(self.rejects.items) > n0:
            bad = Rejects(what, [i.removeprefix(child.prefix) for i in self.rejects.items[n0:]])
            del self.rejects.items[n0:]
            raise SourceError(what, f"no usable rows, {bad.summary()}")
        return out

    def summary(self) -> str:
        groups: dict[str, tuple[list[str], str]] = {}
        for what, msg in self.failures:
            key = _SHAPE_RE.sub("#", _URL_RE.sub("", msg))
            groups.setdefault(key, ([], msg))[0].append(what)
        parts = [f"{', '.join(w)}: {m if len(w) == 1 else _URL_RE.sub('', m)}" for w, m in groups.values()]
        if self.rejects.items:
            parts.append(self.rejects.summary())
        return "; ".join(parts + self.notes)

    def finish(self, rows: list[T]) -> list[T]:
        if not rows and (self.failures or self.rejects.items):
            raise SourceError(self.source, f"no usable data: {self.summary()}")
        if self.failures or self.rejects.items:
            self.logger.warning("%s: %s", self.source, self.summary())
        return rows


class Secret:
    """A string that never shows itself in logs, reprs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


def parse_secret(text: str) -> Secret:
    return Secret(text.strip())


def parse_int_range(lo: int, hi: int) -> Callable[[str], int]:
    """A parser of a whole number from ``lo`` to ``hi`` whose error says what is allowed."""

    def parse(text: str) -> int:
        try:
            v = int(text.strip())
        except ValueError:
            raise ValueError(f"{text!r} is not a whole number ({lo} to {hi})") from None
        if not lo <= v <= hi:
            raise ValueError(f"{v} is out of range ({lo} to {hi})")
        return v

    return parse


def parse_float_range(lo: float, hi: float) -> Callable[[str], float]:
    """A parser of a number from ``lo`` to ``hi`` whose error says what is allowed."""

    def parse(text: str) -> float:
        try:
            v = float(text.strip())
        except ValueError:
            raise ValueError(f"{text!r} is not a number ({lo:g} to {hi:g})") from None
        if not lo <= v <= hi:
            raise ValueError(f"{v:g} is out of range ({lo:g} to {hi:g})")
        return v

    return parse


class Setting(Generic[T]):
    """One setting from the environment (``.env``), declared once where it is used: a source
    module lists its own in ``SETTINGS`` (the way a signal declares its ``Param`` s); the core
    settings are attributes of ``bot.config.Settings``. ``default`` is the text an empty or
    absent variable means (empty: the value is None); ``parse`` turns text into the value or
    raises ``ValueError`` saying what is allowed; a ``secret`` never prints.

    Read it with ``settings.get(SETTING)`` (``SourceContext.settings``); as a class attribute of
    ``bot.config.Settings`` it is a typed attribute too (``settings.db_path``).
    """

    def __init__(
        self, env: str, default: str, help: str, parse: Callable[[str], T], *, secret: bool = False
    ) -> None:
        self.env = env
        self.default = default
        self.help = help
        self.parse = parse
        self.secret = secret

    def __repr__(self) -> str:
        return f"Setting({self.env!r})"

    def default_value(self) -> T | None:
        """The value an empty or absent variable gives (None when the default is empty)."""
        return self.parse(self.default) if self.default.strip() else None

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Setting[T]: ...
    @overload
    def __get__(self, obj: SettingValues, owner: type | None = None) -> T: ...
    def __get__(self, obj: SettingValues | None, owner: type | None = None) -> Setting[T] | T:
        return self if obj is None else obj.get(self)


class SettingValues(Protocol):
    """What a source reads its settings from (``bot.config.Settings``)."""

    def get(self, setting: Setting[T]) -> T: ...


class StoreReader(Protocol):
    """Reads on a read-only connection (``AsyncStore.read``): what a source may look up of what
    is stored (a cached day, the last stored date) before it fetches. It never writes."""

    async def read(self, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R: ...


#: the hosts whose name did not resolve in the poll run now running (host -> the error), which
#: :func:`signals.sources.http.get` fails at once instead of asking again (None: outside a run)
UNRESOLVED: ContextVar[dict[str, str] | None] = ContextVar("flowwatch_unresolved_hosts", default=None)


@dataclass
class SourceContext:
    """What a live poll gets: an injected HTTP client, the clock, its settings and read access to
    what is stored. It returns a :class:`~storage.batches.Batch`; the app writes it.

    One context is one poll run: run the poll with :meth:`run` (``await ctx.run(poll.run)``) and a
    host whose name did not resolve is asked once in that run, not once per series with retries
    (with no network a six-series poll would otherwise spend half a minute in backoff before it
    reports). The next run has a new context and asks again: an outage ends.
    """

    client: httpx.AsyncClient
    now: Callable[[], datetime]
    settings: SettingValues
    reader: StoreReader
    sleep: Callable[[float], Awaitable[None]] | None = None
    #: hosts whose name did not resolve during this run (host -> the error)
    unresolved: dict[str, str] = field(default_factory=dict)

    async def run(self, fn: Callable[[SourceContext], Awaitable[R]]) -> R:
        """``await fn(self)`` with this run's memory of unresolved hosts in force."""
        token = UNRESOLVED.set(self.unresolved)
        try:
            return await fn(self)
        finally:
            UNRESOLVED.reset(token)


#: the fault families a poll can meet (the fault table expands each into its faults)
FAULT_FAMILIES = ("transport", "body", "values", "nan", "negative", "future")


@dataclass(frozen=True)
class Drill:
    """How the fault table drills a poll (``tests/bot/test_faults.py``): a time at which the
    provider's recorded format has data, the poll's interval, which faults can reach it and how
    its staleness shows. Declared beside the poll, so a new poll is drilled with no edit to the
    table (its provider's host needs a route in the simulated world).

    ``faults`` are families from :data:`FAULT_FAMILIES`: ``transport`` (timeouts, 5xx, 429s),
    ``body`` (an HTML page, a truncated or an empty body), ``values`` (NaN, negative and future
    values; ``nan``, ``negative``, ``future`` one by one where only some apply)."""

    start: datetime
    step: timedelta
    #: words naming the source; its one warning line holds one of them
    names: tuple[str, ...]
    faults: tuple[str, ...] = ("transport", "body", "values")
    #: SQL LIKE pattern of the series it writes (None: it writes a table)
    series: str | None = None
    #: how long the provider stays frozen for the stale-data row (None: no stale row)
    stale_after: timedelta | None = None
    #: polls keep running while the provider is frozen (else only evaluations run)
    poll_while_stale: bool = True
    stale_step: timedelta = timedelta(minutes=15)
    #: settings the drill needs (``FLOWWATCH_...`` variables)
    env: dict[str, str] = field(default_factory=dict, hash=False)
    #: polls whose data must be stored first (the universe before the earnings calendar)
    after: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = set(self.faults) - set(FAULT_FAMILIES)
        if unknown:
            raise ValueError(f"unknown fault families {sorted(unknown)}: use {', '.join(FAULT_FAMILIES)}")


@dataclass(frozen=True)
class Poll:
    """A scheduled fetch. ``trigger`` holds APScheduler trigger arguments."""

    name: str
    trigger: dict[str, Any]
    run: Callable[[SourceContext], Awaitable[Batch]]
    signals: tuple[str, ...]
    #: skip the run unless this returns True (e.g. US market hours)
    active: Callable[[datetime], bool] | None = None
    description: str = ""
    #: ``flowwatch health`` fails when the last successful run is older than this
    max_silence: timedelta | None = None
    #: how the fault table drills it (None: it runs another poll's fetch, ``same_as``)
    drill: Drill | None = None
    #: a retry schedule of another poll's fetch (that poll's drill covers it)
    same_as: str | None = None


@dataclass
class BackfillContext:
    """What a backfill gets: the client, the time, its settings and options, and read access to
    what is stored (the batches it yielded before are written by then). It never writes."""

    client: httpx.AsyncClient
    now: datetime
    settings: SettingValues
    reader: StoreReader
    file: Path | None = None
    dir: Path | None = None
    since: datetime | None = None
    progress: Callable[[int], None] = lambda n: None
    options: dict[str, Any] = field(default_factory=dict)

    def source_context(self) -> SourceContext:
        """The same client, settings and reader as a poll's context, at the backfill's time."""
        now = self.now
        return SourceContext(client=self.client, now=lambda: now, settings=self.settings, reader=self.reader)


@dataclass(frozen=True)
class Backfill:
    """``flowwatch backfill <name>``: ``run`` yields batches (one per file or series, or staged:
    FRED first, then the odds computed from it); the command writes each before asking for the
    next, and prints each batch's description."""

    name: str
    help: str
    run: Callable[[BackfillContext], AsyncIterator[Batch]]
    #: which of --file / --dir / live (neither) are accepted
    file: bool = True
    dir: bool = False
    live: bool = True
    #: whether a file is in this provider's own format, from its name and the cells of its first
    #: line (lower case); ``flowwatch backfill all --dir`` loads the files it recognises
    recognises: Callable[[str, tuple[str, ...]], bool] | None = None


@dataclass(frozen=True)
class Stream:
    """Live streams (websockets) the app runs as one service for ``signal``, which it evaluates
    in memory as frames arrive (``bot.streams``). The source module only makes the clients:

    - ``make(settings, on_events, **kw)``: the clients (``kw``: a clock, URL overrides …);
    - ``raw_retention_days(settings)``: how many days the raw frames are kept (an audit);
    - ``enabled(settings)``: whether ``flowwatch run`` starts them (a setting may turn them off);
    - ``on_start(ctx, started, clients)``: a batch to write when the service starts (what a
      REST feed holds of the minutes the streams missed while flowwatch was down), or None.

    Streams run on the wall clock: under a simulated clock (replays, harnesses) the service is not
    started, and the signal is evaluated from what is stored, like any other.
    """

    name: str
    signal: str
    make: Callable[..., list[Any]]
    enabled: Callable[[SettingValues], bool]
    on_start: Callable[[SourceContext, datetime, Sequence[str]], Awaitable[Batch]] | None = None
    raw_retention_days: Callable[[SettingValues], float] = lambda settings: 0.0
    description: str = ""
