"""The series vocabulary: the stable ids, and what each series may hold (a plausible value range
and a first plausible date).

Declared here, in storage, so storage (the last line of defence on every write), the sources
(which write the ids and reject a provider's bad row with a logged reason), the signals (which
read them) and ``import`` all share one declaration, and no signal or source is imported to know
an id (docs/series.md lists them; ids are public interface: added, never renamed). A value outside its range is refused with
what is allowed: ``import`` and ``backfill`` write nothing, live data drops the row and says so.
A series id that matches no declaration gets :data:`ANY`: finite, within ±1e12, from 1900.

The ranges are wide on purpose: they stop garbage (1e308, a negative VIX, the year 0001, a
probability of 7), never a real extreme (VIX closed at 82.69 in March 2020; its intraday record
is 89.53; BTC liquidations passed 19 billion dollars on 10 October 2025).
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

_MAX_TS = 4_102_444_800  # 2100-01-01

# -- the ids ------------------------------------------------------------------------------

#: Cboe volatility indexes with a daily close (``cboe.<index>.close``)
CBOE_INDEXES = ("vix", "vix3m", "vix9d", "vix6m")


def cboe_close(index: str) -> str:
    """``cboe.<index>.close``: the Cboe daily close, stamped 00:00 UTC of its trading date."""
    return f"cboe.{index}.close"


def yahoo_5m(index: str) -> str:
    """``yahoo.<index>.5m``: intraday 5-minute quotes of the session that has no close yet."""
    return f"yahoo.{index}.5m"


#: the venues of market-implied FOMC odds
FOMC_VENUES = ("kalshi", "polymarket", "fedwatch")


def fomc_series(venue: str, meeting_id: str, suffix: str) -> str:
    """``<venue>.fomc.<decision-date>.<suffix>``: ``cut|hold|hike``, a size bucket (``cut25``,
    ``cut50plus``), ``move_bp``, ``path_bp`` or ``rate``."""
    return f"{venue}.fomc.{meeting_id}.{suffix}"


#: the S&P 500 index daily close (index points), stamped 00:00 UTC of its trading date; the
#: reading it gives is at the 16:00 ET close (Yahoo ``^GSPC``, FRED ``SP500`` as the fallback)
SPX_CLOSE = "spx.close"

FRED_EFFR = "fred.effr"
FRED_TARGET_UPPER = "fred.target_upper"
FRED_TARGET_LOWER = "fred.target_lower"

#: the flow series from FRED, FRED's own units kept (net_liquidity, credit)
#: Fed total assets, Wednesday level, millions USD (H.4.1)
FRED_WALCL = "fred.walcl"
#: Treasury General Account at the Fed, Wednesday level, millions USD (H.4.1)
FRED_WTREGEN = "fred.wtregen"
#: overnight reverse repo, daily, **billions** USD (New York Fed)
FRED_RRPONTSYD = "fred.rrpontsyd"
#: ICE BofA US High Yield Index option-adjusted spread, daily, percent
FRED_HY_OAS = "fred.bamlh0a0hym2"
#: Treasury constant-maturity yields, daily, percent
FRED_DGS10 = "fred.dgs10"
FRED_DGS2 = "fred.dgs2"

#: the live liquidation venues (streams) and the imported aggregates, in column order
LIQ_VENUES = ("bybit", "binance", "okx")
LIQ_IMPORTS = ("coinglass",)
LIQ_COLUMNS = (*LIQ_VENUES, *LIQ_IMPORTS)
LIQ_NAMES = {"bybit": "Bybit", "binance": "Binance", "okx": "OKX", "coinglass": "Coinglass"}
#: bucket name -> seconds
LIQ_BUCKETS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14400, "1d": 86400}
LIQ_BUCKET_NAMES = {v: k for k, v in LIQ_BUCKETS.items()}
#: one liquidation from a live stream: (ts_ms, venue, symbol, side 0 long / 1 short, qty, price, USD)
LiqEvent = tuple[int, str, str, int, float, float, float]


def liq_series(venue: str, side: str, bucket: str) -> str:
    """``liq.btc.<venue>.<long|short>_usd.<bucket>``: USD liquidated in the bucket starting at ts."""
    return f"liq.btc.{venue}.{side}_usd.{bucket}"


def gap_series(venue: str) -> str:
    """Seconds of each minute a live venue's stream was down while flowwatch ran."""
    return f"liq.btc.{venue}.gap_s.1m"


