"""cta_trend's alert messages: the position and its move in points and dollars, the net flip
level and the nearest trigger, and the assumptions, every time."""

from __future__ import annotations

from signals._levels import pct_text, usd_text
from signals.presentation import AlertText, Stamp, message, num
from storage.alerts import AlertEvent


def present(ev: AlertEvent, stamp: Stamp) -> AlertText | None:
    d = ev.data
    pos, sell, buy, full = num(d, "position"), num(d, "sell"), num(d, "buy"), num(d, "full_usd")
    if pos is None or full is None:
        return None
    days = d.get("flow_days") or 10
    side = "long" if pos >= 0 else "short"
    flip, flip_pct, sigma = num(d, "flip_level"), num(d, "flip_pct"), num(d, "flip_sigma")
    flip_text = (
        f"net {'short below' if pos >= 0 else 'long above'} {flip:,.0f} ({flip_pct:+.1f}%, {sigma:.1f} daily moves)"
        if flip is not None and flip_pct is not None and sigma is not None
        else "no flip of the net position within 25%"
    )
    change = (buy or 0.0) - (sell or 0.0)
    if ev.key == "trigger":
        head = f"S&P 500 {sigma if sigma is not None else ev.value:.1f} daily moves from the CTA flip level (estimate)"
        first = f"Estimated CTA position {pos:+.0%} ({side}); {flip_text}."
        meaning = "A break of this level would flip the replicated trend followers' position: forced flows with no news."
    else:
        verb = "de-leveraging" if ev.key == "selling" else "re-leveraging"
        pct_or_none = num(d, "percentile")
        pct = float(ev.value or 0.0) if pct_or_none is None else pct_or_none
        head = (
            f"CTA {verb} {round(change * 100):+d} points in {days} sessions, about {usd_text(change * full)} "
            f"(estimate, {pct_text(pct)})"
        )
        first = f"Estimated position {pos:+.0%} ({side}); {flip_text}."
        meaning = (
            "Trend followers cut together as the index breaks their levels; their selling adds to the move."
            if ev.key == "selling"
            else "Trend followers rebuild together as the index clears their levels."
        )
    fields: dict[str, str] = {}
    sc = d.get("scenarios")
    if isinstance(sc, dict):
        parts = [f"{k}σ: {usd_text(v)}" for k, v in sc.items() if isinstance(v, int | float)]
        if parts:
            fields["If tomorrow moves"] = ", ".join(parts)
    trig = d.get("triggers")
    if isinstance(trig, dict) and trig:
        fields["Triggers"] = ", ".join(f"{k} {v:,.0f}" for k, v in trig.items() if isinstance(v, int | float))
    fields["Assumptions"] = str(d.get("assumptions") or "")
    fmt = "{:.1f}"
    # a trigger's peak (its distance) says nothing of how close it came: left out
    return message(
        ev, head, first, meaning, fields, fmt, stamp, peak_text=pct_text, no_peak=ev.key == "trigger"
    )
