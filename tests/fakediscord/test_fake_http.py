"""The fake's own HTTP contract, checked with a plain aiohttp client (no discord.py)."""

from __future__ import annotations

import json
import zlib
from typing import Any

import aiohttp
import pytest

from tests.fakediscord import Defaults, FakeDiscord

pytestmark = pytest.mark.e2e


def bot_headers(fake: FakeDiscord) -> dict[str, str]:
    return {"Authorization": f"Bot {fake.token}"}


async def test_unknown_route_is_404_json_and_recorded(fake_discord: FakeDiscord) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{fake_discord.api_base}/voice/regions", headers=bot_headers(fake_discord)) as r,
    ):
        assert r.status == 404
        assert r.headers["Content-Type"] == "application/json"  # exactly, no charset
        assert await r.json() == {"message": "404: Not Found", "code": 0}
    assert [u.path for u in fake_discord.unknown_requests] == ["/voice/regions"]
    with pytest.raises(AssertionError, match="/voice/regions"):
        fake_discord.assert_no_unexpected_requests()
    fake_discord.unknown_requests.clear()  # so the fixture's teardown check passes


async def test_bot_routes_need_the_bot_token(fake_discord: FakeDiscord) -> None:
    url = f"{fake_discord.api_base}/channels/{Defaults.ALERTS_CHANNEL_ID}"
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as r:
            assert r.status == 401
            assert await r.json() == {"message": "401: Unauthorized", "code": 0}
        async with session.get(url, headers={"Authorization": "Bot wrong"}) as r:
            assert r.status == 401
        async with session.get(url, headers=bot_headers(fake_discord)) as r:
            assert r.status == 200
            assert (await r.json())["name"] == "alerts"
        # /gateway is public, /gateway/bot is not
        async with session.get(f"{fake_discord.api_base}/gateway") as r:
            assert (await r.json())["url"] == fake_discord.gateway_url.rstrip("/")
        async with session.get(
            f"{fake_discord.api_base}/gateway/bot", headers=bot_headers(fake_discord)
        ) as r:
            body = await r.json()
            assert body["shards"] == 1 and body["url"].startswith("ws://127.0.0.1:")


async def test_429_shape(fake_discord: FakeDiscord) -> None:
    fake_discord.faults.rate_limit("GET", "/channels/{channel_id}", retry_after=0.2)
    url = f"{fake_discord.api_base}/channels/{Defaults.ALERTS_CHANNEL_ID}"
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers=bot_headers(fake_discord)) as r,
    ):
        assert r.status == 429
        body = await r.json()
        headers = r.headers
    assert body == {
        "message": "You are being rate limited.",
        "retry_after": 0.2,
        "global": False,
        "code": 0,
    }
    assert headers["Retry-After"] == "1"
    assert headers["Via"] == "1.1 google"
    assert headers["X-RateLimit-Remaining"] == "0"
    assert headers["X-RateLimit-Reset-After"] == "0.200"
    assert headers["X-RateLimit-Scope"] == "user"


async def test_interaction_callback_rules(fake_discord: FakeDiscord) -> None:
    # A session must exist to dispatch; connect a raw websocket and identify.
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(fake_discord.gateway_url + "?v=10&encoding=json")
        hello = await ws.receive_json()
        assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] == 41_250
        await ws.send_json({"op": 2, "d": {"token": fake_discord.token, "intents": 1, "properties": {}}})
        ready = await ws.receive_json()
        assert ready["t"] == "READY" and ready["s"] == 1
        guild_create = await ws.receive_json()
        assert guild_create["t"] == "GUILD_CREATE" and guild_create["s"] == 2

        rec = await fake_discord.invoke_slash_command("status")
        event = await ws.receive_json()
        assert event["t"] == "INTERACTION_CREATE" and event["d"]["id"] == str(rec.id)
        url = f"{fake_discord.api_base}/interactions/{rec.id}/{rec.token}/callback"
        async with session.post(url, json={"type": 4, "data": {"content": "hi"}}) as r:
            assert r.status == 204  # no ?with_response
        async with session.post(url, json={"type": 4, "data": {"content": "again"}}) as r:
            assert r.status == 400 and (await r.json())["code"] == 40060
        bad = f"{fake_discord.api_base}/interactions/{rec.id}/not-the-token/callback"
        async with session.post(bad, json={"type": 4, "data": {"content": "x"}}) as r:
            assert r.status == 404 and (await r.json())["code"] == 10062
        ping = await fake_discord.dispatch_interaction({"type": 1})
        assert (await ws.receive_json())["d"]["type"] == 1
        ping_url = f"{fake_discord.api_base}/interactions/{ping.id}/{ping.token}/callback"
        async with session.post(ping_url, json={"type": 4, "data": {"content": "x"}}) as r:
            assert r.status == 400  # only PONG answers a PING
        async with session.post(ping_url, json={"type": 1}) as r:
            assert r.status == 204
        await ws.close()
    assert rec.response_type == 4
    assert [cb.accepted for cb in rec.callbacks] == [True, False]
    assert ping.response_type == 1


async def test_zlib_stream_transport_compression(fake_discord: FakeDiscord) -> None:
    inflator = zlib.decompressobj()

    async def receive(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
        msg = await ws.receive()
        assert msg.type == aiohttp.WSMsgType.BINARY
        assert msg.data.endswith(b"\x00\x00\xff\xff")
        return json.loads(inflator.decompress(msg.data))

    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(fake_discord.gateway_url + "?v=10&encoding=json&compress=zlib-stream")
        assert (await receive(ws))["op"] == 10
        await ws.send_json({"op": 1, "d": None})
        assert (await receive(ws))["op"] == 11
        await ws.close()
    assert fake_discord.gateway.connections[0].compression == "zlib-stream"


async def test_identify_errors_close_with_discord_codes(fake_discord: FakeDiscord) -> None:
    async with aiohttp.ClientSession() as session:
        for payload, code in [
            ({"token": "bad", "intents": 1, "properties": {}}, 4004),
            ({"token": fake_discord.token, "intents": 1 << 1, "properties": {}}, 4014),
        ]:
            ws = await session.ws_connect(fake_discord.gateway_url + "?v=10&encoding=json")
            await ws.receive_json()
            await ws.send_json({"op": 2, "d": payload})
            msg = await ws.receive()
            assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == code
            await ws.close()
