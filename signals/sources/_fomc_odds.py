"""What the Fed-decision venues share: bucket prices to P(cut) / P(hold) / P(hike).

Both Kalshi (KXFEDDECISION) and Polymarket ("Fed decision in <month>") list one binary
market per mutually exclusive bucket (cut >25 bp, cut 25, hold, hike 25, hike >25). A
bucket's probability is the mid of its best bid and ask; when the book is crossed, empty or
wider than :data:`WIDE_SPREAD` the last traded price is used instead (the rule Polymarket's
own display follows). The buckets are summed per outcome and normalised to sum to 1; a set
whose raw sum is far from 1 (a bucket missing, a broken book) is refused rather than
normalised into a wrong answer.

Series written: ``<venue>.fomc.<decision-date>.cut|hold|hike`` (DESIGN.md), and from the
buckets the meeting's distribution: one series per bucket, the expected move and the path
(:mod:`signals.fomc_dist`).
"""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from signals import fomc
from signals.fomc_dist import Bucket, path_observations
from signals.sources.base import (
    BackfillContext,
    Rejects,
    SourceError,
    bad_value_reason,
    epoch_seconds,
    read_csv_numbered,
    refuse_conflicts,
)
from storage import filerules
from storage.batches import Batch, counted
from storage.observations import Observation
from storage.series import fomc_series
from storage.timeutil import iso

#: a bid/ask spread wider than this (in probability) is not a usable quote
WIDE_SPREAD = 0.10
#: the raw bucket sum must lie in this range before it is normalised
SUM_RANGE = (0.85, 1.15)
OUTCOMES = ("cut", "hold", "hike")


def series_id(venue: str, meeting_id: str, outcome: str) -> str:
    return fomc_series(venue, meeting_id, outcome)


def as_float(value: Any) -> float | None:
    """A price that may be a decimal string (``"0.5600"``), a number, empty or absent."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        v = float(value)
    elif isinstance(value, str):
        if not value.strip():
            return None
        try:
            v = float(value)
        except ValueError:
            return None
    else:
        return None
    return v if math.isfinite(v) else None


def bad_price(*raw: Any) -> str | None:
    """Why quoted prices are unusable: the first one present that is not a number or lies
    outside [0, 1]; None when every present price is fine (the book may still be unusable)."""
    for v in raw:
        if v is None or (isinstance(v, str) and not v.strip()):
            continue
        try:
            f = float(v) if not isinstance(v, bool) else math.nan
        except (TypeError, ValueError, OverflowError):
            return f"price {str(v)[:20]!r} is not a number"
        if not math.isfinite(f):
            return f"price {str(v)[:20]!r} is not a number"
        if not 0.0 <= f <= 1.0:
            return f"price {f:g} outside [0, 1]"
    return None


@dataclass(frozen=True)
class BucketPrice:
    prob: float | None
    method: str  # "mid" | "last" | why it is unusable


def bucket_price(
    bid: float | None, ask: float | None, last: float | None, wide: float = WIDE_SPREAD
) -> BucketPrice:
    """Mid of the book, or the last price when the book is crossed, empty or wide."""
    book_ok = (
        bid is not None
        and ask is not None
        and 0.0 <= bid <= 1.0
        and 0.0 < ask <= 1.0
        and bid <= ask
        and ask - bid <= wide + 1e-9
    )
    if book_ok:
        assert bid is not None and ask is not None
        return BucketPrice((bid + ask) / 2.0, "mid")
    if bid is not None and ask is not None and bid > ask:
        why = f"crossed book (bid {bid:g} > ask {ask:g})"
    elif bid is None or ask is None or ask <= 0.0 or (bid <= 0.0 and ask >= 1.0):
        why = "empty book"
    else:
        why = f"spread {ask - bid:.2f} wider than {wide:.2f}"
    if last is not None and 0.0 <= last <= 1.0:
        return BucketPrice(last, "last")
    return BucketPrice(None, f"{why} and no last price")


def combine(buckets: list[tuple[str, float]]) -> dict[str, float]:
    """(outcome, prob) per bucket -> normalised P(cut), P(hold), P(hike).

    Raises ValueError with the reason when the set cannot be trusted.
    """
    if not any(o == "hold" for o, _ in buckets):
        raise ValueError("no 'hold' bucket")
    if not any(o != "hold" for o, _ in buckets):
        raise ValueError("only the 'hold' bucket is quoted")
    raw = {o: 0.0 for o in OUTCOMES}
    for outcome, p in buckets:
        raw[outcome] += p
    total = sum(raw.values())
    if not SUM_RANGE[0] <= total <= SUM_RANGE[1]:
        raise ValueError(
            f"bucket prices sum to {total:.2f}, outside {SUM_RANGE[0]:.2f}..{SUM_RANGE[1]:.2f} "
            "(a bucket is missing or a book is broken)"
        )
    return {o: raw[o] / total for o in OUTCOMES}


def combine_dist(buckets: list[tuple[Bucket, float]]) -> dict[Bucket, float]:
    """(bucket, prob) per market -> the meeting's normalised distribution of moves.

    The same checks as :func:`combine`; raises ValueError with the reason.
    """
    probs = combine([(b.outcome, p) for b, p in buckets])  # the checks, and the total
    del probs
    raw: dict[Bucket, float] = {}
    for b, p in buckets:
        raw[b] = raw.get(b, 0.0) + p
    total = sum(raw.values())
    return {b: p / total for b, p in sorted(raw.items())}


def with_paths(venue: str, rows: list[Observation]) -> list[Observation]:
    """``rows`` plus the expected path of each time stamp's meetings (see ``fomc_dist``)."""
    return rows + path_observations(venue, rows)


