"""The earnings calendar and index membership lists (the buyback signal's tables).

Earnings dates are not a time series, so they live in their own table: one row per
(ticker, report date) with time of day, fiscal quarter end, market cap, an estimated flag
and the source. Knowledge is kept, not overwritten:

- ``seen_at`` is when a provider first listed the date (NULL for a file of dated reports,
  whose dates count as known a fixed horizon before the report; see ``signals.buyback``);
- ``superseded_at`` is when a newer listing replaced the row: the report moved to another
  date (same ticker and fiscal quarter, or within :data:`SAME_REPORT_DAYS` when the quarter
  is unknown), or a provider's answer for that day no longer lists it.

So the current calendar is the rows with ``superseded_at IS NULL``, and a replay can see
the calendar as it was known on any day.
"""

from __future__ import annotations

import re
import time as _time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

import pandas as pd
from sqlite_utils import Database

from storage.timeutil import day_epoch, from_epoch

TIMES = ("bmo", "amc", "unknown")
#: two dates of one ticker closer than this (and no fiscal quarter to tell them apart) are one report
SAME_REPORT_DAYS = 28
#: fiscal quarter ends this close are the same quarter (Nasdaq gives a month, Alpha Vantage a day)
SAME_QUARTER_END_DAYS = 10
#: an upcoming date that passed this many days ago can no longer "move"
MOVE_GRACE_DAYS = 3

Day = date  # the type, for annotations next to fields named ``date``

_TICKER_RE = re.compile(r"^[A-Z][A-Z0-9]{0,6}(\.[A-Z0-9]{1,3})?$")


def normalise_ticker(text: str) -> str | None:
    """``brk-b``, ``BRK/B``, `` BRK.B `` -> ``BRK.B``; None when it is not a plain ticker."""
    t = text.strip().upper().replace("/", ".").replace("-", ".")
    return t if _TICKER_RE.match(t) else None


def parse_time_of_day(text: str | None) -> str:
    """Provider and file spellings of before/after market; anything else is ``unknown``."""
    if not isinstance(text, str):
        return "unknown"
    t = text.strip().lower().replace("_", "-")
    if t in ("bmo", "before", "before-market", "pre-market", "time-pre-market", "premarket", "before open"):
        return "bmo"
    if t in (
        "amc",
        "after",
        "after-market",
        "post-market",
        "time-after-hours",
        "after-hours",
        "postmarket",
        "after close",
    ):
        return "amc"
    return "unknown"


@dataclass(frozen=True)
class Report:
    """One earnings report as a source lists it."""

    ticker: str
    date: Day
    time: str = "unknown"
    fiscal_quarter_end: Day | None = None
    market_cap: float | None = None
    estimated: bool = False


