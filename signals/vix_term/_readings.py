"""The readings: VIX/VIX3M and VIX9D/VIX at each Cboe close, and intraday from Yahoo 5-minute bars."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from signals.base import Level, Params, Reading, Threshold
from signals.vix_term._vocab import (
    I_VIX,
    I_VIX3M,
    I_VIX9D,
    INTRADAY_MAX_AGE,
    LEVELS,
    SIGNAL_ID,
    VIX,
    VIX3M,
    VIX9D,
    close_times,
    entry_lines,
    exit_lines,
    expected_close_date,
    ladder,
    market_open,
    percentile_words,
    run_length,
)
from storage.observations import Inputs
from storage.timeutil import NEW_YORK


def daily_closes(inputs: Inputs) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "vix": inputs.series(VIX),
            "vix3m": inputs.series(VIX3M),
            "vix9d": inputs.series(VIX9D),
        }
    )
    return df.sort_index()


def readings(inputs: Inputs, params: Params, tail: int | None) -> list[Reading]:
    daily = daily_closes(inputs)
    readings = term_readings(daily, params, tail) + front_readings(daily, params, tail)
    readings += intraday(inputs, daily, params)
    readings.sort(key=lambda r: (r.ts, r.key))
    return readings


def term_readings(daily: pd.DataFrame, p: Params, tail: int | None = None) -> list[Reading]:
    # The VIX file has rows on some holidays that VIX3M lacks: join on dates with both.
    d = daily[["vix", "vix3m", "vix9d"]].dropna(subset=["vix", "vix3m"])
    if d.empty:
        return []
    ratio = (d["vix"] / d["vix3m"]).to_numpy()
    level = ladder(ratio, entry_lines(p))
    hold = ladder(ratio, exit_lines(p))
    change = np.concatenate([[np.nan], np.diff(ratio)])
    inverted = run_length(ratio >= 1.0)
    pct = pd.Series(ratio).expanding().rank(pct=True).to_numpy() * 100.0
    ts = close_times(pd.DatetimeIndex(d.index))
    first = d.index[0].date().isoformat()
    out = []
    vix, vix3m, vix9d = d["vix"].to_numpy(), d["vix3m"].to_numpy(), d["vix9d"].to_numpy()
    enters = entry_lines(p)
    confirm = int(p["confirm"])
    for i in range(0 if tail is None else max(0, len(d) - tail), len(d)):
        out.append(
            term_reading(
                ts[i].to_pydatetime(),
                float(ratio[i]),
                int(level[i]),
                int(hold[i]),
                float(vix[i]),
                float(vix3m[i]),
                float(vix9d[i]),
                float(change[i]),
                int(inverted[i]),
                float(pct[i]),
                first,
                enters,
                confirm,
                "Cboe daily close",
            )
        )
    return out


def term_reading(
    ts: datetime,
    ratio: float,
    level: int,
    hold: int,
    vix: float,
    vix3m: float,
    vix9d: float,
    change: float,
    inverted: int,
    pct: float,
    first: str,
    enters: list[float],
    confirm: int,
    source: str,
) -> Reading:
    lvl = Level(level)
    state = "inverted" if ratio >= 1.0 else ("flat" if ratio >= enters[0] else "in contango")
    chg = "" if np.isnan(change) else f", {change:+.3f} on the day"
    inv = f"; inverted {inverted} day{'s' if inverted != 1 else ''} so far" if inverted else ""
    summary = (
        f"VIX/VIX3M {ratio:.3f} ({state}): VIX {vix:.2f} vs VIX3M {vix3m:.2f}{chg}{inv}; "
        f"{percentile_words(pct)} of its history since {first}"
    )
    fields = {
        "VIX / VIX3M": f"{ratio:.3f}",
        "VIX": f"{vix:.2f}",
        "VIX3M": f"{vix3m:.2f}",
        "1-day change": "n/a" if np.isnan(change) else f"{change:+.3f}",
        "Days inverted": str(inverted),
        "Percentile": f"{pct:.1f} (since {first})",
    }
    if not np.isnan(vix9d):
        fields["VIX9D"] = f"{vix9d:.2f}"
    nxt = next((Threshold(lv, enters[i]) for i, lv in enumerate(LEVELS) if lv > lvl), None)
    return Reading(
        signal=SIGNAL_ID,
        key="vix3m",
        ts=ts,
        value=ratio,
        level=lvl,
        hold=Level(hold),
        summary=summary,
        source=source,
        confirm=confirm,
        fields=fields,
        next_threshold=nxt,
        data={
            "ratio": ratio,
            "vix": vix,
            "vix3m": vix3m,
            "vix9d": None if np.isnan(vix9d) else vix9d,
            "change_1d": None if np.isnan(change) else change,
            "days_inverted": inverted,
            "percentile": pct,
        },
    )


def front_readings(daily: pd.DataFrame, p: Params, tail: int | None = None) -> list[Reading]:
    d = daily[["vix", "vix9d"]].dropna()
    if d.empty:
        return []
    ratio = (d["vix9d"] / d["vix"]).to_numpy()
    level = (ratio >= p["front_watch"]).astype(np.int8)
    hold = (ratio >= p["front_exit"]).astype(np.int8)
    ts = close_times(pd.DatetimeIndex(d.index))
    vix, vix9d = d["vix"].to_numpy(), d["vix9d"].to_numpy()
    confirm = int(p["confirm"])
    return [
        front_reading(
            ts[i].to_pydatetime(),
            float(ratio[i]),
            int(level[i]),
            int(hold[i]),
            float(vix[i]),
            float(vix9d[i]),
            p,
            confirm,
            "Cboe daily close",
        )
        for i in range(0 if tail is None else max(0, len(d) - tail), len(d))
    ]


def front_reading(
    ts: datetime,
    ratio: float,
    level: int,
    hold: int,
    vix: float,
    vix9d: float,
    p: Params,
    confirm: int,
    source: str,
) -> Reading:
    state = "front end inverted" if ratio >= 1.0 else "front end normal"
    return Reading(
        signal=SIGNAL_ID,
        key="vix9d",
        ts=ts,
        value=ratio,
        level=Level(level),
        hold=Level(hold),
        summary=f"VIX9D/VIX {ratio:.3f} ({state}): VIX9D {vix9d:.2f} vs VIX {vix:.2f}; early warning only",
        source=source,
        confirm=confirm,
        fields={"VIX9D / VIX": f"{ratio:.3f}", "VIX9D": f"{vix9d:.2f}", "VIX": f"{vix:.2f}"},
        next_threshold=None if level else Threshold(Level.WATCH, p["front_watch"]),
        data={"ratio": ratio, "vix": vix, "vix9d": vix9d},
    )


def intraday(inputs: Inputs, daily: pd.DataFrame, p: Params) -> list[Reading]:
    """Yahoo 5-minute bars of sessions after the last Cboe close."""
    iv = pd.DataFrame(
        {
            "vix": inputs.series(I_VIX),
            "vix3m": inputs.series(I_VIX3M),
            "vix9d": inputs.series(I_VIX9D),
        }
    )
    if iv.empty:
        return []
    joint = daily.dropna(subset=["vix", "vix3m"])
    if not joint.empty:
        last_close = close_times(pd.DatetimeIndex(joint.index[-1:]))[0]
        iv = iv[iv.index > last_close]
    if iv.empty:
        return []
    hist = (joint["vix"] / joint["vix3m"]).to_numpy() if not joint.empty else np.array([])
    prev = float(hist[-1]) if len(hist) else float("nan")
    run = int(run_length(hist >= 1.0)[-1]) if len(hist) else 0
    first = joint.index[0].date().isoformat() if not joint.empty else "today"
    out = []
    confirm = int(p["confirm_intraday"])
    enters, exits = entry_lines(p), exit_lines(p)
    cols = {c: iv[c].to_numpy(dtype=float) for c in ("vix", "vix3m", "vix9d")}
    for i, ts in enumerate(pd.DatetimeIndex(iv.index)):
        t = ts.to_pydatetime()
        row = {c: cols[c][i] for c in cols}
        if not np.isnan(row["vix"]) and not np.isnan(row["vix3m"]):
            r = float(row["vix"] / row["vix3m"])
            pct = float((np.sum(hist <= r) + 1) / (len(hist) + 1) * 100.0)
            lvl = int(ladder(np.array([r]), enters)[0])
            hold = int(ladder(np.array([r]), exits)[0])
            out.append(
                term_reading(
                    t,
                    r,
                    lvl,
                    hold,
                    float(row["vix"]),
                    float(row["vix3m"]),
                    float(row["vix9d"]),
                    r - prev,
                    run + 1 if r >= 1.0 else 0,
                    pct,
                    first,
                    enters,
                    confirm,
                    "Yahoo intraday (5 min)",
                )
            )
        if not np.isnan(row["vix"]) and not np.isnan(row["vix9d"]):
            f = float(row["vix9d"] / row["vix"])
            out.append(
                front_reading(
                    t,
                    f,
                    int(f >= p["front_watch"]),
                    int(f >= p["front_exit"]),
                    float(row["vix"]),
                    float(row["vix9d"]),
                    p,
                    confirm,
                    "Yahoo intraday (5 min)",
                )
            )
    return out


def stale_reason(reading: Reading, now: datetime) -> str | None:
    if reading.source.startswith("Yahoo"):
        age = now - reading.ts
        if age > INTRADAY_MAX_AGE and market_open(now):
            return f"the latest intraday VIX quote is {int(age.total_seconds() // 60)} min old"
        if not market_open(now):
            # Outside market hours intraday readings are superseded by the close.
            return None if age < timedelta(hours=20) else "the intraday quote is from an earlier session"
        return None
    expected = expected_close_date(now)
    have = reading.ts.astimezone(NEW_YORK).date()
    if expected is not None and have < expected:
        return f"the latest Cboe close is {have.isoformat()}; the {expected.isoformat()} close should be out by now"
    return None
