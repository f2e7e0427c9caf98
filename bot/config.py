"""Settings: read once from the environment (and ``.env``), validated with readable errors.

Every setting is declared in :data:`SETTINGS` (plus one per signal parameter,
``FLOWWATCH_<SIGNAL>_<PARAM>``); ``.env.example`` lists exactly these, which a test checks.
Secrets are wrapped in :class:`Secret` so they never print.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from signals import registry
from signals.base import Params
from signals.contract import default_params, validate_of
from storage.db import StorageError, check_writable


class ConfigError(Exception):
    """One or more settings are wrong; ``str()`` lists each with what is allowed."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


class Secret:
    """A string that never shows itself in logs, reprs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


def parse_timezone(text: str) -> ZoneInfo:
    try:
        return ZoneInfo(text.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone {text!r}: use an IANA name such as UTC, America/New_York or Europe/London"
        ) from None


def parse_hhmm(text: str) -> dtime:
    try:
        h, m = text.strip().split(":")
        return dtime(int(h), int(m))
    except ValueError:
        raise ValueError(f"{text!r} is not a time of day: use HH:MM in 24-hour form, e.g. 08:30") from None


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if not v > 0:
        raise ValueError(f"{text!r} must be greater than zero")
    return v


def _venues(text: str) -> tuple[str, ...]:
    from storage.series import LIQ_VENUES as VENUES

    names = tuple(dict.fromkeys(v.strip().lower() for v in text.split(",") if v.strip()))
    bad = [v for v in names if v not in VENUES]
    if bad:
        raise ValueError(
            f"unknown venue {bad[0]!r}: use a comma-separated list of {', '.join(VENUES)} (or none)"
        )
    return names


def _days(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number of days") from None
    if not 0 <= v <= 3650:
        raise ValueError(f"{text!r} is out of range (0 to 3650 days; 0 = do not keep them)")
    return v


def _minute_days(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number of days") from None
    if v != 0 and not 3 <= v <= 36500:
        raise ValueError(
            f"{text!r} is out of range (3 to 36500 days, or 0 = keep every minute; the cascade tracker "
            "warms up over the last two days of minutes)"
        )
    return v


def _secret(text: str) -> Secret:
    return Secret(text.strip())


def _level(text: str) -> str:
    v = text.strip().upper()
    if v not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError(f"{text!r} is not a log level: use DEBUG, INFO, WARNING or ERROR")
    return v


def _webhook(text: str) -> Secret:
    from bot.webhook_url import parse_webhook_url

    t = text.strip()
    parse_webhook_url(t)  # every form Discord hands out; ValueError says what is allowed
    return Secret(t)


def _url(text: str) -> Secret:
    t = text.strip()
    if not t.startswith(("https://", "http://")) or " " in t:
        raise ValueError("expected an http(s) URL")
    return Secret(t)


def _token(text: str) -> Secret:
    t = text.strip()
    if any(c.isspace() for c in t) or len(t) < 20:
        raise ValueError(
            "does not look like a Discord bot token (copy it from the Developer Portal, Bot tab)"
        )
    return Secret(t)


def _api_key(text: str) -> Secret:
    t = text.strip()
    if not t.isalnum() or len(t) < 8:
        raise ValueError(
            "does not look like an Alpha Vantage key (letters and digits, e.g. from alphavantage.co)"
        )
    return Secret(t)


def _int_range(lo: int, hi: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            v = int(text.strip())
        except ValueError:
            raise ValueError(f"{text!r} is not a whole number ({lo} to {hi})") from None
        if not lo <= v <= hi:
            raise ValueError(f"{v} is out of range ({lo} to {hi})")
        return v

    return parse


def _float_range(lo: float, hi: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            v = float(text.strip())
        except ValueError:
            raise ValueError(f"{text!r} is not a number ({lo:g} to {hi:g})") from None
        if not lo <= v <= hi:
            raise ValueError(f"{v:g} is out of range ({lo:g} to {hi:g})")
        return v

    return parse


def _sink_signals(text: str) -> frozenset[str] | str | None:
    from bot.sink_filters import parse_signals

    parsed = parse_signals(text)
    return "all" if parsed is None else parsed


def _sink_level(text: str) -> Any:
    from bot.sink_filters import parse_min_level

    return parse_min_level(text)


@dataclass(frozen=True)
class SettingSpec:
    env: str
    attr: str
    default: str
    help: str
    parse: Callable[[str], Any] = str
    secret: bool = False


SETTINGS: list[SettingSpec] = [
    SettingSpec(
        "DISCORD_TOKEN",
        "discord_token",
        "",
        "Discord bot token. Empty: run with the console sink (and the webhook, if set).",
        _token,
        secret=True,
    ),
    SettingSpec(
        "DISCORD_WEBHOOK_URL",
        "webhook_url",
        "",
        "Discord webhook URL: alerts (embed + chart) without creating a bot application.",
        _webhook,
        secret=True,
    ),
    SettingSpec(
        "FLOWWATCH_DB",
        "db_path",
        "./flowwatch.db",
        "SQLite database file (created if missing).",
        Path,
    ),
    SettingSpec(
        "FLOWWATCH_TIMEZONE",
        "timezone",
        "UTC",
        "IANA timezone for console output and the default daily-summary time.",
        parse_timezone,
    ),
    SettingSpec(
        "FLOWWATCH_SUMMARY_TIME",
        "summary_time",
        "",
        "Console/webhook daily summary time HH:MM in FLOWWATCH_TIMEZONE; empty = no summary.",
        parse_hhmm,
    ),
    SettingSpec("FLOWWATCH_LOG_LEVEL", "log_level", "INFO", "DEBUG, INFO, WARNING or ERROR.", _level),
    SettingSpec(
        "FLOWWATCH_CHART_DIR",
        "chart_dir",
        "",
        "Folder where the console sink saves each alert's chart PNG; empty = do not save.",
        Path,
    ),
    SettingSpec(
        "FLOWWATCH_DEADMAN_URL",
        "deadman_url",
        "",
        "Dead-man switch: a URL (e.g. a healthchecks.io check) the bot GETs every few minutes while healthy.",
        _url,
        secret=True,
    ),
    SettingSpec(
        "FLOWWATCH_DEADMAN_MINUTES",
        "deadman_minutes",
        "5",
        "Minutes between dead-man pings.",
        _positive_float,
    ),
    SettingSpec(
        "FLOWWATCH_ALERT_RETENTION_DAYS",
        "alert_retention_days",
        "400",
        "Days of alert history kept by the daily prune (open lifecycles are always kept).",
        _positive_float,
    ),
    SettingSpec(
        "FLOWWATCH_HTTP_TIMEOUT",
        "http_timeout",
        "20",
        "Seconds before an HTTP request to a data provider times out.",
        _positive_float,
    ),
    SettingSpec(
        "ALPHAVANTAGE_API_KEY",
        "alphavantage_key",
        "",
        "Alpha Vantage API key (free at alphavantage.co): the earnings-calendar fallback when Nasdaq fails.",
        _api_key,
        secret=True,
    ),
    SettingSpec(
        "FLOWWATCH_EARNINGS_SCAN_DAYS",
        "earnings_scan_days",
        "90",
        "Calendar days ahead the daily Nasdaq earnings scan covers (one request per trading day), 7 to 180.",
        _int_range(7, 180),
    ),
    SettingSpec(
        "FLOWWATCH_EARNINGS_SPACING",
        "earnings_spacing",
        "2",
        "Seconds between two requests of the Nasdaq earnings scan, 0.5 to 60.",
        _float_range(0.5, 60),
    ),
    SettingSpec(
        "FLOWWATCH_LIQ_VENUES",
        "liq_venues",
        "bybit,binance,okx",
        "Liquidation streams flowwatch run opens (comma-separated: bybit, binance, okx); 'none' = no streams.",
        lambda t: () if t.strip().lower() == "none" else _venues(t),
    ),
    SettingSpec(
        "FLOWWATCH_LIQ_RETENTION_DAYS",
        "liq_retention_days",
        "7",
        "Days to keep raw liquidation events (the 1-minute buckets have their own retention); 0 = do not store raw events.",
        _days,
    ),
    SettingSpec(
        "FLOWWATCH_LIQ_MINUTE_RETENTION_DAYS",
        "liq_minute_retention_days",
        "90",
        "Days to keep the 1-minute liquidation buckets, stream gaps and BTC minute closes; their 5-minute, "
        "hourly and daily roll-ups are kept. 0 = keep every minute; else 3 to 36500.",
        _minute_days,
    ),
    SettingSpec(
        "FLOWWATCH_COINGLASS_API_KEY",
        "coinglass_api_key",
        "",
        "Coinglass API key, only for 'flowwatch backfill coinglass' without --file (paid plans).",
        _secret,
        secret=True,
    ),
    SettingSpec(
        "FLOWWATCH_STORM_MAX",
        "storm_max",
        "5",
        "Storm cap: after this many alert events to one channel within FLOWWATCH_STORM_MINUTES, "
        "further events fold into one digest message edited in place (0 = never fold).",
        _int_range(0, 100),
    ),
    SettingSpec(
        "FLOWWATCH_STORM_MINUTES",
        "storm_minutes",
        "10",
        "Storm cap window in minutes.",
        _float_range(1, 1440),
    ),
    SettingSpec(
        "FLOWWATCH_BACKTEST_SECONDS",
        "backtest_seconds",
        "20",
        "Time budget of one /backtest in seconds (it runs off the event loop, one at a time), 1 to 600.",
        _float_range(1, 600),
    ),
    SettingSpec(
        "FLOWWATCH_BACKTEST_COOLDOWN",
        "backtest_cooldown",
        "60",
        "Seconds a Discord user waits between two /backtest commands; 0 = no cooldown.",
        _float_range(0, 86400),
    ),
    SettingSpec(
        "FLOWWATCH_CONSOLE_SIGNALS",
        "console_signals",
        "all",
        "Signals the console prints: all, none, or a comma-separated list (e.g. btc_liq,vix_term).",
        _sink_signals,
    ),
    SettingSpec(
        "FLOWWATCH_CONSOLE_MIN_LEVEL",
        "console_min_level",
        "watch",
        "Lowest level the console prints: watch (every heads-up), alert or severe.",
        _sink_level,
    ),
    SettingSpec(
        "FLOWWATCH_WEBHOOK_SIGNALS",
        "webhook_signals",
        "all",
        "Signals posted to DISCORD_WEBHOOK_URL: all, none, or a comma-separated list (e.g. btc_liq).",
        _sink_signals,
    ),
    SettingSpec(
        "FLOWWATCH_WEBHOOK_MIN_LEVEL",
        "webhook_min_level",
        "alert",
        "Lowest level posted to the webhook: watch (every heads-up), alert or severe.",
        _sink_level,
    ),
    SettingSpec(
        "FLOWWATCH_CHART_COOLDOWN",
        "chart_cooldown",
        "10",
        "Seconds a Discord user waits between chart commands (/vix, /chart, chart buttons); 0 = no cooldown.",
        _float_range(0, 3600),
    ),
]


@dataclass(frozen=True)
class Settings:
    discord_token: Secret | None = None
    webhook_url: Secret | None = None
    db_path: Path = Path("./flowwatch.db")
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    summary_time: dtime | None = None
    log_level: str = "INFO"
    chart_dir: Path | None = None
    http_timeout: float = 20.0
    deadman_url: Secret | None = None
    deadman_minutes: float = 5.0
    alert_retention_days: float = 400.0
    alphavantage_key: Secret | None = None
    earnings_scan_days: int = 90
    earnings_spacing: float = 2.0
    liq_venues: tuple[str, ...] = ("bybit", "binance", "okx")
    liq_retention_days: float = 7.0
    liq_minute_retention_days: float = 90.0
    coinglass_api_key: Secret | None = None
    storm_max: int = 5
    storm_minutes: float = 10.0
    chart_cooldown: float = 10.0
    backtest_seconds: float = 20.0
    backtest_cooldown: float = 60.0
    console_signals: frozenset[str] | str = "all"
    console_min_level: Any = None  # Level; None = watch
    webhook_signals: frozenset[str] | str = "all"
    webhook_min_level: Any = None  # Level; None = alert
    params: dict[str, Params] = field(default_factory=dict)

    def secrets(self) -> list[str]:
        """Every secret value, for the log redactor."""
        return [v.get() for v in vars(self).values() if isinstance(v, Secret) and v]

    def sink_filter(self, sink: str) -> Any:
        """The :class:`bot.sink_filters.SinkFilter` of ``console`` or ``webhook``."""
        from bot.sink_filters import SinkFilter
        from signals.base import Level

        signals = getattr(self, f"{sink}_signals")
        level = getattr(self, f"{sink}_min_level") or (Level.ALERT if sink == "webhook" else Level.WATCH)
        return SinkFilter(None if signals == "all" else frozenset(signals), level)

    def signal_params(self, signal_id: str) -> Params:
        if signal_id in self.params:
            return self.params[signal_id]
        return default_params(registry()[signal_id])


def param_env_name(signal_id: str, param: str) -> str:
    return f"FLOWWATCH_{signal_id}_{param}".upper()


def all_setting_names() -> list[str]:
    names = [s.env for s in SETTINGS]
    for sig in registry().values():
        names += [param_env_name(sig.id, p.name) for p in sig.params]
    return names


def _read_dotenv(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def load_settings(
    env: Mapping[str, str] | None = None,
    dotenv: Path | None = Path(".env"),
    *,
    check_db: bool = True,
    db_override: str | None = None,
) -> Settings:
    """Settings from ``env`` (default: the process environment over ``.env``)."""
    values: dict[str, str] = {}
    if dotenv is not None:
        values.update(_read_dotenv(dotenv))
    values.update(os.environ if env is None else env)
    problems: list[str] = []
    kwargs: dict[str, Any] = {}
    for spec in SETTINGS:
        raw = values.get(spec.env, spec.default)
        if raw is None or str(raw).strip() == "":
            if spec.default.strip():
                raw = spec.default
            else:
                kwargs[spec.attr] = None
                continue
        try:
            kwargs[spec.attr] = spec.parse(str(raw))
        except ValueError as exc:
            shown = "***" if spec.secret else repr(str(raw)[:60])
            problems.append(f"{spec.env}={shown}: {exc}")
    if db_override:
        kwargs["db_path"] = Path(db_override)
    params: dict[str, Params] = {}
    for sig in registry().values():
        overrides: dict[str, float] = {}
        for p in sig.params:
            name = param_env_name(sig.id, p.name)
            raw = values.get(name, "")
            if str(raw).strip() == "":
                continue
            try:
                overrides[p.name] = p.parse(raw)
            except ValueError as exc:
                problems.append(f"{name}={str(raw)[:40]!r}: {exc}")
        resolved = Params(sig.params, overrides)
        problems += [f"{sig.id} thresholds: {msg}" for msg in validate_of(sig, resolved)]
        params[sig.id] = resolved
    unknown = sorted(k for k in values if k.startswith("FLOWWATCH_") and k not in set(all_setting_names()))
    for k in unknown:
        problems.append(f"{k}: unknown setting (see .env.example for every setting flowwatch reads)")
    if check_db and "db_path" in kwargs and kwargs["db_path"] is not None:
        try:
            check_writable(kwargs["db_path"])
        except StorageError as exc:
            problems.append(f"FLOWWATCH_DB={str(kwargs['db_path'])!r}: {exc}")
    if problems:
        raise ConfigError(problems)
    return Settings(params=params, **{k: v for k, v in kwargs.items() if v is not None})


def env_example() -> str:
    """The text of ``.env.example`` (regenerate with ``python -m bot.config > .env.example``)."""
    lines = [
        "# flowwatch settings. Copy to .env and edit; the real environment overrides .env.",
        "# Every setting flowwatch reads is listed here; empty means the default (given in the comment).",
        "",
        "# --- Discord, storage and process ---",
    ]
    for s in SETTINGS:
        lines.append(f"# {s.help}" + (f" Default: {s.default}" if s.default else ""))
        lines += [f"{s.env}=", ""]
    for sig in registry().values():
        lines.append(
            f"# --- {sig.id}: {sig.title} (global thresholds; a guild's /thresholds only filters) ---"
        )
        for p in sig.params:
            unit = f" {p.unit}" if p.unit else ""
            lines.append(
                f"# {p.help[:1].upper()}{p.help[1:]}. Default {p.default:g}{unit}; {p.describe_range()}."
            )
            lines.append(f"{param_env_name(sig.id, p.name)}=")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(env_example(), end="")