def price_series(bucket: str) -> str:
    """``btc.usd.close.<bucket>``: the BTC price at the close of the bucket."""
    return f"btc.usd.close.{bucket}"


# -- the declared ids ---------------------------------------------------------------------

_DATE = r"\d{4}-\d{2}-\d{2}"
_ONE_OF = "|".join
#: Every id flowwatch writes or reads (docs/series.md), as full-match patterns. ``import`` refuses
#: any other id unless told it is a series of the user's own (``--custom``): a typo
#: (``cboe.vix.clsoe``) would otherwise start a new series no signal reads. A new id is added here
#: and in docs/series.md.
DECLARED: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p)
    for p in (
        rf"cboe\.({_ONE_OF(CBOE_INDEXES)})\.close",
        r"yahoo\.(vix|vix3m|vix9d)\.5m",
        rf"({_ONE_OF(FOMC_VENUES)})\.fomc\.{_DATE}\.(cut|hold|hike|(cut|hike)\d+|(cut|hike)50plus|move_bp|path_bp|rate)",
        r"fred\.(effr|target_lower|target_upper|walcl|wtregen|rrpontsyd|bamlh0a0hym2|dgs10|dgs2)",
        r"spx\.close",
        rf"liq\.btc\.({_ONE_OF(LIQ_COLUMNS)})\.(long|short)_usd\.({_ONE_OF(LIQ_BUCKETS)})",
        rf"liq\.btc\.({_ONE_OF(LIQ_VENUES)})\.gap_s\.1m",
        rf"btc\.usd\.close\.({_ONE_OF(LIQ_BUCKETS)})",
    )
)


def declared(series: str) -> bool:
    """Whether ``series`` is one of the ids flowwatch declares (:data:`DECLARED`)."""
    return any(p.fullmatch(series) for p in DECLARED)


def declared_examples(like: str = "") -> list[str]:
    """Concrete declared ids (an FOMC id with the decision date of ``like`` when it has one)."""
    m = re.search(_DATE, like)
    day = m.group(0) if m else "2026-12-09"
    out = [cboe_close(i) for i in CBOE_INDEXES] + [yahoo_5m(i) for i in ("vix", "vix3m", "vix9d")]
    out += [
        fomc_series(v, day, x)
        for v in FOMC_VENUES
        for x in ("cut", "hold", "hike", "cut25", "cut50plus", "move_bp", "path_bp", "rate")
    ]
    out += [FRED_EFFR, FRED_TARGET_LOWER, FRED_TARGET_UPPER, SPX_CLOSE]
    out += [FRED_WALCL, FRED_WTREGEN, FRED_RRPONTSYD, FRED_HY_OAS, FRED_DGS10, FRED_DGS2]
    out += [liq_series(v, side, b) for v in LIQ_COLUMNS for side in ("long", "short") for b in LIQ_BUCKETS]
    out += [gap_series(v) for v in LIQ_VENUES] + [price_series(b) for b in LIQ_BUCKETS]
    return out


def close_matches(series: str, n: int = 3) -> list[str]:
    """The declared ids nearest to ``series`` (a typo's likely meaning), best first."""
    return difflib.get_close_matches(series, declared_examples(series), n=n, cutoff=0.75)


# -- the plausible ranges -----------------------------------------------------------------


