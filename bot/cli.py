"""The ``flowwatch`` command line (the contract in DESIGN.md: keep names and flags stable).

Every command takes ``--db PATH`` after its own name (default ``$FLOWWATCH_DB`` or
``./flowwatch.db``). Bad flags and files get a clear message and a non-zero exit:
2 for usage and configuration errors, 1 when the work itself failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import __version__

if TYPE_CHECKING:
    from sqlite_utils import Database

    from bot.config import Settings
    from signals.base import Params

log = logging.getLogger("flowwatch.cli")


class CliError(Exception):
    """A user-facing failure; the message is printed as ``flowwatch: error: ...``."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


# -- argument helpers ------------------------------------------------------------------


def _date_arg(text: str) -> datetime:
    from storage.timeutil import parse_date_arg

    try:
        return parse_date_arg(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _end_date_arg(text: str) -> datetime:
    """``--to``: the last date evaluated. A bare date means the whole of that day (its last second:
    a FedWatch settlement at 19:00 UTC or an intraday quote on it is evaluated); a time is kept."""
    end = _date_arg(text)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
        end += timedelta(days=1, seconds=-1)
    return end


def _positive_int(lo: int, hi: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number ({lo}..{hi})") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"{v} is out of range (allowed {lo}..{hi})")
        return v

    return parse


def _snowflake(text: str) -> int:
    t = text.strip()
    if not t.isdigit() or not 15 <= len(t) <= 21:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a Discord server id (a number of 17 to 20 digits; Developer Mode, right-click the "
            "server, Copy Server ID)"
        )
    return int(t)


def _set_arg(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"{text!r}: use KEY=VALUE, e.g. --set alert=1.05")
    k, v = text.split("=", 1)
    if not k.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: the key is empty")
    return k.strip(), v.strip()


def _add_db(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="PATH", help="SQLite database (default: $FLOWWATCH_DB or ./flowwatch.db)")


def build_parser() -> argparse.ArgumentParser:
    from signals import registry
    from signals.sources import backfills

    sig_ids = list(registry())
    parser = argparse.ArgumentParser(
        prog="flowwatch",
        description="Market-flow alerts for Discord: VIX term structure and more, from SQLite-stored history.",
        epilog="Settings come from the environment or .env (see .env.example). Docs: README.md",
    )
    parser.add_argument("--version", action="version", version=f"flowwatch {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser(
        "run", help="run the bot: live sources, scheduler, alerts (console sink without a token)"
    )
    _add_db(p)
    p.add_argument("--no-initial-poll", action="store_true", help="do not poll every source once at start-up")

    p = sub.add_parser(
        "demo",
        help="offline demo: every signal's built-in scenario through the whole pipeline",
        description="Offline, no token, no network: every signal's built-in scenario (vix_term: a vol shock "
        "that inverts the VIX curve; ratecut: a Fed-odds whipsaw; btc_liq: a BTC liquidation cascade; buyback: "
        "two earnings seasons; net_liquidity: a Treasury-account drain, then emergency lending; credit: a credit "
        "scare; vol_control and cta_trend: an S&P 500 shock after calm years) driven through the alert engine "
        "with a simulated clock. Alerts print on stdout; charts, summary.txt and the demo's own database go to "
        "--out.",
    )
    p.add_argument("--format", choices=["text", "jsonl"], default="text", help="alert output on stdout")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("demo-out"),
        help="folder for charts, the summary and the demo database (default ./demo-out)",
    )
    p.add_argument(
        "--db",
        metavar="PATH",
        help="the demo's own database, made anew (default: OUT/demo.db; never $FLOWWATCH_DB)",
    )

    p = sub.add_parser("import", help="load a CSV with header ts,value into a series (idempotent)")
    p.add_argument("series", help="series id, e.g. cboe.vix.close")
    p.add_argument("file", type=Path, help="CSV file with header ts,value")
    p.add_argument(
        "--custom",
        action="store_true",
        help="the series is your own, not one of the ids in docs/series.md: import it anyway "
        "(without it, an unknown id is refused with the nearest known ones)",
    )
    _add_db(p)

    bfs = backfills()
    p = sub.add_parser(
        "backfill",
        help="load history from a provider or a file in its own format ('all': every one)",
        description="all: every live provider, or with --dir D every file in D in a provider's own "
        "format (recognised by name and header). Sources: "
        + "; ".join(f"{b.name}: {b.help}" for b in bfs.values()),
    )
    p.add_argument("source", choices=["all", *bfs], help="data source, or all")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--file", type=Path, help="a file in the provider's own format")
    g.add_argument("--dir", type=Path, help="a folder of such files")
    p.add_argument("--since", type=_date_arg, help="only rows on or after this date (YYYY-MM-DD)")
    _add_db(p)

    p = sub.add_parser("replay", help="drive a signal and the alert engine over stored history")
    p.add_argument("signal", choices=sig_ids, help="signal id")
    p.add_argument(
        "--from",
        dest="start",
        type=_date_arg,
        help="first date evaluated (history before it is used for baselines)",
    )
    p.add_argument("--to", dest="end", type=_end_date_arg, help="last date evaluated (the whole day)")
    p.add_argument(
        "--set",
        dest="overrides",
        type=_set_arg,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a threshold for this run (backtest); repeatable",
    )
    p.add_argument(
        "--format",
        choices=["text", "jsonl"],
        default="text",
        help="jsonl: one JSON object per alert event on stdout and nothing else",
    )
    p.add_argument(
        "--chart", type=Path, metavar="FILE", help="also write a PNG chart of the range with alerts"
    )
    p.add_argument(
        "--restart",
        action="store_true",
        help="start over instead of resuming an interrupted replay",
    )
    _add_db(p)

    p = sub.add_parser("check", help="one live evaluation now; prints readings")
    p.add_argument("signal", nargs="?", choices=sig_ids, help="signal id (default: all)")
    p.add_argument("--no-fetch", action="store_true", help="evaluate stored data only, do not poll sources")
    _add_db(p)

    p = sub.add_parser(
        "test-alert",
        help="send one clearly marked test alert with a chart through every configured sink",
        description="One test alert (marked TEST, never stored, never pinging) through the console, "
        "DISCORD_WEBHOOK_URL when set, and with DISCORD_TOKEN every channel subscribed to the signal; "
        "prints what each answered, and what it did with the chart (attached on Discord; the console "
        "saves it only to FLOWWATCH_CHART_DIR). Built from the signal's stored data, or its demo "
        "scenario when nothing is stored yet. Exits 1 when a sink refused.",
    )
    p.add_argument("--signal", choices=sig_ids, default="vix_term", help="signal id (default vix_term)")
    _add_db(p)

    p = sub.add_parser("chart", help="render a signal's chart to a PNG file")
    p.add_argument("signal", choices=sig_ids, help="signal id")
    p.add_argument("--days", type=_positive_int(2, 20000), default=365, help="days of history (default 365)")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.png", help="output PNG file")
    p.add_argument(
        "--at", type=_end_date_arg, help="draw as of this date (the whole day; a time is kept) instead of now"
    )
    _add_db(p)

    p = sub.add_parser(
        "sync-commands",
        help="register the slash commands with Discord (one server for testing, global otherwise)",
    )
    p.add_argument(
        "--guild", type=_snowflake, metavar="ID", help="register in this server only (instant; for testing)"
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print the exact JSON list that would be sent to Discord; needs no token and no network",
    )
    _add_db(p)

    p = sub.add_parser("db", help="database upkeep: migrate, stats, prune, backup")
    dbsub = p.add_subparsers(dest="db_command", metavar="ACTION")
    dbsub.required = True
    for name, text in (
        ("migrate", "apply pending schema migrations"),
        ("stats", "rows per table and series"),
    ):
        q = dbsub.add_parser(name, help=text)
        _add_db(q)
    q = dbsub.add_parser("prune", help="apply the retention rules now (the bot also does it daily)")
    q.add_argument("--dry-run", action="store_true", help="only count what would be removed")
    _add_db(q)
    q = dbsub.add_parser("backup", help="online backup of the database to FILE (safe while the bot runs)")
    q.add_argument("file", type=Path, help="the new backup file")
    _add_db(q)

    p = sub.add_parser(
        "health", help="exit 0 when heartbeat, sources and delivery are healthy; 1 with reasons"
    )
    p.add_argument(
        "--integrity",
        action="store_true",
        help="check the database file's integrity now (quick_check), not only report the last check "
        "(re-checked by itself when that is over an hour old)",
    )
    _add_db(p)
    return parser


# -- shared setup -----------------------------------------------------------------------


def _settings(args: argparse.Namespace, *, check_db: bool = True) -> Settings:
    from bot.config import ConfigError, load_settings
    from bot.logs import add_secrets

    try:
        settings = load_settings(db_override=getattr(args, "db", None), check_db=check_db)
    except ConfigError as exc:
        raise CliError(str(exc), code=2) from None
    add_secrets(settings.secrets())  # values that came from .env, not the environment
    return settings


def _open(settings: Settings) -> Database:
    from storage.db import StorageError, open_db

    try:
        return open_db(settings.db_path)
    except StorageError as exc:
        raise CliError(_storage_text(settings, exc), code=2) from None


def _storage_text(settings: Settings, exc: Exception) -> str:
    text = str(exc)
    if any(w in text for w in ("malformed", "not a database", "corrupt")):
        return corrupt_message(settings.db_path, text)
    full = disk_full_text(settings.db_path, exc)
    return f"{text}: {full}" if full else text


#: free bytes under which a failure to write is taken for a full disk
FULL_BELOW = 1 << 20


def disk_full_text(db_path: Path, exc: BaseException | None = None) -> str | None:
    """What to say when the disk holding the database is (nearly) full, else None."""
    import errno
    import shutil

    if isinstance(exc, OSError) and exc.errno not in (None, errno.ENOSPC, errno.EDQUOT):
        return None
    folder = Path(os.path.realpath(db_path)).parent
    try:
        usage = shutil.disk_usage(folder)
    except OSError:
        return None
    if usage.free >= FULL_BELOW and "full" not in str(exc or "").lower():
        return None
    return (
        f"the disk holding {folder} is full ({usage.free / 1e6:.1f} MB free of {usage.total / 1e6:.0f} MB), "
        "so the database cannot be opened or written. Free some space on that disk (old logs, other files), "
        "then start again; once flowwatch runs, `flowwatch db prune` keeps its own history within the "
        "retention (docs/operations.md, 'A full disk')"
    )


def _require_db(settings: Settings) -> None:
    """Commands that only read: a missing file is a mistyped path or an empty install, never a
    database to create (an empty one would then say "no stored data")."""
    if not settings.db_path.exists():
        raise CliError(
            f"no database at {settings.db_path}: check --db (or FLOWWATCH_DB); "
            "flowwatch backfill all or flowwatch import loads history into a new one",
            code=2,
        )


def _open_readonly(settings: Settings) -> Database:
    """``health``, ``db stats``, ``db backup``: read the database, never write or migrate it."""
    from storage.db import StorageError, open_readonly

    try:
        return open_readonly(settings.db_path)
    except StorageError as exc:
        raise CliError(_storage_text(settings, exc), code=2) from None


def _refuse_damaged(settings: Settings, db: Database, *, trust_recent: bool = False) -> None:
    """Before a command writes (import, backfill, replay): ``quick_check`` now, whatever an earlier
    check said (the file may have been damaged since), recorded for ``health``; a damaged file is
    refused before anything is written into it.

    ``trust_recent`` (replay, which writes only its own replay rows): a sound check recorded in
    the last day (the running bot checks daily) stands, so a replay of one day does not read the
    whole file first (half a second per 250 MB: a year of liquidation minutes); a damaged record
    always stands."""
    import sqlite3

    from bot.dbwatch import damaged_text, last_or_now, record, run_check

    now = int(_now().timestamp())
    result, when = last_or_now(db, now, save=False) if trust_recent else (run_check(db), None)
    if not result.get("ok", True):
        db.close()
        raise CliError(damaged_text(settings.db_path, result.get("problems", [])))
    if when is None:  # checked just now: recorded for health
        with contextlib.suppress(sqlite3.Error):
            record(db, result, now)


def _check_at_start(settings: Settings) -> None:
    """``run``: migrate, then ``quick_check``; a damaged database is refused with what to do."""
    import sqlite3
    import time

    from bot.dbwatch import damaged_text, record, run_check

    db = _open(settings)
    try:
        print(f"flowwatch: checking the integrity of {settings.db_path} ...", file=sys.stderr, flush=True)
        result = run_check(db)
        if not result["ok"]:
            raise CliError(damaged_text(settings.db_path, result["problems"]))
        with contextlib.suppress(sqlite3.Error):
            record(db, result, int(time.time()))
    finally:
        db.close()


def _progress(total: int | None, desc: str, unit: str = "it") -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        disable=None,
        leave=False,
        dynamic_ncols=True,
    )


