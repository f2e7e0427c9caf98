"""buyback's alert messages: the share in blackout, where the window stands, what the estimate
rests on.
"""

from __future__ import annotations

from signals.presentation import AlertText, Stamp, message, num, pct
from storage.alerts import AlertEvent


def present(ev: AlertEvent, stamp: Stamp) -> AlertText | None:
    """The share in blackout, where the window stands, and what the estimate rests on."""
    d = ev.data
    share = num(d, "share") if num(d, "share") is not None else ev.value
    n, uni = d.get("in_blackout"), d.get("universe")
    of = f" ({n} of {uni} companies)" if isinstance(n, int) and isinstance(uni, int) else ""
    s = share or 0.0
    if ev.level == "watch" and ev.event != "resolved":
        cross = d.get("crossing_date")
        when = f", projected above 50% on {cross}" if cross else ""
        head = f"Buyback window closes soon: {pct(s, 1)} in blackout{when}"
        meaning = (
            "Companies are entering their pre-earnings blackout: the largest buyer of US stocks steps back."
        )
    elif ev.event == "resolved":
        head = f"Buyback window reopening: {pct(s, 1)} in blackout"
        meaning = "Companies may buy back their shares again: a steady bid returns to US stocks."
    elif ev.level == "severe" and num(d, "season_high") is not None:
        head = (
            f"Buyback blackout unusually deep: {pct(s, 1)} of companies, above the season's highest "
            f"peak of recent years ({pct(num(d, 'season_high') or 0.0, 1)})"
        )
        meaning = (
            "Fewer companies than in any recent season can buy back their shares: the largest net buyer "
            "of US stocks is sidelined more than usual."
        )
    else:
        head = f"Buyback window closed: {pct(s, 1)} of companies in blackout"
        meaning = (
            "The largest net buyer of US stocks is mostly sidelined; markets often soften while it lasts."
        )
    parts = [f"Estimate from the earnings calendar{of}"]
    cap = num(d, "share_cap")
    if cap is not None:
        parts.append(f"cap-weighted {pct(cap, 1)}")
    since, sessions = d.get("closed_since"), d.get("sessions_closed")
    if since and isinstance(sessions, int) and sessions > 0 and ev.event != "resolved":
        parts.append(f"closed since {since} ({sessions} trading day{'s' if sessions != 1 else ''})")
    first = "; ".join(parts) + "."
    fields = {}
    est = d.get("estimated")
    if isinstance(est, int) and est:
        fields["Estimated dates"] = f"{est} companies on last year's date + 364 days"
    cov = num(d, "coverage")
    if cov is not None and cov < 0.999:
        fields["Calendar coverage"] = f"{pct(cov * 100)} of the universe has a known date"
    return message(ev, head, first, meaning, fields, None, stamp, peak_text=lambda pk: pct(pk, 1))
