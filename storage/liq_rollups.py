"""Roll-ups of the live liquidation buckets (``btc_liq``): what a year of history is read through.

The live streams write a 1-minute bucket per venue and side every minute (``liq.btc.<venue>.
<long|short>_usd.1m``): 4 million rows a year. Baselines, ranks, long charts and reports read
these totals instead, kept in the same transaction as the 1-minute rows by every writer
(:func:`storage.observations.upsert` and :func:`~storage.observations.write_many` call
:func:`track` and :func:`apply`):

- ``liq_rollup``: 5-minute, 1-hour and 1-day totals per live venue and side, the number of
  1-minute rows counted (``rows``: long and short each count) and the seconds the venue's stream
  was down (``gap_s``, from ``liq.btc.<venue>.gap_s.1m``).
- ``liq_total``: all live venues together per 5-minute, 1-hour, 4-hour and 1-day period, with the
  minutes the best-covered venue had data, indexed by size: the rolling medians read a few weeks
  of it, a rank reads only the periods at least as large as the window being judged.

Updates are deltas (new value minus the stored one), so a rewrite of a minute (a late
liquidation, a closing minute written again, an import of the same rows) changes the totals by
the difference and nothing is counted twice; USD are kept in whole cents, so the totals do not
depend on the order of the writes (a restart that rewrites its last minutes gives the same); the 1-minute rows can then be pruned
(``FLOWWATCH_LIQ_MINUTE_RETENTION_DAYS``) and the roll-ups keep their totals. :func:`rebuild`
recomputes everything from the 1-minute rows still stored (migration ``0005_liq_rollups`` does
the same once for an existing database).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlite_utils import Database

from storage import meta
from storage.series import LIQ_VENUES, gap_series, liq_series

#: the live venues whose 1-minute buckets are rolled up
LIVE_VENUES = LIQ_VENUES
#: per venue and side
ROLLUP_RES = (300, 3600, 86400)
#: all venues together (4 hours from the hourly rows)
TOTAL_RES = (300, 3600, 14400, 86400)

_SERIES: dict[str, tuple[str, int]] = {}
for _v in LIVE_VENUES:
    _SERIES[liq_series(_v, "long", "1m")] = (_v, 0)
    _SERIES[liq_series(_v, "short", "1m")] = (_v, 1)
    _SERIES[gap_series(_v)] = (_v, 2)
#: the 1-minute series the roll-ups are made of
TRACKED = tuple(_SERIES)


def tracked(series: str) -> bool:
    return series in _SERIES


@dataclass
class Pending:
    """Deltas of one write, taken before it (old values) and applied after it."""

    # (res, venue, period start) -> [long, short, rows, gap_s]
    deltas: dict[tuple[int, str, int], list[float]]


def _old_values(db: Database, series: str, stamps: Sequence[int]) -> dict[int, float]:
    out: dict[int, float] = {}
    for i in range(0, len(stamps), 500):
        chunk = stamps[i : i + 500]
        marks = ",".join("?" * len(chunk))
        for ts, value in db.execute(
            f"SELECT ts, value FROM observations WHERE series = ? AND ts IN ({marks})", [series, *chunk]
        ).fetchall():
            out[int(ts)] = float(value)
    return out


def track(db: Database, rows: Iterable[tuple[str, int, float, str]]) -> Pending | None:
    """Before a write of ``(series, ts, value, source)`` rows: the roll-up deltas it makes.

    Call inside the write's transaction, before the rows are written; then :func:`apply`.
    Returns None when no row is a tracked 1-minute series (nothing to do).
    """
    latest: dict[str, dict[int, float]] = {}
    for series, ts, value, _source in rows:
        if series in _SERIES:
            latest.setdefault(series, {})[int(ts)] = float(value)  # the last write of a row wins
    if not latest:
        return None
    deltas: dict[tuple[int, str, int], list[float]] = {}
    cut = pruned_before(db)
    for series, new in latest.items():
        venue, kind = _SERIES[series]
        old = _old_values(db, series, sorted(new))
        counted = _counted(db, venue, [ts for ts in new if ts < cut and ts not in old])
        for ts, value in new.items():
            before = old.get(ts)
            if before is None and ts // 300 * 300 in counted:
                continue  # a pruned minute written again: its totals are in the roll-ups already
            if kind == 2:
                d = [0.0, 0.0, 0.0, value - (before or 0.0)]
            else:
                dv = max(value, 0.0) - max(before or 0.0, 0.0)
                d = [dv, 0.0, 0.0 if before is not None else 1.0, 0.0]
                if kind == 1:
                    d[0], d[1] = 0.0, dv
            if not any(d):
                continue
            for res in ROLLUP_RES:
                acc = deltas.setdefault((res, venue, ts // res * res), [0.0, 0.0, 0.0, 0.0])
                for i in range(4):
                    acc[i] += d[i]
    return Pending(deltas)


def _counted(db: Database, venue: str, stamps: Sequence[int]) -> set[int]:
    """Of the 5-minute periods of ``stamps`` (minutes older than :func:`pruned_before` that are not
    stored), those the roll-ups of ``venue`` already count: their minutes were pruned."""
    periods = sorted({ts // 300 * 300 for ts in stamps})
    out: set[int] = set()
    for i in range(0, len(periods), 500):
        chunk = periods[i : i + 500]
        marks = ",".join("?" * len(chunk))
        out.update(
            int(ts)
            for (ts,) in db.execute(
                f"SELECT ts FROM liq_rollup WHERE res = 300 AND venue = ? AND ts IN ({marks}) "
                "AND (rows > 0 OR gap_s > 0)",
                [venue, *chunk],
            ).fetchall()
        )
    return out


def apply(db: Database, pending: Pending | None) -> None:
    """After the write (same transaction): add the deltas and refresh the all-venue totals."""
    if pending is None or not pending.deltas:
        return
    db.conn.executemany(
        "INSERT INTO liq_rollup (res, venue, ts, long_usd, short_usd, rows, gap_s) VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (res, venue, ts) DO UPDATE SET long_usd = ROUND(long_usd + excluded.long_usd, 2), "
        "short_usd = ROUND(short_usd + excluded.short_usd, 2), rows = rows + excluded.rows, "
        "gap_s = gap_s + excluded.gap_s",
        [
            (res, v, ts, round(d[0], 2), round(d[1], 2), int(d[2]), d[3])
            for (res, v, ts), d in pending.deltas.items()
        ],
    )
    touched = {(res, ts) for res, _v, ts in pending.deltas}
    touched |= {(14400, ts // 14400 * 14400) for res, ts in list(touched) if res == 3600}
    for res, ts in sorted(touched):
        _refresh_total(db, res, ts)


_IN_VENUES = "venue IN (" + ",".join(f"'{v}'" for v in LIVE_VENUES) + ")"


def _refresh_total(db: Database, res: int, ts: int) -> None:
    # ``venue IN (...)``: the primary key is (res, venue, ts), so each venue is one index seek
    if res == 14400:
        rows = db.execute(
            f"SELECT SUM(long_usd + short_usd), SUM(rows) FROM liq_rollup WHERE res = 3600 AND {_IN_VENUES} "
            "AND ts >= ? AND ts < ? GROUP BY venue",
            [ts, ts + 14400],
        ).fetchall()
    else:
        rows = db.execute(
            f"SELECT long_usd + short_usd, rows FROM liq_rollup WHERE res = ? AND {_IN_VENUES} AND ts = ?",
            [res, ts],
        ).fetchall()
    if not rows:
        db.execute("DELETE FROM liq_total WHERE res = ? AND ts = ?", [res, ts])
        return
    usd = round(sum(float(r[0] or 0.0) for r in rows), 2)
    minutes = (max(int(r[1] or 0) for r in rows) + 1) // 2
    db.execute(
        "INSERT INTO liq_total (res, ts, usd, minutes) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (res, ts) DO UPDATE SET usd = excluded.usd, minutes = excluded.minutes",
        [res, ts, usd, minutes],
    )


# -- rebuilding from the 1-minute rows ------------------------------------------------------------

DERIVE_SQL = {
    300: """
