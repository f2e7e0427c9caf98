"""What a size reading says, its chart series, and the size reading of a grid point."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np

from signals import fomc
from signals.base import Level, Params, Reading, Threshold
from signals.ratecut._detect import _Calc
from signals.ratecut._size import SizeVenue, load_size, window_start
from signals.ratecut._size_detect import SizeCalc
from signals.ratecut._vocab import (
    CROSS_CHECK,
    SIGNAL_ID,
    SOURCE_NAMES,
    VENUE_NAMES,
    VenueLine,
    confirm_of,
    size_ladder,
)
from storage.observations import Inputs


def _size_pct(x: float) -> str:
    return "n/a" if x != x else f"{round(x * 100):d}%"


def _bp(x: float) -> str:
    v = round(x)
    return f"{'−' if v < 0 else '+' if v > 0 else ''}{abs(v)} bp"


def _span(seconds: float) -> str:
    h = seconds / 3600
    if h < 36:
        return f"{h:.0f} h" if h >= 1 else f"{seconds / 60:.0f} min"
    return f"{h / 24:.0f} days"


def describe_size(
    calc: SizeCalc,
    i: int,
    meeting: fomc.Meeting,
    p: Params,
    names: Mapping[str, str],
    cross: Mapping[str, str],
) -> dict[str, Any]:
    """What a size reading says at grid point ``i``: its value, text, checks, fields and data."""
    k = int(calc.primary[i])
    name = calc.order[k]
    v = calc.venues[name]
    j = int(calc.idx[name][i])
    mult, mv, size = float(calc.mult[i]), float(calc.move[i]), float(calc.size[i])
    s = window_start(v, j, int(calc.win[i]), mv)
    now_v, then_v = float(v.path[j]), float(v.path[s])
    d = meeting.decision_date
    short = f"{d:%b} {d.day}"
    what = "expected move" if not v.on_path or is_next(meeting, int(v.ts[j])) else "expected path to it"
    parts = []
    if v.buckets and s != j:
        moves = {
            b: float(arr[j] - arr[s])
            for b, arr in v.buckets.items()
            if np.isfinite(arr[j]) and np.isfinite(arr[s])
        }
        if moves:
            # the bucket whose odds moved most; between near-equal ones, the larger move
            b = max(moves, key=lambda x: (round(abs(moves[x]) * 50), abs(x.move)))
            was_pct, now_pct = _size_pct(float(v.buckets[b][s])), _size_pct(float(v.buckets[b][j]))
            if was_pct != now_pct:  # "0 % → 0 %" names a size that did not move as shown
                parts.append(f"odds of {b.label} {was_pct} → {now_pct}")
    head = f"{short}: " + (", ".join(parts) + f" in {_span(int(v.ts[j]) - int(v.ts[s]))}; " if parts else "")
    text = f"{head}{what} {_bp(now_v)} (was {_bp(then_v)})"
    wh = calc.whip[i]
    value = mult
    if np.isfinite(wh[0]):  # a whipsaw: its whole travel counts, as the swing's does
        value = max(mult, (abs(wh[1] - wh[0]) + abs(wh[2] - wh[1])) / size)
        days = (int(v.ts[j]) - wh[3]) / 86400
        text = (
            f"{short}: WHIPSAW of the {what}: {_bp(wh[0])} → {_bp(wh[1])} → {_bp(wh[2])} within {days:.1f} days "
            f"({_bp(wh[1] - wh[0])} then {_bp(wh[2] - wh[1])}); " + text[len(short) + 2 :]
        )
    if v.rate is not None and np.isfinite(v.rate[j]) and np.isfinite(v.rate[s]):
        text += f", expected rate after it {v.rate[j]:.2f}% (was {v.rate[s]:.2f}%)"
    text += f" on {names[name]}"
    if mult > 0:
        text += f" ({mult:.1f}× the {size:.1f} bp repricing size"
        if np.isfinite(calc.baseline[i]):
            text += f"; median change {calc.baseline[i]:.1f} bp"
        text += ")"
    check = ""
    if not np.isnan(calc.other_move[i]) and mult > 0:
        check = f"; {names[cross[name]]} {'−' if mv < 0 else '+'}{calc.other_move[i]:.0f} bp the same way"
        if not calc.confirmed[i]:
            check += " (not confirmed: held at watch)"
    if calc.echoed[i] and mult >= p["size_watch"]:
        prev = fomc.previous(meeting)
        near = f"{prev.decision_date:%b} {prev.decision_date.day}" if prev else "the nearer"
        check += (
            f"; the {near} meeting moved {calc.echo[i]:.0f} bp the same way: its repricing, held at watch"
        )
    if np.isfinite(calc.residual[i]) and int(calc.level[i]) == int(Level.WATCH) and mult >= 1:
        check += (
            f"; the swing of P(cut) explains this repricing (the odds of the cut sizes alone account for "
            f"{_bp(calc.residual[i])} of it): held at watch"
        )
    label = "Expected move" if not v.on_path else "Expected path"
    span = _size_hours(int(calc.win[i]))
    return {
        "venue": name,
        "value": value,
        "text": text,
        "check": check,
        "fields": {
            label: f"{now_v:+.1f} bp on {names[name]} (was {then_v:+.1f} bp)",
            "Move": f"{mv:+.1f} bp within {span} ({mult:.2f}× the {size:.1f} bp size)",
        },
        "data": {
            "size_venue": name,
            "multiple": mult,
            "move_bp": mv,
            "expected_bp": now_v,
            "was_bp": then_v,
            "since": int(v.ts[s]),
            "window_s": int(calc.win[i]),
            "size_bp": size,
            "baseline_bp": None if not np.isfinite(calc.baseline[i]) else float(calc.baseline[i]),
            "confirmed": bool(calc.confirmed[i]),
            "echo": bool(calc.echoed[i]),
            # held at watch: the swing of P(cut) tells this repricing
            "told_by_swing": bool(
                np.isfinite(calc.residual[i]) and abs(calc.residual[i]) < calc.size[i] - 1e-9
            ),
            "whipsaw": None if not np.isfinite(wh[0]) else [float(x) for x in wh],
            # the number is the cumulative path through this meeting, not its own move
            "path": what != "expected move",
        },
    }


def size_chart_series(
    inputs: Inputs,
    meeting: fomc.Meeting,
    p: Params,
    wins: list[tuple[int, float]],
    order: tuple[str, ...],
    names: Mapping[str, str],
    t_start: int,
    t_end: int,
) -> tuple[list[VenueLine], SizeVenue | None]:
    """Each venue's expected path (bp) in ``[t_start, t_end]`` for the chart's size panel, and
    the first venue that has one (the size marks sit on it)."""
    out: list[VenueLine] = []
    first = None
    for name in order:
        v = load_size(inputs, name, meeting, p, wins)
        if v is None:
            continue
        sel = (v.ts <= t_end) & (v.ts >= t_start)
        if not sel.any():
            continue
        x = v.ts[sel].astype("datetime64[s]").astype("datetime64[ns]")
        out.append(VenueLine(name, names[name], x, v.path[sel]))
        first = first or v
    return out, first


def _size_hours(seconds: int) -> str:
    h = seconds / 3600
    return f"{h:g} h" if h < 48 or h % 24 else f"{h / 24:g} d"


def is_next(meeting: fomc.Meeting, ts: int) -> bool:
    """Whether ``meeting`` is the first one still open at ``ts`` (its path is its own move)."""
    nxt = fomc.meeting_after(datetime.fromtimestamp(ts, UTC))
    return nxt is not None and nxt.id == meeting.id


def size_reading(
    calc: _Calc,
    i: int,
    p: Params,
    ts: datetime,
    lead: str,
    base_data: dict[str, Any],
    fields: dict[str, str],
) -> list[Reading]:
    """The size key at grid point ``i`` (nothing when no venue publishes sizes)."""
    sc = calc.size
    if sc is None:
        return []
    m = calc.meeting
    k = int(sc.primary[i])
    if k < 0:
        summary = f"{lead}: no fresh expected move to measure a repricing on"
        return [
            Reading(
                SIGNAL_ID,
                f"{m.id}.size",
                ts,
                0.0,
                Level.OK,
                Level.OK,
                summary,
                "none",
                data=base_data,
                unit="×",
            )
        ]
    d = describe_size(sc, i, m, p, VENUE_NAMES, CROSS_CHECK)
    venue = d["venue"]
    src = SOURCE_NAMES.get(sc.venues[venue].source, sc.venues[venue].source)
    lvl = Level(int(sc.level[i]))
    nxt = next(
        (Threshold(Level(j + 1), t_) for j, t_ in enumerate(size_ladder(p)) if Level(j + 1) > lvl),
        None,
    )
    return [
        Reading(
            signal=SIGNAL_ID,
            key=f"{m.id}.size",
            ts=ts,
            value=d["value"],
            level=lvl,
            hold=max(Level(int(sc.hold[i])), lvl),
            summary=f"{lead}: {d['text']}{d['check']}. Source {src}, as of {ts:%Y-%m-%d %H:%M} UTC",
            source=src,
            confirm=confirm_of(venue, p),
            fields={**fields, **d["fields"], "Source": src},
            data={**base_data, **d["data"], "ladder": [float(x) for x in size_ladder(p)]},
            next_threshold=nxt,
            unit="×",
            headline=d["text"],
        )
    ]
