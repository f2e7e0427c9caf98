"""A local venue on 127.0.0.1 for the real stream clients: ``websockets.serve`` replaying frames.

It answers subscriptions and pings the way each venue does (Bybit ``{"op": "subscribe"}`` with a
``success`` ack per request, OKX ``{"event": "subscribe"}``, the text ``ping`` → ``pong``;
Binance needs no subscription), then sends the frames it was given, as fast as the socket
takes them. Faults: refuse the handshake with an HTTP status, drop the connection after some
frames, refuse some topics, or send nothing but acks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response


class FakeVenue:
    def __init__(
        self,
        frames: Sequence[str],
        *,
        style: str,
        status: int | None = None,
        drop_after: dict[int, int] | None = None,
        refuse_topics: Sequence[str] = (),
        repeat: int = 1,
        answer_pings: bool = True,
    ) -> None:
        self.frames = list(frames)
        self.style = style
        self.status = status
        self.drop_after = drop_after or {}  # connection number -> frames sent before closing
        self.refuse = set(refuse_topics)
        self.repeat = repeat
        self.answer_pings = answer_pings
        self.connections = 0
        self.received: list[str] = []
        self.sent = 0
        self.server: Server | None = None
        self.url = ""
        self.done = asyncio.Event()  # set when a connection finished sending

    async def __aenter__(self) -> FakeVenue:
        self.server = await serve(self._handler, "127.0.0.1", 0, process_request=self._process)
        port = self.server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/market/ws/!forceOrder@arr"
        return self

    async def __aexit__(self, *exc: Any) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    def _process(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.status is not None:
            return connection.respond(
                HTTPStatus(self.status), "Service unavailable from a restricted location.\n"
            )
        return None

    async def _answer(self, ws: ServerConnection, subscribed: asyncio.Event, expected: list[int]) -> None:
        async for msg in ws:
            text = msg if isinstance(msg, str) else msg.decode()
            self.received.append(text)
            if text == "ping":
                if self.answer_pings:
                    await ws.send("pong")
                continue
            d = json.loads(text)
            if d.get("op") == "ping":
                if self.answer_pings:
                    await ws.send(
                        json.dumps(
                            {
                                "success": True,
                                "ret_msg": "pong",
                                "conn_id": "c1",
                                "req_id": d.get("req_id"),
                                "op": "ping",
                            }
                        )
                    )
            elif d.get("op") == "subscribe":
                if self.style == "bybit":
                    topic = d["args"][0]
                    ok = topic not in self.refuse
                    await ws.send(
                        json.dumps(
                            {
                                "success": ok,
                                "ret_msg": "" if ok else f"Invalid symbol :[{topic}]",
                                "conn_id": "c1",
                                "req_id": d.get("req_id"),
                                "op": "subscribe",
                            }
                        )
                    )
                else:
                    arg = d["args"][0]
                    if arg.get("channel") in self.refuse:
                        await ws.send(
                            json.dumps(
                                {
                                    "event": "error",
                                    "code": "60018",
                                    "msg": "channel doesn't exist",
                                    "connId": "a1",
                                }
                            )
                        )
                    else:
                        await ws.send(json.dumps({"event": "subscribe", "arg": arg, "connId": "a1"}))
                expected[0] -= 1
                if expected[0] <= 0:
                    subscribed.set()

    async def _handler(self, ws: ServerConnection) -> None:
        self.connections += 1
        n = self.connections
        subscribed = asyncio.Event()
        expected = [0 if self.style == "binance" else 1]
        if self.style == "binance":
            subscribed.set()
        answer = asyncio.create_task(self._answer(ws, subscribed, expected))
        try:
            if self.style == "bybit":
                # one subscribe request per topic: wait a moment for all of them
                await asyncio.wait_for(subscribed.wait(), 5)
                await asyncio.sleep(0.02)
            else:
                await asyncio.wait_for(subscribed.wait(), 5)
            limit = self.drop_after.get(n)
            count = 0
            for _ in range(self.repeat):
                for frame in self.frames:
                    if limit is not None and count >= limit:
                        await ws.close(1011, "going away")
                        return
                    await ws.send(frame)
                    count += 1
                    self.sent += 1
            self.done.set()
            await ws.wait_closed()
        finally:
            answer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await answer


def recorded(text: str) -> list[str]:
    """The data frames of a recorded ``.jsonl`` stream (its acks are answered live instead)."""
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        d = json.loads(line)
        if d.get("op") == "subscribe" or d.get("event") == "subscribe":
            continue
        out.append(line)
    return out
