"""vix_term: the VIX term structure.

VIX / VIX3M at or above 1 means the curve is inverted: 30-day implied volatility is priced
above 3-month, which happens when hedging demand is urgent and vol-targeting funds are
de-risking. VIX9D / VIX above 1 is the front end inverting first; it is an early warning
and never rises above ``watch``.

Keys: ``vix3m`` (VIX/VIX3M, levels watch / alert / severe) and ``vix9d`` (VIX9D/VIX, watch).
Daily readings come from Cboe closes (stamped at the 16:15 ET close of the session);
intraday readings from Yahoo 5-minute bars for the session that has no close yet.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from signals.base import Demo, Level, Param, Params, Reading, Rules, Threshold
from signals.charts import ChartData
from storage.observations import Inputs, Observation
from storage.series import cboe_close, yahoo_5m
from storage.timeutil import NEW_YORK, day_epoch

VIX, VIX3M, VIX9D, VIX6M = (cboe_close(i) for i in ("vix", "vix3m", "vix9d", "vix6m"))
I_VIX, I_VIX3M, I_VIX9D = (yahoo_5m(i) for i in ("vix", "vix3m", "vix9d"))
CLOSE_TIME = time(16, 15)  # Cboe index closes are struck at 16:15 ET
INTRADAY_MAX_AGE = timedelta(minutes=20)

_LEVELS = (Level.WATCH, Level.ALERT, Level.SEVERE)


def _ladder(values: np.ndarray, enters: list[float]) -> np.ndarray:
    """Highest level whose threshold the value reaches (0 = ok)."""
    out = np.zeros(len(values), dtype=np.int8)
    for i, thr in enumerate(enters, start=1):
        out[values >= thr] = i
    return out


def _close_times(dates: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """00:00 UTC trading dates -> the 16:15 America/New_York close of that date, in UTC."""
    naive = dates.tz_localize(None).normalize() + pd.Timedelta(hours=16, minutes=15)
    return naive.tz_localize(NEW_YORK).tz_convert("UTC")


def _run_length(mask: np.ndarray) -> np.ndarray:
    """Length of the current run of True values at each position."""
    out = np.zeros(len(mask), dtype=np.int64)
    run = 0
    for i, m in enumerate(mask):
        run = run + 1 if m else 0
        out[i] = run
    return out


@dataclass(frozen=True, kw_only=True)
class VixTermChart(ChartData):
    """VIX and VIX3M, their ratio with the thresholds and alerts; for the VIX9D/VIX alert's
    chart (``focus_key`` ``vix9d``) VIX9D and the front ratio."""

    renderer: ClassVar[str] = "vix_term"

    x: np.ndarray
    vix: np.ndarray
    vix3m: np.ndarray
    ratio: np.ndarray
    vix9d: np.ndarray
    front_ratio: np.ndarray
    thresholds: Mapping[str, float]
    front_thresholds: Mapping[str, float]
    marks: list[tuple[np.datetime64, str]]
    front_marks: list[np.datetime64]

    @property
    def empty(self) -> bool:
        return len(self.x) == 0


class VixTerm:
    id = "vix_term"
    title = "VIX term structure"
    description = "VIX / VIX3M (inverted at 1.00 or more) and VIX9D / VIX as the front-end early warning"
    inputs = (VIX, VIX3M, VIX9D, VIX6M, I_VIX, I_VIX3M, I_VIX9D)
    keys: ClassVar[dict[str, str]] = {"vix3m": "VIX / VIX3M", "vix9d": "VIX9D / VIX (front end)"}
    params = (
        Param("watch", 0.95, 0.5, 2.0, "VIX/VIX3M at which a watch heads-up starts", guild=True),
        Param("watch_exit", 0.92, 0.5, 2.0, "VIX/VIX3M below which the watch ends"),
        Param("alert", 1.00, 0.5, 2.0, "VIX/VIX3M at which the curve counts as inverted (alert)", guild=True),
        Param("alert_exit", 0.97, 0.5, 2.0, "VIX/VIX3M below which an alert steps down"),
        Param("severe", 1.10, 0.5, 3.0, "VIX/VIX3M of a deep inversion (severe)", guild=True),
        Param("severe_exit", 1.05, 0.5, 3.0, "VIX/VIX3M below which severe steps down"),
        Param("front_watch", 1.00, 0.5, 2.0, "VIX9D/VIX at which the front-end watch starts", guild=True),
        Param("front_exit", 0.97, 0.5, 2.0, "VIX9D/VIX below which the front-end watch ends"),
        Param(
            "confirm",
            2,
            1,
            20,
            "consecutive daily closes needed to fire or escalate",
            integer=True,
            unit="closes",
        ),
        Param(
            "confirm_intraday",
            3,
            1,
            78,
            "consecutive 5-minute intraday readings needed to fire or escalate",
            integer=True,
            unit="readings",
        ),
        Param(
            "cooldown_days",
            10,
            0,
            90,
            "days after a resolve before the same key can fire again",
            unit="days",
        ),
    )

    def validate(self, params: Params) -> list[str]:
        p = params
        problems = []
        for name in ("watch", "alert", "severe", "front_watch"):
            exit_name = "front_exit" if name == "front_watch" else f"{name}_exit"
            if not p[exit_name] < p[name]:
                problems.append(f"{exit_name} ({p[exit_name]:g}) must be below {name} ({p[name]:g})")
        if not p["watch"] <= p["alert"] <= p["severe"]:
            problems.append(
                f"levels must rise: watch ({p['watch']:g}) <= alert ({p['alert']:g}) <= severe ({p['severe']:g})"
            )
        return problems

    def rules(self, params: Params) -> Rules:
        return Rules(cooldown_s=int(params["cooldown_days"] * 86400))

    def grade(self, key: str, value: float, figures: Mapping[str, Any], params: Params) -> Level:
        """The ratio's level: the ladder of entry thresholds (the ratio is the only figure)."""
        if key == "vix9d":
            return Level.WATCH if value >= params["front_watch"] else Level.OK
        return Level(int(_ladder(np.array([value]), self._enters(params))[0]))

    @staticmethod
    def _enters(p: Params) -> list[float]:
        return [p["watch"], p["alert"], p["severe"]]

    @staticmethod
    def _exits(p: Params) -> list[float]:
        return [p["watch_exit"], p["alert_exit"], p["severe_exit"]]

    # -- evaluation ------------------------------------------------------------------

    def _daily(self, inputs: Inputs) -> pd.DataFrame:
        df = pd.DataFrame(
            {
                "vix": inputs.series(VIX),
                "vix3m": inputs.series(VIX3M),
                "vix9d": inputs.series(VIX9D),
            }
        )
        return df.sort_index()

    def history(self, inputs: Inputs, params: Params) -> list[Reading]:
        return self._readings(inputs, params, None)

    def latest(self, inputs: Inputs, params: Params, now: datetime) -> list[Reading]:
        """Same readings as :meth:`history` would give up to ``now``, building only the last ones."""
        vals = inputs.values
        if len(vals.index):
            vals = vals[vals.index <= pd.Timestamp(now)]
        last: dict[str, Reading] = {}
        for r in self._readings(Inputs(vals, inputs.last_source), params, tail=2):
            if r.ts <= now:
                last[r.key] = r
        return [last[k] for k in self.keys if k in last]

    def readings_since(
        self, inputs: Inputs, params: Params, after: datetime | None, now: datetime, warmup: int = 30
    ) -> list[Reading]:
        vals = inputs.values
        if len(vals.index):
            vals = vals[vals.index <= pd.Timestamp(now)]
        tail = warmup
        if after is not None and len(vals.index):
            # daily rows are stamped at 00:00 UTC of their date; their readings come later that day
            tail = int((vals.index >= pd.Timestamp(after).normalize()).sum()) + 1
        rs = self._readings(Inputs(vals, inputs.last_source), params, tail=tail)
        return [r for r in rs if r.ts <= now and (after is None or r.ts > after)]

    def _readings(self, inputs: Inputs, params: Params, tail: int | None) -> list[Reading]:
        daily = self._daily(inputs)
        readings = self._term_readings(daily, params, tail) + self._front_readings(daily, params, tail)
        readings += self._intraday(inputs, daily, params)
        readings.sort(key=lambda r: (r.ts, r.key))
        return readings

    def _term_readings(self, daily: pd.DataFrame, p: Params, tail: int | None = None) -> list[Reading]:
        # The VIX file has rows on some holidays that VIX3M lacks: join on dates with both.
        d = daily[["vix", "vix3m", "vix9d"]].dropna(subset=["vix", "vix3m"])
        if d.empty:
            return []
        ratio = (d["vix"] / d["vix3m"]).to_numpy()
        level = _ladder(ratio, self._enters(p))
        hold = _ladder(ratio, self._exits(p))
        change = np.concatenate([[np.nan], np.diff(ratio)])
        inverted = _run_length(ratio >= 1.0)
        pct = pd.Series(ratio).expanding().rank(pct=True).to_numpy() * 100.0
        ts = _close_times(pd.DatetimeIndex(d.index))
        first = d.index[0].date().isoformat()
        out = []
        vix, vix3m, vix9d = d["vix"].to_numpy(), d["vix3m"].to_numpy(), d["vix9d"].to_numpy()
        enters = self._enters(p)
        confirm = int(p["confirm"])
        for i in range(0 if tail is None else max(0, len(d) - tail), len(d)):
            out.append(
                self._term_reading(
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

    def _term_reading(
        self,
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
            f"{_ordinal(pct)} percentile of its history since {first}"
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
        nxt = next((Threshold(lv, enters[i]) for i, lv in enumerate(_LEVELS) if lv > lvl), None)
        return Reading(
            signal=self.id,
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

    def _front_readings(self, daily: pd.DataFrame, p: Params, tail: int | None = None) -> list[Reading]:
        d = daily[["vix", "vix9d"]].dropna()
        if d.empty:
            return []
        ratio = (d["vix9d"] / d["vix"]).to_numpy()
        level = (ratio >= p["front_watch"]).astype(np.int8)
        hold = (ratio >= p["front_exit"]).astype(np.int8)
        ts = _close_times(pd.DatetimeIndex(d.index))
        vix, vix9d = d["vix"].to_numpy(), d["vix9d"].to_numpy()
        confirm = int(p["confirm"])
        return [
            self._front_reading(
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

    def _front_reading(
        self,
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
            signal=self.id,
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

    def _intraday(self, inputs: Inputs, daily: pd.DataFrame, p: Params) -> list[Reading]:
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
            last_close = _close_times(pd.DatetimeIndex(joint.index[-1:]))[0]
            iv = iv[iv.index > last_close]
        if iv.empty:
            return []
        hist = (joint["vix"] / joint["vix3m"]).to_numpy() if not joint.empty else np.array([])
        prev = float(hist[-1]) if len(hist) else float("nan")
        run = int(_run_length(hist >= 1.0)[-1]) if len(hist) else 0
        first = joint.index[0].date().isoformat() if not joint.empty else "today"
        out = []
        confirm = int(p["confirm_intraday"])
        enters, exits = self._enters(p), self._exits(p)
        cols = {c: iv[c].to_numpy(dtype=float) for c in ("vix", "vix3m", "vix9d")}
        for i, ts in enumerate(pd.DatetimeIndex(iv.index)):
            t = ts.to_pydatetime()
            row = {c: cols[c][i] for c in cols}
            if not np.isnan(row["vix"]) and not np.isnan(row["vix3m"]):
                r = float(row["vix"] / row["vix3m"])
                pct = float((np.sum(hist <= r) + 1) / (len(hist) + 1) * 100.0)
                lvl = int(_ladder(np.array([r]), enters)[0])
                hold = int(_ladder(np.array([r]), exits)[0])
                out.append(
                    self._term_reading(
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
                    self._front_reading(
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

    def stale_reason(self, reading: Reading, now: datetime) -> str | None:
        if reading.source.startswith("Yahoo"):
            age = now - reading.ts
            if age > INTRADAY_MAX_AGE and _market_open(now):
                return f"the latest intraday VIX quote is {int(age.total_seconds() // 60)} min old"
            if not _market_open(now):
                # Outside market hours intraday readings are superseded by the close.
                return None if age < timedelta(hours=20) else "the intraday quote is from an earlier session"
            return None
        expected = _expected_close_date(now)
        have = reading.ts.astimezone(NEW_YORK).date()
        if expected is not None and have < expected:
            return f"the latest Cboe close is {have.isoformat()}; the {expected.isoformat()} close should be out by now"
        return None

    # -- presentation -----------------------------------------------------------------

    def chart(
        self,
        inputs: Inputs,
        params: Params,
        end: datetime,
        days: int,
        marks: Iterable[tuple[datetime, str, str]] = (),
    ) -> VixTermChart:
        daily = self._daily(inputs).dropna(subset=["vix", "vix3m"])
        end_ts = pd.Timestamp(end)
        daily = daily[(daily.index <= end_ts) & (daily.index >= end_ts - pd.Timedelta(days=days))]
        x = _close_times(pd.DatetimeIndex(daily.index)) if not daily.empty else pd.DatetimeIndex([], tz="UTC")
        vix = daily["vix"].to_numpy(dtype=float)
        vix3m = daily["vix3m"].to_numpy(dtype=float)
        vix9d = daily["vix9d"].to_numpy(dtype=float)
        iv = pd.DataFrame(
            {"vix": inputs.series(I_VIX), "vix3m": inputs.series(I_VIX3M), "vix9d": inputs.series(I_VIX9D)}
        ).dropna(subset=["vix", "vix3m"])
        if not iv.empty:
            iv = iv[
                (iv.index > (x[-1] if len(x) else end_ts - pd.Timedelta(days=days))) & (iv.index <= end_ts)
            ]
            x = pd.DatetimeIndex(x.append(pd.DatetimeIndex(iv.index)))
            vix = np.concatenate([vix, iv["vix"].to_numpy(dtype=float)])
            vix3m = np.concatenate([vix3m, iv["vix3m"].to_numpy(dtype=float)])
            vix9d = np.concatenate([vix9d, iv["vix9d"].to_numpy(dtype=float)])
        last_src = inputs.last_source.get(VIX, "cboe")
        marks = list(marks)
        return VixTermChart(
            signal=self.id,
            title="VIX term structure: VIX vs VIX3M",
            x=x.tz_convert("UTC").tz_localize(None).to_numpy(),
            vix=vix,
            vix3m=vix3m,
            ratio=vix / vix3m if len(vix) else np.array([]),
            # the front end, for the VIX9D/VIX alert's chart (NaN where VIX9D is missing)
            vix9d=vix9d,
            front_ratio=vix9d / vix if len(vix) else np.array([]),
            front_thresholds={"watch": params["front_watch"]},
            thresholds={"watch": params["watch"], "alert": params["alert"], "severe": params["severe"]},
            marks=[
                (pd.Timestamp(t).tz_convert("UTC").tz_localize(None).to_datetime64(), lv)
                for t, lv, key in marks
                if key == "vix3m"
            ],
            front_marks=[
                pd.Timestamp(t).tz_convert("UTC").tz_localize(None).to_datetime64()
                for t, lv, key in marks
                if key == "vix9d"
            ],
            source=f"Source: {last_src.upper() if last_src in ('cboe', 'fred') else last_src}",
            as_of=x[-1].to_pydatetime() if len(x) else None,
        )

    # -- demo -------------------------------------------------------------------------

    def demo(self, start: datetime) -> Demo:
        """Calm contango, a front-end warning, a vol shock that inverts deeply, recovery."""
        rng = random.Random(7)
        days = pd.bdate_range(start.date(), periods=130)
        out: list[Observation] = []
        for i, d in enumerate(days):
            shock = 0.0
            if 95 <= i < 120:
                k = i - 95
                shock = [
                    6,
                    18,
                    26,
                    30,
                    24,
                    20,
                    17,
                    15,
                    13,
                    11,
                    9,
                    8,
                    7,
                    6,
                    5,
                    4,
                    3,
                    2.5,
                    2,
                    1.5,
                    1,
                    0.8,
                    0.5,
                    0.3,
                    0.1,
                ][k]
            pre = 1.0 if i in (92, 93, 94) else 0.0  # the front end inverts first
            base = 14.5 + rng.uniform(-0.8, 0.8)
            vix = base + shock + pre * 1.5
            vix3m = 17.6 + rng.uniform(-0.4, 0.4) + shock * 0.62 + pre * 0.4
            vix9d = base - 1.2 + shock * 1.25 + pre * 4.0
            ts = day_epoch(d.date())
            out += [
                Observation(VIX, ts, round(vix, 2), "demo"),
                Observation(VIX3M, ts, round(vix3m, 2), "demo"),
                Observation(VIX9D, ts, round(vix9d, 2), "demo"),
            ]
        return Demo(tuple(out))


def _ordinal(pct: float) -> str:
    n = round(pct)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _market_open(now: datetime) -> bool:
    from signals import tradingcal

    return tradingcal.is_market_open(now)


def _expected_close_date(now: datetime) -> date | None:
    from signals import tradingcal

    return tradingcal.latest_published_close(now)


SIGNAL = VixTerm()
