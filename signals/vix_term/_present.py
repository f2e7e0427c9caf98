"""vix_term's alert messages: the ratio and its state, both indexes, the day's change, the
percentile.
"""

from __future__ import annotations

from signals.presentation import AlertText, Stamp, message, num, ordinal
from storage.alerts import AlertEvent


def present(ev: AlertEvent, stamp: Stamp) -> AlertText | None:
    """VIX/VIX3M (or VIX9D/VIX): the ratio and its state, both indexes, the day's change."""
    d = ev.data
    ratio = num(d, "ratio") if num(d, "ratio") is not None else ev.value
    if ev.key == "vix9d":
        vix9d, vix = num(d, "vix9d"), num(d, "vix")
        state = "front end inverted" if (ratio or 0) >= 1 else "front end back to normal"
        head = f"VIX9D/VIX {ratio:.3f}: {state}"
        first = f"VIX9D {vix9d:.2f} vs VIX {vix:.2f}." if vix9d is not None and vix is not None else ""
        meaning = (
            "Next week's fear priced above the month's: often the first sign before VIX/VIX3M inverts. "
            "A heads-up only."
        )
        return message(ev, head, first, meaning, {}, "{:.3f}", stamp)
    vix, vix3m = num(d, "vix"), num(d, "vix3m")
    r = ratio or 0.0
    if vix is None or vix3m is None:
        d = {}
    state = (
        "curve inverted" if r >= 1 else ("curve flat, near inversion" if ev.level != "ok" else "in contango")
    )
    if ev.event == "resolved":
        state = "back in contango" if r < 1 else "inversion easing"
    head = f"VIX/VIX3M {r:.3f}: {state}"
    parts = []
    if vix is not None and vix3m is not None:
        parts.append(f"VIX {vix:.2f} vs VIX3M {vix3m:.2f}")
    chg = num(d, "change_1d")
    if chg is not None:
        parts.append(f"{chg:+.3f} on the day")
    days = d.get("days_inverted")
    if isinstance(days, int) and days > 0:
        parts.append(f"inverted {days} day{'s' if days != 1 else ''} so far")
    first = "; ".join(parts) + "." if parts else ""
    meaning = (
        "Traders pay more for 30-day than 3-month protection: urgent hedging, and vol-targeting funds "
        "cutting equity exposure while it lasts."
        if r >= 1
        else "Near-term hedging demand is building toward an inversion of the curve."
    )
    fields: dict[str, str] = {}
    p = num(d, "percentile")
    if p is not None:
        fields["Percentile"] = (
            "a record: the highest of its history" if p >= 100 else f"{ordinal(p)} of its history"
        )
    v9 = num(d, "vix9d")
    if v9 is not None and vix is not None and vix > 0:
        fields["VIX9D/VIX"] = f"{v9 / vix:.3f} (VIX9D {v9:.2f})"
    return message(ev, head, first, meaning, fields, "{:.3f}", stamp)
