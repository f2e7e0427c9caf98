"""The README's set-up commands, pictures, links and CLI table stay true."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def _name(requirement: str) -> str:
    return (
        re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0]
        .strip()
        .lower()
        .replace("_", "-")
        .replace(".", "-")
    )


def test_two_setup_commands_use_real_files_and_scripts() -> None:
    block = re.search(r"## Quickstart.*?```sh\n(.*?)```", README, re.S)
    assert block is not None
    cmds = [line for line in block.group(1).splitlines() if line and not line.startswith("#")]
    assert len(cmds) == 2
    run, test = cmds
    assert run.endswith(".venv/bin/flowwatch run") and test.endswith(".venv/bin/python -m pytest")
    # any Python 3.11 or newer; the bot needs the runtime lock only, the tests the full one
    assert all(c.startswith("python3 -m venv .venv && ") for c in cmds)
    assert "-r requirements-runtime.lock -e ." in run and "-r requirements.lock -e ." in test
    assert (REPO / "requirements.lock").is_file() and (REPO / "requirements-runtime.lock").is_file()
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["flowwatch"] == "bot.cli:main"
    ci = (REPO / ".ci/run").read_text()
    assert ".venv/bin/python -m pytest" in ci and "requirements.lock" in ci and ".ci/check-wheels" in ci


def test_runtime_lock_pins_every_runtime_dependency() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"  # no upper bound
    pinned = {
        _name(line) for line in (REPO / "requirements-runtime.lock").read_text().splitlines()
        if line and not line.startswith((" ", "#"))
    }  # fmt: skip
    missing = {_name(d) for d in project["dependencies"]} - pinned
    assert not missing, f"requirements-runtime.lock lacks {missing}"
    dev = {_name(d) for d in project["optional-dependencies"]["dev"]}
    assert not (dev & pinned), "the runtime lock installs test tools"


def test_front_page_is_short_with_a_real_picture_and_the_discord_page() -> None:
    assert len(README) <= 15_000
    images = re.findall(r'<img src="([^"]+)"', README) + re.findall(r"!\[[^]]*\]\(([^)]+)\)", README)
    assert len(images) >= 2
    for rel in images:
        path = REPO / rel
        assert path.is_file() and path.read_bytes().startswith(b"\x89PNG"), rel
        assert path.stat().st_size < 200_000, f"{rel} is {path.stat().st_size // 1024} KiB"
    assert "(docs/discord.md)" in README
    for rel in re.findall(r"\]\((docs/[^)#]+)", README):
        assert (REPO / rel).is_file(), rel


def test_every_cli_command_is_documented() -> None:
    from bot.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in sub.choices:  # type: ignore[union-attr]
        assert f"`flowwatch {name}" in README, f"README does not document `flowwatch {name}`"


def test_configuration_error_sample_is_what_flowwatch_prints() -> None:
    from bot.config import ConfigError, load_settings

    sample = re.search(r"```\n(flowwatch: error: invalid configuration:\n.*?)```", README, re.S)
    assert sample is not None
    env = {}
    for line in sample.group(1).splitlines()[1:]:
        m = re.match(r"  - (FLOWWATCH_\w+)='([^']*)'", line)
        if m:
            env[m.group(1)] = m.group(2)
    env["FLOWWATCH_VIX_TERM_ALERT_EXIT"] = "1.2"
    try:
        load_settings(env=env, dotenv=None, check_db=False)
    except ConfigError as exc:
        assert "flowwatch: error: " + str(exc) + "\n" == sample.group(1)
    else:
        raise AssertionError("the sample configuration was accepted")


def test_discord_page_invite_matches_the_bot() -> None:
    from bot.discord_client import INVITE_PERMISSIONS, INVITE_SCOPES

    page = (REPO / "docs" / "discord.md").read_text()
    assert f"scope={'+'.join(INVITE_SCOPES)}&permissions={INVITE_PERMISSIONS.value}" in page
    for step in (
        "Reset Token",
        "Developer Mode",
        "sync-commands --guild",
        "/alerts subscribe",
        "flowwatch test-alert",
    ):
        assert step in page, step
    assert "`/backtest signal overrides [start]`" in page