def _now() -> datetime:
    return datetime.now(UTC)


# -- commands ---------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    from storage.runlock import AlreadyRunning, RunLock

    settings = _settings(args)
    lock = RunLock(settings.db_path)
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        raise CliError(str(exc), code=2) from None
    try:
        return _run_locked(args, settings)
    finally:
        lock.release()


def _run_locked(args: argparse.Namespace, settings: Settings) -> int:
    from bot.runner import App, run_until_stopped

    _check_at_start(settings)  # migrate, check integrity, fail early with a readable error
    if settings.discord_token:
        try:
            from bot.discord_client import run_discord
        except ModuleNotFoundError:
            raise CliError("DISCORD_TOKEN is set, but this build has no Discord client", code=2) from None
        return run_discord(settings, initial_poll=not args.no_initial_poll)
    sinks_note = " and the webhook" if settings.webhook_url else ""
    print(
        f"flowwatch {__version__}: console sink{sinks_note} (no DISCORD_TOKEN); database {settings.db_path}; "
        "Ctrl-C to stop",
        file=sys.stderr,
    )
    if settings.webhook_url:
        from bot.sinks.webhook import webhook_app

        app = webhook_app(settings)
    else:
        app = App(settings, mode="console")
    app.report_stream = sys.stdout  # the start-up report
    asyncio.run(run_until_stopped(app, initial_poll=not args.no_initial_poll))
    return 0


