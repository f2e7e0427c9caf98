"""Settings: read once from the environment (and ``.env``), validated with readable errors.

Every setting is declared once: the core ones as attributes of :class:`Settings`, each data
source's in its module's ``SETTINGS`` (:class:`signals.sources.base.Setting`), and one per
signal parameter (``FLOWWATCH_<SIGNAL>_<PARAM>``, from the signal's ``params``).
``.env.example`` lists exactly these (``python -m bot.config > .env.example``), which a test
checks. Secrets are wrapped in :class:`Secret` so they never print.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import time as dtime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from signals import registry, sources
from signals.base import Params
from signals.contract import default_params, validate_of
from signals.sources.base import Secret, Setting, parse_float_range, parse_int_range
from storage.db import StorageError, check_writable

T = TypeVar("T")

__all__ = ["ConfigError", "Secret", "Setting", "Settings", "env_example", "load_settings"]


class ConfigError(Exception):
    """One or more settings are wrong; ``str()`` lists each with what is allowed."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


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


def _sink_signals(text: str) -> frozenset[str] | str:
    from bot.sink_filters import parse_signals

    parsed = parse_signals(text)
    return "all" if parsed is None else parsed


def _yes_no(text: str) -> bool:
    t = text.strip().lower()
    if t in ("yes", "true", "1", "on"):
        return True
    if t in ("no", "false", "0", "off"):
        return False
    raise ValueError(f"{text!r} is not yes or no (also allowed: true/false, 1/0, on/off)")


def _sink_level(text: str) -> Any:
    from bot.sink_filters import parse_min_level

    return parse_min_level(text)


class Settings:
    """Every setting, read once (:func:`load_settings`). Each core setting is declared once, here,
    as a typed attribute (name, default, help and parser together); a source declares its own
    in its module's ``SETTINGS``, read with :meth:`get`; signal parameters are ``params``."""

    discord_token = Setting[Secret | None](
        "DISCORD_TOKEN",
        "",
        "Discord bot token. Empty: run with the console sink (and the webhook, if set).",
        _token,
        secret=True,
    )
    webhook_url = Setting[Secret | None](
        "DISCORD_WEBHOOK_URL",
        "",
        "Discord webhook URL: alerts (embed + chart) without creating a bot application.",
        _webhook,
        secret=True,
    )
    db_path = Setting[Path](
        "FLOWWATCH_DB", "./flowwatch.db", "SQLite database file (created if missing).", Path
    )
    timezone = Setting[ZoneInfo](
        "FLOWWATCH_TIMEZONE",
        "UTC",
        "IANA timezone for console output and the default daily-summary time.",
        parse_timezone,
    )
    summary_time = Setting[dtime | None](
        "FLOWWATCH_SUMMARY_TIME",
        "",
        "Console/webhook daily summary time HH:MM in FLOWWATCH_TIMEZONE; empty = no summary.",
        parse_hhmm,
    )
    log_level = Setting[str]("FLOWWATCH_LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING or ERROR.", _level)
    chart_dir = Setting[Path | None](
        "FLOWWATCH_CHART_DIR",
        "",
        "Folder where the console sink saves each alert's chart PNG; empty = do not save.",
        Path,
    )
    chart_process = Setting[bool](
        "FLOWWATCH_CHART_PROCESS",
        "yes",
        "Draw charts in a process of their own (yes/no). yes: slash answers stay quick while an alert "
        "goes out to many channels, for about 140 MiB more memory; no: charts draw on a thread of the "
        "bot (small hosts).",
        _yes_no,
    )
    deadman_url = Setting[Secret | None](
        "FLOWWATCH_DEADMAN_URL",
        "",
        "Dead-man switch: a URL (e.g. a healthchecks.io check) the bot GETs every few minutes while healthy.",
        _url,
        secret=True,
    )
    deadman_minutes = Setting[float](
        "FLOWWATCH_DEADMAN_MINUTES", "5", "Minutes between dead-man pings.", _positive_float
    )
    alert_retention_days = Setting[float](
        "FLOWWATCH_ALERT_RETENTION_DAYS",
        "400",
        "Days of alert history kept by the daily prune (open lifecycles are always kept).",
        _positive_float,
    )
    http_timeout = Setting[float](
        "FLOWWATCH_HTTP_TIMEOUT",
        "20",
        "Seconds before an HTTP request to a data provider times out.",
        _positive_float,
    )
    storm_max = Setting[int](
        "FLOWWATCH_STORM_MAX",
        "5",
        "Storm cap: after this many alert events to one channel within FLOWWATCH_STORM_MINUTES, "
        "further events fold into one digest message edited in place (0 = never fold).",
        parse_int_range(0, 100),
    )
    storm_minutes = Setting[float](
        "FLOWWATCH_STORM_MINUTES", "10", "Storm cap window in minutes.", parse_float_range(1, 1440)
    )
    backtest_seconds = Setting[float](
        "FLOWWATCH_BACKTEST_SECONDS",
        "20",
        "Time budget of one /backtest in seconds (it runs off the event loop, one at a time), 1 to 600.",
        parse_float_range(1, 600),
    )
    backtest_cooldown = Setting[float](
        "FLOWWATCH_BACKTEST_COOLDOWN",
        "60",
        "Seconds a Discord user waits between two /backtest commands; 0 = no cooldown.",
        parse_float_range(0, 86400),
    )
    console_signals = Setting[frozenset[str] | str](
        "FLOWWATCH_CONSOLE_SIGNALS",
        "all",
        "Signals the console prints: all, none, or a comma-separated list (e.g. btc_liq,vix_term).",
        _sink_signals,
    )
    console_min_level = Setting[Any](
        "FLOWWATCH_CONSOLE_MIN_LEVEL",
        "watch",
        "Lowest level the console prints: watch (every heads-up), alert or severe.",
        _sink_level,
    )
    webhook_signals = Setting[frozenset[str] | str](
        "FLOWWATCH_WEBHOOK_SIGNALS",
        "all",
        "Signals posted to DISCORD_WEBHOOK_URL: all, none, or a comma-separated list (e.g. btc_liq).",
        _sink_signals,
    )
    webhook_min_level = Setting[Any](
        "FLOWWATCH_WEBHOOK_MIN_LEVEL",
        "alert",
        "Lowest level posted to the webhook: watch (every heads-up), alert or severe.",
        _sink_level,
    )
    chart_cooldown = Setting[float](
        "FLOWWATCH_CHART_COOLDOWN",
        "10",
        "Seconds a Discord user waits between chart commands (/vix, /chart, chart buttons); 0 = no cooldown.",
        parse_float_range(0, 3600),
    )

    def __init__(
        self, values: Mapping[str, Any] | None = None, params: dict[str, Params] | None = None
    ) -> None:
        #: parsed values by environment name (absent: the setting's default)
        self._values: dict[str, Any] = dict(values or {})
        self.params: dict[str, Params] = dict(params or {})

    def get(self, setting: Setting[T]) -> T:
        """A setting's value (a source's, or a core one): as given, else its default."""
        if setting.env in self._values:
            value: T = self._values[setting.env]
            return value
        return setting.default_value()  # type: ignore[return-value]  # T includes None when empty

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in sorted(self._values.items()))
        return f"Settings({shown})"

    def secrets(self) -> list[str]:
        """Every secret value (core and sources'), for the log redactor."""
        return [v.get() for v in self._values.values() if isinstance(v, Secret) and v]

    def sink_filter(self, sink: str) -> Any:
        """The :class:`bot.sink_filters.SinkFilter` of ``console`` or ``webhook``."""
        from bot.sink_filters import SinkFilter
        from signals.base import Level

        signals = self.console_signals if sink == "console" else self.webhook_signals
        level = self.console_min_level if sink == "console" else self.webhook_min_level
        level = level or (Level.ALERT if sink == "webhook" else Level.WATCH)
        return SinkFilter(None if signals == "all" else frozenset(signals), level)

    def signal_params(self, signal_id: str) -> Params:
        if signal_id in self.params:
            return self.params[signal_id]
        return default_params(registry()[signal_id])


