"""ratecut's alert messages: a swing, a size repricing, a majority flip or a venue gap of one
meeting, led by the move, with each venue's odds now and before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from signals.presentation import AlertText, Stamp, level_word, message, num, window
from signals.ratecut._vocab import KIND_NAMES, meeting_label
from storage.alerts import AlertEvent


def bp(x: float) -> str:
    """Basis points signed, with no "-0" (a move that rounds to nothing is 0)."""
    v = round(x)
    return f"{v:+d}" if v else "0"


def held_peak(ev: AlertEvent) -> str:
    """Why a size repricing's peak past a higher line stayed at the lower level, for its Over
    message (the level never contradicts the words): a size repricing rises above Heads-up only
    when the other venue confirms it and neither the nearer meeting's repricing nor the swing of
    P(cut) explains it."""
    if ev.event != "resolved" or ev.peak is None:
        return ""
    ladder = ev.data.get("ladder")
    peak_level = str(ev.data.get("peak_level") or "")
    if not isinstance(ladder, list) or len(ladder) < 3 or peak_level not in ("watch", "alert"):
        return ""
    shown = "alert" if ev.peak < ladder[2] else "severe"
    if ev.peak < ladder[1] or (peak_level == "alert" and shown == "alert"):
        return ""
    line = ladder[1] if shown == "alert" else ladder[2]
    return (
        f"The peak, {ev.peak:.1f}× the repricing size, is past the {level_word(shown)} line ({line:g}×) "
        f"but stayed {level_word(peak_level)}: a size repricing rises only when the other venue confirms "
        "it and neither the nearer meeting's repricing nor the swing of P(cut) explains it."
    )


def present(ev: AlertEvent, stamp: Stamp) -> AlertText | None:
    """A swing, a size repricing, a flip or a venue gap of one meeting, with each venue's odds."""
    d = ev.data
    kind = ev.key.rsplit(".", 1)[-1]
    meeting = str(d.get("meeting") or ev.key.split(".", 1)[0])
    try:
        mname = f"{datetime.fromisoformat(meeting):%b %-d}"
    except ValueError:
        mname = meeting
    venues = d.get("venues") if isinstance(d.get("venues"), Mapping) else {}
    primary = str(d.get("primary") or "kalshi")
    p = num(d, "p_cut")
    pc = f"{p * 100:.0f}%" if p is not None else "n/a"
    if kind == "swing":
        move = num(d, "move") or 0.0
        win = num(d, "window_s")
        within = f" in {window(win)}" if win else ""
        ws = d.get("whipsaw")
        if isinstance(ws, list) and len(ws) >= 3:
            head = f"Fed cut odds whipsaw for {mname}: {ws[0] * 100:.0f}% → {ws[1] * 100:.0f}% → {ws[2] * 100:.0f}%"
        else:
            head = f"Fed cut odds for {mname} {'fell' if move < 0 else 'rose'} {abs(move) * 100:.0f} pp to {pc}{within}"
        meaning = (
            "A fast repricing of the next Fed move: rates, the dollar and equities usually move with it."
        )
    elif kind == "size":
        exp, was_bp, mv = num(d, "expected_bp"), num(d, "was_bp"), num(d, "move_bp")
        since = num(d, "since")
        span = ev.ts - since if since is not None else num(d, "window_s")
        within = f" in {window(span)}" if span and span > 0 else ""
        ws = d.get("whipsaw")
        # a later meeting's number is the cumulative path through it, not its own move
        what = "expected path to it" if d.get("path") else "expected move"
        if isinstance(ws, list) and len(ws) >= 3:
            head = f"Fed path whipsaw for {mname}: {what} {bp(ws[0])} → {bp(ws[1])} → {bp(ws[2])} bp"
        elif exp is not None and was_bp is not None:
            head = f"Fed repricing for {mname}: {what} {bp(exp)} bp (was {bp(was_bp)} bp){within}"
        else:
            head = f"Fed repricing for {mname}: {what} moved {bp(mv or 0.0)} bp{within}"
        meaning = (
            "The market changed its mind about the size of the next Fed move: "
            "front-end rates, the dollar and equities usually reprice with it."
        )
    elif kind == "flip":
        side = "a cut" if (p or 0) >= 0.5 else "no cut"
        head = f"Market now expects {side} on {mname} (P(cut) {pc})"
        meaning = "The majority view of the decision changed sides: positioning for the meeting is repriced."
    elif kind == "divergence":
        gap = num(d, "gap") or 0.0
        pair = " vs ".join(x.capitalize() for x in str(d.get("pair") or "").split(">") if x)
        head = f"{pair or 'Venues'} {gap * 100:.0f} pp apart on the {mname} cut"
        meaning = "The venues disagree: one of them is stale or a move has not spread yet; it rarely lasts."
    else:
        head = f"{meeting_label(meeting)} · {KIND_NAMES.get(kind, kind)}: P(cut) {pc}"
        meaning = ""
    if ev.event == "resolved":
        what = {
            "swing": "Fed cut odds swing",
            "flip": "Majority flip",
            "divergence": "Venue gap",
            "size": "Fed repricing",
        }.get(kind, "Move")
        exp_now = num(d, "expected_bp")
        what_now = "expected path to it" if d.get("path") else "expected move"
        now_text = (
            f"{what_now} {bp(exp_now)} bp" if kind == "size" and exp_now is not None else f"P(cut) {pc}"
        )
        head = f"{what} for {mname} over: {now_text}"
    first_parts = []
    for name in ("kalshi", "polymarket", "fedwatch"):
        v = venues.get(name) if isinstance(venues, Mapping) else None
        if not isinstance(v, Mapping) or not isinstance(v.get("p"), int | float):
            continue
        day = v.get("1 d")
        was = f" (1 d ago {float(day) * 100:.0f}%)" if isinstance(day, int | float) else ""
        first_parts.append(
            f"{name.capitalize() if name != 'fedwatch' else 'FedWatch'} {float(v['p']) * 100:.0f}%{was}"
        )
    first = "; ".join(first_parts) + "." if first_parts else ""
    if kind == "size" and ev.event != "resolved":
        # the odds of the size that moved most, then the venue check (the head has the bp)
        at = ev.summary.find("odds of ")
        odds = ev.summary[at:].split("; ", 1)[0] if at >= 0 else ""
        first = (odds[0].upper() + odds[1:] + ". " if odds else "") + first
    fields: dict[str, str] = {}
    stmt = d.get("statement")
    if isinstance(stmt, int | float):
        fields["Decision"] = stamp(int(stmt))
    if isinstance(venues, Mapping):
        for name, v in venues.items():
            if isinstance(v, Mapping) and isinstance(v.get("p"), int | float):
                hist = " · ".join(
                    f"{k} ago {float(v[k]) * 100:.0f}%"
                    for k in ("1 h", "1 w")
                    if isinstance(v.get(k), int | float)
                )
                label = "FedWatch" if name == "fedwatch" else str(name).capitalize()
                asof = v.get("asof")
                when = (
                    f" · as of {stamp(int(asof))}"
                    if isinstance(asof, int | float) and not v.get("fresh", True)
                    else ""
                )
                fields[label] = (hist or "no history") + when
    primary_note = f"Kalshi and Polymarket, {primary.capitalize()} first" if primary else ""
    if primary_note:
        fields["Read from"] = primary_note
    peaks: dict[str, Callable[[float], str]] = {
        "swing": lambda pk: f"{pk:.1f}× the swing size",
        "divergence": lambda pk: f"{pk:.0f} pp apart",
        "size": lambda pk: f"{pk:.1f}× the repricing size",
    }
    if kind == "size":
        size_bp, mult = num(d, "size_bp"), num(d, "multiple")
        if size_bp is not None and mult is not None and ev.event != "resolved":
            fields["Size"] = f"{mult:.1f}× the {size_bp:.1f} bp repricing size"
        held = held_peak(ev)
        if held:
            fields["Level"] = held
    return message(
        ev, head, first, meaning, fields, None, stamp, peak_text=peaks.get(kind), no_peak=kind not in peaks
    )
