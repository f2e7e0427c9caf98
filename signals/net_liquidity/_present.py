"""net_liquidity's alert messages: the change, the biggest part, the releases the figures are from."""

from __future__ import annotations

from typing import Any

from signals._levels import pct_text, usd_text
from signals.net_liquidity._model import PARTS
from signals.presentation import AlertText, Stamp, message, num
from storage.alerts import AlertEvent

MEANING = {
    "drain": (
        "Reserves leaving the system (the Treasury refilling its account, the Fed shrinking, money "
        "parked at the reverse repo): less cash chasing risk assets while it lasts."
    ),
    "injection": (
        "Reserves entering the system (Fed buying or lending, the Treasury spending down its "
        "account, reverse repo emptying): more cash for risk assets."
    ),
}


def present(ev: AlertEvent, stamp: Stamp) -> AlertText | None:
    d = ev.data
    change, h, net = num(d, "change_bn"), d.get("horizon_weeks"), num(d, "net_bn")
    if change is None or not isinstance(h, int) or net is None:
        return None
    word = "drained" if change < 0 else "added"
    weeks = f"{h} week{'s' if h != 1 else ''}"
    pct = num(d, "change_pct")
    pct_s = f" ({pct:+.1f}%)" if pct is not None else ""
    head = f"Net liquidity {usd_text(abs(change) * 1e9)} {word} in {weeks}{pct_s}"
    driver = d.get("driver")
    raw = d.get("parts_bn")
    parts: dict[str, Any] = raw if isinstance(raw, dict) else {}
    part = parts.get(driver) if isinstance(driver, str) else None
    lead = (
        f"Biggest part: {PARTS[driver]} {usd_text(float(part) * 1e9)}"
        if isinstance(driver, str) and driver in PARTS and isinstance(part, int | float)
        else "No part moved"
    )
    rrp = d.get("rrp_date")
    figures = f"H.4.1 of {d.get('release')} (Wednesday {d.get('wednesday')} levels)" + (
        f", RRPONTSYD of {rrp}" if rrp else ", no reverse repo operation"
    )
    score = num(d, "score")
    rank = f"; {pct_text(score)} of its history" if score is not None else ""
    # a resolve message leads with the duration and the peak: the releases stay in the fields
    first = f"{lead}{rank}." if ev.event == "resolved" else f"{lead}{rank}. From the {figures}."
    fields = {
        "Net liquidity": usd_text(net * 1e9),
        "Parts of the change": " · ".join(
            f"{PARTS[n]} {usd_text(float(v) * 1e9)}"
            for n, v in parts.items()
            if n in PARTS and isinstance(v, int | float)
        ),
    }
    if ev.event == "resolved":  # the first line leads with the duration and the peak instead
        fields["Figures"] = figures
    return message(ev, head, first, MEANING.get(ev.key, ""), fields, None, stamp, peak_text=pct_text)
