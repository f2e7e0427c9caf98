"""model.<flow>: each flow model over its whole shared history, levels included (goal: well under
a second each).

``value`` is the median time of the model's frame and the levels of all its keys on the full
history (S&P 500 from 2001, H.4.1 from 2002, HY OAS from 1996). ``limit`` is the floor of the
same work: a single trailing-percentile pass (a rolling rank over the ten-year window) over a
series of the same length, the one step every model needs at least once. ``goal`` is on the
value (seconds).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pandas as pd

from bench.common import DATA, Metric, metric, need_data, paired_medians


def _csv(name: str) -> pd.Series:
    df = pd.read_csv(DATA / name, dtype={"date": str})
    idx = pd.DatetimeIndex(pd.to_datetime(df["date"], format="%Y-%m-%d")).tz_localize("UTC")
    col = "close" if "close" in df.columns else df.columns[1]
    return pd.Series(pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float), index=idx)


def run() -> Iterator[Metric]:
    if not need_data():
        return
    from signals import credit, cta_trend, net_liquidity, vol_control
    from signals._levels import trailing_percentile

    spx = _csv("sp500_index_daily.csv")
    walcl, tga = _csv("fred_walcl_weekly.csv"), _csv("fred_wtregen_weekly.csv")
    rrp = _csv("fred_rrpontsyd_daily.csv")
    oas = _csv("fred_bamlh0a0hym2_daily.csv")
    d10, d2 = _csv("fred_dgs10_daily.csv"), _csv("fred_dgs2_daily.csv")

    def credit_all() -> None:
        credit.hy_levels(credit.hy_frame(oas))
        credit.curve_levels(credit.curve_frame(d10, d2))

    cases: list[tuple[str, Callable[[], object], pd.Series, int]] = [
        ("vol_control", lambda: vol_control.levels(vol_control.frame(spx)), spx, 2520),
        ("cta_trend", lambda: cta_trend.levels(cta_trend.frame(spx)), spx, 2520),
        ("net_liquidity", lambda: net_liquidity.levels(net_liquidity.frame(walcl, tga, rrp)), walcl, 520),
        ("credit", credit_all, oas.dropna(), 2520),
    ]
    for name, work, base, window in cases:
        series = base.dropna()

        def floor(s: pd.Series = series, w: int = window) -> None:
            trailing_percentile(s, w, min(w, 756))

        t_model, t_floor = paired_medians(work, floor, repeat=5)
        yield metric(
            f"model.{name}",
            t_model,
            "s",
            t_floor,
            "<= 0.5",
            note=f"{len(series)} rows from {series.index[0].date()}; limit = one rolling-rank pass over them",
        )
