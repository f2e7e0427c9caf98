"""The daily summary's content for one guild (Discord-free; generic over the signal registry).

Each signal's level, value, change since yesterday and distance to its next threshold, the
alerts of the last 24 h, the guild's snoozes in force, stale sources, and the data of one
dashboard image with a panel per signal (``bot/charts/dashboard.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from bot.charts import Dashboard, Unavailable
from bot.config import Settings
from bot.queries import KeyStatus, chart_data, recent_alerts, status
from signals import registry
from signals.base import Level
from signals.charts import ChartData
from storage import guild_state, meta
from storage.alerts import StoredAlert
from storage.timeutil import to_epoch

DASHBOARD_DAYS = 90


@dataclass
class GuildSummary:
    now: datetime
    tz: ZoneInfo
    rows: list[KeyStatus]
    alerts: list[StoredAlert]
    snoozes: dict[str, int]
    stale: list[str]
    panels: list[ChartData] = field(default_factory=list)

    def levels(self) -> dict[str, str]:
        """Each signal's highest level over its keys."""
        out: dict[str, Level] = {}
        for ks in self.rows:
            out[ks.signal] = max(out.get(ks.signal, Level.OK), ks.level)
        return {k: v.label for k, v in out.items()}

    def sources(self) -> str:
        seen = dict.fromkeys(p.source for p in self.panels if p.source)
        return " · ".join(seen) or "flowwatch daily summary"

    def dashboard_data(self) -> Dashboard:
        """The ``render_png`` input of the dashboard (one panel per signal)."""
        return Dashboard(
            signal="dashboard",
            title=f"flowwatch · {self.now.astimezone(self.tz):%Y-%m-%d %H:%M %Z}",
            panels=self.panels,
            levels=self.levels(),
            source=self.sources(),
            as_of=self.now,
        )


def build_summary(
    db: Database,
    settings: Settings,
    now: datetime,
    guild_id: int | None = None,
    tz: ZoneInfo | None = None,
    days: int = DASHBOARD_DAYS,
) -> GuildSummary:
    rows = status(db, settings, now)
    alerts = recent_alerts(db, now, 24)
    snoozes = guild_state.active_snoozes(db, guild_id, to_epoch(now)) if guild_id is not None else {}
    stale = [f"{ks.signal}/{ks.key}: {ks.stale}" for ks in rows if ks.stale]
    for key, (value, _at) in sorted(meta.items(db, "source:").items()):
        if isinstance(value, dict) and value.get("ok") is False:
            last_ok = value.get("last_ok")
            since = f"last success <t:{int(last_ok)}:R>" if last_ok else "no success yet"
            name = key.removeprefix("source:")
            stale.append(f"source {name} failing ({since}): {value.get('error', '')}"[:300])
    panels = []
    for sig_id in registry():
        try:
            panels.append(chart_data(db, settings, sig_id, now, days))
        except Exception as exc:  # one signal's data must not sink the whole summary
            panels.append(Unavailable(signal=sig_id, title=sig_id, error=str(exc)))
    return GuildSummary(
        now=now,
        tz=tz or settings.timezone,
        rows=rows,
        alerts=alerts,
        snoozes=snoozes,
        stale=stale,
        panels=panels,
    )
