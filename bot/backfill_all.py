"""``flowwatch backfill all [--dir D]``: history for every signal in one step.

Without ``--dir``: every provider that downloads history live, one after another (a provider
that fails is reported and the others go on). With ``--dir D``: every file in the folder in a
provider's own format, recognised by its name or its header line (Cboe ``*_History.csv``, FRED
graph CSVs, the Coinglass export, ZQ settlements, the earnings CSV, the Kalshi/Polymarket
recorded CSV, Binance klines, Nasdaq day answers, the S&P 500 list, S&P 500 daily bars); files it does not recognise
are listed, never guessed at.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from signals.sources import backfills, coinglass
from signals.sources import fred as fred_source
from signals.sources.base import Backfill, SourceError

#: the live providers, in an order where each finds what it needs (the universe before earnings)
LIVE_ORDER = (
    "sp500",
    "cboe",
    "spx",
    "fred",
    "kalshi",
    "polymarket",
    "coinbase",
    "okx",
    "earnings",
    "coinglass",
)
#: live providers covered by another one (earnings refreshes the calendar from Nasdaq, then
#: Alpha Vantage) or with no live source
LIVE_SKIP = {
    "nasdaq": "covered by earnings (the Nasdaq calendar)",
    "alphavantage": "covered by earnings (its fallback)",
}
#: every FRED id ``backfill fred --file`` reads (DFF is read as the EFFR)
FRED_IDS = (*fred_source.SERIES, *fred_source.ALIASES)


@dataclass(frozen=True)
class Outcome:
    provider: str
    what: str  # "live" or a file name
    ok: bool | None  # None: skipped
    message: str


def _head(path: Path) -> str:
    try:
        with path.open(encoding="utf-8-sig", errors="replace") as fh:
            return fh.readline().strip().lower()
    except OSError:
        return ""


def recognise(path: Path) -> list[str]:
    """The providers whose own file format ``path`` is in (empty: not recognised), as each
    provider's backfill declares (``Backfill.recognises``), in :data:`FILE_ORDER`."""
    if path.suffix.lower() not in (".csv", ".txt", ".json"):
        return []
    name = path.name
    cols = () if path.suffix.lower() == ".json" else tuple(c.strip() for c in _head(path).split(","))
    found = [n for n, bf in backfills().items() if bf.recognises is not None and bf.recognises(name, cols)]
    return sorted(found, key=lambda n: FILE_ORDER.index(n) if n in FILE_ORDER else len(FILE_ORDER))


RunOne = Callable[[Backfill, Path | None], Awaitable[str]]


async def backfill_all(run_one: RunOne, directory: Path | None, settings: Any) -> list[Outcome]:
    """Run every provider (live) or every recognised file of ``directory``; one outcome each."""
    found = backfills()
    out: list[Outcome] = []

    async def attempt(name: str, file: Path | None) -> None:
        what = file.name if file is not None else "live"
        try:
            message = await run_one(found[name], file)
        except (SourceError, ValueError, OSError) as exc:
            out.append(Outcome(name, what, False, str(exc)))
        else:
            out.append(Outcome(name, what, True, message))

    if directory is None:
        for name in (*LIVE_ORDER, *sorted(set(found) - set(LIVE_ORDER) - set(LIVE_SKIP))):
            bf = found.get(name)
            if bf is None or not bf.live:
                continue
            if name == "coinglass" and not settings.get(coinglass.API_KEY):
                out.append(
                    Outcome(name, "live", None, "skipped: needs FLOWWATCH_COINGLASS_API_KEY (paid plans)")
                )
                continue
            await attempt(name, None)
        for name, why in LIVE_SKIP.items():
            if name in found:
                out.append(Outcome(name, "live", None, f"skipped: {why}"))
        return out

    todo, skipped = await asyncio.to_thread(plan_dir, directory)
    out += skipped
    for name, path in todo:
        if name in found:
            await attempt(name, path)
    return out


def plan_dir(directory: Path) -> tuple[list[tuple[str, Path]], list[Outcome]]:
    """(provider, file) pairs to load, in provider order, and the files no provider reads."""
    files = sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith("."))
    todo: list[tuple[int, str, Path]] = []
    skipped: list[Outcome] = []
    for path in files:
        providers = recognise(path)
        if not providers:
            skipped.append(Outcome("-", path.name, None, _why_not(path)))
        for name in providers:
            todo.append((FILE_ORDER.index(name) if name in FILE_ORDER else len(FILE_ORDER), name, path))
    return [(n, p) for _r, n, p in sorted(todo, key=lambda t: (t[0], t[2].name))], skipped


#: providers of files, in an order where each finds what it reads (FRED's rates before FedWatch)
FILE_ORDER = (
    "sp500", "cboe", "spx", "fred", "binance", "coinbase", "coinglass", "okx", "kalshi", "polymarket", "earnings",
    "nasdaq", "fedwatch",
)  # fmt: skip


def _why_not(path: Path) -> str:
    try:
        with path.open(encoding="utf-8-sig", errors="replace") as fh:
            raw = [c.strip() for c in fh.readline().strip().split(",")]
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    ids = _fred_ids([c.lower() for c in raw]) and raw[1:]
    if ids and all(c.isupper() for c in ids):
        return f"FRED series flowwatch does not read (it reads {', '.join(FRED_IDS)})"
    return "not in a provider's format"


def _fred_ids(cols: list[str]) -> bool:
    """A FRED graph CSV's header: a date column in one of FRED's spellings, then series ids."""
    return len(cols) >= 2 and cols[0] in ("observation_date", "date")
