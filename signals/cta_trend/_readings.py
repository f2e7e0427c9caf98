"""cta_trend's readings: one per key at each S&P 500 close.

``selling`` / ``buying``: the value is the percentile (0-100) of the position's fall (rise) over
``flow_days`` sessions in its trailing window; ``trigger``: the distance from the close to the net
flip level in daily moves (standard deviations), a heads-up when it is within ``near``. The value
is what the level is graded on, so ``grade(key, value)`` gives the reading's level.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from signals import _spx
from signals._levels import pct_text, usd_text
from signals.base import Level, Params, Reading, Threshold
from signals.cta_trend._model import NAMES, Model, assumptions, frame, levels, scenarios
from signals.cta_trend._vocab import (
    CHANGE,
    FAR,
    KEY_LEVELS,
    KEYS,
    SIGNAL_ID,
    entry_lines,
    level_rules,
    model_of,
)
from storage.observations import Inputs

MOVES = (-2, -1, 0, 1)
_DATA = ("close", "vol", "scale", "position", "sell", "buy", "sell_usd", "buy_usd", "flow_usd")


def model_frames(
    inputs: Inputs, p: Params, tail: int | None = None
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The replication over every stored close, its levels per key, and the scenario flows (of
    the last ``tail`` closes only when given: each needs a year and a volatility window before it,
    not the whole history)."""
    close = _spx.closes(inputs)
    if len(close) < 2:
        return pd.DataFrame(), {}
    m = model_of(p)
    f = frame(close, m)
    warm = max(m.lookbacks) + m.vol_days + 10
    part = close if tail is None else close.iloc[-(tail + warm) :]
    f = f.join(scenarios(part, m, MOVES))
    return f, levels(f, level_rules(p))


def readings(inputs: Inputs, p: Params, tail: int | None = None) -> list[Reading]:
    f, lv = model_frames(inputs, p, tail)
    if f.empty:
        return []
    m = model_of(p)
    times = _spx.close_times(pd.DatetimeIndex(f.index))
    start = 0 if tail is None else max(0, len(f) - tail)
    stamps = [None] * start + list(times[start:].to_pydatetime())
    cols = {c: f[c].to_numpy(dtype=float) for c in f.columns if f[c].dtype.kind in "fiu"}
    out: list[Reading] = []
    position = cols["position"]
    common: dict[str, Any] = {}
    per_key = {}
    for key in KEYS:
        level = lv[key]["level"].to_numpy()
        hold = lv[key]["hold"].to_numpy()
        if key in CHANGE:
            # an immaterial move (a point or two of a full position) gets no level, whatever its rank
            small = ~(cols[CHANGE[key]] * 100.0 >= p["min_points"])
            level, hold = np.where(small, 0, level), np.where(small, 0, hold)
        per_key[key] = (lv[key]["score"].to_numpy(dtype=float), level, hold)
    for i in range(start, len(f)):
        if not np.isfinite(position[i]):
            continue
        row: dict[str, Any] | None = None
        shared: dict[str, str] = {}
        for key, (score, level, hold) in per_key.items():
            if key == "trigger":
                value = float(-score[i]) if np.isfinite(score[i]) else FAR
            elif np.isfinite(score[i]):
                value = float(score[i])
            else:
                continue
            if row is None:  # the figures of the close, built once for its keys
                row = {c: float(v[i]) for c, v in cols.items()}
                shared = fields(row, m)
                common = common_data(row, m)
            out.append(
                reading(key, stamps[i], value, int(level[i]), int(hold[i]), row, m, p, dict(shared), common)
            )
    out.sort(key=lambda r: (r.ts, r.key))
    return out


def _triggers(row: dict[str, Any], m: Model) -> list[tuple[str, float, float]]:
    """(name, level, % from the close) of each component's trigger (kept on the row once built)."""
    if "_triggers" in row:
        return list(row["_triggers"])
    out = []
    for n in m.lookbacks:
        lvl = row.get(f"trigger_{n}", float("nan"))
        if np.isfinite(lvl):
            out.append((NAMES.get(n, f"{n}-session"), lvl, (lvl / row["close"] - 1.0) * 100.0))
    row["_triggers"] = tuple(out)
    return out


def _assumptions(row: dict[str, Any], m: Model) -> str:
    if "_assumptions" not in row:
        row["_assumptions"] = assumptions(m)
    return str(row["_assumptions"])


def _num(x: float) -> float | None:
    """A figure for ``data``: None for a missing number, never NaN (JSON-safe)."""
    return x if np.isfinite(x) else None