@dataclass
class CalendarWrite:
    """What a write changed; :meth:`describe` is the one line a command prints."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    moved: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.new + self.updated + self.unchanged

    def describe(self) -> str:
        parts = [
            f"{self.total} report dates ({self.new} new, {self.updated} updated, {self.unchanged} unchanged)"
        ]
        if self.moved:
            parts.append(f"{len(self.moved)} moved ({_few(self.moved)})")
        if self.dropped:
            parts.append(f"{len(self.dropped)} no longer listed ({_few(self.dropped)})")
        if self.duplicates:
            parts.append(f"{len(self.duplicates)} listed twice in one quarter ({_few(self.duplicates)})")
        return "; ".join(parts)


def _few(items: Sequence[str], n: int = 3) -> str:
    return ", ".join(items[:n]) + (f" and {len(items) - n} more" if len(items) > n else "")


def same_report(a_date: date, a_fqe: date | None, b_date: date, b_fqe: date | None) -> bool:
    """Whether two listings of one ticker are the same report (one per fiscal quarter)."""
    if a_fqe is not None and b_fqe is not None:
        return abs((a_fqe - b_fqe).days) <= SAME_QUARTER_END_DAYS
    return abs((a_date - b_date).days) < SAME_REPORT_DAYS


def dedupe(reports: Iterable[Report]) -> tuple[list[Report], list[str]]:
    """One report per ticker and quarter: of two dates in one quarter the later is kept.

    Returns the kept reports (ticker, date order) and one note per dropped date.
    """
    by_ticker: dict[str, list[Report]] = {}
    for r in reports:
        by_ticker.setdefault(r.ticker, []).append(r)
    kept: list[Report] = []
    notes: list[str] = []
    for ticker in sorted(by_ticker):
        out: list[Report] = []
        for r in sorted(by_ticker[ticker], key=lambda r: r.date):
            if out and out[-1].date == r.date:
                out[-1] = _fill(r, out[-1], time=True)
            elif out and same_report(out[-1].date, out[-1].fiscal_quarter_end, r.date, r.fiscal_quarter_end):
                notes.append(f"{ticker} {out[-1].date.isoformat()} and {r.date.isoformat()} (kept the later)")
                out[-1] = _fill(r, out[-1], time=False)
            else:
                out.append(r)
        kept += out
    return kept, notes


def _fill(keep: Report, other: Report, *, time: bool) -> Report:
    """``keep`` with its unknown fields taken from ``other`` (the time only for the same date)."""
    return replace(
        keep,
        time=other.time if time and keep.time == "unknown" else keep.time,
        fiscal_quarter_end=keep.fiscal_quarter_end or other.fiscal_quarter_end,
        market_cap=keep.market_cap if keep.market_cap is not None else other.market_cap,
    )


@dataclass
class _Row:
    id: int
    ticker: str
    date: Day
    time: str
    fqe: Day | None
    cap: float | None
    estimated: bool
    source: str


def _day(ts: int | None) -> date | None:
    return None if ts is None else from_epoch(ts).date()


def write_reports(
    db: Database,
    reports: Iterable[Report],
    *,
    source: str,
    now: int | None = None,
    dated: bool = False,
    covered: Iterable[date] | None = None,
) -> CalendarWrite:
    """Store a source's listings in one transaction.

    ``dated``: the rows come from a file of report dates (no ``seen_at``). Otherwise they are
    a provider's calendar as seen at ``now``: an upcoming report of the same ticker and
    quarter at another date is superseded (it moved), and ``covered`` days (the days the
    provider answered for) no longer listing an upcoming report of this source supersede
    it (dropped from the calendar). Two dates of one ticker in one quarter within the batch
    keep the later one.
    """
    now = int(_time.time()) if now is None else int(now)
    today = from_epoch(now).date()
    batch, dupes = dedupe(reports)
    res = CalendarWrite(duplicates=dupes)
    tickers = sorted({r.ticker for r in batch})
    with db.atomic():
        current = _current_rows(db, tickers)
        listed: set[tuple[str, date]] = set()
        for r in batch:
            listed.add((r.ticker, r.date))
            rows = current.setdefault(r.ticker, [])
            same = next((x for x in rows if x.date == r.date), None)
            if same is not None:
                changed = _update(db, same, r, source, now)
                if changed:
                    res.updated += 1
                else:
                    res.unchanged += 1
                continue
            for old in list(rows):
                if old.date >= today - timedelta(days=MOVE_GRACE_DAYS) and same_report(
                    old.date, old.fqe, r.date, r.fiscal_quarter_end
                ):
                    _supersede(db, old.id, now)
                    rows.remove(old)
                    res.moved.append(f"{r.ticker} {old.date.isoformat()} -> {r.date.isoformat()}")
            rid = _insert(db, r, source, now, seen_at=None if dated else now)
            rows.append(
                _Row(rid, r.ticker, r.date, r.time, r.fiscal_quarter_end, r.market_cap, r.estimated, source)
            )
            res.new += 1
        if covered is not None and not dated:
            days = sorted({d for d in covered if d >= today})
            if days:
                res.dropped += _drop_unlisted(db, source, days, listed, now)
    return res


def _current_rows(db: Database, tickers: Sequence[str]) -> dict[str, list[_Row]]:
    out: dict[str, list[_Row]] = {}
    for i in range(0, len(tickers), 500):
        chunk = tickers[i : i + 500]
        cur = db.execute(
            "SELECT id, ticker, date_ts, time_of_day, fiscal_quarter_end, market_cap, estimated, source "
            f"FROM earnings WHERE superseded_at IS NULL AND ticker IN ({','.join('?' * len(chunk))})",
            list(chunk),
        )
        for id_, t, d, tod, fqe, cap, est, src in cur.fetchall():
            out.setdefault(t, []).append(
                _Row(id_, t, _day(d) or date.min, tod, _day(fqe), cap, bool(est), src)
            )
    return out


def _insert(db: Database, r: Report, source: str, now: int, seen_at: int | None) -> int:
    cur = db.execute(
        "INSERT INTO earnings (ticker, date_ts, time_of_day, fiscal_quarter_end, market_cap, estimated, "
        "source, seen_at, superseded_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
        [
            r.ticker,
            day_epoch(r.date),
            r.time,
            day_epoch(r.fiscal_quarter_end) if r.fiscal_quarter_end else None,
            r.market_cap,
            int(r.estimated),
            source,
            seen_at,
            now,
        ],
    )
    return int(cur.lastrowid or 0)


def _update(db: Database, old: _Row, r: Report, source: str, now: int) -> bool:
    """Refresh a listing of the same date; True when a field changed."""
    tod = r.time if r.time != "unknown" else old.time
    fqe = r.fiscal_quarter_end or old.fqe
    cap = r.market_cap if r.market_cap is not None else old.cap
    changed = (tod, fqe, cap, r.estimated, source) != (old.time, old.fqe, old.cap, old.estimated, old.source)
    db.execute(
        "UPDATE earnings SET time_of_day = ?, fiscal_quarter_end = ?, market_cap = ?, estimated = ?, "
        "source = ?, updated_at = ? WHERE id = ?",
        [tod, day_epoch(fqe) if fqe else None, cap, int(r.estimated), source, now, old.id],
    )
    old.time, old.fqe, old.cap, old.estimated, old.source = tod, fqe, cap, r.estimated, source
    return changed


def _supersede(db: Database, row_id: int, now: int) -> None:
    db.execute("UPDATE earnings SET superseded_at = ?, updated_at = ? WHERE id = ?", [now, now, row_id])


def _drop_unlisted(
    db: Database, source: str, days: Sequence[date], listed: set[tuple[str, date]], now: int
) -> list[str]:
    out = []
    for i in range(0, len(days), 500):
        chunk = [day_epoch(d) for d in days[i : i + 500]]
        rows = db.execute(
            "SELECT id, ticker, date_ts FROM earnings WHERE superseded_at IS NULL AND source = ? "
            f"AND date_ts IN ({','.join('?' * len(chunk))})",
            [source, *chunk],
        ).fetchall()
        for id_, ticker, d in rows:
            day = _day(d)
            assert day is not None
            if (ticker, day) not in listed:
                _supersede(db, id_, now)
                out.append(f"{ticker} {day.isoformat()}")
    return out


# -- reading ---------------------------------------------------------------------------


def load_reports_frame(db: Database, end: int | None = None) -> pd.DataFrame:
    """Every stored row known by ``end`` (epoch s; None = everything), as plain columns.

    ``date``/``fqe`` are day numbers (days since 1970-01-01; fqe -1 = unknown); a row
    superseded after ``end`` is returned as current (NaN ``superseded_at``).
    """
    sql = (
        "SELECT ticker, date_ts, time_of_day, fiscal_quarter_end, market_cap, estimated, source, seen_at, "
        "superseded_at, updated_at FROM earnings"
    )
    params: list[int] = []
    if end is not None:
        sql += " WHERE seen_at IS NULL OR seen_at <= ?"
        params = [end]
    rows = db.execute(sql + " ORDER BY date_ts, ticker", params).fetchall()
    df = pd.DataFrame(
        rows,
        columns=[
            "ticker",
            "date_ts",
            "time",
            "fqe_ts",
            "market_cap",
            "estimated",
            "source",
            "seen_at",
            "superseded_at",
            "updated_at",
        ],
    )
    out = pd.DataFrame(
        {
            "ticker": df["ticker"].astype(str),
            "date": (df["date_ts"].astype("int64") // 86400),
            "time": df["time"].astype(str),
            "fqe": (df["fqe_ts"].fillna(-86400).astype("int64") // 86400),
            "market_cap": df["market_cap"].astype("float64"),
            "estimated": df["estimated"].astype(bool),
            "source": df["source"].astype(str),
            "seen_at": df["seen_at"].astype("float64"),
            "superseded_at": df["superseded_at"].astype("float64"),
            "updated_at": df["updated_at"].astype("float64"),
        }
    )
    if end is not None and len(out):
        out.loc[out["superseded_at"] > end, "superseded_at"] = float("nan")
    return out


def current_reports(db: Database, ticker: str | None = None) -> list[dict[str, object]]:
    """The current calendar (superseded rows left out), for commands and tests."""
    sql = (
        "SELECT ticker, date_ts, time_of_day, fiscal_quarter_end, market_cap, estimated, source FROM earnings "
        "WHERE superseded_at IS NULL"
    )
    params: list[str] = []
    if ticker:
        sql += " AND ticker = ?"
        params.append(ticker)
    out = []
    for t, d, tod, fqe, cap, est, src in db.execute(sql + " ORDER BY date_ts, ticker", params).fetchall():
        out.append(
            {
                "ticker": t,
                "date": _day(d),
                "time": tod,
                "fiscal_quarter_end": _day(fqe),
                "market_cap": cap,
                "estimated": bool(est),
                "source": src,
            }
        )
    return out


def calendar_stats(db: Database) -> dict[str, object]:
    row = db.execute(
        "SELECT COUNT(*), COUNT(DISTINCT ticker), MIN(date_ts), MAX(date_ts), MAX(updated_at) "
        "FROM earnings WHERE superseded_at IS NULL"
    ).fetchone()
    n, tickers, lo, hi, upd = row
    return {
        "rows": int(n),
        "tickers": int(tickers),
        "first": _day(lo),
        "last": _day(hi),
        "updated": from_epoch(upd) if upd else None,
        "superseded": int(
            db.execute("SELECT COUNT(*) FROM earnings WHERE superseded_at IS NOT NULL").fetchone()[0]
        ),
    }


# -- index membership -----------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    ticker: str
    name: str = ""
    sector: str = ""


def replace_members(
    db: Database, index_id: str, members: Iterable[Member], now: int | None = None
) -> tuple[int, int, int]:
    """Replace an index's list; returns (added, removed, kept)."""
    now = int(_time.time()) if now is None else int(now)
    new = {m.ticker: m for m in members}
    with db.atomic():
        old = {r[0] for r in db.execute("SELECT ticker FROM index_members WHERE index_id = ?", [index_id])}
        gone = sorted(old - set(new))
        for i in range(0, len(gone), 500):
            chunk = gone[i : i + 500]
            db.execute(
                f"DELETE FROM index_members WHERE index_id = ? AND ticker IN ({','.join('?' * len(chunk))})",
                [index_id, *chunk],
            )
        db.conn.executemany(
            "INSERT INTO index_members (index_id, ticker, name, sector, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (index_id, ticker) DO UPDATE SET name = excluded.name, sector = excluded.sector, "
            "updated_at = excluded.updated_at",
            [(index_id, m.ticker, m.name, m.sector, now) for m in new.values()],
        )
    return len(set(new) - old), len(gone), len(set(new) & old)


def load_members_frame(db: Database, end: int | None = None) -> pd.DataFrame:
    """Index membership (the current lists; they carry no history)."""
    rows = db.execute(
        "SELECT index_id, ticker, name, sector FROM index_members ORDER BY index_id, ticker"
    ).fetchall()
    return pd.DataFrame(rows, columns=["index_id", "ticker", "name", "sector"])


def members_updated(db: Database, index_id: str) -> datetime | None:
    row = db.execute("SELECT MAX(updated_at) FROM index_members WHERE index_id = ?", [index_id]).fetchone()
    return datetime.fromtimestamp(row[0], tz=UTC) if row and row[0] else None
