"""Observations: one table of time series, idempotent upserts on (series, ts)."""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlite_utils import Database

from storage import liq_rollups
from storage import series as series_ranges

log = logging.getLogger("flowwatch.storage")

SERIES_RE = re.compile(r"^[a-z0-9][a-z0-9_\-]*(\.[a-z0-9][a-z0-9_\-]*)+$")


@dataclass(frozen=True, slots=True)
class Observation:
    series: str
    ts: int  # UTC epoch seconds
    value: float
    source: str


@dataclass(frozen=True, slots=True)
class UpsertResult:
    new: int
    updated: int
    unchanged: int

    @property
    def total(self) -> int:
        return self.new + self.updated + self.unchanged


def validate_series_id(series: str) -> str:
    if not SERIES_RE.match(series):
        raise ValueError(
            f"invalid series id {series!r}: use lower-case dotted names such as "
            "cboe.vix.close or kalshi.fomc.2025-12-10.cut"
        )
    return series


_UPSERT = (
    "INSERT INTO observations (series, ts, value, source) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (series, ts) DO UPDATE SET value = excluded.value, source = excluded.source "
    "WHERE observations.value IS NOT excluded.value"
)


def upsert(db: Database, observations: Iterable[Observation]) -> UpsertResult:
    """Insert or update observations in one transaction; returns new / updated / unchanged.

    Values outside their series' plausible range (:mod:`storage.series`) are refused here as a
    last line of defence, the whole batch with them (sources reject them earlier with a logged
    reason; live data goes through :func:`plausible_only`).
    """
    rows = []
    for o in observations:
        if not math.isfinite(o.value):
            raise ValueError(f"refusing non-finite value for {o.series} at {o.ts}")
        rows.append((o.series, int(o.ts), float(o.value), o.source))
    series_ranges.check_all((r[0], r[1], r[2]) for r in rows)
    if not rows:
        return UpsertResult(0, 0, 0)
    series = sorted({r[0] for r in rows})
    with db.atomic():
        before = _count(db, series)
        rollup = liq_rollups.track(db, rows)  # live 1-minute liquidation buckets: their roll-ups too
        cur = db.conn.executemany(_UPSERT, rows)
        changed = cur.rowcount if cur.rowcount is not None and cur.rowcount >= 0 else 0
        liq_rollups.apply(db, rollup)
        after = _count(db, series)
    new = after - before
    updated = max(changed - new, 0)
    return UpsertResult(new=new, updated=updated, unchanged=len(rows) - new - updated)


def write_many(db: Database, rows: Sequence[tuple[str, int, float, str]]) -> None:
    """Upsert ``(series, ts, value, source)`` rows without counting them (stream batches).

    The caller has validated the values; this is :func:`upsert` minus the bookkeeping that
    makes it report new/updated counts. An implausible row is dropped and logged (a stream
    keeps flowing; nothing implausible is stored).
    """
    bad = [r for r in rows if series_ranges.problem(r[0], r[1], r[2]) is not None]
    if bad:
        for r in bad[:3]:
            log.warning("dropped %s at %s: %s", r[0], r[1], series_ranges.problem(r[0], r[1], r[2]))
        rows = [r for r in rows if series_ranges.problem(r[0], r[1], r[2]) is None]
    if rows:
        with db.atomic():
            rollup = liq_rollups.track(db, rows)
            db.conn.executemany(_UPSERT, rows)
            liq_rollups.apply(db, rollup)


def points(db: Database, series: str) -> list[tuple[int, float]]:
    """Every ``(ts, value)`` of one series, in time order."""
    cur = db.execute("SELECT ts, value FROM observations WHERE series = ? ORDER BY ts", [series])
    return [(int(t), float(v)) for t, v in cur.fetchall()]


def first_ts(db: Database, series: str) -> int | None:
    """The first stored time of one series (None: nothing stored)."""
    row = db.execute("SELECT MIN(ts) FROM observations WHERE series = ?", [series]).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def plausible_only(observations: Iterable[Observation]) -> list[Observation]:
    """The observations within their series' plausible range; the rest are logged and dropped
    (live data: one garbage tick must neither alert nor stop the good rows beside it)."""
    out: list[Observation] = []
    for o in observations:
        why = series_ranges.problem(o.series, int(o.ts), o.value)
        if why is None:
            out.append(o)
        else:
            log.warning("refused %s at %s from %s: %s", o.series, o.ts, o.source, why)
    return out


def _count(db: Database, series: Sequence[str]) -> int:
    marks = ",".join("?" * len(series))
    row = db.execute(f"SELECT COUNT(*) FROM observations WHERE series IN ({marks})", list(series)).fetchone()
    return int(row[0])


def _series_clause(patterns: Sequence[str]) -> tuple[str, list[str]]:
    """Exact names and SQL LIKE patterns (containing ``%``) into one WHERE clause."""
    exact = [p for p in patterns if "%" not in p]
    likes = [p for p in patterns if "%" in p]
    parts, params = [], []
    if exact:
        parts.append(f"series IN ({','.join('?' * len(exact))})")
        params += exact
    for p in likes:
        parts.append("series LIKE ?")
        params.append(p)
    return "(" + " OR ".join(parts or ["0"]) + ")", params


