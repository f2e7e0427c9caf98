"""The command tree's shape, without Discord: descriptions, bounds, unique names, permissions,
and ``flowwatch sync-commands`` (``--dry-run`` prints exactly what is registered)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from bot.cli import main
from bot.commands import build_commands, command_modules
from bot.discord_client import command_payload
from signals import registry
from tests.fakediscord import Defaults, FakeDiscord

NAME = re.compile(r"^[-_a-z0-9]{1,32}$")
SUB_COMMAND, SUB_GROUP, STRING, INTEGER, NUMBER, CHANNEL = 1, 2, 3, 4, 10, 7
MANAGE_GUILD = 32  # discord.py sends an int; Discord answers a string


def walk(options: list[dict[str, Any]], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for opt in options:
        here = f"{path} {opt['name']}"
        yield here, opt
        if opt["type"] in (SUB_COMMAND, SUB_GROUP):
            yield from walk(opt.get("options", []), here)


def test_every_command_and_option_has_a_description_and_bounds() -> None:
    payload = command_payload()
    for cmd in payload:
        assert NAME.match(cmd["name"]) and 1 <= len(cmd["description"]) <= 100, cmd["name"]
        for path, opt in walk(cmd.get("options", []), "/" + cmd["name"]):
            assert NAME.match(opt["name"]), path
            assert 1 <= len(opt.get("description", "")) <= 100, f"{path} has no description"
            if opt["type"] in (INTEGER, NUMBER):
                assert opt.get("min_value") is not None and opt.get("max_value") is not None, (
                    f"{path} unbounded"
                )
            if opt["type"] == STRING:
                bounded = opt.get("choices") or opt.get("max_length") is not None
                assert bounded, f"{path}: a free-text option needs max_length or choices"
                assert len(opt.get("choices") or []) <= 25
            if opt["type"] == CHANNEL:
                assert opt.get("channel_types"), f"{path}: which channel types?"


def test_names_are_unique_at_every_level() -> None:
    payload = command_payload()
    names = [c["name"] for c in payload]
    assert len(names) == len(set(names))
    for cmd in payload:
        for path, opt in [("/" + cmd["name"], cmd), *walk(cmd.get("options", []), "/" + cmd["name"])]:
            children = [o["name"] for o in opt.get("options", [])]
            assert len(children) == len(set(children)), f"duplicate names under {path}"


def test_the_commands_of_the_design() -> None:
    by_name = {c["name"]: c for c in command_payload()}
    assert {"status", "vix", "chart", "history", "alerts", "thresholds", "summary", "quiet"} <= set(by_name)
    subs = {
        n: {o["name"] for o in c.get("options", []) if o["type"] == SUB_COMMAND} for n, c in by_name.items()
    }
    assert {"subscribe", "unsubscribe", "list", "snooze", "unsnooze"} <= subs["alerts"]
    assert {"show", "set"} <= subs["thresholds"] and {"now", "schedule"} <= subs["summary"]


def test_configuration_needs_manage_server_and_a_guild() -> None:
    by_name = {c["name"]: c for c in command_payload()}
    for name in ("alerts", "thresholds", "quiet"):
        assert by_name[name]["default_member_permissions"] == MANAGE_GUILD, name
        assert by_name[name]["contexts"] == [0] or by_name[name]["dm_permission"] is False, name
    for name in ("status", "vix", "chart", "history", "summary"):
        assert by_name[name]["default_member_permissions"] is None, name  # /summary schedule: the bot checks


def test_signal_options_offer_only_registered_signals() -> None:
    ids = sorted(registry())
    for cmd in command_payload():
        for path, opt in walk(cmd.get("options", []), "/" + cmd["name"]):
            if opt["name"] == "signal":
                assert sorted(c["value"] for c in opt["choices"]) == ids, path


def test_each_module_builds_fresh_commands() -> None:
    mods = [m.__name__.rsplit(".", 1)[-1] for m in command_modules()]
    assert mods == sorted(mods) and not any(m.startswith("_") for m in mods)
    first, second = build_commands(), build_commands()
    assert [c.name for c in first] == [c.name for c in second]
    assert all(a is not b for a, b in zip(first, second, strict=True))


def test_dry_run_prints_json_without_token_or_network(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sync-commands", "--dry-run"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == command_payload()
    assert "nothing sent" in err


def test_sync_without_token_says_what_to_do(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sync-commands"]) == 2
    assert "needs DISCORD_TOKEN" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["sync-commands", "--guild", "my-server"])
    assert "is not a Discord server id" in capsys.readouterr().err


@pytest.mark.e2e
async def test_sync_commands_puts_exactly_the_dry_run(
    fake_discord: FakeDiscord, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", fake_discord.token)
    assert await asyncio.to_thread(main, ["sync-commands", "--dry-run"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert await asyncio.to_thread(main, ["sync-commands", "--guild", str(Defaults.GUILD_ID)]) == 0
    assert f"registered {len(dry)} commands in server" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["sync-commands"]) == 0
    guild_sync, global_sync = fake_discord.command_syncs
    assert guild_sync.guild_id == Defaults.GUILD_ID and global_sync.guild_id is None
    assert guild_sync.payload == dry and global_sync.payload == dry
    assert sorted(c["name"] for c in fake_discord.commands[None]) == sorted(c["name"] for c in dry)


@pytest.mark.e2e
async def test_sync_with_a_bad_token(
    fake_discord: FakeDiscord, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "x" * 30)
    assert await asyncio.to_thread(main, ["sync-commands"]) == 2
    assert "rejected DISCORD_TOKEN" in capsys.readouterr().err
    assert fake_discord.command_syncs == []
