"""btc_liq's alert messages: the cascade's total and span, the side, the BTC move, the lead
window against its median, the venues and gaps.
"""

from __future__ import annotations

from collections.abc import Mapping

from signals.btc_liq._text import median_words, span
from signals.presentation import AlertText, Stamp, message, minutes, num, usd
from storage.alerts import AlertEvent

#: the share of one side at which a cascade is that side's (as in the reading's summary)
LOPSIDED = 0.65


def _meaning(side: str, change: float | None) -> str:
    """What the cascade usually means, from the side forced out and the price move together: the
    words never contradict the price (longs forced out while BTC rose is no forced selling into a
    falling price)."""
    falling, rising = change is not None and change < 0, change is not None and change > 0
    if side == "longs" and not rising:
        return "Forced selling: leveraged longs closed into a falling price, which often overshoots and then stabilises."
    if side == "shorts" and not falling:
        return "A short squeeze: leveraged shorts forced to buy into a rising price."
    move = f" while BTC moved {change * 100:+.1f}%" if change is not None else ""
    return (
        f"Leverage flushed on both sides{move}: a swing that forced out longs and shorts alike, "
        "not a one-way move."
    )


def present(ev: AlertEvent, stamp: Stamp) -> AlertText | None:
    """A cascade: its total and span, the side, the BTC move, the lead window and the venues
    (None without the cascade's figures: the app presents it generically)."""
    d = ev.data
    total = num(d, "total_usd")
    if total is None:
        return None
    long_usd, short_usd = num(d, "long_usd") or 0.0, num(d, "short_usd") or 0.0
    both = long_usd + short_usd
    long_share = long_usd / both if both > 0 else 0.5
    side = "longs" if long_share >= LOPSIDED else ("shorts" if long_share <= 1 - LOPSIDED else "")
    start = d.get("start")
    # the reading's time is the end of the cascade's last bucket (1 minute live, 4 h or a day imported)
    span_s = (ev.ts - int(start)) if isinstance(start, int | float) else None
    over = ev.event == "resolved"
    dur = f" in {span(span_s)}" if span_s and span_s > 0 else ""
    # the headline names the total of both sides; the split says which side was forced out
    split = (
        f"{side} {max(long_share, 1 - long_share):.0%}"
        if side
        else f"longs {long_share:.0%}, shorts {1 - long_share:.0%}"
    )
    head = f"BTC liquidations: {usd(total)}{dur} ({split})" if not over else f"BTC cascade: {usd(total)}{dur}"
    parts = [f"Longs {usd(long_usd)} / shorts {usd(short_usd)}"]
    ch, p0, p1 = num(d, "price_change"), num(d, "price_start"), num(d, "price_end")
    if ch is not None and p0 is not None and p1 is not None:
        parts.append(f"BTC {ch * 100:+.1f}% ({p0:,.0f} → {p1:,.0f})")
    first = "; ".join(parts) + "."
    meaning = _meaning(side, ch)
    fields: dict[str, str] = {}
    w, wu, mult, med = (
        d.get("peak_window"),
        num(d, "peak_window_usd"),
        num(d, "multiple"),
        num(d, "median_usd"),
    )
    if isinstance(w, str) and wu is not None and mult is not None and med is not None:
        base = num(d, "baseline_days")
        words = median_words(int(base), num(d, "median_days")) if base else "its median"
        fields["Biggest window"] = f"{w} {usd(wu)} = {mult:.1f}× {words} ({usd(med)})"
    venues = d.get("by_venue")
    if isinstance(venues, Mapping) and venues:
        shown = [
            f"{str(k).capitalize()} {usd(float(v))}" for k, v in venues.items() if isinstance(v, int | float)
        ]
        note = " (Binance a lower bound)" if d.get("lower_bound") else ""
        fields["Venues"] = " · ".join(shown) + note
    gaps = d.get("gaps_s")
    if isinstance(gaps, Mapping) and gaps:
        fields["Gaps"] = ", ".join(f"{str(k).capitalize()} down {minutes(float(v))}" for k, v in gaps.items())
    if isinstance(start, int | float):
        fields["Started"] = stamp(int(start))
    return message(
        ev,
        head,
        first,
        meaning,
        fields,
        None,
        stamp,
        peak_text=lambda pk: usd(pk * 1e6),
        duration_shown=bool(dur),
    )
