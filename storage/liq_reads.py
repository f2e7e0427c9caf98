"""Bounded reads of stored liquidation history for ``btc_liq`` (raw data; the signal computes).

Every method reads a range: the 1-minute rows of the days a tracker steps over, the roll-ups
(:mod:`storage.liq_rollups`) for baselines, ranks and long charts, the imported aggregates
(small: one row per 4 hours or per day), prices sampled at the resolution shown. Nothing here
reads "everything since the lookback": a year of history costs what a week does.

:class:`LiqInputs` is what :func:`load_inputs` (``btc_liq``'s declared loader) hands the pipeline,
queries, replay and charts: an empty :class:`~storage.observations.Inputs` frame carrying a
:class:`LiqReader` on the same connection, used while the caller's connection is open.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlite_utils import Database

from storage import liq_rollups
from storage import observations as obs_repo
from storage.observations import Inputs

LIVE = liq_rollups.LIVE_VENUES
IMPORT_PATTERN = "liq.btc.coinglass.%"
PRICE_PATTERN = "btc.usd.close.%"
BUCKET_S = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14400, "1d": 86400}
_RES_NAME = {300: "5m", 3600: "1h", 86400: "1d"}


def _empty() -> Inputs:
    return Inputs(pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC"), dtype=float), {})


def merge_inputs(parts: Sequence[Inputs]) -> Inputs:
    """One wide frame from several (disjoint columns; rows by time)."""
    frames = [p.values for p in parts if len(p.values.columns)]
    if not frames:
        return _empty()
    wide = frames[0] if len(frames) == 1 else pd.concat(frames, axis=1, sort=True)
    last: dict[str, str] = {}
    for p in parts:
        last.update(p.last_source)
    return Inputs(wide, last)


@dataclass
class LiqReader:
    """Range queries on one open connection (thread-bound: use it where it was opened)."""

    db: Database
    #: alert scope whose lifecycles are the recorded cascades (``live``, or ``replay`` for a
    #: replay's own chart)
    scope: str = "live"
    _names: dict[str, list[str]] = field(default_factory=dict)

    # .. what is stored ..

    def names(self, pattern: str) -> list[str]:
        if pattern not in self._names:
            self._names[pattern] = obs_repo.series_names(self.db, [pattern])
        return self._names[pattern]

    def import_names(self) -> list[str]:
        return [n for n in self.names(IMPORT_PATTERN) if n.split(".")[3] in ("long_usd", "short_usd")]

    def minute_names(self) -> list[str]:
        return [n for n in liq_rollups.TRACKED if n in set(self.names("liq.btc.%.1m"))]

    def import_sources(self) -> dict[str, str]:
        out = {}
        for n in self.import_names():
            row = self.db.execute(
                "SELECT source FROM observations WHERE series = ? ORDER BY ts DESC LIMIT 1", [n]
            ).fetchone()
            if row:
                out[n.split(".")[2]] = str(row[0])
        return out

    def import_span(self) -> tuple[int, int, int] | None:
        """(first start, last end, shortest bucket) of the imported aggregates, or None."""
        first = last = None
        shortest = 86400
        for n in self.import_names():
            length = BUCKET_S.get(n.rsplit(".", 1)[1], 86400)
            row = self.db.execute(
                "SELECT MIN(ts), MAX(ts) FROM observations WHERE series = ?", [n]
            ).fetchone()
            if row and row[0] is not None:
                first = int(row[0]) if first is None else min(first, int(row[0]))
                end = int(row[1]) + length
                last = end if last is None else max(last, end)
                shortest = min(shortest, length)
        return None if first is None or last is None else (first, last, shortest)

    def import_firsts(self) -> dict[int, int]:
        """Bucket length -> start of the first imported bucket of that length."""
        out: dict[int, int] = {}
        for n in self.import_names():
            length = BUCKET_S.get(n.rsplit(".", 1)[1], 86400)
            row = self.db.execute("SELECT MIN(ts) FROM observations WHERE series = ?", [n]).fetchone()
            if row and row[0] is not None:
                out[length] = min(out.get(length, int(row[0])), int(row[0]))
        return out

    def last_end(self, until: int | None = None) -> tuple[int, bool] | None:
        """(end of the newest bucket starting before ``until``, whether it is a live minute)."""
        best: tuple[int, bool] | None = None
        for names, live in ((self.minute_names(), True), (self.import_names(), False)):
            for n in names:
                if n.split(".")[3] == "gap_s":
                    continue
                length = BUCKET_S.get(n.rsplit(".", 1)[1], 60)
                if until is None:
                    row = self.db.execute("SELECT MAX(ts) FROM observations WHERE series = ?", [n]).fetchone()
                else:
                    row = self.db.execute(
                        "SELECT MAX(ts) FROM observations WHERE series = ? AND ts < ?", [n, until]
                    ).fetchone()
                if row and row[0] is not None:
                    end = int(row[0]) + length
                    if best is None or end > best[0] or (end == best[0] and live):
                        best = (end, live)
        if best is None or not best[1]:
            # minutes pruned, roll-ups kept (a database whose minute rows all aged out)
            last = liq_rollups.last_rollup(self.db)
            if last is not None and (until is None or last < until):
                end = last + 300
                if best is None or end > best[0]:
                    best = (end, True)
        return best

    def first_start(self) -> int | None:
        out = None
        for n in [*self.minute_names(), *self.import_names()]:
            row = self.db.execute("SELECT MIN(ts) FROM observations WHERE series = ?", [n]).fetchone()
            if row and row[0] is not None:
                out = int(row[0]) if out is None else min(out, int(row[0]))
        first = liq_rollups.first_rollup(self.db)
        if first is not None:
            out = first if out is None else min(out, first)
        return out

    def first_minute(self) -> int | None:
        return liq_rollups.first_minute(self.db)

    # .. rows ..

    def series(self, names: Sequence[str], a: int, b: int) -> Inputs:
        """The named series with ``a <= ts < b``, as a wide frame."""
        if not names or b <= a:
            return _empty()
        return obs_repo.load_inputs(self.db, list(names), start=a, end=b - 1)

    def minutes(self, a: int, b: int) -> Inputs:
        return self.series(self.minute_names(), a, b)

    def imports(self, a: int, b: int) -> Inputs:
        return self.series(self.import_names(), a, b)

    def prices(self, a: int, b: int) -> Inputs:
        return self.series(self.names(PRICE_PATTERN), a, b)

    def price_samples(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The last close known at each time (a close belongs to its bucket's end): one index
        probe per time and series, for long charts (a year of minutes is half a million rows)."""
        names = self.names(PRICE_PATTERN)
        out_t: list[int] = []
        out_p: list[float] = []
        for t in np.asarray(times, dtype=np.int64).tolist():
            best: tuple[int, float] | None = None
            for n in names:
                length = BUCKET_S.get(n.rsplit(".", 1)[1])
                if length is None:
                    continue
                row = self.db.execute(
                    "SELECT ts, value FROM observations WHERE series = ? AND ts <= ? ORDER BY ts DESC LIMIT 1",
                    [n, t - length],
                ).fetchone()
                if row is not None and (best is None or int(row[0]) + length > best[0]):
                    best = (int(row[0]) + length, float(row[1]))
            if best is not None and (not out_t or best[0] > out_t[-1]):
                out_t.append(best[0])
                out_p.append(best[1])
        return np.asarray(out_t, dtype=np.int64), np.asarray(out_p, dtype=float)

    def rollup_frame(self, res: int, a: int, b: int) -> Inputs:
        """Per-venue roll-ups of ``res`` with ``a <= ts < b`` as series-like columns
        (``liq.btc.<venue>.<long_usd|short_usd|minutes|gap_s>.<5m|1h|1d>``)."""
        rows = liq_rollups.rollups(self.db, res, a, b)
        if not len(rows):
            return _empty()
        bucket = _RES_NAME[res]
        stamps = np.unique(rows["ts"])
        pos = np.searchsorted(stamps, rows["ts"])
        cols: dict[str, np.ndarray] = {}
        for k, venue in enumerate(LIVE):
            sel = rows["venue"] == k
            if not sel.any():
                continue
            for metric, values in (
                ("long_usd", rows["long"][sel]),
                ("short_usd", rows["short"][sel]),
                ("minutes", (rows["rows"][sel] + 1) // 2),
                ("gap_s", rows["gap"][sel]),
            ):
                col = np.full(len(stamps), np.nan)
                col[pos[sel]] = values
                cols[f"liq.btc.{venue}.{metric}.{bucket}"] = col
            # a venue without rows in a period had no data there (not zero liquidations)
            have = np.zeros(len(stamps), dtype=bool)
            have[pos[sel]] = (rows["rows"][sel] > 0) | (rows["gap"][sel] > 0)
            for metric in ("long_usd", "short_usd", "minutes"):
                c = cols[f"liq.btc.{venue}.{metric}.{bucket}"]
                c[~have] = np.nan
        index = pd.to_datetime(stamps, unit="s", utc=True)
        return Inputs(pd.DataFrame(cols, index=index), {n: n.split(".")[2] for n in cols})

    def totals(self, res: int, a: int, b: int, min_usd: float | None = None) -> np.ndarray:
        return liq_rollups.totals(self.db, res, a, b, min_usd)

    def first_total(self, res: int, min_minutes: int) -> int | None:
        return liq_rollups.first_total(self.db, res, min_minutes)

    # .. the cascades the engine recorded ..

    def episodes(
        self, a: int, b: int, signal: str = "btc_liq", key: str = "cascade"
    ) -> list[tuple[int, int | None, str]]:
        """(start, end or None while open, peak level) of the lifecycles overlapping ``[a, b)``."""
        rows = self.db.execute(
            "SELECT DISTINCT episode FROM alerts WHERE scope = ? AND signal = ? AND ts >= ? AND ts < ? "
            "AND kind = 'alert' AND key = ? AND episode IS NOT NULL",
            [self.scope, signal, a - 7 * 86400, b, key],
        ).fetchall()
        out = []
        order = {"ok": 0, "watch": 1, "alert": 2, "severe": 3}
        for (ep,) in rows:
            evs = self.db.execute(
                "SELECT event, level, ts, data FROM alerts WHERE episode = ? ORDER BY ts, id", [ep]
            ).fetchall()
            if not evs:
                continue
            start = int(evs[0][2])
            try:
                data: Any = json.loads(evs[0][3] or "{}")
                if isinstance(data, dict) and isinstance(data.get("start"), int | float):
                    start = min(start, int(data["start"]))
            except ValueError:
                pass
            end = next((int(ts) for ev, _lv, ts, _d in evs if ev == "resolved"), None)
            peak = max(
                (lv for ev, lv, _ts, _d in evs if ev != "resolved"),
                key=lambda x: order.get(x, 0),
                default="watch",
            )
            if start < b and (end is None or end > a):
                out.append((start, end, peak))
        return sorted(out)

    def has_episodes(self, signal: str = "btc_liq") -> bool:
        row = self.db.execute(
            "SELECT 1 FROM alerts WHERE scope = ? AND signal = ? AND kind = 'alert' LIMIT 1",
            [self.scope, signal],
        ).fetchone()
        return row is not None


@dataclass(frozen=True)
class LiqInputs(Inputs):
    """An empty frame with a :class:`LiqReader`: ``btc_liq`` reads what it needs by range."""

    reader: LiqReader | None = None


def load_inputs(
    db: Database, start: int | None = None, end: int | None = None, scope: str = "live"
) -> Inputs:
    """``btc_liq``'s loader (``Signal.loader``): nothing is read up front."""
    return LiqInputs(_empty().values, {}, reader=LiqReader(db, scope))