def cmd_sync_commands(args: argparse.Namespace) -> int:
    import json

    if args.dry_run:
        from bot.discord_client import command_payload

        payload = command_payload()
        where = f"guild {args.guild}" if args.guild else "global"
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        print(
            f"dry run: {len(payload)} commands would be PUT to Discord ({where}); nothing sent",
            file=sys.stderr,
        )
        return 0
    import discord

    from bot.discord_client import sync_commands

    settings = _settings(args, check_db=False)
    if not settings.discord_token:
        raise CliError("sync-commands needs DISCORD_TOKEN (see .env.example), or use --dry-run", code=2)
    try:
        names = asyncio.run(sync_commands(settings, args.guild))
    except discord.LoginFailure:
        raise CliError("Discord rejected DISCORD_TOKEN (401 Unauthorized)", code=2) from None
    except discord.HTTPException as exc:
        raise CliError(f"Discord refused the commands: {exc}") from None
    where = f"in server {args.guild} (available now)" if args.guild else "globally"
    print(f"registered {len(names)} commands {where}: " + ", ".join(f"/{n}" for n in names))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from storage import series as series_ids
    from storage.importer import ImportRefused, import_csv
    from storage.observations import validate_series_id

    try:
        series = validate_series_id(args.series)
    except ValueError as exc:
        raise CliError(str(exc), code=2) from None
    if not args.custom and not series_ids.declared(series):
        near = series_ids.close_matches(series)
        hint = ""
        if near:
            hint = (
                f"; did you mean {near[0] if len(near) == 1 else ', '.join(near[:-1]) + ' or ' + near[-1]}?"
            )
        raise CliError(
            f"{series!r} is not a series flowwatch knows{hint}. The ids are listed in docs/series.md "
            "(e.g. cboe.vix.close, fred.effr, btc.usd.close.1d, kalshi.fomc.<decision-date>.cut). "
            "For a series of your own, add --custom; nothing imported",
            code=2,
        )
    path: Path = args.file
    if not path.is_file():
        raise CliError(f"{path}: no such file", code=2)
    settings = _settings(args)
    db = _open(settings)
    _refuse_damaged(settings, db)
    bar = _progress(None, f"import {series}", "rows")
    try:
        with _database_errors(settings, "nothing imported"):
            res = import_csv(db, series, path, _now().timestamp(), progress=lambda n: bar.update(n - bar.n))
    except ImportRefused as exc:
        raise CliError(str(exc)) from None
    finally:
        bar.close()
        db.close()
    dup = f"; {res.duplicates} repeated row(s) with the same value counted once" if res.duplicates else ""
    print(
        f"{series}: {res.total} rows read from {path.name}; {res.new} new, {res.updated} updated, "
        f"{res.unchanged} unchanged{dup}"
    )
    return 0


