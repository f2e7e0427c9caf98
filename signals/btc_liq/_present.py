"""btc_liq's alert messages: the cascade's total and span, the side, the BTC move, the lead
window against its median, the venues and gaps.
"""

from __future__ import annotations

from collections.abc import Mapping

from signals.presentation import AlertText, Stamp, message, minutes, num, usd
from storage.alerts import AlertEvent


def present(ev: AlertEvent, stamp: Stamp) -> AlertText | None:
    """A cascade: its total and span, the side, the BTC move, the lead window and the venues
    (None without the cascade's figures: the app presents it generically)."""
    d = ev.data
    total = num(d, "total_usd")
    if total is None:
        return None
    long_usd, short_usd = num(d, "long_usd") or 0.0, num(d, "short_usd") or 0.0
    side = "longs" if long_usd >= short_usd else "shorts"
    share = max(long_usd, short_usd) / (long_usd + short_usd) * 100 if long_usd + short_usd > 0 else 0.0
    start = d.get("start")
    span = (ev.ts + 60 - int(start)) if isinstance(start, int | float) else None
    over = ev.event == "resolved"
    dur = f" in {minutes(span)}" if span and span > 0 else ""
    head = f"BTC {side} liquidated: {usd(total)}{dur}" if not over else f"BTC cascade: {usd(total)}{dur}"
    parts = [f"{side.capitalize()} {share:.0f}% ({usd(long_usd)} long / {usd(short_usd)} short)"]
    ch, p0, p1 = num(d, "price_change"), num(d, "price_start"), num(d, "price_end")
    if ch is not None and p0 is not None and p1 is not None:
        parts.append(f"BTC {ch * 100:+.1f}% ({p0:,.0f} → {p1:,.0f})")
    first = "; ".join(parts) + "."
    meaning = (
        "Forced selling: leveraged longs closed into a falling price, which often overshoots and then stabilises."
        if side == "longs"
        else "A short squeeze: leveraged shorts forced to buy into a rising price."
    )
    fields: dict[str, str] = {}
    w, wu, mult, med = (
        d.get("peak_window"),
        num(d, "peak_window_usd"),
        num(d, "multiple"),
        num(d, "median_usd"),
    )
    if isinstance(w, str) and wu is not None and mult is not None and med is not None:
        fields["Biggest window"] = f"{w} {usd(wu)} = {mult:.1f}× its 28-day median ({usd(med)})"
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
