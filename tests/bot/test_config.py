from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, all_setting_names, env_example, load_settings

REPO = Path(__file__).resolve().parents[2]


def test_defaults_load(tmp_path: Path) -> None:
    s = load_settings(env={}, dotenv=None)
    assert s.discord_token is None and s.timezone.key == "UTC"
    assert s.signal_params("vix_term")["alert"] == 1.0


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"FLOWWATCH_TIMEZONE": "Mars/Olympus"}, "unknown timezone 'Mars/Olympus'"),
        (
            {"FLOWWATCH_VIX_TERM_ALERT": "high"},
            "FLOWWATCH_VIX_TERM_ALERT='high': alert: 'high' is not a number",
        ),
        ({"FLOWWATCH_VIX_TERM_ALERT": "9"}, "out of range (allowed 0.5 to 2)"),
        ({"FLOWWATCH_VIX_TERM_ALERT_EXIT": "1.2"}, "alert_exit (1.2) must be below alert (1)"),
        ({"FLOWWATCH_DB": "/nonexistent-dir/x.db"}, "does not exist"),
        ({"FLOWWATCH_SUMMARY_TIME": "8am"}, "use HH:MM"),
        ({"FLOWWATCH_LOG_LEVEL": "LOUD"}, "not a log level"),
        ({"FLOWWATCH_VIX_TERM_ALRT": "1.0"}, "unknown setting"),
        ({"DISCORD_WEBHOOK_URL": "not-a-url"}, "expected a Discord webhook URL"),
        ({"FLOWWATCH_CHART_PROCESS": "maybe"}, "'maybe' is not yes or no"),
    ],
)
def test_bad_settings_give_readable_errors(env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings(env=env, dotenv=None)
    assert needle in str(exc.value)


def test_all_problems_reported_at_once() -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings(env={"FLOWWATCH_TIMEZONE": "x", "FLOWWATCH_LOG_LEVEL": "y"}, dotenv=None)
    assert len(exc.value.problems) == 2


def test_secrets_never_echoed() -> None:
    token = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.ThisIsAFakeTokenValue_abcdefghijkl"
    s = load_settings(env={"DISCORD_TOKEN": token}, dotenv=None)
    assert token not in repr(s) and token not in str(s.discord_token)
    assert s.discord_token is not None and s.discord_token.get() == token
    with pytest.raises(ConfigError) as exc:
        load_settings(env={"DISCORD_TOKEN": "short secret"}, dotenv=None)
    assert "short secret" not in str(exc.value) and "DISCORD_TOKEN=***" in str(exc.value)


def test_dotenv_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    f = tmp_path / ".env"
    f.write_text("FLOWWATCH_TIMEZONE=Europe/London\nFLOWWATCH_VIX_TERM_ALERT=1.02\n")
    s = load_settings(env={"FLOWWATCH_TIMEZONE": "Asia/Tokyo"}, dotenv=f)
    assert s.timezone.key == "Asia/Tokyo" and s.signal_params("vix_term")["alert"] == 1.02


def test_env_example_is_complete_and_valid() -> None:
    text = (REPO / ".env.example").read_text()
    assert text == env_example(), "regenerate with: python -m bot.config > .env.example"
    keys = [line.split("=", 1)[0] for line in text.splitlines() if line and not line.startswith("#")]
    assert sorted(keys) == sorted(all_setting_names())
    # every line documented, and the example as given loads
    load_settings(env={}, dotenv=REPO / ".env.example")


def test_every_setting_is_declared_once_and_source_secrets_are_redacted() -> None:
    """Core settings live on Settings, each source's in its module's SETTINGS: no name twice,
    and a source's secret (the Alpha Vantage and Coinglass keys) is a secret like the token."""
    from bot.config import every_setting
    from signals.sources import alphavantage, coinglass

    names = all_setting_names()
    assert len(names) == len(set(names))
    groups = {group for group, _s in every_setting()}
    assert {"", "alphavantage", "coinglass", "liquidations", "nasdaq"} <= groups
    s = load_settings(
        env={"ALPHAVANTAGE_API_KEY": "AVKEY12345", "FLOWWATCH_COINGLASS_API_KEY": "cg-secret-key"},
        dotenv=None,
        check_db=False,
    )
    assert {"AVKEY12345", "cg-secret-key"} <= set(s.secrets())
    assert "AVKEY12345" not in repr(s) and "cg-secret-key" not in repr(s)
    assert str(s.get(alphavantage.API_KEY)) == "Secret('***')" and s.get(coinglass.API_KEY)


@pytest.mark.parametrize(
    ("text", "want"), [("", True), ("yes", True), ("no", False), ("OFF", False), ("1", True)]
)
def test_the_chart_process_setting_reaches_the_renderer(tmp_path: Path, text: str, want: bool) -> None:
    """Small hosts keep charts on the bot's thread (about 140 MiB less) with FLOWWATCH_CHART_PROCESS=no."""
    from bot.runner import App

    app = App(
        load_settings(
            env={"FLOWWATCH_DB": str(tmp_path / "c.db"), "FLOWWATCH_CHART_PROCESS": text}, dotenv=None
        )
    )
    try:
        assert app.settings.chart_process is want
        assert app.renderer._processes is want
    finally:
        app.renderer.close()