@contextlib.contextmanager
def _database_errors(settings: Settings, outcome: str) -> Iterator[None]:
    """A full disk or a damaged database as the usual clear error, not a traceback."""
    import sqlite3

    try:
        yield
    except sqlite3.DatabaseError as exc:
        text = str(exc)
        if "full" in text:
            raise CliError(
                f"the disk holding {settings.db_path} is full ({text}); {outcome}. Free some space "
                "(flowwatch db prune removes old rows) and run the command again"
            ) from None
        if "malformed" in text or "not a database" in text or "corrupt" in text:
            raise CliError(corrupt_message(settings.db_path, text)) from None
        raise CliError(f"database {settings.db_path}: {text}; {outcome}") from None


def corrupt_message(path: Path, detail: str) -> str:
    return (
        f"the database {path} is damaged ({detail[:200]}). Stop flowwatch, keep the file aside, and "
        f"restore the newest good backup (copy it to {path}); `flowwatch db backup FILE` makes one "
        "while the bot runs, and checks it. See docs/operations.md, 'A damaged database'."
    )


def cmd_backfill(args: argparse.Namespace) -> int:
    import httpx

    from bot.backfills import run_backfill
    from bot.runner import USER_AGENT
    from signals.sources import backfills
    from signals.sources.base import SourceError

    if args.source == "all":
        return _backfill_all(args)
    bf = backfills()[args.source]
    if args.file is not None and not bf.file:
        raise CliError(f"backfill {bf.name} does not read files; {bf.help}", code=2)
    if args.dir is not None and not bf.dir:
        raise CliError(f"backfill {bf.name} does not take --dir; {bf.help}", code=2)
    if args.file is None and args.dir is None and not bf.live:
        raise CliError(f"backfill {bf.name} needs --file F: {bf.help}", code=2)
    if args.file is not None and not args.file.is_file():
        raise CliError(f"{args.file}: no such file", code=2)
    if args.dir is not None and not args.dir.is_dir():
        raise CliError(f"{args.dir}: no such folder", code=2)
    settings = _settings(args)
    db = _open(settings)
    _refuse_damaged(settings, db)
    bar = _progress(None, f"backfill {bf.name}", "file")

    async def go() -> str:
        async with httpx.AsyncClient(
            timeout=settings.http_timeout, headers={"User-Agent": USER_AGENT}, follow_redirects=True
        ) as client:
            return await run_backfill(
                bf,
                db,
                client=client,
                now=_now(),
                file=args.file,
                dir=args.dir,
                since=args.since,
                settings=settings,
                progress=bar.update,
            )

    try:
        message = asyncio.run(go())
    except (SourceError, ValueError, OSError) as exc:
        raise CliError(f"backfill {bf.name}: {exc}") from None
    finally:
        bar.close()
        db.close()
    print(message)
    return 0


