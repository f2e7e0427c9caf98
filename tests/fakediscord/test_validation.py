"""The fake refuses what Discord's documentation says Discord refuses (so a test fails where
Discord would): embed parts, colour, timestamp, attachment:// names, allowed_mentions,
components, command options, and upload sizes per file and per request."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from tests.fakediscord import Defaults, FakeDiscord

pytestmark = pytest.mark.e2e

OK_BUTTON = {"type": 2, "style": 1, "label": "Ack", "custom_id": "ack:1"}


async def post(
    fake: FakeDiscord, payload: dict[str, Any], files: list[tuple[str, bytes]] = ()
) -> tuple[int, Any]:  # type: ignore[assignment]
    url = f"{fake.api_base}/channels/{Defaults.ALERTS_CHANNEL_ID}/messages"
    headers = {"Authorization": f"Bot {fake.token}"}
    async with aiohttp.ClientSession() as session:
        if files:
            form = aiohttp.FormData()
            form.add_field("payload_json", json.dumps(payload), content_type="application/json")
            for i, (name, data) in enumerate(files):
                form.add_field(f"files[{i}]", data, filename=name, content_type="image/png")
            async with session.post(url, data=form, headers=headers) as r:
                return r.status, await r.json()
        async with session.post(url, json=payload, headers=headers) as r:
            return r.status, await r.json()


def embed(**kw: Any) -> dict[str, Any]:
    return {"title": "t", "description": "d", **kw}


REFUSED: dict[str, dict[str, Any]] = {
    "footer over 2048": {"embeds": [embed(footer={"text": "x" * 2049})]},
    "author over 256": {"embeds": [embed(author={"name": "x" * 257})]},
    "blank footer": {"embeds": [embed(footer={"text": ""})]},
    "colour above 0xFFFFFF": {"embeds": [embed(color=0x1000000)]},
    "negative colour": {"embeds": [embed(color=-1)]},
    "bad timestamp": {"embeds": [embed(timestamp="yesterday")]},
    "attachment:// without the file": {"embeds": [embed(image={"url": "attachment://chart.png"})]},
    "parse roles and roles ids": {
        "content": "x",
        "allowed_mentions": {"parse": ["roles"], "roles": ["123456789012345678"]},
    },
    "unknown mention type": {"content": "x", "allowed_mentions": {"parse": ["channels"]}},
    "101 role ids": {"content": "x", "allowed_mentions": {"roles": [str(10**17 + i) for i in range(101)]}},
    "six rows": {
        "content": "x",
        "components": [{"type": 1, "components": [dict(OK_BUTTON, custom_id=f"r{i}")]} for i in range(6)],
    },
    "six buttons in a row": {
        "content": "x",
        "components": [{"type": 1, "components": [dict(OK_BUTTON, custom_id=f"b{i}") for i in range(6)]}],
    },
    "a button outside a row": {"content": "x", "components": [OK_BUTTON]},
    "custom_id over 100": {
        "content": "x",
        "components": [{"type": 1, "components": [dict(OK_BUTTON, custom_id="x" * 101)]}],
    },
    "duplicate custom_id": {
        "content": "x",
        "components": [{"type": 1, "components": [OK_BUTTON, dict(OK_BUTTON, label="Again")]}],
    },
    "label over 80": {
        "content": "x",
        "components": [{"type": 1, "components": [dict(OK_BUTTON, label="x" * 81)]}],
    },
    "unknown style": {"content": "x", "components": [{"type": 1, "components": [dict(OK_BUTTON, style=9)]}]},
    "link button with custom_id": {
        "content": "x",
        "components": [{"type": 1, "components": [dict(OK_BUTTON, style=5, url="https://x.example")]}],
    },
    "button without custom_id": {
        "content": "x",
        "components": [{"type": 1, "components": [{"type": 2, "style": 1, "label": "x"}]}],
    },
}


@pytest.mark.parametrize("case", sorted(REFUSED))
async def test_refused_like_discord(fake_discord: FakeDiscord, case: str) -> None:
    status, body = await post(fake_discord, REFUSED[case])
    assert status == 400 and body["code"] == 50035, (case, body)
    assert fake_discord.messages(Defaults.ALERTS_CHANNEL_ID) == []


async def test_what_discord_accepts_still_passes(fake_discord: FakeDiscord) -> None:
    ok = {
        "content": "<@&123456789012345678> severe",
        "embeds": [
            embed(
                footer={"text": "f" * 2048},
                author={"name": "a" * 256},
                color=0xFFFFFF,
                timestamp="2024-03-01T21:00:00+00:00",
                image={"url": "attachment://chart.png"},
            )
        ],
        "allowed_mentions": {"parse": [], "roles": ["123456789012345678"]},
        "components": [
            {"type": 1, "components": [dict(OK_BUTTON, custom_id=f"b{i}") for i in range(5)]},
            {"type": 1, "components": [{"type": 2, "style": 5, "label": "Docs", "url": "https://x.example"}]},
        ],
        "attachments": [{"id": 0, "filename": "chart.png"}],
    }
    status, body = await post(fake_discord, ok, [("chart.png", b"\x89PNG\r\n\x1a\n" + b"0" * 100)])
    assert status == 200, body


async def test_upload_limits_per_file_and_per_request(fake_discord: FakeDiscord) -> None:
    mib = 1024 * 1024
    status, _ = await post(fake_discord, {"content": "one big"}, [("a.png", b"0" * (10 * mib + 1))])
    assert status == 413
    three = [(f"{i}.png", b"0" * (9 * mib)) for i in range(3)]  # each under 10 MiB, 27 MiB in all
    status, _ = await post(fake_discord, {"content": "three"}, three)
    assert status == 413
    two = [(f"{i}.png", b"0" * (9 * mib)) for i in range(2)]  # 18 MiB: fine per file and per request
    status, body = await post(fake_discord, {"content": "two"}, two)
    assert status == 200, body


def command(**kw: Any) -> dict[str, Any]:
    return {"name": "vix", "description": "VIX term structure", "type": 1, **kw}


def option(name: str = "days", **kw: Any) -> dict[str, Any]:
    return {"name": name, "description": "How many days", "type": 4, **kw}


BAD_COMMANDS: dict[str, dict[str, Any]] = {
    "upper-case name": command(name="Vix"),
    "space in name": command(name="vix term"),
    "name over 32": command(name="v" * 33),
    "description over 100": command(description="d" * 101),
    "26 options": command(options=[option(f"o{i}") for i in range(26)]),
    "required after optional": command(options=[option("a"), option("b", required=True)]),
    "option without description": command(options=[option(description="")]),
    "bad option name": command(options=[option("Days!")]),
    "26 choices": command(options=[option(choices=[{"name": f"c{i}", "value": i} for i in range(26)])]),
    "choice name over 100": command(options=[option(choices=[{"name": "c" * 101, "value": 1}])]),
    "choices and autocomplete": command(
        options=[option(autocomplete=True, choices=[{"name": "a", "value": 1}])]
    ),
    "duplicate option names": command(options=[option("a"), option("a")]),
    "over 4000 characters": command(
        options=[
            option(
                f"o{i}",
                description="d" * 100,
                choices=[{"name": "n" * 100, "value": "v" * 60} for _ in range(25)],
            )
            for i in range(2)
        ]
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_COMMANDS))
async def test_commands_refused_like_discord(fake_discord: FakeDiscord, case: str) -> None:
    url = f"{fake_discord.api_base}/applications/{fake_discord.application_id}/commands"
    async with (
        aiohttp.ClientSession() as session,
        session.put(
            url, json=[BAD_COMMANDS[case]], headers={"Authorization": f"Bot {fake_discord.token}"}
        ) as r,
    ):
        assert r.status == 400, (case, await r.json())
        assert (await r.json())["code"] == 50035
