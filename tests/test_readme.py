"""The README's set-up commands and CLI table stay true."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def test_two_setup_commands_use_real_files_and_scripts() -> None:
    block = re.search(r"## Quickstart.*?```sh\n(.*?)```", README, re.S)
    assert block is not None
    cmds = [line for line in block.group(1).splitlines() if line and not line.startswith("#")]
    assert len(cmds) == 2
    assert cmds[0].endswith(".venv/bin/flowwatch run") and cmds[1].endswith(".venv/bin/python -m pytest")
    assert all("-r requirements.lock -e ." in c for c in cmds)
    assert (REPO / "requirements.lock").is_file()
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["flowwatch"] == "bot.cli:main"
    ci = (REPO / ".ci/run").read_text()
    assert ".venv/bin/python -m pytest" in ci and "requirements.lock" in ci


def test_every_cli_command_is_documented() -> None:
    from bot.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in sub.choices:  # type: ignore[union-attr]
        assert f"`flowwatch {name}" in README, f"README does not document `flowwatch {name}`"
