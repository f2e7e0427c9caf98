"""Deployment files: what can be checked offline (paths they copy exist, commands are real)."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest

from bot.cli import build_parser

REPO = Path(__file__).resolve().parents[1]


def _parses(argv: list[str]) -> None:
    build_parser().parse_args(argv)


def _lock(name: str) -> dict[str, str]:
    pins = {}
    for line in (REPO / name).read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def test_dockerfile_copies_real_paths_and_runs_real_commands() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", text, re.M)
    for line in re.findall(r"^COPY (.+)$", text, re.M):
        for src in line.split()[:-1]:
            assert (REPO / src).exists(), f"Dockerfile copies {src}, which does not exist"
    assert re.search(r"^USER flowwatch$", text, re.M)
    assert "FLOWWATCH_DB=/data/flowwatch.db" in text and 'VOLUME ["/data"]' in text
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]

    def argv(directive: str) -> list[str]:
        m = re.search(rf"^{directive} (\[.*\])$", text, re.M)
        assert m, f"no {directive}"
        return [a.strip(' "') for a in m.group(1).strip("[]").split(",")]

    assert argv("ENTRYPOINT") == ["flowwatch"] and "flowwatch" in scripts
    _parses(argv("CMD"))
    health = re.search(r"^HEALTHCHECK .* CMD (\[.*\])$", text, re.M)
    assert health
    hc = [a.strip(' "') for a in health.group(1).strip("[]").split(",")]
    assert hc[0] == "flowwatch"
    _parses(hc[1:])


@pytest.mark.parametrize("unit", ["flowwatch.service", "flowwatch-health.service"])
def test_systemd_units_call_real_commands(unit: str) -> None:
    text = (REPO / "deploy" / unit).read_text()
    cmd = shlex.split(re.search(r"^ExecStart=(.+)$", text, re.M).group(1))  # type: ignore[union-attr]
    assert cmd[0] == "/opt/flowwatch/.venv/bin/flowwatch"  # the README set-up puts the venv in the checkout
    _parses(cmd[1:])
    assert "User=flowwatch" in text


def test_runtime_lock_agrees_with_the_full_lock() -> None:
    full, runtime = _lock("requirements.lock"), _lock("requirements-runtime.lock")
    assert runtime and set(runtime) <= set(full)
    assert all(full[k] == v for k, v in runtime.items())
    assert "pytest" not in runtime and "discord-py" in runtime
