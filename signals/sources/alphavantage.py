"""Alpha Vantage ``EARNINGS_CALENDAR``: the whole US calendar for three months in one call.

``GET https://www.alphavantage.co/query?function=EARNINGS_CALENDAR&horizon=3month&apikey=KEY``
returns CSV (CRLF) with header ``symbol,name,reportDate,fiscalDateEnding,estimate,currency,
timeOfTheDay`` (``pre-market`` / ``post-market``; anything else is unknown). It is the
fallback when the Nasdaq scan fails; free keys allow 25 calls a day.

Over quota, the endpoint answers 200 with the header and a junk row ``I,n,f,o,r,m,a`` (the
word "Information" spread over the columns), and other endpoints a JSON notice
(``{"Information": ...}``, ``{"Note": ...}``, ``{"Error Message": ...}``): all are errors,
never an empty calendar. The key goes in the query string, so it never appears in
messages (they show the URL without its query).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, timedelta

import httpx

from signals.sources import http
from signals.sources.base import (
    Backfill,
    BackfillContext,
    Rejects,
    Secret,
    Setting,
    SourceError,
    check_complete,
    describe_body,
    looks_like_html,
    read_csv,
    read_file,
)
from storage.batches import Batch, EarningsRows
from storage.earnings import Report, normalise_ticker, parse_time_of_day
from storage.timeutil import NEW_YORK, to_epoch

log = logging.getLogger("flowwatch.sources.alphavantage")


def _api_key(text: str) -> Secret:
    t = text.strip()
    if not t.isalnum() or len(t) < 8:
        raise ValueError(
            "does not look like an Alpha Vantage key (letters and digits, e.g. from alphavantage.co)"
        )
    return Secret(t)


API_KEY = Setting[Secret | None](
    "ALPHAVANTAGE_API_KEY",
    "",
    "Alpha Vantage API key (free at alphavantage.co): the earnings-calendar fallback when Nasdaq fails.",
    _api_key,
    secret=True,
)
SETTINGS = (API_KEY,)

URL = "https://www.alphavantage.co/query"
HEADER = ["symbol", "name", "reportDate", "fiscalDateEnding", "estimate", "currency", "timeOfTheDay"]
HORIZON_DAYS = {"3month": 92, "6month": 184, "12month": 366}
TIMEOUT = 30.0


def parse_csv(text: str, *, name: str = "alphavantage") -> list[Report]:
    """The calendar CSV -> reports. Raises :class:`SourceError` for over-quota answers."""
    body = text.lstrip("\ufeff")
    stripped = body.strip()
    if not stripped or looks_like_html(stripped):
        raise SourceError(name, f"expected the earnings calendar CSV, got {describe_body(text)}")
    if stripped[:1] == "{":
        raise SourceError(name, _notice(stripped))
    reader = iter(read_csv(body, name))
    header = [h.strip() for h in next(reader, [])]
    if header[:4] != HEADER[:4]:
        raise SourceError(name, f"unexpected header {','.join(header)[:80]!r} (expected {','.join(HEADER)})")
    col = {h: i for i, h in enumerate(header)}
    rows = [r for r in reader if r and "".join(r).strip()]
    if rows and _is_quota_row(rows[0]):
        raise SourceError(
            name,
            "over the request quota: the answer was the 'I,n,f,o,r,m,a' placeholder row, not a calendar; "
            "trying again at the next refresh",
        )
    rejects = Rejects(name)
    out: list[Report] = []
    for n, row in enumerate(rows, start=2):
        if len(row) < 4:
            rejects.add(f"line {n}", f"{len(row)} fields, expected {len(header)}")
            continue
        ticker = normalise_ticker(row[col["symbol"]])
        if ticker is None:
            rejects.add(f"line {n}", f"symbol {row[col['symbol']][:12]!r} is not a ticker")
            continue
        try:
            d = date.fromisoformat(row[col["reportDate"]].strip())
        except ValueError:
            rejects.add(ticker, f"report date {row[col['reportDate']][:20]!r} is not YYYY-MM-DD")
            continue
        fqe_raw = row[col["fiscalDateEnding"]].strip()
        try:
            fqe = date.fromisoformat(fqe_raw) if fqe_raw else None
        except ValueError:
            rejects.add(ticker, f"fiscal date {fqe_raw[:20]!r} is not YYYY-MM-DD")
            continue
        tod_raw = row[col["timeOfTheDay"]] if "timeOfTheDay" in col and len(row) > col["timeOfTheDay"] else ""
        out.append(Report(ticker, d, parse_time_of_day(tod_raw), fqe, None))
    rejects.log(log)
    return out


def _is_quota_row(row: list[str]) -> bool:
    cells = [c.strip() for c in row]
    return all(len(c) <= 1 for c in cells) and "".join(cells).lower().startswith("informa")


def _notice(text: str) -> str:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        return f"unexpected answer {describe_body(text)}"
    if isinstance(obj, dict):
        for k in ("Information", "Note", "Error Message"):
            if k in obj:
                return f"refused the request ({k}: {str(obj[k])[:140]})"
    return f"unexpected answer {describe_body(text)}"


async def fetch(
    client: httpx.AsyncClient,
    key: str,
    *,
    horizon: str = "3month",
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> list[Report]:
    if not key:
        raise SourceError(
            "alphavantage", "ALPHAVANTAGE_API_KEY is not set (get a free key at alphavantage.co)"
        )
    resp = await http.get(
        client,
        URL,
        source="alphavantage",
        params={"function": "EARNINGS_CALENDAR", "horizon": horizon, "apikey": key},
        attempts=2,
        sleep=sleep,
        request_timeout=TIMEOUT,
    )
    check_complete(resp.text, "alphavantage")
    return parse_csv(resp.text)


def covered_days(today: date, horizon: str = "3month") -> list[date]:
    """The days one answer speaks for (a report missing from them is no longer listed)."""
    return [today + timedelta(days=i) for i in range(HORIZON_DAYS[horizon] - 3)]


async def _backfill(ctx: BackfillContext) -> AsyncIterator[Batch]:
    now = to_epoch(ctx.now)
    today = ctx.now.astimezone(NEW_YORK).date()
    if ctx.file is not None:
        label = f"alphavantage {ctx.file.name}"
        rows = parse_csv(read_file(ctx.file, label), name=label)
        where = ctx.file.name
    else:
        key = ctx.settings.get(API_KEY)
        rows = await fetch(ctx.client, key.get() if key else "")
        where = "EARNINGS_CALENDAR (3 months)"
    listed = EarningsRows(tuple(rows), "alphavantage", now, covered=tuple(covered_days(today)))
    yield Batch(
        rows=(listed,),
        describe=lambda w: f"alphavantage: {len(rows)} rows from {where}; {w.result(listed).describe()}",
    )
    ctx.progress(1)


BACKFILL = Backfill(
    name="alphavantage",
    help="Alpha Vantage EARNINGS_CALENDAR, 3 months ahead (live with ALPHAVANTAGE_API_KEY, or --file F of its CSV)",
    run=_backfill,
)
