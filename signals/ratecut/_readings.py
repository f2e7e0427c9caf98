"""The readings of one grid point: swing, flip, divergence (and size), with their texts."""

from __future__ import annotations

from typing import Any

import numpy as np

from signals.base import Level, Params, Reading, Threshold
from signals.ratecut._closing import quiet_readings
from signals.ratecut._detect import _Calc
from signals.ratecut._size_text import is_next, size_reading
from signals.ratecut._vocab import (
    CROSS_CHECK,
    LAGS,
    SIGNAL_ID,
    SOURCE_NAMES,
    VENUE_NAMES,
    VENUES,
    confirm_of,
    hours,
    meeting_label,
    pct,
    pp,
    swing_ladder,
    swing_windows,
    utc,
)


def venue_view(calc: _Calc, i: int) -> dict[str, dict[str, Any]]:
    """Per venue: P(cut) now (fresh or not), its time, and 1 h / 1 d / 1 w ago."""
    t = int(calc.grid[i])
    out: dict[str, dict[str, Any]] = {}
    for name, v in calc.venues.items():
        j = int(calc.idx[name][i])
        if j < 0:
            continue
        if name == "fedwatch" and t - int(v.ts[j]) > 4 * 86400:
            continue
        row: dict[str, Any] = {
            "p": float(v.p[j]),
            "asof": int(v.ts[j]),
            "fresh": bool(calc.fresh[name][i]),
            "source": v.source,
        }
        for label, _lag, _tol in LAGS:
            x = calc.lags[name][label][i]
            row[label] = None if x != x else float(x)
        out[name] = row
    return out