INSERT INTO liq_rollup (res, venue, ts, long_usd, short_usd, rows, gap_s)
SELECT 3600, venue, ts / 3600 * 3600, ROUND(SUM(long_usd), 2), ROUND(SUM(short_usd), 2), SUM(rows), SUM(gap_s)
FROM liq_rollup WHERE res = 300 GROUP BY venue, ts / 3600
""",
    3600: """
INSERT INTO liq_rollup (res, venue, ts, long_usd, short_usd, rows, gap_s)
SELECT 86400, venue, ts / 86400 * 86400, ROUND(SUM(long_usd), 2), ROUND(SUM(short_usd), 2), SUM(rows), SUM(gap_s)
FROM liq_rollup WHERE res = 3600 GROUP BY venue, ts / 86400
""",
}
TOTALS_SQL = """
DELETE FROM liq_total;
INSERT INTO liq_total (res, ts, usd, minutes)
SELECT res, ts, ROUND(SUM(long_usd + short_usd), 2), (MAX(rows) + 1) / 2 FROM liq_rollup GROUP BY res, ts;
INSERT INTO liq_total (res, ts, usd, minutes)
SELECT 14400, t4, ROUND(SUM(usd), 2), (MAX(n) + 1) / 2 FROM (
    SELECT ts / 14400 * 14400 AS t4, venue, SUM(long_usd + short_usd) AS usd, SUM(rows) AS n
    FROM liq_rollup WHERE res = 3600 GROUP BY t4, venue
) GROUP BY t4
"""


def minute_inserts() -> str:
    """``INSERT`` statements of the 5-minute roll-ups straight from the tracked 1-minute series."""
    out = []
    for series, (venue, kind) in _SERIES.items():
        if kind == 2:
            cols = "0, 0, 0, SUM(value)"
        else:
            s = "ROUND(SUM(MAX(value, 0)), 2)"
            cols = f"{s}, 0, COUNT(*), 0" if kind == 0 else f"0, {s}, COUNT(*), 0"
        out.append(
            "INSERT INTO liq_rollup (res, venue, ts, long_usd, short_usd, rows, gap_s) "
            f"SELECT 300, '{venue}', ts / 300 * 300, {cols} FROM observations WHERE series = '{series}' "
            "GROUP BY ts / 300 "
            "ON CONFLICT (res, venue, ts) DO UPDATE SET long_usd = long_usd + excluded.long_usd, "
            "short_usd = short_usd + excluded.short_usd, rows = rows + excluded.rows, "
            "gap_s = gap_s + excluded.gap_s"
        )
    return ";\n".join(out)


def rebuild(db: Database) -> None:
    """Recompute every roll-up from the 1-minute rows stored (one transaction)."""
    with db.atomic():
        db.conn.execute("DELETE FROM liq_rollup")
        for stmt in minute_inserts().split(";\n"):
            db.conn.execute(stmt)
        _derive(db, 300)


def derive(db: Database, res: int) -> None:
    """The coarser roll-ups and the all-venue totals from the per-venue rows of ``res`` (300:
    everything above 5 minutes; 3600: the days), for roll-ups written without their minutes."""
    with db.atomic():
        _derive(db, res)


def _derive(db: Database, res: int) -> None:
    for r in (300, 3600):
        if r >= res:
            db.conn.execute(f"DELETE FROM liq_rollup WHERE res = {3600 if r == 300 else 86400}")
            db.conn.execute(DERIVE_SQL[r])
    for stmt in TOTALS_SQL.split(";"):
        if stmt.strip():
            db.conn.execute(stmt)


# -- bounded reads --------------------------------------------------------------------------------

_ROW = np.dtype([("ts", np.int64), ("usd", np.float64), ("minutes", np.int64)])
_VROW = np.dtype(
    [
        ("ts", np.int64),
        ("venue", np.int64),
        ("long", np.float64),
        ("short", np.float64),
        ("rows", np.int64),
        ("gap", np.float64),
    ]
)
_VENUE_NO = {v: i for i, v in enumerate(LIVE_VENUES)}


def totals(db: Database, res: int, start: int, end: int, min_usd: float | None = None) -> np.ndarray:
    """All-venue periods of ``res`` with ``start <= ts < end`` (``ts, usd, minutes``), by time;
    with ``min_usd`` only those at least that large (read through the size index)."""
    if min_usd is None:
        cur = db.execute(
            "SELECT ts, usd, minutes FROM liq_total WHERE res = ? AND ts >= ? AND ts < ? ORDER BY ts",
            [res, start, end],
        )
        return np.fromiter(cur, dtype=_ROW)
    if not math.isfinite(min_usd):
        return np.zeros(0, dtype=_ROW)
    cur = db.execute(
        "SELECT ts, usd, minutes FROM liq_total INDEXED BY liq_total_by_usd "
        "WHERE res = ? AND usd >= ? AND ts >= ? AND ts < ?",
        [res, min_usd, start, end],
    )
    arr = np.fromiter(cur, dtype=_ROW)
    return arr[np.argsort(arr["ts"], kind="stable")]


def first_total(db: Database, res: int, min_minutes: int) -> int | None:
    """Start of the first all-venue period of ``res`` with at least ``min_minutes`` of data."""
    row = db.execute(
        "SELECT MIN(ts) FROM liq_total WHERE res = ? AND minutes >= ?", [res, min_minutes]
    ).fetchone()
    return int(row[0]) if row and row[0] is not None else None


def rollups(db: Database, res: int, start: int, end: int) -> np.ndarray:
    """Per-venue roll-ups of ``res`` with ``start <= ts < end``: ``ts, venue (index in
    LIVE_VENUES), long, short, rows, gap``, by time. One index seek per venue (the primary key
    is (res, venue, ts)): without ``venue IN``, every period of ``res`` stored is scanned."""
    cur = db.execute(
        "SELECT ts, CASE venue WHEN 'bybit' THEN 0 WHEN 'binance' THEN 1 ELSE 2 END, long_usd, short_usd, "
        f"rows, gap_s FROM liq_rollup WHERE res = ? AND {_IN_VENUES} AND ts >= ? AND ts < ? ORDER BY ts",
        [res, start, end],
    )
    return np.fromiter(cur, dtype=_VROW)


def first_minute(db: Database) -> int | None:
    """The oldest 1-minute live bucket still stored (older minutes live on in the roll-ups)."""
    out = None
    for v in LIVE_VENUES:
        row = db.execute(
            "SELECT MIN(ts) FROM observations WHERE series = ?", [f"liq.btc.{v}.long_usd.1m"]
        ).fetchone()
        if row and row[0] is not None:
            out = int(row[0]) if out is None else min(out, int(row[0]))
    return out


def first_rollup(db: Database) -> int | None:
    row = db.execute("SELECT MIN(ts) FROM liq_rollup WHERE res = 86400").fetchone()
    return int(row[0]) if row and row[0] is not None else None


def last_rollup(db: Database) -> int | None:
    """Start of the newest 5-minute roll-up (the live data's end, within 5 minutes)."""
    row = db.execute("SELECT MAX(ts) FROM liq_rollup WHERE res = 300").fetchone()
    return int(row[0]) if row and row[0] is not None else None


# -- retention of the 1-minute rows ----------------------------------------------------------------

#: the 1-minute series a minute retention prunes (their roll-ups stay)
PRICE_MINUTES = "btc.usd.close.1m"
PRICE_HOURS = "btc.usd.close.1h"


#: ``meta`` key: the 1-minute rows before this time were pruned (their totals live on in the roll-ups)
PRUNED_KEY = "liq.minutes_pruned_before"


def pruned_before(db: Database) -> int:
    """Where the minute retention has pruned up to (0: nothing pruned yet).

    A minute older than this that is written again (``flowwatch import`` of an export, a late
    fill) while its row is gone adds nothing to a 5-minute period the roll-ups already count: its
    liquidations are in them. One never counted (a period the venue had no data for) still adds."""
    return int(meta.get(db, PRUNED_KEY, 0) or 0)


def _mark_pruned(db: Database, upto: int) -> None:
    if upto > pruned_before(db):
        meta.put(db, PRUNED_KEY, upto)


def minute_cutoff(now: int, days: float) -> int | None:
    """Where the minute retention cuts (a UTC day boundary: roll-up periods are whole), or None
    when every minute is kept (``days`` 0)."""
    if days <= 0:
        return None
    return int(now - days * 86400) // 86400 * 86400


def prune_minutes_step(db: Database, before: int, dry_run: bool = False) -> int:
    """Delete the oldest day of 1-minute rows older than ``before`` (one transaction); returns
    the rows deleted (or, with ``dry_run``, every row that would be, all days at once).

    Hourly BTC closes are kept first where no hourly close is stored (a backfilled one wins), so
    long charts keep their price line."""
    names = [*TRACKED, PRICE_MINUTES]
    marks = ",".join("?" * len(names))
    if dry_run:
        row = db.execute(
            f"SELECT COUNT(*) FROM observations WHERE series IN ({marks}) AND ts < ?", [*names, before]
        )
        return int(row.fetchone()[0])
    oldest = None
    for series in names:
        row = db.execute(
            "SELECT MIN(ts) FROM observations WHERE series = ? AND ts < ?", [series, before]
        ).fetchone()
        if row and row[0] is not None:
            oldest = int(row[0]) if oldest is None else min(oldest, int(row[0]))
    if oldest is None:
        if before > pruned_before(db):
            with db.atomic():
                _mark_pruned(db, before)  # nothing older is stored
        return 0
    upto = min(before, oldest // 86400 * 86400 + 86400)
    with db.atomic():
        _mark_pruned(db, upto)
        db.execute(
            "INSERT OR IGNORE INTO observations (series, ts, value, source) "
            "SELECT ?, ts / 3600 * 3600, value, 'minutes' FROM ("
            "  SELECT ts, value, MAX(ts) FROM observations WHERE series = ? AND ts < ? GROUP BY ts / 3600"
            ")",
            [PRICE_HOURS, PRICE_MINUTES, upto],
        )
        n = 0
        for name in names:
            cur = db.execute("DELETE FROM observations WHERE series = ? AND ts < ?", [name, upto])
            n += int(cur.rowcount or 0)
    return n
