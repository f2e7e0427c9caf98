"""Scheduled upkeep: retention pruning and the dead-man ping."""

from __future__ import annotations

import logging

from sqlite_utils import Database

from bot.config import Settings
from signals import sources
from storage import guild_state, maintenance

log = logging.getLogger("flowwatch.upkeep")


def prune(db: Database, settings: Settings, now: int, dry_run: bool = False) -> dict[str, int]:
    """Apply every retention rule; returns rows removed (or that would be) per rule."""
    out = maintenance.prune_observations(db, sources.retention(), now, dry_run)
    out.update(maintenance.prune_alerts(db, settings.alert_retention_days, now, dry_run))
    out.update(guild_state.prune(db, now, settings.alert_retention_days, dry_run))
    for fn in sources.pruners():
        out.update(fn(db, now, settings, dry_run))
    if not dry_run:
        maintenance.checkpoint(db)
    return out