def _backfill_all(args: argparse.Namespace) -> int:
    import httpx

    from bot.backfill_all import backfill_all
    from bot.backfills import run_backfill
    from bot.runner import USER_AGENT

    if args.file is not None:
        raise CliError("backfill all takes --dir D (a folder of provider files) or nothing (live)", code=2)
    if args.dir is not None and not args.dir.is_dir():
        raise CliError(f"{args.dir}: no such folder", code=2)
    settings = _settings(args)
    db = _open(settings)
    _refuse_damaged(settings, db)
    bar = _progress(None, "backfill all", "file")

    async def go() -> list[Any]:
        async with httpx.AsyncClient(
            timeout=settings.http_timeout, headers={"User-Agent": USER_AGENT}, follow_redirects=True
        ) as client:
            now = _now()

            async def one(bf: Any, file: Path | None) -> str:
                print(f"{bf.name}: {file.name if file else 'downloading'} ...", file=sys.stderr)
                return await run_backfill(
                    bf,
                    db,
                    client=client,
                    now=now,
                    file=file,
                    since=args.since,
                    settings=settings,
                    progress=bar.update,
                )

            return await backfill_all(one, args.dir, settings)

    try:
        outcomes = asyncio.run(go())
    finally:
        bar.close()
        db.close()
    for o in outcomes:
        if o.provider == "-":
            continue
        mark = {True: "ok  ", False: "FAIL", None: "-   "}[o.ok]
        text = o.message.replace("\n", "\n" + " " * 8)
        print(f"{mark}  {o.provider} ({o.what}): {text}")
    unknown = [o for o in outcomes if o.provider == "-"]
    for why in dict.fromkeys(o.message for o in unknown):
        names = [o.what for o in unknown if o.message == why]
        print(f"-     skipped {len(names)} file(s), {why}: {', '.join(names)}")
    done = [o for o in outcomes if o.ok]
    failed = [o for o in outcomes if o.ok is False]
    print(
        f"backfill all: {len(done)} loaded, {len(failed)} failed, {len(outcomes) - len(done) - len(failed)} skipped",
        file=sys.stderr,
    )
    if failed and not done and args.dir is None:
        print(
            "no provider could be reached: check this machine's network, or load provider files with "
            "flowwatch backfill all --dir D",
            file=sys.stderr,
        )
    if not done and not failed:
        raise CliError(
            f"nothing to load in {args.dir}: no file in a provider's format" if args.dir else "nothing loaded"
        )
    return 1 if failed else 0


def _params_with_overrides(
    signal_id: str, settings: Settings, overrides: Sequence[tuple[str, str]]
) -> Params:
    from bot.backtest import OverrideError, params_with_overrides

    try:
        return params_with_overrides(signal_id, settings, overrides)
    except OverrideError as exc:
        raise CliError(f"--set{':' if exc.whole else ''} {exc}", code=2) from None


def cmd_replay(args: argparse.Namespace) -> int:
    from bot.formatting import event_jsonl, event_line
    from bot.replay import run_replay
    from signals import get_signal

    if args.start and args.end and args.start > args.end:
        raise CliError("--from must be on or before --to", code=2)
    if args.chart is not None and args.chart.suffix.lower() != ".png":
        raise CliError(f"--chart {args.chart}: the chart is a PNG; give a file name ending in .png", code=2)
    if args.chart is not None and args.chart.parent and not args.chart.parent.is_dir():
        # before the replay, not after it has run and stored its events (as chart -o does)
        raise CliError(f"--chart {args.chart}: folder {args.chart.parent} does not exist", code=2)
    settings = _settings(args)
    sig = get_signal(args.signal)
    params = _params_with_overrides(sig.id, settings, args.overrides)
    db = _open(settings)
    _refuse_damaged(settings, db, trust_recent=True)
    if not _has_data(db, sig):
        db.close()
        raise CliError(f"no stored data for {sig.id}; load history first (flowwatch backfill ... or import)")
    out = sys.stdout
    tz = settings.timezone

    def emit(_id: int, ev: Any) -> None:
        out.write((event_jsonl(ev) if args.format == "jsonl" else event_line(ev, tz)) + "\n")
        out.flush()

    bar = _progress(None, f"replay {sig.id}", "readings")
    try:
        res = run_replay(
            db,
            [sig],
            {sig.id: params},
            args.start,
            args.end,
            emit=emit,
            progress=bar.update,
            resume=not args.restart,
        )
    finally:
        bar.close()
    note = " (resumed an interrupted replay)" if res.resumed else ""
    print(
        f"replay {sig.id}: {res.readings} readings, {len(res.events) + res.reemitted} events in "
        f"{res.seconds:.2f} s{note}",
        file=sys.stderr,
    )
    if args.chart is not None:
        from bot.charts import render_png
        from bot.queries import chart_data

        end = args.end or _last_ts(db, sig.inputs)
        start = args.start or (end - timedelta(days=365 * 30))
        days = max(2, (end - start).days + 1)
        data = chart_data(
            db,
            settings,
            sig.id,
            end + timedelta(seconds=1),
            min(days, 40000),
            marks_scope="replay",
            params=params,
        )
        args.chart.write_bytes(render_png(data))
        print(f"chart written to {args.chart}", file=sys.stderr)
    db.close()
    return 0


