"""Polymarket: "Fed decision in <month>" events (cross-check and fallback for Kalshi).

Live: Gamma ``GET /events?tag_slug=fed-rates&closed=false&active=true&limit=50&offset=N`` (a JSON
array). A decision event is recognised by its structure — a neg-risk event whose markets carry
the bucket labels in ``groupItemTitle`` ("25 bps decrease", "No change", "50+ bps increase"…) —
and matched to the FOMC calendar by its ``endDate`` (nominal, so the nearest decision date
within a few days), never by its title or slug (slugs change from year to year).

``outcomes``, ``outcomePrices`` and ``clobTokenIds`` are JSON encoded inside strings and are
decoded a second time; a market whose strings do not decode is skipped with one log line.
A bucket's probability is the mid of ``bestBid``/``bestAsk``, else ``lastTradePrice``, else the
YES entry of ``outcomePrices``.

History (``flowwatch backfill polymarket``): CLOB ``GET /prices-history?market=<YES token>``
hourly for each bucket of the open events. With ``--file``: a saved Gamma events body (one
snapshot) or the recorded two-venue no-change CSV.
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
from signals.fomc_dist import HOLD, Bucket, dist_observations, venue_bucket
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

log = logging.getLogger("flowwatch.sources.polymarket")

GAMMA = "https://gamma-api.polymarket.com"
CLOB = "https://clob.polymarket.com"
VENUE = "polymarket"
PAGE = 50
MAX_PAGES = 10
#: Polymarket's endDate is nominal: accept the nearest decision date this many days away
END_DATE_TOLERANCE_DAYS = 3
HISTORY_FIDELITY_MIN = 60
HISTORY_CHUNK = timedelta(days=14)
_LABEL_RE = re.compile(r"^(\d+)\s*\+?\s*bps?\s+(decrease|increase|cut|hike)$", re.IGNORECASE)


def bucket_of(label: Any) -> str | None:
    """``"25 bps decrease"`` -> ``cut``; ``" No change "`` -> ``hold``; unknown -> None."""
    if not isinstance(label, str):
        return None
    t = " ".join(label.split()).lower()
    if t in ("no change", "hold", "unchanged"):
        return "hold"
    m = _LABEL_RE.match(t)
    if not m:
        return None
    if int(m.group(1)) == 0:
        return "hold"
    return "cut" if m.group(2) in ("decrease", "cut") else "hike"


def bucket_size(label: Any) -> Bucket | None:
    """``"50+ bps decrease"`` -> a cut of 50 bp or more; ``"25 bps increase"`` -> a 25 bp hike."""
    side = bucket_of(label)
    if side is None:
        return None
    if side == "hold":
        return HOLD
    m = _LABEL_RE.match(" ".join(str(label).split()).lower())
    assert m is not None
    bucket = venue_bucket(side, int(m.group(1)))
    return Bucket(bucket.move, bucket.open or "+" in m.group(0))


def decode_list(value: Any, field: str) -> list[Any]:
    """A list that Gamma sends JSON-encoded inside a string. Raises ValueError when it is not."""
    if isinstance(value, list):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{field} is missing")
    try:
        out = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{field} {value[:40]!r} does not decode as JSON ({exc.msg})") from None
    if not isinstance(out, list):
        raise ValueError(f"{field} decodes to {type(out).__name__}, not a list")
    return out


def yes_index(market: dict[str, Any]) -> int:
    outcomes = decode_list(market.get("outcomes"), "outcomes")
    names = [str(o).strip().lower() for o in outcomes]
    if "yes" not in names:
        raise ValueError(f"outcomes {outcomes!r} have no Yes")
    return names.index("yes")


def is_decision_event(event: dict[str, Any]) -> bool:
    markets = markets_of(event)
    labels = [bucket_of(m.get("groupItemTitle")) for m in markets]
    return bool(markets) and "hold" in labels and sum(1 for x in labels if x) >= 2


def event_meeting(event: dict[str, Any]) -> fomc.Meeting | None:
    end = parse_iso(event.get("endDate"))
    if end is None:
        ends = [parse_iso(m.get("endDate")) for m in markets_of(event)]
        end = max((e for e in ends if e is not None), default=None)
    if end is None:
        return None
    return fomc.match(end.date(), END_DATE_TOLERANCE_DAYS)


def market_prob(market: dict[str, Any]) -> float:
    """Mid of bestBid/bestAsk, else lastTradePrice, else the YES outcome price. ValueError if none."""
    idx = yes_index(market)  # also checks that the outcome list decodes
    price = bucket_price(
        as_float(market.get("bestBid")),
        as_float(market.get("bestAsk")),
        as_float(market.get("lastTradePrice")),
    )
    if price.prob is not None:
        return price.prob
    prices = decode_list(market.get("outcomePrices"), "outcomePrices")
    if idx < len(prices):
        p = as_float(prices[idx])
        if p is not None and 0.0 <= p <= 1.0:
            return p
    why = bad_price(
        market.get("bestBid"), market.get("bestAsk"), market.get("lastTradePrice"), *prices[idx : idx + 1]
    )
    raise ValueError(why or f"{price.method}; outcomePrices gives nothing usable either")


def parse_events(
    payload: Any, now: datetime, rejects: Rejects, *, stamp: int | None = None
) -> list[Observation]:
    """A Gamma events array -> P(cut/hold/hike) per open meeting at ``stamp`` (default: now)."""
    events = payload if isinstance(payload, list) else [payload] if isinstance(payload, dict) else None
    if events is None:
        raise SourceError("polymarket", f"expected a JSON array of events, got {describe_body(str(payload))}")
    ts = minute(now) if stamp is None else stamp
    out: list[Observation] = []
    for event in events:
        if not isinstance(event, dict) or not is_decision_event(event):
            continue
        eid = f"event {event.get('id', '?')}"
        meeting = event_meeting(event)
        if meeting is None:
            rejects.add(eid, f"endDate {event.get('endDate')!r} is not near an FOMC decision date")
            continue
        if not meeting.is_open(now) or event.get("closed") is True:
            continue
        buckets: list[tuple[Bucket, float]] = []
        for m in markets_of(event):
            if m.get("closed") is True or m.get("active") is False:
                continue
            bucket = bucket_size(m.get("groupItemTitle"))
            mid = f"market {m.get('id', '?')}"
            if bucket is None:
                rejects.add(mid, f"unknown bucket label {m.get('groupItemTitle')!r}")
                continue
            try:
                buckets.append((bucket, market_prob(m)))
            except ValueError as exc:
                rejects.add(mid, str(exc))
        if not buckets:
            continue
        try:
            dist = combine_dist(buckets)
        except ValueError as exc:
            rejects.add(f"{eid} ({meeting.id})", str(exc))
            continue
        out += dist_observations(VENUE, meeting.id, ts, dist, "polymarket")
    return with_paths(VENUE, out)


def _json(text: str, label: str) -> Any:
    if looks_like_html(text) or not text.strip():
        raise SourceError(label, f"expected JSON, got {describe_body(text)}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(label, f"malformed JSON ({exc})") from None


async def fetch_events(ctx: SourceContext) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in range(MAX_PAGES):
        resp = await http.get(
            ctx.client,
            f"{GAMMA}/events",
            source="polymarket",
            params={
                "tag_slug": "fed-rates",
                "closed": "false",
                "active": "true",
                "limit": PAGE,
                "offset": page * PAGE,
            },
            sleep=ctx.sleep,
        )
        payload = _json(resp.text, "polymarket")
        if not isinstance(payload, list):
            raise SourceError(
                "polymarket", f"expected a JSON array of events, got {describe_body(resp.text)}"
            )
        events += [e for e in payload if isinstance(e, dict)]
        if len(payload) < PAGE:
            return events
    return events


async def poll(ctx: SourceContext) -> Batch:
    now = ctx.now()
    events = await fetch_events(ctx)
    report = PollReport("polymarket", log)
    return Batch(tuple(report.finish(report.rows("polymarket", lambda rj: parse_events(events, now, rj)))))


POLLS = [
    Poll(
        name="polymarket_fomc",
        trigger={"trigger": "cron", "minute": "*/5", "second": 10},
        run=poll,
        signals=("ratecut",),
        description="Polymarket Fed-decision odds per FOMC meeting (every 5 minutes)",
        drill=Drill(
            datetime(2026, 11, 20, 15, 0, tzinfo=UTC),
            timedelta(minutes=5),
            ("polymarket",),
            ("transport", "body", "nan", "negative"),
            series="polymarket.%",
            stale_after=timedelta(minutes=40),
            poll_while_stale=False,
        ),
    )
]


# -- history ------------------------------------------------------------------------------


def parse_history(payload: Any, label: str) -> list[tuple[int, float]]:
    """``{"history": [{"t": <unix s>, "p": <price>}]}``; an empty list is a valid answer."""
    if not isinstance(payload, dict) or not isinstance(payload.get("history"), list):
        raise SourceError(label, f"expected {{history: [...]}}, got {describe_body(json.dumps(payload))}")
    out = []
    for pt in payload["history"]:
        if not isinstance(pt, dict):
            continue
        t, p = epoch_seconds(pt.get("t")), as_float(pt.get("p"))
        if t is not None and p is not None and 0.0 <= p <= 1.0:
            out.append((t, p))
    return out


def combine_history(
    meeting_id: str,
    per_bucket: list[tuple[Bucket, list[tuple[int, float]]]],
    rejects: Rejects,
    now: datetime,
    fidelity_min: int = HISTORY_FIDELITY_MIN,
) -> list[Observation]:
    """Token price points on one grid (the fidelity) -> one normalised set per grid time.

    The tokens' points are a few seconds apart; each is placed on the grid slot it falls in
    (the last point of a slot wins) and a slot is used when every bucket has a point in it
    or in the slot before.
    """
    step = fidelity_min * 60
    slots: list[dict[int, float]] = []
    for _outcome, pts in per_bucket:
        d: dict[int, float] = {}
        for t, p in sorted(pts):
            d[t // step * step] = p
        slots.append(d)
    times = sorted({t for d in slots for t in d})
    limit = int(now.timestamp()) + 600
    out: list[Observation] = []
    for t in times:
        if t > limit:
            continue
        buckets = []
        for (bucket, _), d in zip(per_bucket, slots, strict=True):
            price = d.get(t, d.get(t - step))
            if price is not None:
                buckets.append((bucket, price))
        if len(buckets) < len(per_bucket):
            rejects.add(f"{meeting_id} {iso(t)}", "a bucket has no price in this hour")
            continue
        try:
            dist = combine_dist(buckets)
        except ValueError as exc:
            rejects.add(f"{meeting_id} {iso(t)}", str(exc))
            continue
        out += dist_observations(VENUE, meeting_id, t, dist, "polymarket-history")
    return out


async def fetch_history(ctx: BackfillContext) -> list[Observation]:
    sctx = ctx.source_context()
    events = await fetch_events(sctx)
    rejects = Rejects("polymarket history")
    out: list[Observation] = []
    start = ctx.since or (ctx.now - timedelta(days=30))
    for event in events:
        if not is_decision_event(event):
            continue
        meeting = event_meeting(event)
        if meeting is None or not meeting.is_open(ctx.now):
            continue
        per_bucket: list[tuple[Bucket, list[tuple[int, float]]]] = []
        for m in markets_of(event):
            bucket = bucket_size(m.get("groupItemTitle"))
            if bucket is None:
                continue
            try:
                token = str(decode_list(m.get("clobTokenIds"), "clobTokenIds")[yes_index(m)])
            except (ValueError, IndexError) as exc:
                rejects.add(f"market {m.get('id', '?')}", str(exc))
                continue
            pts: list[tuple[int, float]] = []
            a = start
            while a < ctx.now:
                b = min(a + HISTORY_CHUNK, ctx.now)
                resp = await http.get(
                    ctx.client,
                    f"{CLOB}/prices-history",
                    source="polymarket",
                    params={
                        "market": token,
                        "startTs": int(a.timestamp()),
                        "endTs": int(b.timestamp()),
                        "fidelity": HISTORY_FIDELITY_MIN,
                    },
                )
                pts += parse_history(_json(resp.text, "polymarket"), "polymarket prices-history")
                a = b
            ctx.progress(1)
            if not pts:
                rejects.add(f"market {m.get('id', '?')}", "no price history in the range")
            per_bucket.append((bucket, pts))
        if per_bucket:
            out += combine_history(meeting.id, per_bucket, rejects, ctx.now)
    rejects.log(log)
    return with_paths(VENUE, out)


def parse_file(path: Path, now: datetime, since: datetime | None) -> tuple[list[Observation], str]:
    text = read_file(path, f"polymarket {path.name}")
    saved = read_nochange_file(text, VENUE, now, since, path.name)
    if saved is not None:
        return saved
    payload = _json(text, f"polymarket {path.name}")
    events = payload if isinstance(payload, list) else [payload]
    stamps = [parse_iso(e.get("updatedAt")) for e in events if isinstance(e, dict)]
    when = max((s for s in stamps if s is not None), default=None)
    if when is None:
        raise SourceError(
            f"polymarket {path.name}", "expected saved Gamma events (with updatedAt) or the CSV"
        )
    rejects = Rejects(f"polymarket {path.name}")
    rows = parse_events(events, when, rejects, stamp=minute(when))
    rejects.log(log)
    return rows, f"snapshot of {when:%Y-%m-%d %H:%M} UTC"


def _backfill(ctx: BackfillContext) -> AsyncIterator[Batch]:
    return run_venue_backfill(ctx, VENUE, parse_file, fetch_history, "hourly price history")


BACKFILL = Backfill(
    name="polymarket",
    help=(
        "Polymarket Fed-decision odds: hourly CLOB price history of the open meetings (live), or --file F "
        "of saved Gamma events or the recorded no-change CSV"
    ),
    run=_backfill,
    recognises=lambda name, cols: "poly_mid" in cols and "kalshi_mid" in cols,
)