def load_long(
    db: Database, patterns: Sequence[str], start: int | None = None, end: int | None = None
) -> pd.DataFrame:
    """Rows (series, ts, value, source) in time order."""
    where, params = _series_clause(patterns)
    if start is not None:
        where += " AND ts >= ?"
        params.append(start)  # type: ignore[arg-type]
    if end is not None:
        where += " AND ts <= ?"
        params.append(end)  # type: ignore[arg-type]
    cur = db.execute(f"SELECT series, ts, value, source FROM observations WHERE {where} ORDER BY ts", params)
    return pd.DataFrame(cur.fetchall(), columns=["series", "ts", "value", "source"])


@dataclass(frozen=True)
class Inputs:
    """What a signal evaluates: a wide frame (UTC DatetimeIndex x series) and provenance.

    ``tables`` holds the non-series inputs a signal declares in ``Signal.tables`` (e.g. the
    earnings calendar), each loaded by its storage function as a plain DataFrame.
    """

    values: pd.DataFrame
    last_source: dict[str, str]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def series(self, name: str) -> pd.Series:
        if name in self.values.columns:
            return self.values[name].dropna()
        return pd.Series(dtype=float, index=pd.DatetimeIndex([], tz="UTC"))

    def table(self, name: str) -> pd.DataFrame:
        """A declared table input (an empty frame when it was not loaded)."""
        return self.tables.get(name, pd.DataFrame())

    def digest(self) -> bytes:
        """A digest of everything here (values with their times, sources, tables): equal digests
        mean a signal's history over these inputs is the same."""
        h = hashlib.blake2b(digest_size=16)
        for name, frame in (("", self.values), *sorted(self.tables.items())):
            h.update(f"{name}|{list(frame.columns)}|{frame.shape}|".encode())
            if not frame.empty:
                h.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
        h.update(repr(sorted(self.last_source.items())).encode())
        return h.digest()


_ROW = np.dtype([("ts", np.int64), ("value", np.float64)])


def series_names(db: Database, patterns: Sequence[str]) -> list[str]:
    """Stored series matching ``patterns`` (exact names or SQL LIKE), sorted.

    A skip scan over the primary key: one index probe per distinct series, not one step per row.
    """
    where, params = _series_clause(patterns)
    rows = db.execute(
        "WITH RECURSIVE s(name) AS (SELECT MIN(series) FROM observations UNION ALL "
        "SELECT (SELECT MIN(series) FROM observations WHERE series > s.name) FROM s WHERE s.name IS NOT NULL) "
        f"SELECT name AS series FROM s WHERE name IS NOT NULL AND {where}",
        params,
    ).fetchall()
    return sorted(str(r[0]) for r in rows)


def load_inputs(
    db: Database, patterns: Sequence[str], start: int | None = None, end: int | None = None
) -> Inputs:
    """The wide frame of the series matching ``patterns`` within ``[start, end]``.

    Built one series at a time straight into numpy arrays: the load peaks at a few times the
    frame's own size (the row-by-row pivot, ``inputs_from_long(load_long(...))``, which it
    equals, peaked near forty times: over a gigabyte for a year of 1-minute buckets).
    """
    cond, bounds = "", []
    if start is not None:
        cond += " AND ts >= ?"
        bounds.append(start)
    if end is not None:
        cond += " AND ts <= ?"
        bounds.append(end)
    names, arrays, last_source = [], [], {}
    for name in series_names(db, patterns):
        args = [name, *bounds]
        cur = db.execute(f"SELECT ts, value FROM observations WHERE series = ?{cond} ORDER BY ts", args)
        arr = np.fromiter(cur, dtype=_ROW)
        if not len(arr):
            continue
        names.append(name)
        arrays.append(arr)
        row = db.execute(
            f"SELECT source FROM observations WHERE series = ?{cond} ORDER BY ts DESC LIMIT 1", args
        ).fetchone()
        last_source[name] = str(row[0])
    if not names:
        return Inputs(pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC"), dtype=float), {})
    stamps = np.unique(np.concatenate([a["ts"] for a in arrays]))
    grid = np.full((len(stamps), len(names)), np.nan)
    for j, arr in enumerate(arrays):
        grid[np.searchsorted(stamps, arr["ts"]), j] = arr["value"]
    del arrays
    index = pd.to_datetime(stamps, unit="s", utc=True)
    return Inputs(pd.DataFrame(grid, index=index, columns=names), last_source)


def inputs_from_long(long: pd.DataFrame) -> Inputs:
    if long.empty:
        return Inputs(pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC"), dtype=float), {})
    wide = long.pivot_table(index="ts", columns="series", values="value", aggfunc="last")
    wide.index = pd.to_datetime(wide.index.to_numpy(dtype=np.int64), unit="s", utc=True)
    wide.columns.name = None
    last_source = long.groupby("series")["source"].last().to_dict()
    return Inputs(wide.sort_index(), {str(k): str(v) for k, v in last_source.items()})


def latest(db: Database, series: str) -> Observation | None:
    row = db.execute(
        "SELECT series, ts, value, source FROM observations WHERE series = ? ORDER BY ts DESC LIMIT 1",
        [series],
    ).fetchone()
    return Observation(*row) if row else None


def series_stats(db: Database) -> list[dict[str, Any]]:
    cur = db.execute(
        "SELECT series, COUNT(*), MIN(ts), MAX(ts) FROM observations GROUP BY series ORDER BY series"
    )
    return [{"series": s, "rows": n, "first": a, "last": b} for s, n, a, b in cur.fetchall()]


def delete_before(db: Database, pattern: str, before_ts: int) -> int:
    with db.atomic():
        cur = db.execute("DELETE FROM observations WHERE series LIKE ? AND ts < ?", [pattern, before_ts])
    return int(cur.rowcount or 0)