def core_settings() -> list[Setting[Any]]:
    """The core settings, in declaration order."""
    return [v for v in vars(Settings).values() if isinstance(v, Setting)]


def every_setting() -> list[tuple[str, Setting[Any]]]:
    """(group, setting) of every setting: the core ones (group ``""``), then each source module's."""
    out: list[tuple[str, Setting[Any]]] = [("", s) for s in core_settings()]
    out += list(sources.settings())
    return out


def param_env_name(signal_id: str, param: str) -> str:
    return f"FLOWWATCH_{signal_id}_{param}".upper()


def all_setting_names() -> list[str]:
    names = [s.env for _group, s in every_setting()]
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
    parsed: dict[str, Any] = {}
    for _group, spec in every_setting():
        raw = values.get(spec.env, spec.default)
        if raw is None or str(raw).strip() == "":
            if not spec.default.strip():
                continue  # empty, and empty by default: None
            raw = spec.default
        try:
            parsed[spec.env] = spec.parse(str(raw))
        except ValueError as exc:
            shown = "***" if spec.secret else repr(str(raw)[:60])
            problems.append(f"{spec.env}={shown}: {exc}")
    if db_override:
        parsed[Settings.db_path.env] = Path(db_override)
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
    db = parsed.get(Settings.db_path.env)
    if check_db and db is not None:
        try:
            check_writable(db)
        except StorageError as exc:
            problems.append(f"FLOWWATCH_DB={str(db)!r}: {exc}")
    if problems:
        raise ConfigError(problems)
    return Settings(parsed, params)


def env_example() -> str:
    """The text of ``.env.example`` (regenerate with ``python -m bot.config > .env.example``)."""
    lines = [
        "# flowwatch settings. Copy to .env and edit; the real environment overrides .env.",
        "# Every setting flowwatch reads is listed here; empty means the default (given in the comment).",
        "",
        "# --- Discord, storage and process ---",
    ]
    group = ""
    for name, s in every_setting():
        if name != group:
            group = name
            lines.append(f"# --- data source: {name} ---")
        lines.append(f"# {s.help}" + (f" Default: {s.default}" if s.default else ""))
        lines += [f"{s.env}=", ""]
    for sig in registry().values():
        lines.append(
            f"# --- {sig.id}: {sig.title} (global thresholds; a guild's /thresholds only filters) ---"
        )
        for p in sig.params:
            lines.append(
                f"# {p.help[:1].upper()}{p.help[1:]}. Default {p.with_unit(f'{p.default:g}')}; {p.describe_range()}."
            )
            lines.append(f"{param_env_name(sig.id, p.name)}=")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(env_example(), end="")
