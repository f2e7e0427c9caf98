"""Live only: when a meeting's readings are stale, and each live venue's own staleness."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from signals.base import Reading
from signals.ratecut._vocab import LIVE_VENUES, VENUE_NAMES, meeting_label, utc


def stale_reason(reading: Reading, now: datetime) -> str | None:
    if reading.data.get("closed") or now >= utc(int(reading.data.get("statement", 2**40))):
        return None
    quotes = reading.data.get("last_quote") or {}
    live = [int(quotes[v]) for v in LIVE_VENUES if v in quotes]
    if not live:
        return None
    limit = int(reading.data.get("stale_s", 1800))
    age = int(now.timestamp()) - max(live)
    if age > limit:
        return (
            f"no Kalshi or Polymarket quote for the {meeting_label(str(reading.data.get('meeting')))} meeting "
            f"for {age // 60} min (last at {utc(max(live)):%Y-%m-%d %H:%M} UTC)"
        )
    return None


def source_notices(readings: Sequence[Reading], now: datetime) -> dict[str, str | None]:
    """Kalshi and Polymarket each go stale on their own: a notice per venue, no alerts from it."""
    newest: dict[str, int] = {}
    t_now = int(now.timestamp())
    limit = 1800
    for r in readings:
        if r.data.get("closed") or t_now >= int(r.data.get("statement", 0)):
            continue
        limit = int(r.data.get("stale_s", limit))
        for v, asof in (r.data.get("last_quote") or {}).items():
            if v in LIVE_VENUES:
                newest[v] = max(newest.get(v, 0), int(asof))
    out: dict[str, str | None] = {}
    for v in LIVE_VENUES:
        if v not in newest:
            continue  # no market for the coming meetings on this venue: nothing to go stale
        age = t_now - newest[v]
        out[v] = (
            f"no fresh {VENUE_NAMES[v]} quote for {age // 60} min (last at {utc(newest[v]):%Y-%m-%d %H:%M} UTC)"
            if age > limit
            else None
        )
    return out
