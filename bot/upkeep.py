"""Scheduled upkeep: retention pruning and the dead-man ping."""

from __future__ import annotations

import logging

from sqlite_utils import Database

from bot.config import Settings
from signals import sources
from signals.sources import liquidations as liq_source
from storage import guild_state, liq_raw, liq_rollups, maintenance

log = logging.getLogger("flowwatch.upkeep")


def prune(db: Database, settings: Settings, now: int, dry_run: bool = False) -> dict[str, int]:
    """Apply every retention rule; returns rows removed (or that would be) per rule."""
    out = maintenance.prune_observations(db, sources.retention(), now, dry_run)
    out.update(maintenance.prune_alerts(db, settings.alert_retention_days, now, dry_run))
    out.update(guild_state.prune(db, now, settings.alert_retention_days, dry_run))
    out.update(prune_raw_frames(db, settings, now, dry_run))
    if not dry_run:
        maintenance.checkpoint(db)
    return out


def prune_raw_frames(db: Database, settings: Settings, now: int, dry_run: bool = False) -> dict[str, int]:
    """Raw liquidation frames past ``FLOWWATCH_LIQ_RETENTION_DAYS`` (the stream service writes them
    with its buckets and prunes hourly while it runs; the daily prune and ``flowwatch db prune``
    keep the retention when it does not)."""
    days = settings.get(liq_source.RAW_RETENTION_DAYS)
    n = liq_raw.prune(db, int((now - days * 86400) * 1000), dry_run)
    return {f"raw liquidation frames older than {days:g} days": n}


def minute_rule(settings: Settings) -> str:
    return f"1-minute liquidation buckets and BTC closes older than {settings.get(liq_source.MINUTE_RETENTION_DAYS):g} days"


def prune_minutes_step(db: Database, settings: Settings, now: int, dry_run: bool = False) -> int:
    """One day of 1-minute liquidation rows past ``FLOWWATCH_LIQ_MINUTE_RETENTION_DAYS`` (their
    roll-ups stay): a step short enough that the alerts written meanwhile never wait long; the
    daily upkeep repeats it until nothing is left (a database upgraded with a year of minutes
    takes a few hundred steps once). With ``dry_run``, every row that would go."""
    before = liq_rollups.minute_cutoff(now, settings.get(liq_source.MINUTE_RETENTION_DAYS))
    if before is None:
        return 0
    return liq_rollups.prune_minutes_step(db, before, dry_run)


def prune_minutes(db: Database, settings: Settings, now: int, dry_run: bool = False) -> dict[str, int]:
    """Every step at once (``flowwatch db prune``)."""
    if dry_run:
        return {minute_rule(settings): prune_minutes_step(db, settings, now, True)}
    total = 0
    while n := prune_minutes_step(db, settings, now):
        total += n
    if total:
        maintenance.checkpoint(db)
    return {minute_rule(settings): total}
