"""vol_control's alert messages: the estimated selling (or rebuilding), the exposure move behind
it, and the assumptions, every time."""

from __future__ import annotations

from signals._levels import pct_text, usd_text
from signals.presentation import AlertText, Stamp, message, num
from storage.alerts import AlertEvent


def present(ev: AlertEvent, stamp: Stamp) -> AlertText | None:
    d = ev.data
    pending, nxt = num(d, "pending_usd"), num(d, "next_days_usd")
    expo, target, vol = num(d, "exposure"), num(d, "target"), num(d, "vol")
    days = d.get("horizon_days") or 5
    pct_or_none = num(d, "percentile")
    pct = float(ev.value or 0.0) if pct_or_none is None else pct_or_none
    selling = ev.key == "selling"
    if pending is None or nxt is None or expo is None or target is None or vol is None:
        return None
    if selling:
        amount = usd_text(-nxt) if nxt < 0 else "nothing"
        head = f"vol-control funds to sell about {amount} in {days} sessions (estimate, {pct_text(pct)})"
    else:
        amount = usd_text(nxt) if nxt > 0 else "nothing"
        head = f"vol-control funds to buy back about {amount} in {days} sessions (estimate, {pct_text(pct)})"
    window = "1-month" if d.get("binding") == "short" else "3-month"
    first = (
        f"Estimated exposure {expo:.0%} → target {target:.0%} as {window} S&P 500 volatility is {vol:.1%}; "
        f"{usd_text(abs(pending))} still to {'sell' if selling else 'buy back'} in all."
    )
    meaning = (
        "Volatility-targeting funds cut equity mechanically when realized volatility jumps, whatever the news."
        if selling
        else "As a shock leaves their volatility window, these funds buy back the equity they sold."
    )
    fields = {"Assumptions": str(d.get("assumptions") or "")}
    flow = num(d, "flow_usd")
    if flow is not None:
        fields["Today's estimated flow"] = usd_text(flow)
    return message(ev, head, first, meaning, fields, "{:.1f}", stamp, peak_text=pct_text)
