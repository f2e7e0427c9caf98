"""How btc_liq writes money, times, venues, coverage and ranks in its messages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from signals.btc_liq._vocab import IMPORTS, NAMES, VENUES
from signals.presentation import usd  # the one money style of every message

__all__ = ["usd"]


def hhmm(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M")


def day(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d")


def span(seconds: float) -> str:
    s = round(seconds)
    if s < 3600:
        return f"{max(s // 60, 1)} min"
    if s < 86400:
        h, m = divmod(s // 60, 60)
        return f"{h}h {m:02d}m" if m else f"{h}h"
    d, rest = divmod(s, 86400)
    return f"{d}d {rest // 3600}h" if rest // 3600 else f"{d}d"


def median_words(baseline_days: int, history_days: float | None) -> str:
    """``the 28-day median``, or with less history than the baseline span, ``the median of its 8
    days of history`` (what the rolling median was taken over)."""
    if history_days and history_days < baseline_days:
        n = max(round(history_days), 1)
        return f"the median of its {n} day{'s' if n != 1 else ''} of history"
    return f"the {baseline_days}-day median"


def ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"


def venue_list(cols: Sequence[str], sources: Mapping[str, str] | None = None) -> str:
    """``Bybit, Binance (lower bound), OKX`` or ``Coinglass (Binance only, lower bound)``."""
    out = []
    for c in cols:
        if c == "binance":
            out.append("Binance (lower bound)")
        elif c == "coinglass":
            detail = (sources or {}).get("coinglass", "coinglass")
            exch = detail.split(":", 1)[1] if ":" in detail else ""
            if exch:
                names = [NAMES.get(e.strip().lower(), e.strip()) for e in exch.split(",")]
                lb = ", lower bound" if "Binance" in names else ""
                only = " only" if len(names) == 1 else ""
                out.append(f"Coinglass ({'+'.join(names)}{only}{lb})")
            else:
                out.append("Coinglass import")
        else:
            out.append(NAMES.get(c, c))
    return ", ".join(out) if out else "no venue"


def undercounts(cols: Sequence[str], sources: Mapping[str, str] | None = None) -> bool:
    if "binance" in cols:
        return True
    return "coinglass" in cols and "binance" in (sources or {}).get("coinglass", "").lower()


def coverage_of(source: str | None, import_coverage: float) -> float:
    """The share of the all-venue total an import carries: 1 when its source lists every live
    venue (``coinglass:binance,okx,bybit``), else ``import_coverage`` (a one-venue history, or
    one whose exchanges are unknown)."""
    detail = (source or "").split(":", 1)
    exch = {e.strip().lower() for e in detail[1].split(",")} if len(detail) == 2 else set()
    return 1.0 if set(VENUES) <= exch else float(import_coverage)


def coverage_text(cov: float, cols: Sequence[str], sources: Mapping[str, str] | None) -> str:
    """Which coverage the levels used, for every message."""
    if cov >= 0.999:
        return "live venues, 100% (full coverage)" if any(c in VENUES for c in cols) else "100% (all venues)"
    what = "import" if any(c in IMPORTS for c in cols) else "data"
    return (
        f"{cov:.0%} of the all-venue total ({venue_list([c for c in cols if c in IMPORTS] or cols, sources)} {what}, "
        "FLOWWATCH_BTC_LIQ_IMPORT_COVERAGE): floors and ranks in all-venue terms"
    )
