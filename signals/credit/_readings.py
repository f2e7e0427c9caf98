"""credit's readings: ``hy`` when FRED has the day's spread (the next morning), ``curve`` when it
has the day's yields (the next business day); and the stale rule."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from signals._levels import pct_text
from signals.base import Level, Params, Reading, Threshold
from signals.credit._model import (
    CURVE_DAYS,
    HY_HORIZONS,
    curve_frame,
    curve_levels,
    curve_summary,
    hy_frame,
    hy_levels,
    hy_summary,
)
from signals.credit._vocab import (
    CURVE_OUT,
    GRACE,
    HY_OUT,
    SIGNAL_ID,
    due_after,
    enters,
    model_rules,
    out_times,
)
from storage.observations import Inputs
from storage.series import FRED_DGS2, FRED_DGS10, FRED_HY_OAS

HY_SOURCE = "FRED BAMLH0A0HYM2 (ICE BofA US High Yield OAS)"
CURVE_SOURCE = "FRED DGS10, DGS2 (Treasury yields)"
LEVELS = (Level.WATCH, Level.ALERT, Level.SEVERE)


def _rows(f: pd.DataFrame) -> tuple[dict[str, np.ndarray], list[str]]:
    """The frame's columns as arrays and its dates as text (a row by position without pandas'
    per-row cost: the history is 7,000 sessions)."""
    return {c: f[c].to_numpy() for c in f.columns}, list(pd.DatetimeIndex(f.index).strftime("%Y-%m-%d"))


def _next(level: int, thresholds: list[float]) -> Threshold | None:
    return next(
        (Threshold(lv, thresholds[i]) for i, lv in enumerate(LEVELS[: len(thresholds)]) if lv > Level(level)),
        None,
    )


def hy_readings(inputs: Inputs, params: Params) -> list[Reading]:
    oas = inputs.series(FRED_HY_OAS)
    if oas.empty:
        return []
    ru = model_rules(params)
    f = hy_frame(oas, ru)
    lv = hy_levels(f, ru)
    stamps = out_times(pd.DatetimeIndex(f.index), HY_OUT)
    score = lv["score"].to_numpy(dtype=float)
    horizon, level, hold = (lv[c].to_numpy(dtype=np.int64) for c in ("horizon", "level", "hold"))
    thr, confirm = enters(params, "hy"), int(params["confirm"])
    out = []
    cols, days = _rows(f)
    for i in np.flatnonzero(np.isfinite(score)).tolist():
        row = {c: v[i] for c, v in cols.items()}
        s, h = float(score[i]), int(horizon[i]) if int(horizon[i]) in HY_HORIZONS else HY_HORIZONS[-1]
        day = days[i]
        oas_bp, chg = float(row["oas_bp"]), float(row[f"chg_{h}d_bp"])
        lvl_pct = float(row["level_pct"])
        fields = {
            "High-yield OAS": f"{oas_bp:.0f} bp (ICE BofA US High Yield, {day})",
            "Widening": f"{chg:+.0f} bp in {h} sessions, {pct_text(s)} of its history",
        }
        for hh in HY_HORIZONS:
            c = float(row[f"chg_{hh}d_bp"])
            if np.isfinite(c):
                fields[f"{hh}-session change"] = f"{c:+.0f} bp"
        if np.isfinite(lvl_pct):
            fields["Level"] = f"{pct_text(lvl_pct)} of its history"
        out.append(
            Reading(
                signal=SIGNAL_ID,
                key="hy",
                ts=stamps[i].to_pydatetime(),
                value=s,
                level=Level(int(level[i])),
                hold=Level(int(hold[i])),
                summary=hy_summary(row, s, h),  # type: ignore[arg-type]
                source=HY_SOURCE,
                confirm=confirm,
                fields=fields,
                data={
                    "score": s,
                    "date": day,
                    "oas_bp": round(oas_bp, 1),
                    "horizon_sessions": h,
                    "change_bp": round(chg, 1) if np.isfinite(chg) else None,
                    **{f"chg_{hh}d_bp": _r(row[f"chg_{hh}d_bp"]) for hh in HY_HORIZONS},
                    "level_pct": _r(lvl_pct),
                },
                next_threshold=_next(int(level[i]), thr),
                unit="pctl",
                headline=f"HY OAS {oas_bp:.0f} bp, {chg:+.0f} bp in {h} sessions ({pct_text(s)}), {day}",
            )
        )
    return out


def curve_readings(inputs: Inputs, params: Params) -> list[Reading]:
    ten, two = inputs.series(FRED_DGS10), inputs.series(FRED_DGS2)
    if ten.empty or two.empty:
        return []
    ru = model_rules(params)
    f = curve_frame(ten, two)
    if f.empty:
        return []
    lv = curve_levels(f, ru)
    stamps = out_times(pd.DatetimeIndex(f.index), CURVE_OUT)
    score = lv["score"].to_numpy(dtype=float)
    level, hold = (lv[c].to_numpy(dtype=np.int64) for c in ("level", "hold"))
    thr, confirm = enters(params, "curve"), int(params["confirm"])
    out = []
    cols, days = _rows(f)
    for i in np.flatnonzero(np.isfinite(score)).tolist():
        row = {c: v[i] for c, v in cols.items()}
        s = float(score[i])
        day = days[i]
        spread, chg, inv = float(row["spread_bp"]), float(row["chg_bp"]), int(row["inverted_days"])
        fields = {
            "2s10s": f"{spread:+.0f} bp ({day})",
            "10-year": f"{float(row['dgs10']):.2f}%",
            "2-year": f"{float(row['dgs2']):.2f}%",
            "Steepening": f"{chg:+.0f} bp in {CURVE_DAYS} sessions, {pct_text(s)} of its history",
            "Sessions inverted": str(inv),
        }
        out.append(
            Reading(
                signal=SIGNAL_ID,
                key="curve",
                ts=stamps[i].to_pydatetime(),
                value=s,
                level=Level(int(level[i])),
                hold=Level(int(hold[i])),
                summary=curve_summary(row, s),  # type: ignore[arg-type]
                source=CURVE_SOURCE,
                confirm=confirm,
                fields=fields,
                data={
                    "score": s,
                    "date": day,
                    "spread_bp": round(spread, 1),
                    "change_bp": _r(chg),
                    "dgs10": float(row["dgs10"]),
                    "dgs2": float(row["dgs2"]),
                    "inverted_days": inv,
                },
                next_threshold=_next(int(level[i]), thr),
                unit="pctl",
                headline=f"2s10s {spread:+.0f} bp, {chg:+.0f} bp in {CURVE_DAYS} sessions ({pct_text(s)}), {day}",
            )
        )
    return out


def _r(x: object) -> float | None:
    v = float(x)  # type: ignore[arg-type]
    return round(v, 2) if np.isfinite(v) else None


def readings(inputs: Inputs, params: Params) -> list[Reading]:
    out = hy_readings(inputs, params) + curve_readings(inputs, params)
    out.sort(key=lambda r: (r.ts, r.key))
    return out


def stale_reason(reading: Reading, now: datetime) -> str | None:
    """Stale when the next business day's figure is a day overdue."""
    day = reading.data.get("date")
    if not isinstance(day, str):
        return None
    at, what = (HY_OUT, "high-yield spread") if reading.key == "hy" else (CURVE_OUT, "Treasury yields")
    due = due_after(day, at)
    if now < due + GRACE:
        return None
    return (
        f"FRED's latest {what} figure is of {day}; the next business day's was due {due:%Y-%m-%d %H:%M} UTC"
    )
