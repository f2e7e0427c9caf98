from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlite_utils import Database

from bot.backfills import run_backfill
from signals.sources import sp500
from signals.sources.base import SourceError
from storage import earnings as repo
from tests.conftest import fixture_text, source_context

NOW = datetime(2026, 11, 20, tzinfo=UTC)


def test_parse_recorded_list() -> None:
    members = sp500.parse_csv(fixture_text("sp500/constituents.csv"))
    assert [m.ticker for m in members][:6] == ["MMM", "AOS", "ABT", "ABBV", "AAPL", "BRK.B"]
    assert len(members) == 10
    apple = next(m for m in members if m.ticker == "AAPL")
    assert apple.name == "Apple Inc." and apple.sector == "Information Technology"


def test_older_header_and_bad_answers() -> None:
    members = sp500.parse_csv("Symbol,Name,Sector\nMMM,3M,Industrials\nBRK-B,Berkshire,Financials\n")
    assert [(m.ticker, m.sector) for m in members] == [("MMM", "Industrials"), ("BRK.B", "Financials")]
    with pytest.raises(SourceError, match="HTML page"):
        sp500.parse_csv("<!doctype html><html></html>")
    with pytest.raises(SourceError, match="unexpected header"):
        sp500.parse_csv("ticker,earnings_date\nAAPL,2025-01-30\n")


async def test_a_short_live_list_keeps_the_stored_one(db: Database) -> None:
    repo.replace_members(db, "sp500", sp500.parse_csv(fixture_text("sp500/constituents.csv")))
    transport = httpx.MockTransport(
        lambda r: httpx.Response(200, text=fixture_text("sp500/constituents.csv"))
    )
    async with httpx.AsyncClient(transport=transport) as c:
        with pytest.raises(SourceError, match="only 10 constituents"):
            await sp500.fetch(source_context(c, NOW))  # type: ignore[arg-type]
    assert len(repo.load_members_frame(db)) == 10


def full_list(n: int = 503) -> str:
    """A constituents file of the real shape with about 500 members (the recorded one has 10)."""
    head = fixture_text("sp500/constituents.csv").splitlines()[0]
    rows = [
        f'T{i:03d},T{i:03d} Inc.,Industrials,Machinery,"Somewhere, Ohio",2001-01-01,1,1900' for i in range(n)
    ]
    return "\n".join([head, *rows]) + "\n"


async def test_backfill_file_replaces_the_list(db: Database, tmp_path: Path) -> None:
    repo.replace_members(db, "sp500", [repo.Member("OLD")])
    f = tmp_path / "constituents.csv"
    f.write_text(full_list())
    msg = await run_backfill(sp500.BACKFILL, db, client=httpx.AsyncClient(), now=NOW, file=f)
    assert "503 constituents from constituents.csv (503 added, 1 removed, 0 unchanged)" in msg
    assert "OLD" not in set(repo.load_members_frame(db)["ticker"])


@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        (lambda t: t[: len(t) * 3 // 5], "ends in the middle of a line"),  # a copy cut off mid-row
        (lambda t: "\n".join(t.splitlines()[:120]) + "\n", "lists only 119 constituents"),  # cut at a row
        (lambda t: t + "GARBAGE\n", r"1 damaged row\(s\), nothing imported: line 505"),  # a junk line
        (lambda t: t.replace("T007,T007 Inc.", "T007,", 1), r"damaged row\(s\)"),  # a row lost its fields
    ],
)
async def test_a_damaged_file_is_refused_and_the_list_kept(
    db: Database, tmp_path: Path, damage: Any, needle: str
) -> None:
    """A truncated list used to shrink the buyback universe silently, and a garbage line became
    the ticker GARBAGE."""
    repo.replace_members(db, "sp500", [repo.Member("KEEP")])
    f = tmp_path / "constituents.csv"
    f.write_text(damage(full_list()))
    with pytest.raises(SourceError, match=needle):
        await run_backfill(sp500.BACKFILL, db, client=httpx.AsyncClient(), now=NOW, file=f)
    assert list(repo.load_members_frame(db)["ticker"]) == ["KEEP"]
