"""``flowwatch import SERIES FILE``: a ``ts,value`` CSV into one series, streamed and atomic.

The file is read row by row into a temporary staging table (on disk, in SQLite's temp
store), never held as Python objects: a 210 MB file used to take 2.9 GB. Only when every row
is readable and plausible (:mod:`storage.series`), the file ends with a line break and no
timestamp appears twice with two values (the rules of :mod:`storage.filerules`) does one statement move the rows into ``observations``, inside one transaction: a bad
row, a conflict, a full disk or Ctrl-C leaves the database as it was. A live 1-minute liquidation
series moves in chunks instead, each with its roll-up deltas, in that same transaction.
"""

from __future__ import annotations

import contextlib
import csv
import math
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from storage import filerules, liq_rollups
from storage import series as series_ranges
from storage.observations import _UPSERT
from storage.timeutil import iso, parse_ts

BATCH = 5_000
#: rows per roll-up step when the imported series feeds the btc_liq roll-ups
ROLLUP_CHUNK = 50_000
MAX_SHOWN = 10


class ImportRefused(ValueError):
    """The file cannot be imported; the message says why, row by row, and that nothing was."""


@dataclass(frozen=True)
class ImportResult:
    total: int  # distinct timestamps read
    new: int
    updated: int
    unchanged: int
    duplicates: int  # rows repeating a timestamp with the same value (counted once)


def _rows(path: Path, errors: list[str], counts: list[int]) -> Iterator[tuple[int, str, str]]:
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader, None)
            if header is None or [h.strip().lower() for h in header[:2]] != ["ts", "value"]:
                raise ImportRefused(
                    f"{path}: the first line must be the header ts,value (got {','.join(header or [])[:80]!r})"
                )
            for n, row in enumerate(reader, start=2):
                if not row or not "".join(row).strip():
                    continue
                if len(row) < 2:
                    counts[0] += 1
                    if len(errors) < MAX_SHOWN:
                        errors.append(f"line {n}: expected ts,value")
                    continue
                yield n, row[0], row[1]
        except csv.Error as exc:  # e.g. an unterminated quote running past the field limit
            raise ImportRefused(f"{path}: unreadable CSV ({exc}); nothing imported") from None


