"""net_liquidity's readings: one per key and H.4.1 release, stamped when the figures are out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from signals._levels import pct_text, usd_text
from signals.base import Level, Params, Reading, Threshold
from signals.net_liquidity._model import HORIZONS, KEYS, PARTS, frame, levels, summary
from signals.net_liquidity._vocab import (
    GRACE,
    SIGNAL_ID,
    enters,
    model_rules,
    release_of,
    release_times,
)
from storage.observations import Inputs
from storage.series import FRED_RRPONTSYD, FRED_WALCL, FRED_WTREGEN

SOURCE = "FRED H.4.1 (WALCL, WTREGEN) and RRPONTSYD"
#: short names of the parts, for headlines
SHORT = {"walcl": "WALCL", "tga": "WTREGEN", "rrp": "RRP"}
LEVELS = (Level.WATCH, Level.ALERT, Level.SEVERE)


def model_frames(inputs: Inputs, params: Params) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]] | None:
    """The model's weekly frame and each key's levels, or None without H.4.1 data."""
    walcl, tga = inputs.series(FRED_WALCL), inputs.series(FRED_WTREGEN)
    if walcl.empty or tga.empty:
        return None
    f = frame(walcl, tga, inputs.series(FRED_RRPONTSYD))
    return f, levels(f, model_rules(params))


def _iso(x: Any) -> str | None:
    return None if x is None or pd.isna(x) else pd.Timestamp(x).date().isoformat()


def _bn(millions: float) -> float | None:
    return None if not np.isfinite(millions) else round(float(millions) / 1e3, 1)


def readings(inputs: Inputs, params: Params) -> list[Reading]:
    got = model_frames(inputs, params)
    if got is None:
        return []
    f, lv = got
    stamps = release_times(pd.DatetimeIndex(f["release"]))
    confirm = int(params["confirm"])
    thr = enters(params)
    out: list[Reading] = []
    for key in KEYS:
        k = lv[key]
        score = k["score"].to_numpy(dtype=float)
        horizon, level, hold = (k[c].to_numpy(dtype=np.int64) for c in ("horizon", "level", "hold"))
        for i in np.flatnonzero(np.isfinite(score)).tolist():
            out.append(
                reading(
                    key,
                    f.iloc[i],
                    float(score[i]),
                    int(horizon[i]),
                    int(level[i]),
                    int(hold[i]),
                    stamps[i].to_pydatetime(),
                    thr,
                    confirm,
                )
            )
    out.sort(key=lambda r: (r.ts, r.key))
    return out


def reading(
    key: str,
    row: pd.Series,
    score: float,
    horizon: int,
    level: int,
    hold: int,
    ts: datetime,
    thresholds: list[float],
    confirm: int,
) -> Reading:
    h = horizon if horizon in HORIZONS else HORIZONS[-1]
    chg, pct = float(row[f"chg_{h}w"]), float(row[f"pct_{h}w"])
    driver = str(row[f"driver_{h}w"] or "")
    parts = {name: float(row[f"{name}_{h}w"]) for name in PARTS}
    wed, release, rrp_day = _iso(row.name), _iso(row["release"]), _iso(row["rrp_date"])
    weeks = f"{h} week{'s' if h != 1 else ''}"
    figures = f"H.4.1 of {release} (Wednesday {wed} levels)" + (
        f", RRPONTSYD of {rrp_day}" if rrp_day else ", no reverse repo operation"
    )
    fields = {
        "Net liquidity": usd_text(float(row["net"]) * 1e6),
        "Change": f"{usd_text(chg * 1e6)} in {weeks} ({pct:+.1f}%)",
        "Percentile": f"{pct_text(score)} of its history",
        "Parts of the change": " · ".join(
            f"{PARTS[n]} {usd_text(v * 1e6)}" for n, v in parts.items() if np.isfinite(v)
        ),
        "Biggest part": PARTS[driver] if driver else "none (no change)",
        "Figures": figures,
    }
    for hh in HORIZONS:
        c = float(row[f"chg_{hh}w"])
        if np.isfinite(c):
            fields[f"{hh}-week change"] = f"{usd_text(c * 1e6)} ({float(row[f'pct_{hh}w']):+.1f}%)"
    lvl = Level(level)
    word = "drained" if chg < 0 else "added"
    lead = f"; {SHORT[driver]} {usd_text(parts[driver] * 1e6)}" if driver else ""
    headline = (
        f"{usd_text(abs(chg) * 1e6)} {word} in {h}w ({pct:+.1f}%), {pct_text(score)}{lead}; "
        f"net {usd_text(float(row['net']) * 1e6)}, H.4.1 of {release}"
    )
    nxt = next((Threshold(lv, thresholds[i]) for i, lv in enumerate(LEVELS) if lv > lvl), None)
    return Reading(
        signal=SIGNAL_ID,
        key=key,
        ts=ts,
        value=score,
        level=lvl,
        hold=Level(hold),
        summary=summary(row, key, score, h),
        source=SOURCE,
        confirm=confirm,
        fields=fields,
        data={
            "score": score,
            "horizon_weeks": h,
            "net_bn": _bn(float(row["net"])),
            "change_bn": _bn(chg),
            "change_pct": round(pct, 3) if np.isfinite(pct) else None,
            "driver": driver or None,
            "parts_bn": {n: _bn(v) for n, v in parts.items()},
            "wednesday": wed,
            "release": release,
            "rrp_date": rrp_day,
        },
        next_threshold=nxt,
        unit="pctl",
        headline=headline,
    )


def stale_reason(reading: Reading, now: datetime) -> str | None:
    """Stale when the next week's H.4.1 (and that Wednesday's reverse repo) is a day overdue."""
    wed = reading.data.get("wednesday")
    if not isinstance(wed, str):
        return None
    nxt = pd.Timestamp(wed) + pd.Timedelta(days=7)
    due = release_of(nxt)
    if now < due + GRACE:
        return None
    return (
        f"the latest net liquidity figures are for Wednesday {wed} (H.4.1 of {reading.data.get('release')}); "
        f"the H.4.1 with Wednesday {nxt.date().isoformat()}'s levels was due {due:%Y-%m-%d %H:%M} UTC "
        "(a missing reverse repo figure for that Wednesday holds it back too)"
    )
