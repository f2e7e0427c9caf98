"""net_liquidity model: the Fed's balance sheet net of the Treasury's account and reverse repo.

``net = WALCL - WTREGEN - RRPONTSYD * 1000``, in **millions of USD**:

- ``WALCL``: total assets of the Federal Reserve, Wednesday level, millions (H.4.1);
- ``WTREGEN``: the Treasury General Account at the Fed, Wednesday level, millions (H.4.1);
- ``RRPONTSYD``: overnight reverse repurchase agreements, daily, **billions** (New York Fed).

The H.4.1 release comes on Thursday at 4:30 pm ET with the Wednesday levels (on the next
business day when Thursday is a federal holiday). Reverse repo is taken on the **same
Wednesday**; when that day has no figure (a holiday) the last one from the previous five days
is used. Before the overnight facility ran every business day (2013-09-23) a missing day means
no operation, i.e. zero; after it a missing figure leaves the week without a value (never a
made-up zero).

Changes over 1, 2 and 4 weeks are measured in USD and as a share of net liquidity (the share is
comparable across 2003's $0.8tn and 2022's $6tn). Each change is split into its three parts
(assets, minus the Treasury account, minus reverse repo) and the largest part in the direction
of the change is named as its driver.

Levels: for drains and injections separately, the highest percentile any of the three horizons
reaches in its trailing ten years of weeks (:data:`LADDER`).

Pure functions over pandas Series; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pandas as pd
from pandas.tseries.holiday import USFederalHolidayCalendar

from signals._levels import Ladder, clean_series, key_levels, pct_text, trailing_percentile, usd_text

KEYS = {"drain": "net liquidity drain", "injection": "net liquidity injection"}
PARTS = {
    "walcl": "Fed assets (WALCL)",
    "tga": "Treasury account (WTREGEN)",
    "rrp": "reverse repo (RRPONTSYD)",
}
HORIZONS = (1, 2, 4)
#: from this date the overnight reverse repo facility reports every business day
RRP_DAILY_SINCE = "2013-09-23"
#: how many days back a holiday's reverse repo figure may be taken from
RRP_FILL_DAYS = 5
WEEKS_PER_YEAR = 52

LADDER = Ladder(enter=(90.0, 97.5, 99.5), exit=(85.0, 95.0, 99.0))


@dataclass(frozen=True)
class Rules:
    """How the weekly history turns into levels (defaults: ten years, three to start)."""

    window: int = 10 * WEEKS_PER_YEAR
    min_periods: int = 3 * WEEKS_PER_YEAR
    horizons: tuple[int, ...] = HORIZONS
    drain: Ladder = field(default=LADDER)
    injection: Ladder = field(default=LADDER)
    confirm: int = 1
    cooldown_days: float = 14.0


def _stamp(text: str, like: pd.DatetimeIndex) -> pd.Timestamp:
    ts = pd.Timestamp(text)
    return ts.tz_localize(like.tz) if like.tz is not None else ts


@cache
def _federal_holidays(first_year: int, last_year: int) -> pd.DatetimeIndex:
    return USFederalHolidayCalendar().holidays(f"{first_year}-01-01", f"{last_year}-12-31")


def h41_release(wednesdays: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """The date the H.4.1 with each Wednesday's levels is published: the next business day
    (Thursday, or later when it is a US federal holiday). Published at 4:30 pm ET."""
    naive = wednesdays.tz_localize(None) if wednesdays.tz is not None else wednesdays
    if len(naive) == 0:
        return wednesdays
    hol = _federal_holidays(naive.min().year, (naive.max() + pd.Timedelta(days=14)).year)
    day = naive + pd.Timedelta(days=1)
    for _ in range(7):
        shut = day.isin(hol) | (day.day_of_week >= 5)
        if not shut.any():
            break
        day = pd.DatetimeIndex(np.where(shut, day + pd.Timedelta(days=1), day))
    return day.tz_localize(wednesdays.tz) if wednesdays.tz is not None else day


def _rrp_on(days: pd.DatetimeIndex, rrp_billions: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Reverse repo (millions) and the date of the figure used, for each of ``days``."""
    if rrp_billions.empty:
        daily = pd.Series(np.nan, index=days)
        src = pd.Series(pd.NaT, index=days, dtype=days.dtype)
    else:
        have = pd.Series(rrp_billions.index, index=rrp_billions.index)
        start = min(days.min(), rrp_billions.index.min())
        grid = pd.date_range(start, max(days.max(), rrp_billions.index.max()), freq="D", tz=days.tz)
        daily = rrp_billions.reindex(grid).ffill(limit=RRP_FILL_DAYS).reindex(days)
        src = have.reindex(grid).ffill(limit=RRP_FILL_DAYS).reindex(days)
    before = days < _stamp(RRP_DAILY_SINCE, days)
    daily = daily.where(daily.notna() | ~before, 0.0)
    return daily * 1000.0, src