def observations(
    venue: str, meeting_id: str, ts: int, probs: dict[str, float], source: str
) -> list[Observation]:
    return [
        Observation(series_id(venue, meeting_id, o), ts, round(probs[o], 6), source)
        for o in OUTCOMES
        if o in probs
    ]


def markets_of(event: dict[str, Any]) -> list[dict[str, Any]]:
    """An event's nested markets (entries that are not objects are not markets)."""
    markets = event.get("markets")
    return [m for m in markets if isinstance(m, dict)] if isinstance(markets, list) else []


def minute(dt: datetime) -> int:
    """Polls are stamped at the start of their minute, so venues polled together line up."""
    return int(dt.timestamp()) // 60 * 60


# -- the recorded two-venue "no change" order-book CSV --------------------------------

NOCHANGE_COLUMNS = {
    "kalshi": ("kalshi_best_bid_yes", "kalshi_best_bid_no"),
    "polymarket": ("poly_best_bid_yes", "poly_best_bid_no"),
}


def is_nochange_csv(text: str) -> bool:
    head = text.lstrip("\ufeff").split("\n", 1)[0]
    return head.startswith("timestamp_ms,") and "kalshi_best_bid_yes" in head


def parse_nochange_csv(
    text: str, venue: str, *, now: datetime | None = None, since: date | None = None, name: str = ""
) -> tuple[fomc.Meeting, list[Observation]]:
    """A recorded order-book sample of one meeting's "No change" outcome, both venues.

    Header ``timestamp_ms,timestamp_et,poly_mid,poly_spread,poly_best_bid_yes,poly_best_bid_no,
    kalshi_mid,kalshi_spread,kalshi_best_bid_yes,kalshi_best_bid_no``. The ask of YES is
    ``1 - best bid of NO``; P(hold) is the mid of that book. Only the hold outcome was
    recorded, so P(cut) is derived as ``1 - P(hold)`` (hikes were priced near zero for the
    meeting this format was recorded for); no hike series is written.

    The file names no meeting: it is the FOMC meeting whose statement follows the last row,
    and every row must fall after the statement before it (one meeting's window).
    """
    label = f"{venue} {name}".strip()
    text = text.lstrip("\ufeff")
    if not is_nochange_csv(text):
        raise SourceError(label, "not the recorded no-change order-book CSV (header timestamp_ms,...)")
    bid_col, bid_no_col = NOCHANGE_COLUMNS[venue]
    rejects = Rejects(label)
    seen = filerules.Conflicts()
    rows: list[tuple[int, float]] = []
    for n, row in read_csv_numbered(text, label)[1]:
        try:
            ts_raw: int | None = int(float(row["timestamp_ms"])) // 1000
        except (TypeError, ValueError, OverflowError):
            ts_raw = None
        ts = epoch_seconds(ts_raw)
        if ts is None:
            rejects.add(f"line {n}", f"bad timestamp_ms {str(row.get('timestamp_ms'))[:20]!r}")
            continue
        if since and datetime.fromtimestamp(ts, UTC).date() < since:
            continue
        bid, bid_no = as_float(row.get(bid_col)), as_float(row.get(bid_no_col))
        ask = None if bid_no is None else 1.0 - bid_no
        price = bucket_price(bid, ask, None)
        if price.prob is None:
            rejects.add(f"line {n}", price.method)
            continue
        reason = bad_value_reason(price.prob, now=now, ts=ts, positive=False, probability=True)
        if reason:
            rejects.add(f"line {n}", reason)
            continue
        if seen.add(ts, price.prob, n):
            rows.append((ts, price.prob))
    refuse_conflicts(seen, label, lambda ts: f"{iso(ts)} (P(hold))")
    rejects.log()
    if not rows:
        raise SourceError(label, "no usable rows")
    first, last = min(t for t, _ in rows), max(t for t, _ in rows)
    meeting = fomc.meeting_after(datetime.fromtimestamp(last, UTC))
    if meeting is None:
        raise SourceError(label, "the rows are after the last meeting in the FOMC calendar")
    window_start, _ = fomc.decision_window(meeting)
    if datetime.fromtimestamp(first, UTC) < window_start:
        raise SourceError(
            label,
            f"the rows span more than one meeting (they start before the {window_start:%Y-%m-%d} "
            f"statement that precedes the {meeting.id} meeting); split the file per meeting",
        )
    src = f"{venue}-csv"
    out: list[Observation] = []
    for ts, hold in rows:
        out.append(Observation(series_id(venue, meeting.id, "hold"), ts, round(hold, 6), src))
        out.append(Observation(series_id(venue, meeting.id, "cut"), ts, round(1.0 - hold, 6), src))
    return meeting, out