def _has_data(db: Any, sig: Any) -> bool:
    """Whether anything a signal reads is stored (its series, or rows in its table inputs)."""
    from signals.contract import tables_of

    where, params = _inputs_where(sig.inputs)
    if db.execute(f"SELECT 1 FROM observations WHERE {where} LIMIT 1", params).fetchone():
        return True
    return any(len(load(db, None)) for load in tables_of(sig).values())


def _inputs_where(patterns: Sequence[str]) -> tuple[str, list[str]]:
    from storage.observations import _series_clause

    return _series_clause(patterns)


def _last_ts(db: Any, patterns: Sequence[str]) -> datetime:
    """The newest stored time of the series matching ``patterns``: one index probe per series
    (a ``MAX(ts)`` over ``LIKE`` patterns would scan every row of a year of minutes)."""
    from storage.observations import series_names
    from storage.timeutil import from_epoch

    last = None
    for name in series_names(db, patterns):
        row = db.execute("SELECT MAX(ts) FROM observations WHERE series = ?", [name]).fetchone()
        if row and row[0] is not None:
            last = row[0] if last is None else max(last, row[0])
    return from_epoch(last) if last is not None else _now()


def cmd_check(args: argparse.Namespace) -> int:
    from bot.formatting import reading_line
    from bot.queries import coverage_note, status
    from signals import registry

    settings = _settings(args)
    if args.no_fetch:
        _require_db(settings)  # nothing would be fetched into a new one
    _open(settings).close()  # migrate and fail early with a readable error
    ids = [args.signal] if args.signal else list(registry())
    if not args.no_fetch:
        _check_fetch(settings, ids)
    db = _open_readonly(settings)  # the evaluation reads; it never holds up a running bot's writes
    now = _now()
    rows = [ks for sid in ids for ks in status(db, settings, now, sid, running=False)]
    notes = [n for sid in ids for n in [coverage_note(db, settings, sid)] if n]
    db.close()
    stale = 0
    for ks in rows:
        if ks.reading is None:
            print(f"{ks.signal}/{ks.key}  no data yet: {ks.why_empty or 'nothing stored'}")
        else:
            stale += bool(ks.stale)
            print(reading_line(ks.reading, settings.timezone, ks.stale))
    for note in notes:
        print(note)
    if stale:
        print(
            f"{stale} of {len(rows)} reading(s) are STALE (their data is too old to alert on): flowwatch run "
            "keeps the data current; flowwatch backfill all loads what is missing",
            file=sys.stderr,
        )
    return 0


def _check_fetch(settings: Settings, ids: Sequence[str]) -> None:
    """Poll every source of ``ids`` once, concurrently and with one try each, then one summary."""
    from bot.runner import App
    from signals import sources
    from signals.sources.http import single_try
    from storage import batches

    app = App(settings, mode="check")
    app.report_stream = None
    seen: set[object] = set()
    wanted = []
    for p in sources.polls():
        if set(p.signals) & set(ids) and p.run not in seen:
            seen.add(p.run)
            wanted.append(p)
    results: dict[str, str | None] = {}

    async def one(poll: Any) -> None:
        try:
            batch = await app.source_context().run(poll.run)
        except Exception as exc:
            results[poll.name] = str(exc).removeprefix(f"{poll.name}: ") or type(exc).__name__
            return
        results[poll.name] = None
        if batch:
            written = await app.store.call(batches.write, batch, live=True)
            if batch.observations:
                res = written.observations
                print(f"{poll.name}: {res.total} rows ({res.new} new)", file=sys.stderr)

    async def fetch() -> None:
        await app.store.open()
        try:
            with single_try():
                await asyncio.gather(*(one(p) for p in wanted))
        finally:
            await app.client.aclose()
            await app.store.close()
            app.renderer.close()

    previous = logging.getLogger("flowwatch").level
    logging.getLogger("flowwatch").setLevel(max(previous, logging.ERROR))  # the summary says it all
    try:
        asyncio.run(fetch())
    finally:
        logging.getLogger("flowwatch").setLevel(previous)
    failed = {k: v for k, v in results.items() if v is not None}
    reached = len(results) - len(failed)
    print(f"fetch: {reached} of {len(results)} sources reached (one try each)", file=sys.stderr)
    for name, why in sorted(failed.items()):
        print(f"  {name}: {why if len(why) <= 200 else why[:199].rstrip() + '…'}", file=sys.stderr)
    if results and not reached:
        print(
            "nothing is reachable: check this machine's network (DNS, proxy, firewall). Shown below is "
            "the stored data; `flowwatch check --no-fetch` skips the fetch.",
            file=sys.stderr,
        )
    elif failed:
        print("the failed sources' signals are shown from stored data", file=sys.stderr)