@dataclass(frozen=True)
class SeriesRange:
    """The plausible values of the series whose ids match ``pattern`` (an ``fnmatch`` glob)."""

    pattern: str
    lo: float
    hi: float
    unit: str
    since: date
    help: str = ""

    def describe(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"allowed {self.lo:g} to {self.hi:g}{unit}, from {self.since.isoformat()}"

    @property
    def since_ts(self) -> int:
        return int(datetime(self.since.year, self.since.month, self.since.day, tzinfo=UTC).timestamp())

    def problem(self, ts: int, value: float) -> str | None:
        """Why ``(ts, value)`` cannot be a reading of this series, or None."""
        if value is None or not isinstance(value, int | float) or not math.isfinite(value):
            return f"value {value!r} is not a finite number ({self.describe()})"
        if not self.lo <= value <= self.hi:
            return f"value {value:.6g} is outside the plausible range ({self.describe()})"
        if not self.since_ts <= ts < _MAX_TS:
            when = (
                datetime.fromtimestamp(ts, UTC).date().isoformat()
                if -62135596800 <= ts < 253402300800
                else ts
            )
            return f"timestamp {when} is outside the plausible dates ({self.describe()})"
        return None


#: First match wins: specific patterns before general ones.
RANGES: tuple[SeriesRange, ...] = (
    SeriesRange(
        "cboe.vix*.close", 1.0, 250.0, "index points", date(1986, 1, 1), "Cboe volatility index closes"
    ),
    SeriesRange("yahoo.vix*.5m", 1.0, 250.0, "index points", date(2000, 1, 1), "intraday volatility quotes"),
    SeriesRange(
        "*.fomc.*.move_bp", -1000.0, 1000.0, "bp", date(1994, 1, 1), "expected move at an FOMC meeting"
    ),
    SeriesRange(
        "*.fomc.*.path_bp", -1000.0, 1000.0, "bp", date(1994, 1, 1), "expected path through an FOMC meeting"
    ),
    SeriesRange(
        "*.fomc.*.rate", -5.0, 30.0, "percent", date(1994, 1, 1), "expected policy rate after a meeting"
    ),
    SeriesRange(
        "*.fomc.*", 0.0, 1.0, "probability", date(1994, 1, 1), "market-implied FOMC outcome probabilities"
    ),
    SeriesRange("liq.btc.*.gap_s.*", 0.0, 366 * 86400.0, "seconds", date(2015, 1, 1), "feed gaps"),
    SeriesRange("liq.btc.*", 0.0, 1e11, "USD", date(2015, 1, 1), "BTC futures liquidated in a bucket"),
    SeriesRange("btc.usd.close.*", 0.01, 1e8, "USD", date(2009, 1, 3), "BTC price"),
    SeriesRange("spx.close", 100.0, 100_000.0, "index points", date(1927, 12, 30), "S&P 500 daily close"),
    SeriesRange("fred.effr", -5.0, 30.0, "percent", date(1954, 7, 1), "effective federal funds rate"),
    SeriesRange("fred.target_*", -5.0, 30.0, "percent", date(1982, 9, 27), "federal funds target range"),
    SeriesRange("fred.walcl", 100_000.0, 30_000_000.0, "million USD", date(2002, 12, 18), "Fed total assets"),
    # the Treasury account and reverse repo are legitimately 0 (RRP was 0 for years before 2013)
    SeriesRange(
        "fred.wtregen", 0.0, 3_000_000.0, "million USD", date(1986, 1, 1), "Treasury General Account"
    ),
    SeriesRange("fred.rrpontsyd", 0.0, 5_000.0, "billion USD", date(2003, 1, 1), "overnight reverse repo"),
    SeriesRange("fred.bamlh0a0hym2", 0.5, 30.0, "percent", date(1996, 12, 31), "high-yield OAS"),
    # yields can be 0 or negative
    SeriesRange("fred.dgs10", -2.0, 20.0, "percent", date(1962, 1, 2), "10-year Treasury yield"),
    SeriesRange("fred.dgs2", -2.0, 25.0, "percent", date(1976, 6, 1), "2-year Treasury yield"),
)

#: any series id no declaration matches
ANY = SeriesRange("*", -1e12, 1e12, "", date(1900, 1, 1), "a series without its own declaration")


@functools.lru_cache(maxsize=4096)
def range_for(series: str) -> SeriesRange:
    for r in RANGES:
        if fnmatch.fnmatchcase(series, r.pattern):
            return r
    return ANY


def problem(series: str, ts: int, value: float) -> str | None:
    """Why this would be an implausible observation of ``series``, or None."""
    return range_for(series).problem(ts, value)


class ImplausibleValues(ValueError):
    """Observations outside their series' declared range; the message lists them."""

    def __init__(self, problems: list[str], total: int) -> None:
        shown = "\n  ".join(problems[:10])
        more = f"\n  ... and {total - 10} more" if total > 10 else ""
        super().__init__(f"{total} implausible value(s), nothing written:\n  {shown}{more}")
        self.problems = problems
        self.total = total


def check_all(rows: Iterable[tuple[str, int, float]]) -> None:
    """Raise :class:`ImplausibleValues` when any ``(series, ts, value)`` is implausible."""
    problems: list[str] = []
    total = 0
    for series, ts, value in rows:
        why = problem(series, ts, value)
        if why is not None:
            total += 1
            if len(problems) < 10:
                problems.append(f"{series} at {ts}: {why}")
    if total:
        raise ImplausibleValues(problems, total)