def common_data(row: dict[str, Any], m: Model) -> dict[str, Any]:
    """The figures of a close every key's reading carries in ``data``."""
    flip = _num(row["flip_level"])
    return {c: _num(row[c]) for c in _DATA} | {
        "flow_days": m.flow_days,
        "full_usd": m.full_usd,
        "flip_level": flip,
        "flip_pct": _num(row["flip_pct"]) if flip is not None else None,
        "flip_sigma": _num(row["flip_sigma"]) if flip is not None else None,
        "nearest": int(row["nearest"]) if np.isfinite(row["nearest"]) else 0,
        "nearest_level": _num(row["nearest_level"]),
        "nearest_pct": _num(row["nearest_pct"]),
        "triggers": {name: lv for name, lv, _pct in _triggers(row, m)},
        "scenarios": {f"{k:+g}": _num(row.get(f"flow_usd_{k:+g}", float("nan"))) for k in MOVES},
        "assumptions": _assumptions(row, m),
    }


def reading(
    key: str,
    ts: Any,
    value: float,
    level: int,
    hold: int,
    row: dict[str, Any],
    m: Model,
    p: Params,
    shared: dict[str, str] | None = None,
    common: dict[str, Any] | None = None,
) -> Reading:
    lvl = Level(level)
    nxt = None
    if key != "trigger" and lvl < KEY_LEVELS[key][-1]:
        enters = entry_lines(key, p)
        nxt = next(
            (Threshold(lv, enters[lv.label]) for lv in KEY_LEVELS[key] if lv > lvl and lv.label in enters),
            None,
        )
    data: dict[str, Any] = dict(common if common is not None else common_data(row, m))
    data["value"] = value
    if key != "trigger":
        data["percentile"] = value
    return Reading(
        signal=SIGNAL_ID,
        key=key,
        ts=ts,
        value=value,
        level=lvl,
        hold=Level(hold),
        summary=summary(key, row, value, m),
        source=_spx.SOURCE,
        confirm=int(p["confirm"]),
        fields=shared if shared is not None else fields(row, m),
        data=data,
        next_threshold=nxt,
        unit=" daily moves" if key == "trigger" else " pctl",
        headline=headline(key, row, value, m),
    )


def _position(row: dict[str, Any]) -> str:
    side = "long" if row["position"] >= 0 else "short"
    return f"position {row['position']:+.0%} ({side})"


def _flip_text(row: dict[str, Any]) -> str:
    if not np.isfinite(row["flip_level"]):
        return "no flip of the net position within 25%"
    below = row["position"] >= 0
    return (
        f"net {'short below' if below else 'long above'} {row['flip_level']:,.0f} "
        f"({row['flip_pct']:+.1f}%, {row['flip_sigma']:.1f} daily moves)"
    )


def summary(key: str, row: dict[str, Any], value: float, m: Model) -> str:
    change = row["buy"] - row["sell"]
    what = (
        f"CTAs (estimate): {_position(row)}, {change * 100:+.0f} points in {m.flow_days} sessions "
        f"({usd_text(change * m.full_usd)})"
    )
    rank = f", {pct_text(value)} of its history" if key != "trigger" else ""
    trig = _triggers(row, m)
    nearest = min(trig, key=lambda t: abs(t[2])) if trig else None
    near = f"; nearest trigger: {nearest[0]} at {nearest[1]:,.0f} ({nearest[2]:+.1f}%)" if nearest else ""
    text = _assumptions(row, m)
    return f"{what}{rank}; {_flip_text(row)}{near}. {text[:1].upper()}{text[1:]}."


def headline(key: str, row: dict[str, Any], value: float, m: Model) -> str:
    change = row["buy"] - row["sell"]
    if key == "trigger":
        return f"{_flip_text(row)}; {_position(row)} (estimate)"
    return (
        f"{_position(row)}, {change * 100:+.0f} pts in {m.flow_days} sessions "
        f"({usd_text(change * m.full_usd)}), {pct_text(value)} (estimate)"
    )


def fields(row: dict[str, Any], m: Model) -> dict[str, str]:
    change = row["buy"] - row["sell"]
    out = {
        "Position": f"{row['position']:+.0%} of a full position",
        f"{m.flow_days}-session change": f"{change * 100:+.0f} points ({usd_text(change * m.full_usd)})",
        "Net flip level": _flip_text(row),
        "Triggers": "; ".join(f"{n} {lvl:,.0f} ({pc:+.1f}%)" for n, lvl, pc in _triggers(row, m)) or "n/a",
        "If tomorrow moves": ", ".join(
            f"{k:+d}σ: {usd_text(v)}"
            for k in MOVES
            if (v := row.get(f"flow_usd_{k:+g}")) is not None and np.isfinite(v)
        )
        or "n/a",
        "Volatility": f"{row['vol']:.1%} (size scaled to {row['scale']:.0%})",
        "Assumptions": _assumptions(row, m),
    }
    return out