def cmd_test_alert(args: argparse.Namespace) -> int:
    from bot.testalert import run_test_alert
    from storage.db import open_db

    settings = _settings(args)
    if settings.db_path.exists():
        db = _open(settings)
    else:
        # a mistyped path must not become an empty database; the sinks are still worth testing
        print(
            f"no database at {settings.db_path} (check --db or FLOWWATCH_DB): nothing stored and no "
            "channel subscribed there",
            file=sys.stderr,
        )
        db = open_db(":memory:")
    try:
        answers = asyncio.run(
            run_test_alert(
                settings, db, args.signal, _now(), sys.stdout, lambda line: print(line, file=sys.stderr)
            )
        )
    finally:
        db.close()
    width = max(len(a.sink) for a in answers)
    print("sinks:")
    for a in answers:
        print(f"  {a.sink:<{width}}  {'ok    ' if a.ok else 'FAILED'}  {a.answer}")
    failed = [a for a in answers if not a.ok]
    if failed:
        print(f"{len(failed)} of {len(answers)} sink(s) refused the test alert", file=sys.stderr)
    return 1 if failed else 0


def cmd_chart(args: argparse.Namespace) -> int:
    from bot.charts import render_png
    from bot.queries import chart_data

    if args.output.suffix.lower() != ".png":
        raise CliError(f"-o {args.output}: the chart is a PNG; give a file name ending in .png", code=2)
    if args.output.parent and not args.output.parent.exists():
        raise CliError(f"-o {args.output}: folder {args.output.parent} does not exist", code=2)
    settings = _settings(args)
    _require_db(settings)
    _open(settings).close()  # migrate and fail early with a readable error
    db = _open_readonly(settings)
    try:
        sig = __import__("signals", fromlist=["get_signal"]).get_signal(args.signal)
        # series: as of the day after the last stored value; table-only signals: now
        at = args.at or (_last_ts(db, sig.inputs) + timedelta(days=1) if sig.inputs else _now())
        data = chart_data(db, settings, args.signal, at, args.days)
        if data.empty:
            raise CliError(f"no stored data for {args.signal} in those {args.days} days; backfill first")
        png = render_png(data)
    finally:
        db.close()
    args.output.write_bytes(png)
    print(f"{args.output}: {len(png) // 1024} KiB, {args.signal} over {args.days} days")
    return 0


def cmd_health(args: argparse.Namespace) -> int:
    import sqlite3

    from bot.health import check, storage_report

    settings = _settings(args, check_db=False)
    if not settings.db_path.exists():
        print(f"UNHEALTHY: no database at {settings.db_path}")
        return 1
    try:
        db = _open_readonly(settings)
    except CliError as exc:
        print(f"UNHEALTHY: {exc}")
        return 1
    try:
        rep = check(db, _now())
        storage_report(db, settings.db_path, rep, _now(), recheck=args.integrity)
    except sqlite3.DatabaseError as exc:
        print(f"UNHEALTHY: {_storage_text(settings, exc)}")
        return 1
    finally:
        db.close()
    print(rep.text())
    return 0 if rep.ok else 1


def cmd_db(args: argparse.Namespace) -> int:
    from storage.db import applied_migrations, open_db, pending_migrations

    settings = _settings(args, check_db=args.db_command in ("migrate", "prune"))
    if args.db_command == "backup":
        from storage.maintenance import MaintenanceError, backup

        if not settings.db_path.exists():
            raise CliError(f"no database at {settings.db_path}", code=2)
        bar = _progress(None, "backup", "pages")
        try:
            size = backup(settings.db_path, args.file, progress=lambda done, total: bar.update(done - bar.n))
        except MaintenanceError as exc:
            raise CliError(str(exc)) from None
        finally:
            bar.close()
        print(f"backed up {settings.db_path} to {args.file} ({size / 1e6:.1f} MB, integrity ok)")
        return 0
    if args.db_command == "prune":
        from bot.upkeep import prune, prune_minutes

        db = _open(settings)
        now = int(_now().timestamp())
        removed = prune(db, settings, now, dry_run=args.dry_run)
        removed.update(prune_minutes(db, settings, now, dry_run=args.dry_run))
        db.close()
        verb = "would remove" if args.dry_run else "removed"
        for what, n in removed.items():
            print(f"{verb} {n:>8} {what}")
        return 0
    if args.db_command == "migrate":
        from storage.db import StorageError

        try:
            db = open_db(settings.db_path, migrate=False)
            before = pending_migrations(db)
            db.close()
            db = open_db(settings.db_path)
        except StorageError as exc:
            raise CliError(str(exc), code=2) from None
        print(
            f"{settings.db_path}: applied {len(before)} migration(s)"
            + (f" ({', '.join(before)})" if before else "")
            + f"; schema at {applied_migrations(db)[-1]}"
        )
        db.close()
        return 0
    db = _open_readonly(settings)
    from storage.observations import series_stats
    from storage.timeutil import iso

    size = settings.db_path.stat().st_size if settings.db_path.exists() else 0
    applied = applied_migrations(db)
    pending = pending_migrations(db)
    later = f"; {len(pending)} migration(s) pending (flowwatch db migrate, or run)" if pending else ""
    print(
        f"database {settings.db_path} ({size / 1e6:.1f} MB), schema {applied[-1] if applied else 'empty'}{later}"
    )
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for table in (
        "observations",
        "alerts",
        "deliveries",
        "signal_state",
        "subscriptions",
        "guild_settings",
    ):
        if table not in tables:
            continue
        n = db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        print(f"  {table:<16} {n:>10} rows")
    counts = dict(
        db.execute(
            "SELECT d.status, COUNT(*) FROM deliveries d JOIN alerts a ON a.id = d.alert_id "
            "WHERE a.scope = 'live' GROUP BY d.status"
        ).fetchall()
    )
    if counts:
        print("  live deliveries by status: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    replayed = db.execute("SELECT COUNT(*) FROM alerts WHERE scope != 'live'").fetchone()[0]
    if replayed:
        print(f"  replay events    {replayed:>10} (flowwatch replay and /backtest; never delivered)")
    stats = series_stats(db)
    if stats:
        print("series:")
        for s in stats:
            print(
                f"  {s['series']:<40} {s['rows']:>9}  {iso(int(s['first']))[:10]} .. "
                f"{iso(int(s['last']))[:10]}"
            )
    db.close()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise CliError(f"--out {out}: is a file; give a folder for the charts and the summary", code=2)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"--out {out}: cannot create the folder ({exc.strerror or exc})", code=2) from None
    settings = _settings(args, check_db=False)
    db_path = Path(args.db) if args.db else None
    if db_path is not None and settings.db_path.exists() and db_path.resolve() == settings.db_path.resolve():
        raise CliError(
            f"--db {db_path}: that is FLOWWATCH_DB, the bot's database; the demo makes its own", code=2
        )
    return run_demo(settings, out, args.format, db_path=db_path)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": cmd_run,
    "demo": cmd_demo,
    "import": cmd_import,
    "backfill": cmd_backfill,
    "replay": cmd_replay,
    "check": cmd_check,
    "chart": cmd_chart,
    "test-alert": cmd_test_alert,
    "db": cmd_db,
    "health": cmd_health,
    "sync-commands": cmd_sync_commands,
}


