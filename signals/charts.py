"""What a chart shows, as typed data (pure: no matplotlib here).

A signal's chart is a frozen dataclass derived from :class:`ChartData`; the app draws it with the
renderer its class names (``bot/charts/<renderer>.py``), which reads attributes, so a renamed or
missing field is a type error, not a ``KeyError`` at render time.

A plain time-series signal declares no chart at all: :func:`default_chart` builds a
:class:`TimeSeriesChart` from its readings — one panel per key with the values, the levels'
entry thresholds when the signal declares them (``thresholds(key, params)``) and its alerts
marked — which the default renderer (``bot/charts/timeseries.py``) draws.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar, TypeVar

import numpy as np

if TYPE_CHECKING:
    from signals.base import Reading

C = TypeVar("C", bound="ChartData")


@dataclass(frozen=True, kw_only=True)
class ChartData:
    """What every chart carries: whose it is, its title, the footer (source, as of) and, for an
    alert's chart, the key of the alert (a signal with several keys may draw that one)."""

    #: the module of ``bot/charts`` that draws it
    renderer: ClassVar[str] = "timeseries"

    signal: str
    title: str
    source: str = ""
    as_of: datetime | None = None
    focus_key: str | None = None

    @property
    def empty(self) -> bool:
        """Nothing to draw (no data in the range)."""
        return False

    def titled(self: C, title: str, focus_key: str | None = None) -> C:
        """The same chart under another title (an alert's own, a backtest's)."""
        return dataclasses.replace(self, title=title, focus_key=focus_key or self.focus_key)


@dataclass(frozen=True)
class Line:
    """One line of a panel: values over time."""

    label: str
    x: np.ndarray  # datetime64[ns]
    y: np.ndarray


@dataclass(frozen=True)
class Mark:
    """An alert on a line: when, the value there, its level."""

    at: np.datetime64
    y: float
    level: str


@dataclass(frozen=True)
class Panel:
    """A panel of a :class:`TimeSeriesChart`: its lines, the entry line of each level (level
    label -> value) and the alerts marked on it."""

    ylabel: str
    lines: tuple[Line, ...]
    thresholds: Mapping[str, float] = field(default_factory=dict)
    marks: tuple[Mark, ...] = ()


@dataclass(frozen=True, kw_only=True)
class TimeSeriesChart(ChartData):
    """The default chart: one panel per key, stacked."""

    renderer: ClassVar[str] = "timeseries"

    panels: tuple[Panel, ...] = ()

    @property
    def empty(self) -> bool:
        return not any(len(line.x) for p in self.panels for line in p.lines)


def _dt64(ts: Sequence[datetime]) -> np.ndarray:
    return np.array([np.datetime64(int(t.timestamp()), "s") for t in ts], dtype="datetime64[s]").astype(
        "datetime64[ns]"
    )


def marks_on(
    x: np.ndarray, y: np.ndarray, marks: Iterable[tuple[datetime, str, str]], keys: Collection[str]
) -> tuple[Mark, ...]:
    """The alerts of ``keys`` among ``marks`` (time, level, key), each on the last finite point of
    the line at or before its time."""
    out = []
    for when, level, key in marks:
        if key not in keys or not len(x):
            continue
        i = int(
            np.searchsorted(x, np.datetime64(int(when.timestamp()), "s").astype("datetime64[ns]"), "right")
        )
        if i and np.isfinite(y[i - 1]):
            out.append(Mark(x[i - 1], float(y[i - 1]), level))
    return tuple(out)


def default_chart(
    signal: str,
    title: str,
    keys: Mapping[str, str],
    readings: Iterable[Reading],
    end: datetime,
    days: int,
    marks: Iterable[tuple[datetime, str, str]] = (),
    thresholds: Mapping[str, Mapping[str, float]] | None = None,
) -> TimeSeriesChart:
    """The chart of a signal that declares none: its readings from ``end - days`` to ``end``, a
    panel per key (``keys`` order, with their names) with its values, ``thresholds[key]`` (level
    label -> entry value) and the alerts of ``marks`` (time, level, key) on the line."""
    start = end - timedelta(days=days)
    by_key: dict[str, list[Reading]] = {}
    for r in readings:
        if start <= r.ts <= end:
            by_key.setdefault(r.key, []).append(r)
    order = [k for k in keys if k in by_key] + [k for k in by_key if k not in keys]
    if not order:
        order = list(keys)
    marks = list(marks)
    panels = []
    last: datetime | None = None
    for key in order:
        rs = by_key.get(key, [])
        x = _dt64([r.ts for r in rs])
        y = np.array([r.value for r in rs], dtype=float)
        on = marks_on(x, y, marks, {key})
        unit = rs[-1].unit if rs else ""
        label = keys.get(key, key)
        panels.append(
            Panel(
                ylabel=f"{label} ({unit.strip()})" if unit.strip() else label,
                lines=(Line(label, x, y),),
                thresholds=dict((thresholds or {}).get(key, {})),
                marks=on,
            )
        )
        if rs and (last is None or rs[-1].ts > last):
            last = rs[-1].ts
    sources = sorted({r.source for rs in by_key.values() for r in rs[-1:]})
    return TimeSeriesChart(
        signal=signal,
        title=title,
        source="Source: " + ", ".join(sources) if sources else "",
        as_of=last,
        panels=tuple(panels),
    )
