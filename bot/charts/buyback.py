"""Share in blackout (history solid, projection dashed, today marked, crossings and alerts),
and below it the earnings reports per week (known dates solid, estimated dates light).

The window's closings (▲, crossing the alert line up) and reopenings (▼, crossing the exit
line down) have legend entries of their own, hollow when projected."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.transforms import offset_copy

from bot.charts import LEVEL_COLOURS
from bot.charts._levels import legend_with_levels, threshold_lines
from signals.buyback import BuybackChart

LINE, CAP, EST = "#212121", "#1565c0", "#b0bec5"
#: how far a crossing's triangle sits from its crossing: its tip on the point (points)
CROSS_NUDGE_PT = 3.5


def draw(fig: Figure, data: BuybackChart) -> None:
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.1], "hspace": 0.08})
    fig.subplots_adjust(left=0.07, right=0.91, top=0.93, bottom=0.1)
    fig.suptitle(data.title, x=0.07, ha="left", fontsize=12)
    x = data.x
    share = data.share if data.share is not None else np.zeros(len(x))  # no calendar known at the time
    px = data.px if data.px is not None else x[:0]
    pshare = data.pshare if data.pshare is not None else share[:0]
    th = data.thresholds
    if not len(x) and not len(px):
        top.text(
            0.5,
            0.5,
            "no earnings calendar known at this time",
            transform=top.transAxes,
            ha="center",
            va="center",
            color="#616161",
        )

    top.plot(x, share, color=LINE, linewidth=1.4, label="count-weighted")
    cap = data.share_cap
    if cap is not None and len(cap) and np.isfinite(cap).any():
        top.plot(x, cap, color=CAP, linewidth=0.9, alpha=0.8, label="cap-weighted")
    if len(px):
        top.plot(px, pshare, color=LINE, linewidth=1.4, linestyle="--", label="projected")
        pcap = data.pshare_cap
        if pcap is not None and np.isfinite(pcap).any():
            top.plot(px, pcap, color=CAP, linewidth=0.9, linestyle="--", alpha=0.8)
    if len(x) and "alert" in th:
        top.fill_between(
            x, th["alert"], share, where=share >= th["alert"], color=LEVEL_COLOURS["alert"], alpha=0.18
        )
    threshold_lines(top, th, lambda v: f"{v:g}%", linestyle=":")
    today = data.today
    if today is not None:
        for ax in (top, bottom):
            ax.axvline(today, color="#616161", linewidth=1.0)
        top.text(today, 101, " today", fontsize=7, color="#616161", va="bottom")
    crossings = data.crossings
    if crossings:
        cx = np.array([c[0] for c in crossings], dtype="datetime64[ns]")
        up = np.array([c[1] == "close" for c in crossings])
        proj = np.array([bool(c[2]) for c in crossings])
        enter = th.get("alert", 50)
        leave = data.alert_exit if data.alert_exit is not None else enter
        ys = np.where(up, enter, leave)
        # each triangle's tip on its crossing (a closing's from below, a reopening's from above),
        # so the alert's dot drawn on the same point does not hide it
        nudge = {
            True: offset_copy(top.transData, fig, y=-CROSS_NUDGE_PT, units="points"),
            False: offset_copy(top.transData, fig, y=CROSS_NUDGE_PT, units="points"),
        }
        names = {
            (True, False): f"closing (crossed {enter:g}% up)",
            (False, False): f"reopening (crossed {leave:g}% down)",
            (True, True): "projected closing",
            (False, True): "projected reopening",
        }
        for projected, face in ((False, LINE), (True, "white")):
            for kind, marker in ((True, "^"), (False, "v")):
                m = (proj == projected) & (up == kind)
                if m.any():
                    top.scatter(
                        cx[m],
                        ys[m],
                        marker=marker,
                        s=34,
                        zorder=5,
                        edgecolors=LINE,
                        facecolors=face,
                        linewidths=0.8,
                        transform=nudge[kind],
                        label=names[kind, projected],
                    )
    marks = data.marks
    if marks and len(x):
        mx = np.array([m[0] for m in marks], dtype="datetime64[ns]")
        idx = np.clip(np.searchsorted(x, mx), 0, len(x) - 1)
        top.scatter(
            x[idx],
            share[idx],
            s=30,
            c=[LEVEL_COLOURS.get(m[1], "#000000") for m in marks],
            zorder=6,
            edgecolors="white",
            linewidths=0.8,
        )
    top.set_ylim(0, 100)
    top.set_ylabel("% in blackout")
    legend_with_levels(
        top,
        [m[1] for m in marks] if len(x) else [],
        loc="upper left",
        frameon=True,
        framealpha=0.85,
        edgecolor="none",
        ncol=3,
        fontsize=8,
    )
    top.grid(alpha=0.25)

    weeks = data.weeks
    if weeks is not None and len(weeks):
        known, est = data.reports, data.reports_est
        width = np.timedelta64(6, "D")
        bottom.bar(weeks, known, width=width, align="edge", color="#546e7a", label="reports (known dates)")
        if np.any(est):
            bottom.bar(
                weeks, est, width=width, align="edge", bottom=known, color=EST, label="estimated dates"
            )
        bottom.legend(loc="upper left", frameon=True, framealpha=0.85, edgecolor="none", ncol=2, fontsize=7)
    bottom.set_ylabel("reports / week", fontsize=8)
    bottom.grid(alpha=0.25)
