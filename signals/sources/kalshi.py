"""Kalshi: the KXFEDDECISION events, one mutually exclusive market per bucket (no key needed).

Live: ``GET /events?series_ticker=KXFEDDECISION&status=open&with_nested_markets=true&limit=200``,
following ``cursor`` while it is non-empty. Each event is one FOMC meeting, matched by its
``strike_date`` (2 pm ET on the decision day) to the project's FOMC calendar — never by
title. A market's bucket comes from its ticker suffix: ``C26`` cut >25 bp, ``C25`` cut 25,
``H0`` hold, ``H25`` hike 25, ``H26`` hike >25. Prices are decimal strings (``"0.5600"``).

History (``flowwatch backfill kalshi``): hourly candlesticks of every market of the open
events, ``GET /series/KXFEDDECISION/markets/<ticker>/candlesticks``. With ``--file``: a saved
``/events`` body (one snapshot) or the recorded two-venue no-change CSV (see ``_fomc_odds``).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from signals import fomc
from signals.fomc_dist import Bucket, dist_observations, venue_bucket
from signals.sources import http
from signals.sources._fomc_odds import (
    as_float,
    bad_price,
    bucket_price,
    combine_dist,
    markets_of,
    minute,
    parse_iso,
    read_nochange_file,
    run_venue_backfill,
    with_paths,
)
from signals.sources.base import (
    Backfill,
    BackfillContext,
    Drill,
    Poll,
    PollReport,
    Rejects,
    SourceContext,
    SourceError,
    describe_body,
    epoch_seconds,
    looks_like_html,
    read_file,
)
from storage.batches import Batch
from storage.observations import Observation
from storage.timeutil import iso

log = logging.getLogger("flowwatch.sources.kalshi")

BASE = "https://external-api.kalshi.com/trade-api/v2"
SERIES_TICKER = "KXFEDDECISION"
VENUE = "kalshi"
MAX_PAGES = 20
OPEN_STATUSES = {"active", "open"}
_SUFFIX_RE = re.compile(r"^([CH])(\d+)$")
CANDLE_PERIOD_MIN = 60
CANDLES_PER_REQUEST = 4000


def bucket_of(ticker: str) -> str | None:
    """``KXFEDDECISION-26DEC-C25`` -> ``cut``; ``...-H0`` -> ``hold``; unknown -> None."""
    m = _SUFFIX_RE.match(ticker.rsplit("-", 1)[-1])
    if not m:
        return None
    kind, bp = m.group(1), int(m.group(2))
    if bp == 0:
        return "hold"
    return "cut" if kind == "C" else "hike"


def bucket_size(ticker: str) -> Bucket | None:
    """``...-C26`` -> a cut of 50 bp or more (Kalshi: "more than 25"); ``...-C25`` -> 25 bp."""
    m = _SUFFIX_RE.match(ticker.rsplit("-", 1)[-1])
    if not m:
        return None
    return venue_bucket("cut" if m.group(1) == "C" else "hike", int(m.group(2)))


def _json(text: str, label: str) -> Any:
    if looks_like_html(text) or not text.strip():
        raise SourceError(label, f"expected JSON, got {describe_body(text)}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(label, f"malformed JSON ({exc})") from None


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def event_meeting(event: dict[str, Any]) -> fomc.Meeting | None:
    """The calendar meeting of an event, from its strike date (or its markets' close time)."""
    when = parse_iso(event.get("strike_date"))
    if when is None:
        closes = [parse_iso(m.get("close_time")) for m in markets_of(event)]
        when = max((c for c in closes if c is not None), default=None)
    if when is None:
        return None
    return fomc.match(fomc.et_date(when))


def parse_events(
    payload: Any, now: datetime, rejects: Rejects, *, stamp: int | None = None
) -> list[Observation]:
    """One ``/events`` page (nested markets) -> P(cut/hold/hike) per open meeting at ``stamp``."""
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        raise SourceError("kalshi", f"expected {{events: [...]}}, got {describe_body(json.dumps(payload))}")
    ts = minute(now) if stamp is None else stamp
    out: list[Observation] = []
    for event in payload["events"]:
        if not isinstance(event, dict):
            continue
        ticker = str(event.get("event_ticker", "?"))
        if event.get("series_ticker") not in (None, SERIES_TICKER):
            continue
        if event.get("mutually_exclusive") is False:
            rejects.add(ticker, "not a mutually exclusive event")
            continue
        meeting = event_meeting(event)
        if meeting is None:
            rejects.add(ticker, f"strike date {event.get('strike_date')!r} is not an FOMC decision date")
            continue
        if not meeting.is_open(now):
            continue  # decided: its markets have closed, the next meeting is now the first
        buckets: list[tuple[Bucket, float]] = []
        open_markets = 0
        for m in markets_of(event):
            mt = str(m.get("ticker", "?"))
            if str(m.get("status", "")).lower() not in OPEN_STATUSES:
                continue
            close = parse_iso(m.get("close_time"))
            if close is not None and close <= now:
                continue
            open_markets += 1
            bucket = bucket_size(mt)
            if bucket is None:
                rejects.add(mt, "unknown bucket suffix")
                continue
            raw = (m.get("yes_bid_dollars"), m.get("yes_ask_dollars"), m.get("last_price_dollars"))
            price = bucket_price(as_float(raw[0]), as_float(raw[1]), as_float(raw[2]))
            if price.prob is None:
                rejects.add(mt, bad_price(*raw) or price.method)
                continue
            buckets.append((bucket, price.prob))
        if open_markets == 0:
            continue  # closed (a meeting that has just been decided) or not yet open
        try:
            dist = combine_dist(buckets)
        except ValueError as exc:
            rejects.add(f"{ticker} ({meeting.id})", str(exc))
            continue
        out += dist_observations(VENUE, meeting.id, ts, dist, "kalshi")
    return with_paths(VENUE, out)


async def fetch_events(ctx: SourceContext, status: str = "open") -> list[dict[str, Any]]:
    """Every KXFEDDECISION event with nested markets, following the cursor."""
    events: list[dict[str, Any]] = []
    cursor = ""
    seen: set[str] = set()
    for _page in range(MAX_PAGES):
        params: dict[str, Any] = {
            "series_ticker": SERIES_TICKER,
            "status": status,
            "with_nested_markets": "true",
            "limit": 200,
        }
        if cursor:
            params["cursor"] = cursor
        resp = await http.get(ctx.client, f"{BASE}/events", source="kalshi", params=params, sleep=ctx.sleep)
        payload = _json(resp.text, "kalshi")
        if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
            raise SourceError("kalshi", f"expected {{events: [...]}}, got {describe_body(resp.text)}")
        events += [e for e in payload["events"] if isinstance(e, dict)]
        cursor = str(payload.get("cursor") or "")
        if not cursor:
            return events
        if cursor in seen:
            raise SourceError("kalshi", "the cursor repeats; stopping pagination")
        seen.add(cursor)
    raise SourceError("kalshi", f"more than {MAX_PAGES} pages of events; stopping")


async def poll(ctx: SourceContext) -> Batch:
    now = ctx.now()
    events = await fetch_events(ctx)
    report = PollReport("kalshi", log)
    return Batch(
        tuple(report.finish(report.rows("kalshi", lambda rj: parse_events({"events": events}, now, rj))))
    )


POLLS = [
    Poll(
        name="kalshi_fomc",
        trigger={"trigger": "cron", "minute": "*/5", "second": 5},
        run=poll,
        signals=("ratecut",),
        description="Kalshi KXFEDDECISION odds per FOMC meeting (every 5 minutes)",
        # the recorded snapshot's day; quotes are stamped at the poll (no future values)
        drill=Drill(
            datetime(2026, 11, 20, 15, 0, tzinfo=UTC),
            timedelta(minutes=5),
            ("kalshi",),
            ("transport", "body", "nan", "negative"),
            series="kalshi.%",
            stale_after=timedelta(minutes=40),
            poll_while_stale=False,
        ),
    )
]


# -- history ------------------------------------------------------------------------------


def candle_prob(candle: dict[str, Any]) -> float | None:
    """Close of the period: mid of the book, else the traded close, else the previous price."""
    bid = as_float(_obj(candle.get("yes_bid")).get("close_dollars"))
    ask = as_float(_obj(candle.get("yes_ask")).get("close_dollars"))
    price = _obj(candle.get("price"))
    last = as_float(price.get("close_dollars"))
    if last is None:
        last = as_float(price.get("previous_dollars"))
    return bucket_price(bid, ask, last).prob


def parse_candles(payload: Any, label: str) -> dict[int, float]:
    if not isinstance(payload, dict) or not isinstance(payload.get("candlesticks"), list):
        raise SourceError(
            label, f"expected {{candlesticks: [...]}}, got {describe_body(json.dumps(payload))}"
        )
    out: dict[int, float] = {}
    for c in payload["candlesticks"]:
        if not isinstance(c, dict):
            continue
        ts = epoch_seconds(c.get("end_period_ts"))
        p = candle_prob(c)
        if ts is not None and p is not None:
            out[ts] = p
    return out


def combine_candles(
    meeting_id: str, per_market: dict[str, dict[int, float]], rejects: Rejects, now: datetime
) -> list[Observation]:
    """Bucket candles that end at the same time -> one normalised set per period end."""
    times = sorted({t for series in per_market.values() for t in series})
    out: list[Observation] = []
    limit = int(now.timestamp()) + 600
    for t in times:
        if t > limit:
            rejects.add(f"{meeting_id} {iso(t)}", "timestamp in the future")
            continue
        buckets = []
        for ticker, series in per_market.items():
            bucket = bucket_size(ticker)
            if bucket is not None and t in series:
                buckets.append((bucket, series[t]))
        try:
            dist = combine_dist(buckets)
        except ValueError as exc:
            rejects.add(f"{meeting_id} {iso(t)}", str(exc))
            continue
        out += dist_observations(VENUE, meeting_id, t, dist, "kalshi-candles")
    return out


async def fetch_history(ctx: BackfillContext) -> list[Observation]:
    sctx = ctx.source_context()
    events = await fetch_events(sctx)
    rejects = Rejects("kalshi candlesticks")
    out: list[Observation] = []
    end = int(ctx.now.timestamp())
    default_start = ctx.now - timedelta(days=30)
    for event in events:
        meeting = event_meeting(event)
        if meeting is None or not meeting.is_open(ctx.now):
            continue
        per_market: dict[str, dict[int, float]] = {}
        for m in markets_of(event):
            ticker = str(m.get("ticker", ""))
            if bucket_of(ticker) is None:
                continue
            opened = parse_iso(m.get("open_time"))
            start_dt = ctx.since or default_start
            if opened is not None and opened > start_dt:
                start_dt = opened
            start = int(start_dt.timestamp())
            series: dict[int, float] = {}
            step = CANDLES_PER_REQUEST * CANDLE_PERIOD_MIN * 60
            for a in range(start, end, step):
                resp = await http.get(
                    ctx.client,
                    f"{BASE}/series/{SERIES_TICKER}/markets/{ticker}/candlesticks",
                    source="kalshi",
                    params={
                        "start_ts": a,
                        "end_ts": min(a + step, end),
                        "period_interval": CANDLE_PERIOD_MIN,
                    },
                )
                series.update(parse_candles(_json(resp.text, "kalshi"), f"kalshi {ticker}"))
            per_market[ticker] = series
            ctx.progress(1)
        out += combine_candles(meeting.id, per_market, rejects, ctx.now)
    rejects.log(log)
    return with_paths(VENUE, out)


def parse_file(path: Path, now: datetime, since: datetime | None) -> tuple[list[Observation], str]:
    text = read_file(path, f"kalshi {path.name}")
    saved = read_nochange_file(text, VENUE, now, since, path.name)
    if saved is not None:
        return saved
    payload = _json(text, f"kalshi {path.name}")
    events = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(events, list):
        raise SourceError(f"kalshi {path.name}", "expected a saved /events body or the no-change CSV")
    stamps = [parse_iso(m.get("updated_time")) for e in events if isinstance(e, dict) for m in markets_of(e)]
    when = max((s for s in stamps if s is not None), default=None)
    if when is None:
        raise SourceError(f"kalshi {path.name}", "the saved events carry no updated_time to date them")
    rejects = Rejects(f"kalshi {path.name}")
    rows = parse_events(payload, when, rejects, stamp=minute(when))
    rejects.log(log)
    return rows, f"snapshot of {when:%Y-%m-%d %H:%M} UTC"


def _backfill(ctx: BackfillContext) -> AsyncIterator[Batch]:
    return run_venue_backfill(ctx, VENUE, parse_file, fetch_history, "hourly candlesticks")


BACKFILL = Backfill(
    name="kalshi",
    help=(
        "Kalshi Fed-decision odds: hourly candlesticks of the open meetings (live), or --file F of a "
        "saved /events body or the recorded no-change CSV"
    ),
    run=_backfill,
    recognises=lambda name, cols: "poly_mid" in cols and "kalshi_mid" in cols,
)