def import_csv(
    db: Database,
    series: str,
    path: Path,
    now_ts: float,
    source: str = "import",
    progress: Callable[[int], object] | None = None,
) -> ImportResult:
    """Import ``path`` into ``series``; raises :class:`ImportRefused` (nothing written)."""
    try:
        filerules.check_file_tail(path, str(path))  # a cut-off last row may still parse
    except filerules.FileRefused as exc:
        raise ImportRefused(str(exc)) from None
    rng = series_ranges.range_for(series)
    errors: list[str] = []
    counts = [0]  # bad rows
    conn = db.conn
    conn.execute("DROP TABLE IF EXISTS temp.import_rows")
    conn.execute(
        "CREATE TEMP TABLE import_rows (ts INTEGER NOT NULL, value REAL NOT NULL, line INTEGER NOT NULL)"
    )
    try:

        def bad(n: int, why: str) -> None:
            counts[0] += 1
            if len(errors) < MAX_SHOWN:
                errors.append(f"line {n}: {why}")

        batch: list[tuple[int, float, int]] = []
        read = 0
        with db.atomic():  # the staging writes, in one transaction of the temp database
            for n, ts_text, value_text in _rows(path, errors, counts):
                try:
                    ts = parse_ts(ts_text)
                except ValueError as exc:
                    bad(n, str(exc))
                    continue
                try:
                    value = float(value_text)
                except ValueError:
                    bad(n, f"value {value_text[:30]!r} is not a number")
                    continue
                if not math.isfinite(value):
                    bad(n, f"value {value_text[:30]!r} is not finite")
                    continue
                if ts > now_ts + 600:
                    bad(n, f"timestamp {ts_text[:40]!r} is in the future")
                    continue
                why = rng.problem(ts, value)
                if why is not None:
                    bad(n, why)
                    continue
                batch.append((ts, value, n))
                if len(batch) >= BATCH:
                    conn.executemany("INSERT INTO temp.import_rows VALUES (?, ?, ?)", batch)
                    read += len(batch)
                    batch.clear()
                    if progress is not None:
                        progress(read)
            if batch:
                conn.executemany("INSERT INTO temp.import_rows VALUES (?, ?, ?)", batch)
        if counts[0]:
            shown = "\n  ".join(errors)
            more = f"\n  ... and {counts[0] - len(errors)} more" if counts[0] > len(errors) else ""
            what = f"{series}: {rng.describe()}" if rng is not series_ranges.ANY else series
            raise ImportRefused(
                f"{path}: {counts[0]} bad row(s), nothing imported ({what}):\n  {shown}{more}"
            )
        conn.execute("CREATE INDEX temp.import_rows_ts ON import_rows (ts, value)")
        conflicts = conn.execute(
            "SELECT ts, GROUP_CONCAT(line || ': ' || value, ', ') FROM ("
            " SELECT ts, value, MIN(line) AS line FROM temp.import_rows GROUP BY ts, value ORDER BY ts, line"
            ") GROUP BY ts HAVING COUNT(*) > 1 ORDER BY ts LIMIT ?",
            [MAX_SHOWN + 1],
        ).fetchall()
        if conflicts:
            n_conflicts = conn.execute(
                "SELECT COUNT(*) FROM (SELECT ts FROM temp.import_rows GROUP BY ts HAVING COUNT(DISTINCT value) > 1)"
            ).fetchone()[0]
            shown = "\n  ".join(f"{iso(int(ts))}: lines {pairs}" for ts, pairs in conflicts[:MAX_SHOWN])
            more = f"\n  ... and {n_conflicts - MAX_SHOWN} more" if n_conflicts > MAX_SHOWN else ""
            raise ImportRefused(
                f"{path}: {n_conflicts} timestamp(s) appear more than once with different values; "
                f"keep one value per timestamp (nothing imported):\n  {shown}{more}"
            )
        total_rows = conn.execute("SELECT COUNT(*) FROM temp.import_rows").fetchone()[0]
        distinct = conn.execute("SELECT COUNT(DISTINCT ts) FROM temp.import_rows").fetchone()[0]
        with db.atomic():
            new, updated = conn.execute(
                "SELECT SUM(o.ts IS NULL), SUM(o.ts IS NOT NULL AND o.value IS NOT r.value) FROM "
                "(SELECT DISTINCT ts, value FROM temp.import_rows) r "
                "LEFT JOIN observations o ON o.series = ? AND o.ts = r.ts",
                [series],
            ).fetchone()
            if liq_rollups.tracked(series):
                # a live 1-minute liquidation series: its roll-ups move in the same transaction,
                # a chunk at a time, so the file still streams
                cur = conn.execute("SELECT DISTINCT ts, value FROM temp.import_rows ORDER BY ts")
                while chunk := cur.fetchmany(ROLLUP_CHUNK):
                    rows = [(series, int(ts), float(value), source) for ts, value in chunk]
                    pending = liq_rollups.track(db, rows)
                    conn.executemany(_UPSERT, rows)
                    liq_rollups.apply(db, pending)
            else:
                conn.execute(
                    "INSERT INTO observations (series, ts, value, source) "
                    "SELECT DISTINCT ?, ts, value, ? FROM temp.import_rows WHERE true "
                    "ON CONFLICT (series, ts) DO UPDATE SET value = excluded.value, source = excluded.source "
                    "WHERE observations.value IS NOT excluded.value",
                    [series, source],
                )
        new, updated = int(new or 0), int(updated or 0)
        return ImportResult(distinct, new, updated, distinct - new - updated, total_rows - distinct)
    finally:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("DROP TABLE IF EXISTS temp.import_rows")
