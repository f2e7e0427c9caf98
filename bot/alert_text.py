"""Alert messages people read in three seconds: a headline with the number, the level in plain
words, one first line, one line on what the move usually means, and figures that repeat nothing.

Used by the Discord embeds (bot and webhook) and the console line. Pure: an
:class:`~storage.alerts.AlertEvent` in, an :class:`AlertText` out. Times are written by the
caller's ``stamp`` (Discord timestamps ``<t:…:f>`` in Discord, ``FLOWWATCH_TIMEZONE`` on the
console). Machine interfaces (``replay --format jsonl``, the database) keep the event's own
``summary`` and ``watch|alert|severe``.

The confirm rule (e.g. two daily closes) never makes the level contradict the words: when the
reading's number is already past a higher line than the level the event carries, the message says
so and that the higher level waits for confirmation (``data["awaiting"]``, set by the engine).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.formatting import key_name, level_word
from signals import registry
from signals.charts import ChartData
from signals.contract import value_format_of
from storage.alerts import AlertEvent
from storage.timeutil import from_epoch, human_duration

Stamp = Callable[[int], str]

FIRST_LINE_MAX = 200
LEVEL_EMOJI = {"ok": "🟢", "watch": "🟡", "alert": "🟠", "severe": "🔴"}


@dataclass(frozen=True)
class AlertText:
    #: the headline with the number, led by the level in words ("Alert: BTC longs liquidated: …")
    title: str
    #: the one line to read first (at most about 200 characters)
    first_line: str
    #: what such a move usually means, in one short line
    meaning: str = ""
    #: the figures that the first line does not already give
    fields: dict[str, str] = field(default_factory=dict)
    #: a level the number shows that still waits for the confirm rule, in words
    pending: str = ""


def usd(x: float) -> str:
    """One money style for every message: $950K, $14.6M, $1.46B."""
    a = abs(x)
    sign = "-" if x < 0 else ""
    if a >= 1e9:
        return f"{sign}${a / 1e9:.2f}B"
    if a >= 1e6:
        return f"{sign}${a / 1e6:.1f}M"
    if a >= 1e3:
        return f"{sign}${a / 1e3:.0f}K"
    return f"{sign}${a:.0f}"


def pct(x: float, digits: int = 0) -> str:
    return f"{x:.{digits}f}%"


def _minutes(seconds: float) -> str:
    return f"{round(seconds / 60)} min" if seconds < 5400 else human_duration(seconds)


def _window(seconds: float) -> str:
    return f"{round(seconds / 3600)} h" if seconds <= 86400 else human_duration(seconds)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def _lead(ev: AlertEvent) -> str:
    """The level in words, with the event's direction."""
    word = level_word(ev.level)
    if ev.event == "resolved":
        return f"Over (was {level_word(ev.prev_level or 'alert')})"
    if ev.event == "escalated":
        return f"{word} (up from {level_word(ev.prev_level or 'ok')})"
    if ev.event == "deescalated":
        return f"Easing to {word}"
    if ev.event == "updated":
        return f"{word}, growing"
    return word


def _pending(ev: AlertEvent) -> str:
    aw = ev.data.get("awaiting") if isinstance(ev.data, Mapping) else None
    if not isinstance(aw, Mapping) or ev.event in ("resolved", "deescalated"):
        return ""
    lvl = level_word(str(aw.get("level", "")))
    n = int(aw.get("confirm") or 2)
    unit = "closes" if "close" in (ev.source or "").lower() else "readings"
    return (
        f"Awaiting confirmation: the number is already at {lvl}; it becomes {lvl} after {n} more {unit} "
        f"at that level (the {n}-{unit.rstrip('s')} confirm rule)."
    )


def _num(data: Mapping[str, Any], key: str) -> float | None:
    v = data.get(key)
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v)


# -- per signal ----------------------------------------------------------------------------


def _vix_term(ev: AlertEvent, stamp: Stamp) -> AlertText:
    d = ev.data
    ratio = _num(d, "ratio") if _num(d, "ratio") is not None else ev.value
    if ev.key == "vix9d":
        vix9d, vix = _num(d, "vix9d"), _num(d, "vix")
        state = "front end inverted" if (ratio or 0) >= 1 else "front end back to normal"
        head = f"VIX9D/VIX {ratio:.3f}: {state}"
        first = f"VIX9D {vix9d:.2f} vs VIX {vix:.2f}." if vix9d is not None and vix is not None else ""
        meaning = (
            "Next week's fear priced above the month's: often the first sign before VIX/VIX3M inverts. "
            "A heads-up only."
        )
        return _resolved(ev, head, first, meaning, {}, "{:.3f}", stamp)
    vix, vix3m = _num(d, "vix"), _num(d, "vix3m")
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
    chg = _num(d, "change_1d")
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
    p = _num(d, "percentile")
    if p is not None:
        fields["Percentile"] = f"{_ordinal(p)} of its history"
    v9 = _num(d, "vix9d")
    if v9 is not None and vix is not None and vix > 0:
        fields["VIX9D/VIX"] = f"{v9 / vix:.3f} (VIX9D {v9:.2f})"
    return _resolved(ev, head, first, meaning, fields, "{:.3f}", stamp)


