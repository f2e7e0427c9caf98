"""Versioned schema migrations (sqlite-utils ``Migrations``).

Migrations are append-only: never edit one that has shipped; add a new one instead.
Each runs in its own transaction together with the record that it was applied.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

MIGRATIONS = Migrations("flowwatch")


def run_sql(db: Database, script: str) -> None:
    """Run ``;``-separated statements inside the migration's transaction.

    (``executescript`` would commit the transaction first; statements here hold no ``;``
    inside literals or comments.)
    """
    for stmt in script.split(";"):
        body = "\n".join(line for line in stmt.splitlines() if not line.strip().startswith("--")).strip()
        if body:
            db.conn.execute(body)


@MIGRATIONS(name="0001_initial")
def m0001_initial(db: Database) -> None:
    run_sql(
        db,
        """
        -- One table of time series. ts: UTC epoch seconds (daily series at 00:00 UTC of the
        -- trading date). Writes are idempotent upserts on (series, ts).
        CREATE TABLE observations (
            series TEXT NOT NULL,
            ts INTEGER NOT NULL,
            value REAL NOT NULL,
            source TEXT NOT NULL,
            PRIMARY KEY (series, ts)
        ) WITHOUT ROWID;

        -- Alert-engine lifecycle per (scope, signal, key). scope 'live' is the running bot;
        -- 'replay' holds replays and backtests so they never touch the live lifecycle.
        CREATE TABLE signal_state (
            scope TEXT NOT NULL,
            signal TEXT NOT NULL,
            key TEXT NOT NULL,
            state TEXT NOT NULL,                 -- ok | pending | firing
            level TEXT NOT NULL,                 -- ok | watch | alert | severe
            since INTEGER,                       -- market time the lifecycle fired
            level_since INTEGER,
            last_ts INTEGER,                     -- market time of the last evaluated reading
            last_value REAL,
            peak REAL,
            peak_ts INTEGER,
            peak_level TEXT,
            reported_value REAL,                 -- value at the last fired/escalated/updated event
            pending_level TEXT,
            pending_count INTEGER NOT NULL DEFAULT 0,
            cooldown_until INTEGER,
            snoozed_until INTEGER,
            episode TEXT,                        -- id shared by every event of one lifecycle
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (scope, signal, key)
        ) WITHOUT ROWID;

        -- The outbox: one row per event. dedupe_key makes a re-run write nothing twice.
        CREATE TABLE alerts (
            id INTEGER PRIMARY KEY,
            scope TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'alert',  -- alert | notice
            signal TEXT NOT NULL,
            key TEXT NOT NULL,
            event TEXT NOT NULL,                 -- fired | escalated | deescalated | updated | resolved
            level TEXT NOT NULL,
            prev_level TEXT,
            ts INTEGER NOT NULL,                 -- market time of the data that caused it
            value REAL,
            peak REAL,
            duration_s INTEGER,
            summary TEXT NOT NULL,
            fields TEXT NOT NULL DEFAULT '{}',   -- JSON: label -> text
            data TEXT NOT NULL DEFAULT '{}',     -- JSON: numbers for charts and sinks
            source TEXT,
            as_of INTEGER,
            episode TEXT,
            created_at INTEGER NOT NULL,
            dedupe_key TEXT NOT NULL UNIQUE
        );
        CREATE INDEX alerts_by_signal ON alerts (scope, signal, ts);
        CREATE INDEX alerts_by_episode ON alerts (episode);

        -- One delivery per alert and destination ('console', 'webhook', 'discord:<channel>').
        CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY,
            alert_id INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
            destination TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',  -- pending | sent | held | failed | skipped
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            external_id TEXT,
            next_attempt_at INTEGER,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            UNIQUE (alert_id, destination)
        );
        CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);

        CREATE TABLE subscriptions (
            id INTEGER PRIMARY KEY,
            guild_id INTEGER NOT NULL,
            channel_id INTEGER NOT NULL,
            signal TEXT NOT NULL,
            min_level TEXT NOT NULL DEFAULT 'alert',
            role_id INTEGER,
            enabled INTEGER NOT NULL DEFAULT 1,
            disabled_reason TEXT,
            created_by INTEGER,
            created_at INTEGER NOT NULL,
            UNIQUE (guild_id, channel_id, signal)
        );

        -- Per-guild settings as JSON values (timezone, summary schedule, quiet hours,
        -- threshold overrides, admin channel, ...).
        CREATE TABLE guild_settings (
            guild_id INTEGER NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (guild_id, key)
        ) WITHOUT ROWID;

        -- Resumable replays: a killed replay with the same arguments resumes here.
        CREATE TABLE replay_runs (
            signal TEXT PRIMARY KEY,
            args_hash TEXT NOT NULL,
            started_at INTEGER NOT NULL,
            completed_at INTEGER
        );

        -- Process-level facts: heartbeat, source health, versions.
        CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_at INTEGER NOT NULL
        );
        """,
    )


@MIGRATIONS(name="0002_earnings_calendar")
def m0002_earnings_calendar(db: Database) -> None:
    run_sql(
        db,
        """
        -- Earnings report dates (the buyback signal's input), not a time series. Dates are
        -- stored as 00:00 UTC of the report day. Nothing is deleted: a report that moves
        -- (or leaves a provider's calendar) gets superseded_at, and the new date a new row,
        -- so a replay can see the calendar as it was known on any day.
        CREATE TABLE earnings (
            id INTEGER PRIMARY KEY,
            ticker TEXT NOT NULL,
            date_ts INTEGER NOT NULL,                 -- report date, 00:00 UTC
            time_of_day TEXT NOT NULL DEFAULT 'unknown',  -- bmo | amc | unknown
            fiscal_quarter_end INTEGER,               -- 00:00 UTC of the quarter's last day
            market_cap REAL,                          -- USD
            estimated INTEGER NOT NULL DEFAULT 0,     -- 1: the source marks the date as an estimate
            source TEXT NOT NULL,                     -- nasdaq | alphavantage | file | demo
            seen_at INTEGER,                          -- first listed by a provider (NULL: a dated file)
            superseded_at INTEGER,                    -- replaced by a newer listing (moved or dropped)
            updated_at INTEGER NOT NULL               -- last written by a refresh or import
        );
        CREATE UNIQUE INDEX earnings_current ON earnings (ticker, date_ts) WHERE superseded_at IS NULL;
        CREATE INDEX earnings_by_date ON earnings (date_ts);

        -- Index membership lists (the buyback universe), replaced as a whole on refresh.
        CREATE TABLE index_members (
            index_id TEXT NOT NULL,                   -- sp500
            ticker TEXT NOT NULL,
            name TEXT,
            sector TEXT,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (index_id, ticker)
        ) WITHOUT ROWID;
        """,
    )


@MIGRATIONS(name="0003_btc_liq_raw")
def m0003_btc_liq_raw(db: Database) -> None:
    run_sql(
        db,
        """
        -- Raw frames of the live liquidation streams (btc_liq) that carried BTC liquidations,
        -- exactly as the venue sent them, one row per venue and written batch, kept
        -- FLOWWATCH_LIQ_RETENTION_DAYS (the 1-minute buckets in observations stay). frames is
        -- newline-separated (a JSON frame holds no raw newline). first_ms/last_ms bound the
        -- liquidation times inside. storage/liq_raw.py reads and writes them.
        CREATE TABLE liq_raw (
            venue TEXT NOT NULL,
            first_ms INTEGER NOT NULL,
            last_ms INTEGER NOT NULL,
            n INTEGER NOT NULL,
            frames TEXT NOT NULL
        );
        CREATE INDEX liq_raw_by_time ON liq_raw (last_ms)
        """,
    )


@MIGRATIONS(name="0004_discord_guild_state")
def m0004_discord_guild_state(db: Database) -> None:
    run_sql(
        db,
        """
        -- Per-guild snoozes of a signal (the global signal_state snooze is separate).
        CREATE TABLE guild_snoozes (
            guild_id INTEGER NOT NULL,
            signal TEXT NOT NULL,
            until INTEGER NOT NULL,              -- UTC epoch seconds
            created_by INTEGER,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (guild_id, signal)
        ) WITHOUT ROWID;

        -- Who acknowledged an alert message, and when (shown on the message).
        CREATE TABLE alert_acks (
            message_id TEXT PRIMARY KEY,
            guild_id INTEGER NOT NULL,
            alert_id INTEGER NOT NULL,
            user_id INTEGER NOT NULL,
            acked_at INTEGER NOT NULL
        );

        -- Digest messages (storm folds, quiet-hours digests) by destination.
        CREATE TABLE digests (
            message_id TEXT PRIMARY KEY,
            destination TEXT NOT NULL,
            kind TEXT NOT NULL,                  -- storm | quiet
            opened_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX digests_by_destination ON digests (destination, kind, updated_at);

        -- Recent deliveries per destination (storm cap, episode messages).
        CREATE INDEX deliveries_by_destination ON deliveries (destination, status, updated_at)
        """,
    )


@MIGRATIONS(name="0005_liq_rollups")
def m0005_liq_rollups(db: Database) -> None:
    run_sql(
        db,
        """
        -- btc_liq roll-ups of the live 1-minute buckets (storage/liq_rollups.py keeps them in the
        -- same transaction as the buckets). Per live venue and side: 5-minute, 1-hour and 1-day
        -- totals, the 1-minute rows counted (long and short each count) and the seconds the
        -- venue's stream was down.
        CREATE TABLE liq_rollup (
            res INTEGER NOT NULL,                -- period length (s): 300, 3600, 86400
            venue TEXT NOT NULL,                 -- bybit | binance | okx
            ts INTEGER NOT NULL,                 -- period start, UTC epoch seconds
            long_usd REAL NOT NULL DEFAULT 0,
            short_usd REAL NOT NULL DEFAULT 0,
            rows INTEGER NOT NULL DEFAULT 0,
            gap_s REAL NOT NULL DEFAULT 0,
            PRIMARY KEY (res, venue, ts)
        ) WITHOUT ROWID;

        -- All live venues together per 5-minute, 1-hour, 4-hour and 1-day period (baselines and
        -- ranks), with the minutes of data of the best-covered venue, indexed by size.
        CREATE TABLE liq_total (
            res INTEGER NOT NULL,
            ts INTEGER NOT NULL,
            usd REAL NOT NULL,
            minutes INTEGER NOT NULL,
            PRIMARY KEY (res, ts)
        ) WITHOUT ROWID;
        CREATE INDEX liq_total_by_usd ON liq_total (res, usd)
        """,
    )
    # The 1-minute rows already stored (a database that ran before this release).
    for venue in ("bybit", "binance", "okx"):
        for metric, cols in (
            ("long_usd", "ROUND(SUM(MAX(value, 0)), 2), 0, COUNT(*), 0"),
            ("short_usd", "0, ROUND(SUM(MAX(value, 0)), 2), COUNT(*), 0"),
            ("gap_s", "0, 0, 0, SUM(value)"),
        ):
            db.conn.execute(
                "INSERT INTO liq_rollup (res, venue, ts, long_usd, short_usd, rows, gap_s) "
                f"SELECT 300, ?, ts / 300 * 300, {cols} FROM observations WHERE series = ? GROUP BY ts / 300 "
                "ON CONFLICT (res, venue, ts) DO UPDATE SET long_usd = long_usd + excluded.long_usd, "
                "short_usd = short_usd + excluded.short_usd, rows = rows + excluded.rows, "
                "gap_s = gap_s + excluded.gap_s",
                [venue, f"liq.btc.{venue}.{metric}.1m"],
            )
    run_sql(
        db,
        """
        INSERT INTO liq_rollup (res, venue, ts, long_usd, short_usd, rows, gap_s)
        SELECT 3600, venue, ts / 3600 * 3600, ROUND(SUM(long_usd), 2), ROUND(SUM(short_usd), 2), SUM(rows), SUM(gap_s)
        FROM liq_rollup WHERE res = 300 GROUP BY venue, ts / 3600;
        INSERT INTO liq_rollup (res, venue, ts, long_usd, short_usd, rows, gap_s)
        SELECT 86400, venue, ts / 86400 * 86400, ROUND(SUM(long_usd), 2), ROUND(SUM(short_usd), 2), SUM(rows), SUM(gap_s)
        FROM liq_rollup WHERE res = 3600 GROUP BY venue, ts / 86400;
        INSERT INTO liq_total (res, ts, usd, minutes)
        SELECT res, ts, ROUND(SUM(long_usd + short_usd), 2), (MAX(rows) + 1) / 2 FROM liq_rollup GROUP BY res, ts;
        INSERT INTO liq_total (res, ts, usd, minutes)
        SELECT 14400, t4, ROUND(SUM(usd), 2), (MAX(n) + 1) / 2 FROM (
            SELECT ts / 14400 * 14400 AS t4, venue, SUM(long_usd + short_usd) AS usd, SUM(rows) AS n
            FROM liq_rollup WHERE res = 3600 GROUP BY t4, venue
        ) GROUP BY t4
        """,
    )


@MIGRATIONS(name="0006_delivery_at_scale")
def m0006_delivery_at_scale(db: Database) -> None:
    run_sql(
        db,
        """
        -- Attempts whose outcome is unknown (the request went out, no answer came back). A
        -- webhook takes no nonce, so these are never re-sent blind (see docs/operations.md).
        ALTER TABLE deliveries ADD COLUMN ambiguous INTEGER NOT NULL DEFAULT 0;

        -- The SHA-256 of the chart attached to the delivered message: an edit in place keeps
        -- the attachment when the new chart is the same.
        ALTER TABLE deliveries ADD COLUMN chart_sha TEXT;

        -- Routing reads the subscriptions of one signal, and the sink those of one channel.
        CREATE INDEX subscriptions_by_signal ON subscriptions (signal, enabled, channel_id);
        CREATE INDEX subscriptions_by_channel ON subscriptions (channel_id, signal)
        """,
    )


@MIGRATIONS(name="0007_replay_without_deliveries")
def m0007_replay_without_deliveries(db: Database) -> None:
    run_sql(
        db,
        """
        -- A replay prints its events and delivers nothing: it no longer writes delivery rows
        -- (they were counted as sent console deliveries). What it printed is kept here: a
        -- killed replay resumes by printing its events after this alert id.
        ALTER TABLE replay_runs ADD COLUMN emitted_through INTEGER NOT NULL DEFAULT 0;
        UPDATE replay_runs SET emitted_through = COALESCE((
            SELECT MAX(a.id) FROM alerts a JOIN deliveries d ON d.alert_id = a.id
            WHERE a.scope = 'replay' AND d.status = 'sent'
            AND instr(',' || replay_runs.signal || ',', ',' || a.signal || ',') > 0
        ), 0);
        DELETE FROM deliveries WHERE alert_id IN (SELECT id FROM alerts WHERE scope != 'live')
        """,
    )


@MIGRATIONS(name="0008_delivery_attempt_mark")
def m0008_delivery_attempt_mark(db: Database) -> None:
    run_sql(
        db,
        """
        -- Set (committed) just before a request that cannot be repeated safely goes out (a
        -- webhook POST: no nonce), cleared with the attempt's outcome. Found set at a later
        -- attempt, it means the process died mid-request: the outcome is unknown (ambiguous).
        ALTER TABLE deliveries ADD COLUMN attempt_started_at INTEGER
        """,
    )