def frame(walcl: pd.Series, wtregen: pd.Series, rrpontsyd: pd.Series) -> pd.DataFrame:
    """Net liquidity on every Wednesday both H.4.1 series have, in millions of USD.

    Columns: ``walcl``, ``tga``, ``rrp`` (all millions; ``rrp`` converted from billions) and
    ``rrp_date`` (the day that reverse repo figure is from), ``net``, ``release`` (the H.4.1
    publication date); per horizon ``h`` in weeks: ``chg_<h>w`` (millions), ``pct_<h>w``
    (percent of net liquidity ``h`` weeks before), the parts ``walcl_<h>w``, ``tga_<h>w``,
    ``rrp_<h>w`` (their sum is ``chg_<h>w``; the Treasury account and reverse repo enter with a
    minus sign) and ``driver_<h>w`` (``walcl``, ``tga`` or ``rrp``).
    """
    w = clean_series(walcl, "WALCL", positive=True)
    t = clean_series(wtregen, "WTREGEN")
    r = clean_series(rrpontsyd, "RRPONTSYD")
    if (t < 0).any():
        raise ValueError(f"WTREGEN: negative balance on {t[t < 0].index[0].date().isoformat()}")
    if (r < 0).any():
        raise ValueError(f"RRPONTSYD: negative amount on {r[r < 0].index[0].date().isoformat()}")
    days = pd.DatetimeIndex(w.index.intersection(t.index))
    rrp, rrp_date = _rrp_on(days, r)
    out = pd.DataFrame({"walcl": w.reindex(days), "tga": t.reindex(days), "rrp": rrp}, index=days)
    out["rrp_date"] = rrp_date
    out["net"] = out["walcl"] - out["tga"] - out["rrp"]
    out["release"] = h41_release(days)
    for h in HORIZONS:
        parts = pd.DataFrame(
            {
                "walcl": out["walcl"].diff(h),
                "tga": -out["tga"].diff(h),
                "rrp": -out["rrp"].diff(h),
            }
        )
        chg = out["net"].diff(h)
        out[f"chg_{h}w"] = chg
        out[f"pct_{h}w"] = chg / out["net"].shift(h) * 100.0
        for name in PARTS:
            out[f"{name}_{h}w"] = parts[name]
        lead = parts.mul(np.sign(chg), axis=0)
        driver = lead.fillna(-np.inf).idxmax(axis=1)
        out[f"driver_{h}w"] = driver.where(chg.notna() & (chg != 0), "")
    return out


def levels(model_frame: pd.DataFrame, rules: Rules | None = None) -> dict[str, pd.DataFrame]:
    """Per key (``drain``, ``injection``): ``score`` (the highest trailing percentile of the
    1-, 2- and 4-week changes, in the key's direction), ``horizon`` (the weeks that gave it),
    ``level``, ``hold`` and the engine's ``state``."""
    ru = rules or Rules()
    out = {}
    for key, sign, lad in (("drain", -1.0, ru.drain), ("injection", 1.0, ru.injection)):
        pcts = pd.concat(
            {
                h: trailing_percentile(sign * model_frame[f"pct_{h}w"], ru.window, ru.min_periods)
                for h in ru.horizons
            },
            axis=1,
        )
        score = pcts.max(axis=1)
        lv = key_levels(score, lad, ru.confirm, ru.cooldown_days)
        lv.insert(1, "horizon", pcts.fillna(-1.0).idxmax(axis=1).where(score.notna(), 0).astype(int))
        out[key] = lv
    return out


def summary(row: pd.Series, key: str, score: float, horizon: int) -> str:
    """One line for a week of :func:`frame` with the key's ``score`` and ``horizon``."""
    h = horizon if horizon in HORIZONS else HORIZONS[-1]
    chg, pct = row[f"chg_{h}w"] * 1e6, row[f"pct_{h}w"]
    driver = row[f"driver_{h}w"]
    part = row[f"{driver}_{h}w"] * 1e6 if driver else float("nan")
    rank = f"{pct_text(score)} of its history" if np.isfinite(score) else "history too short to rank"
    word = "drained" if chg < 0 else "added"
    lead = f"; biggest part: {PARTS[driver]} {usd_text(part)}" if driver else ""
    wed = pd.Timestamp(str(row.name)).date().isoformat()
    rrp_day = row["rrp_date"]
    rrp_src = (
        f"RRPONTSYD of {pd.Timestamp(rrp_day).date().isoformat()}"
        if pd.notna(rrp_day)
        else "no reverse repo operation"
    )
    return (
        f"Net liquidity {usd_text(row['net'] * 1e6)}: {usd_text(abs(chg))} {word} in {h} week"
        f"{'s' if h != 1 else ''} ({pct:+.1f}%), {rank}{lead}. Figures: H.4.1 of "
        f"{pd.Timestamp(row['release']).date().isoformat()} (Wednesday {wed} levels), {rrp_src}."
    )