def _btc_liq(ev: AlertEvent, stamp: Stamp) -> AlertText:
    d = ev.data
    total = _num(d, "total_usd")
    if total is None:
        return _generic(ev, stamp)
    long_usd, short_usd = _num(d, "long_usd") or 0.0, _num(d, "short_usd") or 0.0
    side = "longs" if long_usd >= short_usd else "shorts"
    share = max(long_usd, short_usd) / (long_usd + short_usd) * 100 if long_usd + short_usd > 0 else 0.0
    start = d.get("start")
    span = (ev.ts + 60 - int(start)) if isinstance(start, int | float) else None
    over = ev.event == "resolved"
    dur = f" in {_minutes(span)}" if span and span > 0 else ""
    head = f"BTC {side} liquidated: {usd(total)}{dur}" if not over else f"BTC cascade: {usd(total)}{dur}"
    parts = [f"{side.capitalize()} {share:.0f}% ({usd(long_usd)} long / {usd(short_usd)} short)"]
    ch, p0, p1 = _num(d, "price_change"), _num(d, "price_start"), _num(d, "price_end")
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
        _num(d, "peak_window_usd"),
        _num(d, "multiple"),
        _num(d, "median_usd"),
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
        fields["Gaps"] = ", ".join(
            f"{str(k).capitalize()} down {_minutes(float(v))}" for k, v in gaps.items()
        )
    if isinstance(start, int | float):
        fields["Started"] = stamp(int(start))
    return _resolved(
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


def _ratecut(ev: AlertEvent, stamp: Stamp) -> AlertText:
    d = ev.data
    kind = ev.key.rsplit(".", 1)[-1]
    meeting = str(d.get("meeting") or ev.key.split(".", 1)[0])
    try:
        mname = f"{datetime.fromisoformat(meeting):%b %-d}"
    except ValueError:
        mname = meeting
    venues = d.get("venues") if isinstance(d.get("venues"), Mapping) else {}
    primary = str(d.get("primary") or "kalshi")
    p = _num(d, "p_cut")
    pc = f"{p * 100:.0f}%" if p is not None else "n/a"
    if kind == "swing":
        move = _num(d, "move") or 0.0
        win = _num(d, "window_s")
        within = f" in {_window(win)}" if win else ""
        ws = d.get("whipsaw")
        if isinstance(ws, list) and len(ws) >= 3:
            head = f"Fed cut odds whipsaw for {mname}: {ws[0] * 100:.0f}% → {ws[1] * 100:.0f}% → {ws[2] * 100:.0f}%"
        else:
            head = f"Fed cut odds for {mname} {'fell' if move < 0 else 'rose'} {abs(move) * 100:.0f} pp to {pc}{within}"
        meaning = (
            "A fast repricing of the next Fed move: rates, the dollar and equities usually move with it."
        )
    elif kind == "size":
        exp, was_bp, mv = _num(d, "expected_bp"), _num(d, "was_bp"), _num(d, "move_bp")
        since = _num(d, "since")
        span = ev.ts - since if since is not None else _num(d, "window_s")
        within = f" in {_window(span)}" if span and span > 0 else ""
        ws = d.get("whipsaw")
        if isinstance(ws, list) and len(ws) >= 3:
            head = (
                f"Fed path whipsaw for {mname}: expected move {ws[0]:+.0f} → {ws[1]:+.0f} → {ws[2]:+.0f} bp"
            )
        elif exp is not None and was_bp is not None:
            head = f"Fed repricing for {mname}: expected move {exp:+.0f} bp (was {was_bp:+.0f} bp){within}"
        else:
            head = f"Fed repricing for {mname}: expected move {mv or 0.0:+.0f} bp{within}"
        meaning = (
            "The market changed its mind about the size of the next Fed move: "
            "front-end rates, the dollar and equities usually reprice with it."
        )
    elif kind == "flip":
        side = "a cut" if (p or 0) >= 0.5 else "no cut"
        head = f"Market now expects {side} on {mname} (P(cut) {pc})"
        meaning = "The majority view of the decision changed sides: positioning for the meeting is repriced."
    elif kind == "divergence":
        gap = _num(d, "gap") or 0.0
        pair = " vs ".join(x.capitalize() for x in str(d.get("pair") or "").split(">") if x)
        head = f"{pair or 'Venues'} {gap * 100:.0f} pp apart on the {mname} cut"
        meaning = "The venues disagree: one of them is stale or a move has not spread yet; it rarely lasts."
    else:
        head = f"{key_name(ev.signal, ev.key)}: P(cut) {pc}"
        meaning = ""
    if ev.event == "resolved":
        what = {
            "swing": "Fed cut odds swing",
            "flip": "Majority flip",
            "divergence": "Venue gap",
            "size": "Fed repricing",
        }.get(kind, "Move")
        exp_now = _num(d, "expected_bp")
        now_text = (
            f"expected move {exp_now:+.0f} bp" if kind == "size" and exp_now is not None else f"P(cut) {pc}"
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
        size_bp, mult = _num(d, "size_bp"), _num(d, "multiple")
        if size_bp is not None and mult is not None and ev.event != "resolved":
            fields["Size"] = f"{mult:.1f}× the {size_bp:.1f} bp repricing size"
    return _resolved(
        ev, head, first, meaning, fields, None, stamp, peak_text=peaks.get(kind), no_peak=kind not in peaks
    )


def _buyback(ev: AlertEvent, stamp: Stamp) -> AlertText:
    d = ev.data
    share = _num(d, "share") if _num(d, "share") is not None else ev.value
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
    else:
        head = f"Buyback window closed: {pct(s, 1)} of companies in blackout"
        meaning = (
            "The largest net buyer of US stocks is mostly sidelined; markets often soften while it lasts."
        )
    parts = [f"Estimate from the earnings calendar{of}"]
    cap = _num(d, "share_cap")
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
    cov = _num(d, "coverage")
    if cov is not None and cov < 0.999:
        fields["Calendar coverage"] = f"{pct(cov * 100)} of the universe has a known date"
    return _resolved(ev, head, first, meaning, fields, None, stamp, peak_text=lambda pk: pct(pk, 1))


def _resolved(
    ev: AlertEvent,
    head: str,
    first: str,
    meaning: str,
    fields: dict[str, str],
    peak_format: str | None,
    stamp: Stamp,
    peak_text: Callable[[float], str] | None = None,
    *,
    no_peak: bool = False,
    duration_shown: bool = False,
) -> AlertText:
    """The common tail: resolve messages state duration and peak (one duration per message)."""
    first = first or ev.summary  # an event without the signal's figures still says what it is
    if ev.event == "resolved":
        bits = []
        if ev.duration_s and not duration_shown:
            bits.append(f"over after {human_duration(ev.duration_s)}")
        if ev.peak is not None and not no_peak:
            shown = peak_text(ev.peak) if peak_text else (peak_format or "{:.3f}").format(ev.peak)
            peak_level = ev.data.get("peak_level") or ev.prev_level or "alert"
            bits.append(f"peak {shown} ({level_word(str(peak_level))})")
        if bits:
            first = (bits[0][0].upper() + "; ".join(bits)[1:] + ". " + first).strip()
        meaning = ""
    return AlertText(
        title=_clip(f"{_lead(ev)}: {head}", 256),
        first_line=_clip(first, FIRST_LINE_MAX),
        meaning=meaning,
        fields=fields,
        pending=_pending(ev),
    )


def _generic(ev: AlertEvent, stamp: Stamp) -> AlertText:
    sig = registry().get(ev.signal)
    name = sig.title if sig else ev.signal
    value = "" if ev.value is None else f" {(value_format_of(sig) if sig else '{:.3f}').format(ev.value)}"
    head = f"{name} · {key_name(ev.signal, ev.key)}{value}"
    return _resolved(ev, head, ev.summary, "", dict(ev.fields), None, stamp)


PRESENTERS: dict[str, Callable[[AlertEvent, Stamp], AlertText]] = {
    "vix_term": _vix_term,
    "btc_liq": _btc_liq,
    "ratecut": _ratecut,
    "buyback": _buyback,
}


def present(ev: AlertEvent, stamp: Stamp) -> AlertText:
    """The message of one market alert event (``kind='alert'``)."""
    fn = PRESENTERS.get(ev.signal, _generic)
    try:
        return fn(ev, stamp)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):  # odd data: never lose the alert
        return _generic(ev, stamp)


def utc_stamp(ts: int) -> str:
    return f"{from_epoch(ts):%Y-%m-%d %H:%M} UTC"


def _ordinal(p: float) -> str:
    n = round(p)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def chart_title(ev: AlertEvent) -> str:
    """An alert chart's title: the alert's own headline and its date (UTC)."""
    return _clip(f"{present(ev, utc_stamp).title} · {from_epoch(ev.ts):%Y-%m-%d}", 110)


def alert_chart(data: ChartData, alert: AlertEvent) -> ChartData:
    """A signal's chart data made the alert's own: titled with the alert, focused on its key."""
    return data.titled(chart_title(alert), focus_key=alert.key)