def _early_logging(args: argparse.Namespace) -> None:
    """Logging before settings are validated: level from the environment, secrets redacted."""
    import os

    from bot.logs import setup_logging

    level = os.environ.get("FLOWWATCH_LOG_LEVEL", "INFO").strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        level = "INFO"
    if getattr(args, "format", None) == "jsonl":
        level = "WARNING"  # nothing but events on stdout, and little on stderr
    secrets = [
        os.environ.get(k, "")
        for k in (
            "DISCORD_TOKEN",
            "DISCORD_WEBHOOK_URL",
            "ALPHAVANTAGE_API_KEY",
            "FLOWWATCH_COINGLASS_API_KEY",
        )
    ]
    setup_logging(level, secrets)


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def parse_command_line(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """``parser.parse_args``, with an unknown option named where it was given: argparse reports a
    subcommand's unknown option with the top-level usage (``flowwatch run --bogus``), and an option
    before any command as a missing COMMAND (``flowwatch --bogus``)."""
    level, rest = parser, argv
    while (subs := _subparsers(level)) and rest:
        head = rest[0]
        if head.startswith("-") and head not in ("-h", "--help", "--version"):
            level.error(
                f"unrecognized option {head}: give a command first, then its options "
                f"({level.prog} COMMAND --help lists them). Commands: {', '.join(subs)}"
            )
        if head not in subs:
            break
        level, rest = subs[head], rest[1:]
    args, extra = parser.parse_known_args(argv)
    if extra:
        target = parser
        for dest in ("command", "db_command"):
            sub = _subparsers(target).get(getattr(args, dest, None) or "")
            if sub is None:
                break
            target = sub
        unknown = [a for a in extra if a.startswith("-")]
        what = (
            f"unrecognized option {' '.join(unknown)}"
            if unknown
            else f"unrecognized arguments: {' '.join(extra)}"
        )
        target.error(f"{what} ({target.prog} --help lists what it takes)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    import sqlite3

    parser = build_parser()
    args = parse_command_line(parser, list(sys.argv[1:] if argv is None else argv))
    _early_logging(args)
    try:
        return COMMANDS[args.command](args)
    except CliError as exc:
        print(f"flowwatch: error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("flowwatch: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except sqlite3.DatabaseError as exc:  # a damaged file, a full disk: never a traceback
        text = str(exc)
        if any(w in text for w in ("malformed", "not a database", "corrupt")):
            import os

            where = getattr(args, "db", None) or os.environ.get("FLOWWATCH_DB") or "flowwatch.db"
            print(f"flowwatch: error: {corrupt_message(Path(where), text)}", file=sys.stderr)
        else:
            print(f"flowwatch: error: database: {text}", file=sys.stderr)
        return 1
    except OSError as exc:  # a path the file system refuses (name too long, permissions, disk full)
        import errno

        where = f"{exc.filename}: " if exc.filename else ""
        full = None
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            db = getattr(args, "db", None) or os.environ.get("FLOWWATCH_DB") or "flowwatch.db"
            full = disk_full_text(Path(db), exc)
        print(f"flowwatch: error: {where}{exc.strerror or exc}{f': {full}' if full else ''}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