def readings_at(calc: _Calc, i: int, p: Params, light: bool = False) -> list[Reading]:
    m = calc.meeting
    t = int(calc.grid[i])
    ts = utc(t)
    prim = VENUES[int(calc.primary[i])]
    if light:
        return quiet_readings(calc, i, p, ts, prim)
    view = venue_view(calc, i)
    pv = view[prim]
    lead = f"{meeting_label(m.id)}"
    src = SOURCE_NAMES.get(pv["source"], pv["source"])
    tail = f"Source {src}, as of {ts:%Y-%m-%d %H:%M} UTC"
    table = quote_table(view)
    last_quote = {name: row["asof"] for name, row in view.items()}
    base_data: dict[str, Any] = {
        "meeting": m.id,
        "statement": int(m.closes_utc.timestamp()),
        "primary": prim,
        "p_cut": calc.pnow[i],
        "venues": view,
        "last_quote": last_quote,
        "stale_s": int(p["stale_minutes"] * 60),
        "closed": False,
    }
    fields = {
        "Meeting": f"{m.label} (statement {m.statement_utc:%Y-%m-%d %H:%M} UTC)",
        **{
            VENUE_NAMES[n]: venue_field(row)
            for n, row in sorted(view.items(), key=lambda kv: VENUES.index(kv[0]))
        },
        "Source": src,
        "As of": f"{ts:%Y-%m-%d %H:%M} UTC",
    }
    windows = dict(swing_windows(p))

    # swing
    mult, mv, w = float(calc.mult[i]), float(calc.move[i]), int(calc.win[i])
    size = windows.get(w, p["swing_pp"] / 100)
    lvl = Level(int(calc.swing_level[i]))
    hold = Level(int(calc.swing_hold[i]))
    wh = calc.whip[i]
    value = mult
    if not np.isnan(wh[0]):
        value = max(mult, (abs(wh[1] - wh[0]) + abs(wh[2] - wh[1])) / (p["swing_pp"] / 100))
        a, b, c = wh[0], wh[1], wh[2]
        days = (t - wh[3]) / 86400
        what = (
            f"WHIPSAW: P(cut) {pct(a)} → {pct(b)} → {pct(c)} on {VENUE_NAMES[prim]} within "
            f"{days:.1f} days ({pp(b - a)} then {pp(c - b)})"
        )
    elif mult > 0:
        what = (
            f"P(cut) {pct(pv['p'])} on {VENUE_NAMES[prim]}, {pp(mv)} within {hours(w)} "
            f"({mult:.1f}× the {size * 100:.0f} pp swing size)"
        )
    else:
        what = f"P(cut) {pct(pv['p'])} on {VENUE_NAMES[prim]}, steady"
    check = ""
    if not np.isnan(calc.other_move[i]) and mult > 0:
        other = VENUE_NAMES[CROSS_CHECK[prim]]
        sign = 1 if mv >= 0 else -1
        check = f"; {other} {pp(sign * calc.other_move[i])}"
        if not calc.confirmed[i]:
            check += " (not confirmed: held at watch)"
    summary = f"{lead}: {what}{check}. P(cut) now vs 1 h / 1 d / 1 w ago: {table}. {tail}"
    nxt = next(
        (Threshold(Level(k + 1), t_) for k, t_ in enumerate(swing_ladder(p)) if Level(k + 1) > lvl),
        None,
    )
    side = int(calc.side[i])
    majority = "cut" if side > 0 else "no cut" if side < 0 else "undecided"
    lags = " / ".join(pct(pv[label]) for label, _, _ in LAGS)
    others = "".join(
        f"; {VENUE_NAMES[n]} {pct(view[n]['p'])}"
        + (f" on {utc(view[n]['asof']):%m-%d}" if n == "fedwatch" else "")
        for n in VENUES
        if n in view and n != prim
    )
    headline = f"P(cut) {pct(pv['p'])} on {VENUE_NAMES[prim]} (1 h / 1 d / 1 w ago: {lags}){others}; majority: {majority}"
    if calc.gap[i] > 0:
        headline += f"; venues {calc.gap[i] * 100:.0f} pp apart"
    if mult >= p["watch_ratio"]:
        headline += f"; {pp(mv)} within {hours(w)}"
    sc = calc.size
    if sc is not None and sc.primary[i] >= 0:
        sv = sc.venues[VENUES[int(sc.primary[i])]]
        what = "path" if sv.on_path and not is_next(m, t) else "move"
        headline += f"; expected {what} {float(sv.path[int(sc.idx[sv.name][i])]):+.0f} bp"
    swing = Reading(
        signal=SIGNAL_ID,
        key=f"{m.id}.swing",
        ts=ts,
        value=value,
        level=lvl,
        hold=max(hold, lvl),
        summary=summary,
        source=src,
        confirm=confirm_of(prim, p),
        fields={**fields, "Move": f"{pp(mv)} within {hours(w)} ({mult:.2f}× swing size)"},
        data={
            **base_data,
            "multiple": mult,
            "move": mv,
            "window_s": w,
            "whipsaw": None if np.isnan(wh[0]) else [float(x) for x in wh],
            "confirmed": bool(calc.confirmed[i]),
        },
        next_threshold=nxt,
        unit="×",
        headline=headline,
    )

    # flip
    x = float(calc.pnow[i])
    fl = Level(int(calc.flip_level[i]))
    lf = int(calc.last_flip[i])
    if fl > Level.OK:
        expects = "a cut" if side > 0 else "no cut"
        ago = (t - lf) / 3600
        when = f" {ago:.0f} h ago" if ago >= 1 else ""
        what = f"majority flipped{when}: the market now expects {expects} (P(cut) {pct(x)})"
        if fl == Level.SEVERE:
            what += f", flip {int(calc.flips[i])} within {p['flip_hours']:g} h of the one before"
    elif side:
        what = f"majority steady: P(cut) {pct(x)}, the market expects {'a cut' if side > 0 else 'no cut'}"
    else:
        what = f"no clear majority yet: P(cut) {pct(x)}"
    flip = Reading(
        signal=SIGNAL_ID,
        key=f"{m.id}.flip",
        ts=ts,
        value=float(calc.flips[i]),
        level=fl,
        hold=fl,
        summary=f"{lead}: {what} on {VENUE_NAMES[prim]}. P(cut) now vs 1 h / 1 d / 1 w ago: {table}. {tail}",
        source=src,
        confirm=1,
        fields={**fields, "Majority": majority},
        data={**base_data, "side": side, "last_flip": lf or None, "flips": int(calc.flips[i])},
        unit=" flips",
    )

    # divergence
    g = float(calc.gap[i])
    dl = Level(int(calc.div_level[i]))
    if g > 0:
        hi_v, lo_v = calc.gap_pair[i].split(">")
        lasted = (t - int(calc.gap_since[i])) / 60 if calc.gap_since[i] else 0
        what = (
            f"{VENUE_NAMES[hi_v]} {pct(view[hi_v]['p'])} vs {VENUE_NAMES[lo_v]} {pct(view[lo_v]['p'])}: "
            f"{g * 100:.0f} pp apart"
        )
        if calc.gap_since[i] and lasted >= 1:
            what += f" for {lasted:.0f} min"
        elif calc.gap_since[i]:
            what += " (just now)"
    else:
        fresh = [VENUE_NAMES[n] for n in VENUES if n in view and view[n]["fresh"]]
        what = f"only {', '.join(fresh) or 'one venue'} has a fresh quote; nothing to compare"
    div = Reading(
        signal=SIGNAL_ID,
        key=f"{m.id}.divergence",
        ts=ts,
        value=g * 100,
        level=dl,
        hold=Level(int(calc.div_hold[i])),
        summary=f"{lead}: {what}. P(cut) now vs 1 h / 1 d / 1 w ago: {table}. {tail}",
        source=src,
        confirm=1,
        fields={**fields, "Gap": f"{g * 100:.1f} pp"},
        data={
            **base_data,
            "gap": g,
            "pair": calc.gap_pair[i],
            "gap_for_s": t - int(calc.gap_since[i]) if calc.gap_since[i] else None,
        },
        next_threshold=None if dl >= Level.ALERT else Threshold(Level.ALERT, p["diverge_pp"]),
        unit="pp",
    )
    return [swing, flip, div, *size_reading(calc, i, p, ts, lead, base_data, fields)]


def quote_table(view: dict[str, dict[str, Any]]) -> str:
    parts = []
    for name in VENUES:
        row = view.get(name)
        if row is None:
            continue
        ago = " / ".join(pct(row[label]) for label, _, _ in LAGS)
        when = "" if name != "fedwatch" else f" on {utc(row['asof']):%m-%d}"
        stale = "" if row["fresh"] or name == "fedwatch" else " (stale)"
        parts.append(f"{VENUE_NAMES[name]} {pct(row['p'])}{when}{stale} ({ago})")
    return "; ".join(parts) if parts else "no quotes"


def venue_field(row: dict[str, Any]) -> str:
    ago = " · ".join(f"{label} ago {pct(row[label])}" for label, _, _ in LAGS)
    return f"{pct(row['p'])} (as of {utc(row['asof']):%m-%d %H:%M} UTC) · {ago}"
