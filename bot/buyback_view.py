"""What ``/buyback`` shows, as plain data: the Discord command and the CLI call the same code.

``buyback_view(db, settings, now)`` (run it on the database thread) returns the reading, the
lifecycle state, the calendar's freshness and coverage, the next reports and the chart data
(render it with ``bot.charts.render_png`` on the render worker). ``buyback_text`` is its
plain-text form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from bot.config import Settings
from bot.formatting import when
from bot.queries import KeyStatus, chart_data, status
from signals.charts import ChartData
from storage import earnings as earnings_repo
from storage.timeutil import NEW_YORK

SIGNAL_ID = "buyback"
NEXT_DAYS = 7


@dataclass
class BuybackView:
    status: KeyStatus
    title: str
    summary: str
    fields: dict[str, str]
    calendar: dict[str, Any]
    universe: str
    next_reports: list[tuple[date, int, list[str]]] = field(default_factory=list)
    chart: ChartData | None = None

    @property
    def level(self) -> str:
        return self.status.level.label


def buyback_view(db: Database, settings: Settings, now: datetime, days: int = 180) -> BuybackView:
    (ks,) = status(db, settings, now, SIGNAL_ID)
    r = ks.reading
    cal = earnings_repo.calendar_stats(db)
    members = earnings_repo.load_members_frame(db)
    n_members = int((members["index_id"] == "sp500").sum()) if len(members) else 0
    if n_members:
        updated = earnings_repo.members_updated(db, "sp500")
        universe = f"S&P 500 list, {n_members} members" + (
            f" (updated {updated:%Y-%m-%d})" if updated else ""
        )
    else:
        universe = "every company in the loaded calendar (load the S&P 500 list: flowwatch backfill sp500)"
    if r is None:
        title = "Buyback blackout: no reading"
        summary = (
            "No usable earnings calendar for today. Load one: flowwatch backfill earnings (the Nasdaq scan) "
            "or flowwatch backfill earnings --file F."
        )
        fields: dict[str, str] = {}
    else:
        title = f"Buyback blackout: {r.value:.1f}% of companies in their window (estimate)"
        summary = r.summary + (f" — STALE: {ks.stale}" if ks.stale else "")
        fields = dict(r.fields)
    refreshed = cal["updated"]
    fields["Calendar"] = (
        f"{cal['rows']} dates for {cal['tickers']} tickers, {cal['first']} to {cal['last']}; "
        f"last written {when(refreshed) if isinstance(refreshed, datetime) else 'never'}"
        if cal["rows"]
        else "empty"
    )
    fields["Universe"] = universe
    nxt = _next_reports(db, now, members["ticker"].tolist() if n_members else None)
    if nxt:
        fields["Next reports"] = "; ".join(
            f"{d:%a %m-%d}: {n}" + (f" ({', '.join(top)})" if top else "") for d, n, top in nxt
        )
    chart = chart_data(db, settings, SIGNAL_ID, now, days)
    return BuybackView(ks, title, summary, fields, cal, universe, nxt, chart)


def _next_reports(
    db: Database, now: datetime, members: list[str] | None
) -> list[tuple[date, int, list[str]]]:
    today = now.astimezone(NEW_YORK).date()
    rows = [
        r
        for r in earnings_repo.current_reports(db)
        if isinstance(r["date"], date) and today <= r["date"] <= today + timedelta(days=NEXT_DAYS)
    ]
    if members is not None:
        allowed = set(members)
        rows = [r for r in rows if r["ticker"] in allowed]
    by_day: dict[date, list[dict[str, Any]]] = {}
    for r in rows:
        by_day.setdefault(r["date"], []).append(r)  # type: ignore[arg-type]
    out = []
    for d in sorted(by_day):
        biggest = sorted(by_day[d], key=lambda r: -(r["market_cap"] or 0))[:3]
        out.append((d, len(by_day[d]), [str(r["ticker"]) for r in biggest if r["market_cap"]]))
    return out


def buyback_text(view: BuybackView, tz: ZoneInfo | None = None) -> str:
    lines = [view.title, view.summary, ""]
    lines += [f"{k}: {v}" for k, v in view.fields.items()]
    r = view.status.reading
    if r is not None:
        lines.append(f"As of {when(r.ts, tz)} · level {view.level} · {view.status.distance()}")
    return "\n".join(lines)