def read_nochange_file(
    text: str, venue: str, now: datetime, since: datetime | None, name: str
) -> tuple[list[Observation], str] | None:
    """The no-change CSV saved from either venue, with the note the backfill prints; ``None``
    when ``text`` is some other format (the venue's own saved body)."""
    if not is_nochange_csv(text):
        return None
    meeting, rows = parse_nochange_csv(text, venue, now=now, since=since.date() if since else None, name=name)
    note = (
        f"meeting {meeting.id} (the FOMC decision after the last row); only the no-change outcome "
        "was recorded, so P(cut) = 1 - P(hold)"
    )
    return rows, note


async def run_venue_backfill(
    ctx: BackfillContext,
    venue: str,
    parse_file: Callable[[Path, datetime, datetime | None], tuple[list[Observation], str]],
    fetch_history: Callable[[BackfillContext], Awaitable[list[Observation]]],
    live_what: str,
) -> AsyncIterator[Batch]:
    """``flowwatch backfill <venue>``: the saved ``--file``, or the venue's own history live."""
    if ctx.file:
        rows, note = parse_file(ctx.file, ctx.now, ctx.since)
        head = f"{venue}: {len(rows)} observations from {ctx.file.name}, {describe_rows(rows)}; {note}"
        yield Batch(tuple(rows), describe=counted(head), file=ctx.file.name)
        ctx.progress(1)
        return
    rows = await fetch_history(ctx)
    yield Batch(
        tuple(rows),
        describe=counted(f"{venue}: {len(rows)} observations from {live_what}, {describe_rows(rows)}"),
    )


def describe_rows(observations_: list[Observation]) -> str:
    """``3 meetings, 2026-12-09..2027-03-17``."""
    ids = sorted({o.series.split(".")[2] for o in observations_})
    if not ids:
        return "no meetings"
    span = ids[0] if len(ids) == 1 else f"{ids[0]}..{ids[-1]}"
    return f"{len(ids)} meeting{'s' if len(ids) != 1 else ''} ({span})"


_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def parse_iso(text: Any) -> datetime | None:
    if not isinstance(text, str) or not _DATE_RE.match(text.strip()):
        return None
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        dt = dt if dt.tzinfo else dt.replace(tzinfo=UTC)
        dt.astimezone(UTC)  # year 1 at +14:00 or 9999-12-31 at -14:00 fall off the calendar
    except (ValueError, OverflowError):
        return None
    return dt
