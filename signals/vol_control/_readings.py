"""vol_control's readings: one per key at each S&P 500 close, the value the key's percentile.

The value is the score the levels are graded on (the percentile, 0-100, of the share of their
equity the modelled funds still have to sell, or to buy back, in its trailing window), so
``grade(key, value)`` gives the reading's level. The dollar figures are in ``fields``, ``data``
and the texts, each with the assumptions behind it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from signals import _spx
from signals._levels import pct_text, usd_text
from signals.base import Level, Params, Reading, Threshold
from signals.vol_control._model import Model, assumptions, frame, levels
from signals.vol_control._vocab import KEY_LEVELS, KEYS, SHARE, SIGNAL_ID, entry_lines, level_rules, model_of
from storage.observations import Inputs

#: columns of the model frame a reading carries in ``data``
_DATA = (
    "close",
    "vol_short",
    "vol_long",
    "vol",
    "target",
    "exposure",
    "pending",
    "pending_usd",
    "next_days_usd",
    "flow_usd",
    "sell_share",
    "buy_share",
)


def model_frames(inputs: Inputs, p: Params) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The model over every stored close, and its levels per key."""
    close = _spx.closes(inputs)
    if len(close) < 2:
        return pd.DataFrame(), {}
    f = frame(close, model_of(p))
    return f, levels(f, level_rules(p))


def readings(inputs: Inputs, p: Params, tail: int | None = None) -> list[Reading]:
    """Readings of both keys at every close with a score (the last ``tail`` closes only)."""
    f, lv = model_frames(inputs, p)
    if f.empty:
        return []
    m = model_of(p)
    times = _spx.close_times(pd.DatetimeIndex(f.index))
    start = 0 if tail is None else max(0, len(f) - tail)
    stamps = [None] * start + list(times[start:].to_pydatetime())
    assume = assumptions(m)
    cols = {c: f[c].to_numpy(dtype=float) for c in _DATA}
    binding = f["binding"].to_numpy()
    out: list[Reading] = []
    per_key = {}
    for key in KEYS:
        # an immaterial share (a few hundred million of a $300bn pool) gets no level, whatever its rank
        small = cols[SHARE[key]] < p["min_share"]
        level = np.where(small, 0, lv[key]["level"].to_numpy())
        hold = np.where(small, 0, lv[key]["hold"].to_numpy())
        per_key[key] = (lv[key]["score"].to_numpy(dtype=float), level, hold)
    for i in range(start, len(f)):
        row: dict[str, Any] | None = None
        for key, (score, level, hold) in per_key.items():
            if not np.isfinite(score[i]):
                continue
            if row is None:  # the figures of the close, built once for its keys
                row = {c: float(cols[c][i]) for c in _DATA}
                row["binding"] = str(binding[i])
                row["_assumptions"] = assume
            out.append(reading(key, stamps[i], float(score[i]), int(level[i]), int(hold[i]), row, m, p))
    out.sort(key=lambda r: (r.ts, r.key))
    return out


def reading(
    key: str, ts: Any, score: float, level: int, hold: int, row: dict[str, Any], m: Model, p: Params
) -> Reading:
    lvl = Level(level)
    nxt = None
    if lvl < KEY_LEVELS[key][-1]:
        enters = entry_lines(key, p)
        nxt = next(
            (Threshold(lv, enters[lv.label]) for lv in KEY_LEVELS[key] if lv > lvl and lv.label in enters),
            None,
        )
    assume = str(row.get("_assumptions") or assumptions(m))
    data = {c: row[c] for c in _DATA} | {
        "binding": row["binding"],
        "percentile": score,
        "horizon_days": m.horizon_days,
        "aum_usd": m.aum_usd,
        "target_vol": m.target_vol,
        "assumptions": assume,
    }
    return Reading(
        signal=SIGNAL_ID,
        key=key,
        ts=ts,
        value=score,
        level=lvl,
        hold=Level(hold),
        summary=summary(key, row, score, m),
        source=_spx.SOURCE,
        confirm=int(p["confirm"]),
        fields=fields(key, row, score, m, p),
        data=data,
        next_threshold=nxt,
        unit=" pctl",
        headline=headline(key, row, score, m),
    )


def _window(row: dict[str, Any]) -> str:
    return "1-month" if row["binding"] == "short" else "3-month"


def summary(key: str, row: dict[str, Any], score: float, m: Model) -> str:
    """The one-line text: the estimate, its rank, the exposure and the assumptions."""
    move = (
        f"exposure {row['exposure']:.0%} → target {row['target']:.0%} "
        f"({_window(row)} volatility {row['vol']:.1%})"
    )
    rank = f"{pct_text(score)} of its history"
    if key == "selling":
        if row["pending"] < 0:
            what = (
                f"Vol-control funds: about {usd_text(-row['next_days_usd'])} to sell over the next "
                f"{m.horizon_days} sessions ({usd_text(-row['pending_usd'])} in all, "
                f"{row['sell_share']:.0%} of their equity), {rank}"
            )
        else:
            what = f"Vol-control funds: nothing left to sell ({rank})"
    elif row["pending"] > 0:
        what = (
            f"Vol-control funds: about {usd_text(row['next_days_usd'])} to buy back over the next "
            f"{m.horizon_days} sessions ({usd_text(row['pending_usd'])} in all, "
            f"{row['buy_share']:.0%} more equity), {rank}"
        )
    else:
        what = f"Vol-control funds: nothing to buy back ({rank})"
    text = str(row.get("_assumptions") or assumptions(m))
    return f"{what}; {move}. {text[:1].upper()}{text[1:]}."


def headline(key: str, row: dict[str, Any], score: float, m: Model) -> str:
    """The short form for ``/status`` and the daily summary."""
    expo = f"exposure {row['exposure']:.0%} → {row['target']:.0%}"
    if key == "selling" and row["pending"] < 0:
        return (
            f"≈{usd_text(-row['next_days_usd'])} to sell in {m.horizon_days} sessions, "
            f"{pct_text(score)}; {expo} (estimate)"
        )
    if key == "buying" and row["pending"] > 0:
        return (
            f"≈{usd_text(row['next_days_usd'])} to buy back in {m.horizon_days} sessions, "
            f"{pct_text(score)}; {expo} (estimate)"
        )
    return f"nothing to {'sell' if key == 'selling' else 'buy back'}; {expo} (estimate)"


def fields(key: str, row: dict[str, Any], score: float, m: Model, p: Params) -> dict[str, str]:
    side = "sell" if key == "selling" else "buy back"
    pending = -row["pending_usd"] if key == "selling" else row["pending_usd"]
    nxt = -row["next_days_usd"] if key == "selling" else row["next_days_usd"]
    share = row["sell_share"] if key == "selling" else row["buy_share"]
    return {
        f"Still to {side}": usd_text(pending) if pending > 0 else "nothing",
        f"Next {m.horizon_days} sessions": usd_text(nxt) if nxt > 0 else "nothing",
        "Share of their equity": f"{share:.0%}",
        "Exposure → target": f"{row['exposure']:.0%} → {row['target']:.0%}",
        "Realized volatility": (
            f"1-month {row['vol_short']:.1%}, 3-month {row['vol_long']:.1%} ({_window(row)} binds)"
        ),
        "Today's estimated flow": usd_text(row["flow_usd"]),
        "Percentile": f"{score:.1f} ({p['window_years']:g}-year window)",
        "Assumptions": str(row.get("_assumptions") or assumptions(m)),
    }
