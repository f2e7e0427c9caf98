"""The S&P 500 constituent list: the buyback signal's universe.

``GET https://raw.githubusercontent.com/datasets/s-and-p-500-companies/main/data/constituents.csv``
(no key; the dataset's maintainers refresh it from Wikipedia's list). Header
``Symbol,Security,GICS Sector,GICS Sub-Industry,Headquarters Location,Date added,CIK,Founded``
(older versions: ``Symbol,Name,Sector``); quoted fields hold commas; share classes use a
dot (``BRK.B``). A refresh replaces the stored list as a whole. Without a list, the
buyback universe is every company in the loaded calendar.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from signals.sources import http
from signals.sources.base import (
    Backfill,
    BackfillContext,
    Drill,
    Poll,
    Rejects,
    SourceContext,
    SourceError,
    check_complete,
    check_file_complete,
    describe_body,
    looks_like_html,
    read_csv,
    refuse_damaged,
)
from storage.batches import Batch, IndexMembers, Written
from storage.earnings import Member, normalise_ticker
from storage.timeutil import to_epoch

log = logging.getLogger("flowwatch.sources.sp500")

URL = "https://raw.githubusercontent.com/datasets/s-and-p-500-companies/main/data/constituents.csv"
INDEX_ID = "sp500"
#: a live answer with fewer members is cut off or wrong; the stored list is kept
MIN_LIVE_MEMBERS = 400


def parse_csv(text: str, *, name: str = "sp500", strict: bool = False) -> list[Member]:
    """The constituents CSV -> members. ``strict`` (a file): a cut-off file, a damaged row or a
    list far shorter than the index refuse the whole file; a live answer skips bad rows."""
    body = text.lstrip("\ufeff")
    if not body.strip() or looks_like_html(body) or body.lstrip()[:1] in "{[":
        raise SourceError(name, f"expected the constituents CSV, got {describe_body(text)}")
    reader = iter(read_csv(body, name))
    header = [h.strip().lower() for h in next(reader, [])]
    if not header or header[0] != "symbol":
        raise SourceError(
            name,
            f"unexpected header {','.join(header)[:80]!r} (expected Symbol,Security,GICS Sector,... "
            "or Symbol,Name,Sector)",
        )
    name_col = next((header.index(h) for h in ("security", "name") if h in header), None)
    sector_col = next((header.index(h) for h in ("gics sector", "sector") if h in header), None)
    rejects = Rejects(name)
    out: dict[str, Member] = {}
    if strict:
        check_file_complete(body, name)
    for n, row in enumerate(reader, start=2):
        if not row or not "".join(row).strip():
            continue
        ticker = normalise_ticker(row[0])
        if ticker is None:
            rejects.add(f"line {n}", f"symbol {row[0][:12]!r} is not a ticker")
            continue
        if len(row) < len(header) or (name_col is not None and not row[name_col].strip()):
            rejects.add(f"line {n}", f"{','.join(row)[:40]!r} has {len(row)} of the {len(header)} columns")
            continue
        out[ticker] = Member(
            ticker,
            row[name_col].strip() if name_col is not None and len(row) > name_col else "",
            row[sector_col].strip() if sector_col is not None and len(row) > sector_col else "",
        )
    if strict:
        refuse_damaged(rejects)
    rejects.log(log)
    if not out:
        raise SourceError(name, "the list holds no constituents")
    if strict and len(out) < MIN_LIVE_MEMBERS:
        raise SourceError(
            name,
            f"the file lists only {len(out)} constituents (the S&P 500 has about 500): a cut-off or partial "
            "list would shrink the buyback universe; nothing imported",
        )
    return list(out.values())


async def fetch(ctx: SourceContext) -> list[Member]:
    resp = await http.get(ctx.client, URL, source="sp500", sleep=ctx.sleep, attempts=3)
    check_complete(resp.text, "sp500")
    members = parse_csv(resp.text)
    if len(members) < MIN_LIVE_MEMBERS:
        raise SourceError(
            "sp500",
            f"the list has only {len(members)} constituents (expected about 500); keeping the stored list",
        )
    return members


async def poll_list(ctx: SourceContext) -> Batch:
    members = IndexMembers(INDEX_ID, tuple(await fetch(ctx)), to_epoch(ctx.now()))

    def describe(w: Written) -> str:
        added, removed, kept = w.result(members)
        return f"sp500: {added + kept} constituents ({added} added, {removed} removed)"

    return Batch(rows=(members,), describe=describe)


POLLS = [
    Poll(
        name="sp500_list",
        trigger={
            "trigger": "cron",
            "day_of_week": "sun",
            "hour": 6,
            "minute": 40,
            "timezone": "America/New_York",
        },
        run=poll_list,
        signals=("buyback",),
        description="S&P 500 constituent list (the buyback universe), weekly",
        # Sunday morning; a list carries no prices
        drill=Drill(
            datetime(2026, 11, 22, 11, 40, tzinfo=UTC), timedelta(days=7), ("sp500",), ("transport", "body")
        ),
    )
]


async def _backfill(ctx: BackfillContext) -> AsyncIterator[Batch]:
    if ctx.file:
        members = parse_csv(
            ctx.file.read_text(encoding="utf-8", errors="replace"), name=f"sp500 {ctx.file.name}", strict=True
        )
        where = ctx.file.name
    else:
        members = await fetch(ctx.source_context())
        where = "the public constituents CSV"
    record = IndexMembers(INDEX_ID, tuple(members), to_epoch(ctx.now))

    def describe(w: Written) -> str:
        added, removed, kept = w.result(record)
        return (
            f"sp500: {len(members)} constituents from {where} ({added} added, {removed} removed, "
            f"{kept} unchanged); the buyback universe is now this list"
        )

    yield Batch(rows=(record,), describe=describe)
    ctx.progress(1)


BACKFILL = Backfill(
    name="sp500",
    help="S&P 500 constituent list, the buyback universe (live download, or --file F constituents.csv)",
    run=_backfill,
    recognises=lambda name, cols: (
        bool(cols) and cols[0] == "symbol" and any("security" in c or "name" in c for c in cols)
    ),
)
