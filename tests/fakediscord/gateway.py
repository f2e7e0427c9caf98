"""The fake gateway: an aiohttp websocket speaking Discord gateway v10 (JSON encoding).

Transport compression: discord.py 2.7 connects with ``?compress=zlib-stream`` (or
``zstd-stream`` when ``zstandard`` is importable). ``zlib-stream`` is implemented exactly like
Discord (one shared deflate context per connection, every payload flushed with Z_SYNC_FLUSH and
sent as a binary frame). ``zstd-stream`` is used if the ``zstandard`` package is importable;
otherwise the fake falls back to uncompressed text frames, which discord.py also accepts (it only
decompresses binary frames). ``GatewayConnectionInfo.compression`` records what was used.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
import zlib
from collections import deque
from typing import TYPE_CHECKING, Any

from aiohttp import WSCloseCode, WSMsgType, web

from .records import GatewayConnectionInfo

if TYPE_CHECKING:
    from .server import FakeDiscord

_log = logging.getLogger(__name__)

try:  # optional, only needed if discord.py asks for zstd-stream
    import zstandard  # type: ignore[import-not-found, unused-ignore]
except ImportError:  # pragma: no cover - depends on the environment
    zstandard = None

# opcodes
DISPATCH = 0
HEARTBEAT = 1
IDENTIFY = 2
PRESENCE_UPDATE = 3
VOICE_STATE_UPDATE = 4
RESUME = 6
RECONNECT = 7
REQUEST_GUILD_MEMBERS = 8
INVALID_SESSION = 9
HELLO = 10
HEARTBEAT_ACK = 11

# intents
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
DIRECT_MESSAGES = 1 << 12
MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT
ALL_INTENTS = (1 << 26) - 1

RESUMABLE_CLOSE_CODES = (4000, 4001, 4002, 4003, 4005, 4007, 4008, 4009)


class _Compressor:
    def __init__(self, kind: str | None) -> None:
        self.kind = kind
        self._zlib = zlib.compressobj() if kind == "zlib-stream" else None
        self._zstd: Any = None
        if kind == "zstd-stream" and zstandard is not None:
            self._zstd = zstandard.ZstdCompressor().compressobj()

    def encode(self, text: str) -> bytes | str:
        raw = text.encode()
        if self._zlib is not None:
            return self._zlib.compress(raw) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
        if self._zstd is not None:
            return self._zstd.compress(raw) + self._zstd.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
        return text


class GatewayConnection:
    """A live websocket. Sends are serialized (the zlib stream must stay in order)."""

    def __init__(self, ws: web.WebSocketResponse, request: web.Request, info: GatewayConnectionInfo) -> None:
        self.ws = ws
        self.request = request
        self.info = info
        self.compressor = _Compressor(info.compression)
        self.session: GatewaySession | None = None
        self._lock = asyncio.Lock()

    @property
    def open(self) -> bool:
        return not self.ws.closed and not self.info.closed

    async def send(self, payload: dict[str, Any]) -> bool:
        async with self._lock:
            if not self.open:
                return False
            data = self.compressor.encode(json.dumps(payload, separators=(",", ":")))
            try:
                if isinstance(data, bytes):
                    await self.ws.send_bytes(data)
                else:
                    await self.ws.send_str(data)
            except (ConnectionError, RuntimeError):
                return False
            return True

    async def close(self, code: int, message: str = "") -> None:
        async with self._lock:
            if self.ws.closed:
                return
            if self.info.close_code is None:
                self.info.close_code = code
                self.info.closed_by = "server"
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(code=code, message=message.encode()), 2.0)

    def abort(self) -> None:
        """Kill the TCP connection without a close frame (the client sees 1006)."""
        if self.info.close_code is None:
            self.info.close_code = 1006
            self.info.closed_by = "server"
        transport = self.request.transport
        if transport is not None:
            transport.abort()


class GatewaySession:
    """A gateway session: survives disconnects and can be resumed."""

    def __init__(self, session_id: str, identify: dict[str, Any]) -> None:
        self.session_id = session_id
        self.identify = identify
        self.intents: int = int(identify.get("intents", 0) or 0)
        self.shard: list[int] | None = identify.get("shard")
        self.seq = 0
        self.buffer: deque[dict[str, Any]] = deque(maxlen=5000)
        self.conn: GatewayConnection | None = None
        self.resumes = 0
        self.invalidated = False
        self.lock = asyncio.Lock()

    def has_intent(self, intent: int) -> bool:
        return bool(self.intents & intent)

    def owns_guild(self, guild_id: int | str | None) -> bool:
        """Discord's routing: a guild's events go to shard ``(guild_id >> 22) % num_shards``;
        events without a guild (DMs) go to shard 0."""
        if not self.shard or self.shard[1] <= 1:
            return True
        if guild_id is None:
            return self.shard[0] == 0
        return (int(guild_id) >> 22) % self.shard[1] == self.shard[0]

    async def dispatch(self, event: str, data: dict[str, Any]) -> int:
        async with self.lock:
            self.seq += 1
            payload = {"op": DISPATCH, "t": event, "s": self.seq, "d": data}
            self.buffer.append(payload)
            if self.conn is not None and self.conn.open:
                await self.conn.send(payload)
            return self.seq


class Gateway:
    """Gateway side of :class:`~tests.fakediscord.FakeDiscord` (``fake.gateway``)."""

    def __init__(self, fake: FakeDiscord, *, heartbeat_interval_ms: int, compression: bool) -> None:
        self.fake = fake
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.allow_compression = compression
        #: Answer op 1 with op 11. Set False to simulate a zombied connection.
        self.ack_heartbeats = True
        #: Answer the next N RESUMEs with INVALID_SESSION(false) instead of resuming.
        self.reject_resumes = 0
        self.sessions: dict[str, GatewaySession] = {}
        self.connections: list[GatewayConnectionInfo] = []
        self.live: list[GatewayConnection] = []
        self.identify_payloads: list[dict[str, Any]] = []
        self.resume_payloads: list[dict[str, Any]] = []
        self.presence_updates: list[dict[str, Any]] = []
        self.invalid_sessions_sent = 0
        self.reconnects_sent = 0
        self.drops = 0

    # ------------------------------------------------------------------ stats
    @property
    def identify_count(self) -> int:
        return len(self.identify_payloads)

    @property
    def resume_count(self) -> int:
        """Successful RESUMEs (answered with replay + RESUMED)."""
        return sum(s.resumes for s in self.sessions.values())

    @property
    def heartbeat_count(self) -> int:
        return sum(c.heartbeats for c in self.connections)

    @property
    def connected(self) -> bool:
        return any(c.open and c.session is not None for c in self.live)

    def current_session(self) -> GatewaySession | None:
        live = [s for s in self.sessions.values() if not s.invalidated]
        return live[-1] if live else None

    # --------------------------------------------------------------- handler
    async def handle(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        requested = query.get("compress")
        compression: str | None = None
        if self.allow_compression and requested == "zlib-stream":
            compression = "zlib-stream"
        elif self.allow_compression and requested == "zstd-stream" and zstandard is not None:
            compression = "zstd-stream"
        ws = web.WebSocketResponse(autoping=True, max_msg_size=16 * 1024 * 1024)
        await ws.prepare(request)
        info = GatewayConnectionInfo(
            index=len(self.connections),
            path=request.path,
            query=query,
            compression=compression,
            opened=time.time(),
        )
        self.connections.append(info)
        conn = GatewayConnection(ws, request, info)
        self.live.append(conn)
        self.fake._bump()
        try:
            if query.get("encoding", "json") != "json" or query.get("v", "10") not in ("9", "10"):
                await conn.close(4012 if query.get("v") else 4002, "Unsupported version/encoding")
                return ws
            await conn.send(
                {
                    "op": HELLO,
                    "d": {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": ["fake"]},
                    "s": None,
                    "t": None,
                }
            )
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    raw = msg.data
                elif msg.type == WSMsgType.BINARY:
                    raw = msg.data.decode()
                else:
                    break
                try:
                    payload = json.loads(raw)
                except ValueError:
                    await conn.close(4002, "Error while decoding payload.")
                    break
                info.received.append(payload)
                await self._on_payload(conn, payload)
        except ConnectionError:
            pass
        finally:
            info.closed = True
            if info.close_code is None:
                info.close_code = ws.close_code
                info.closed_by = "client"
            if conn in self.live:
                self.live.remove(conn)
            if conn.session is not None and conn.session.conn is conn:
                conn.session.conn = None
                if info.closed_by == "client" and info.close_code in (1000, 1001):
                    # a clean close by the client ends the session (it cannot be resumed)
                    conn.session.invalidated = True
            self.fake._bump()
        return ws

    async def _on_payload(self, conn: GatewayConnection, payload: dict[str, Any]) -> None:
        op = payload.get("op")
        data = payload.get("d")
        if op == HEARTBEAT:
            conn.info.heartbeats += 1
            if self.ack_heartbeats:
                await conn.send({"op": HEARTBEAT_ACK, "d": None, "s": None, "t": None})
            self.fake._bump()
        elif op == IDENTIFY:
            await self._identify(conn, data or {})
        elif op == RESUME:
            await self._resume(conn, data or {})
        elif op in (PRESENCE_UPDATE, VOICE_STATE_UPDATE, REQUEST_GUILD_MEMBERS):
            if conn.session is None:
                await conn.close(4003, "Not authenticated.")
                return
            if op == PRESENCE_UPDATE:
                self.presence_updates.append(data or {})
                self.fake._bump()
            elif op == REQUEST_GUILD_MEMBERS:
                await self._members_chunk(conn.session, data or {})
        else:
            await conn.close(4001, "Unknown opcode.")

    async def _identify(self, conn: GatewayConnection, data: dict[str, Any]) -> None:
        if conn.session is not None:
            await conn.close(4005, "Already authenticated.")
            return
        if data.get("token") != self.fake.token:
            await conn.close(4004, "Authentication failed.")
            return
        intents = data.get("intents")
        if not isinstance(intents, int) or intents < 0 or intents & ~ALL_INTENTS:
            await conn.close(4013, "Invalid intent(s).")
            return
        if intents & PRIVILEGED_INTENTS & ~self.fake.privileged_intents:
            await conn.close(4014, "Disallowed intent(s).")
            return
        shard = data.get("shard")
        if shard is not None and (shard[0] >= shard[1] or shard[1] < 1):
            await conn.close(4010, "Invalid shard.")
            return
        if self.fake.shards > 1 and (shard is None or shard[1] < self.fake.shards):
            # Discord: a session would handle too many guilds (2,500 per shard)
            await conn.close(4011, "Sharding required.")
            return
        self.identify_payloads.append(data)
        session = GatewaySession(secrets.token_hex(16), data)
        self.sessions[session.session_id] = session
        session.conn = conn
        conn.session = session
        conn.info.session_id = session.session_id
        conn.info.identified = True
        fake = self.fake
        guilds = [g for g in fake.bot_guilds() if session.owns_guild(g.id)]
        ready: dict[str, Any] = {
            "v": 10,
            "user": fake.bot_user_payload(),
            "user_settings": {},
            "session_type": "normal",
            "session_id": session.session_id,
            "resume_gateway_url": fake.resume_gateway_url,
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["us-east", "us-central"],
            "application": {"id": str(fake.application_id), "flags": fake.application_flags},
            "auth": {},
            "_trace": ["fake-gateway"],
        }
        if shard is not None:
            ready["shard"] = shard
        await session.dispatch("READY", ready)
        if session.has_intent(GUILDS):
            for guild in guilds:
                members = (
                    guild.members
                    if session.has_intent(GUILD_MEMBERS)
                    else [m for m in guild.members if m.user.id == fake.bot.id]
                )
                await session.dispatch("GUILD_CREATE", guild.to_gateway_payload(members=members))
        fake._bump()

    async def _resume(self, conn: GatewayConnection, data: dict[str, Any]) -> None:
        self.resume_payloads.append(data)
        session = self.sessions.get(str(data.get("session_id")))
        if data.get("token") != self.fake.token:
            await conn.close(4004, "Authentication failed.")
            return
        if session is None or session.invalidated or self.reject_resumes > 0:
            if self.reject_resumes > 0:
                self.reject_resumes -= 1
            self.invalid_sessions_sent += 1
            await conn.send({"op": INVALID_SESSION, "d": False, "s": None, "t": None})
            self.fake._bump()
            return
        seq = data.get("seq") or 0
        async with session.lock:
            old = session.conn
            session.conn = conn
            conn.session = session
            conn.info.session_id = session.session_id
            conn.info.resumed = True
            for payload in list(session.buffer):
                if payload["s"] > seq:
                    await conn.send(payload)
        if old is not None and old is not conn and old.open:
            await old.close(4000, "Session resumed elsewhere.")
        await session.dispatch("RESUMED", {"_trace": ["fake-gateway"]})
        session.resumes += 1
        self.fake._bump()

    async def _members_chunk(self, session: GatewaySession, data: dict[str, Any]) -> None:
        guild = self.fake.guilds.get(int(data.get("guild_id", 0)))
        if guild is None:
            return
        query = data.get("query")
        user_ids = {int(u) for u in (data.get("user_ids") or [])}
        members = [
            m
            for m in guild.members
            if (not user_ids or m.user.id in user_ids)
            and (not query or m.user.username.lower().startswith(query.lower()))
        ]
        limit = data.get("limit") or 0
        if limit:
            members = members[:limit]
        chunk: dict[str, Any] = {
            "guild_id": str(guild.id),
            "members": [m.to_payload() for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
        }
        if data.get("nonce"):
            chunk["nonce"] = data["nonce"]
        await session.dispatch("GUILD_MEMBERS_CHUNK", chunk)

    # ----------------------------------------------------------------- sending
    async def dispatch(
        self,
        event: str,
        data: dict[str, Any],
        *,
        intent: int = 0,
        strip_content: bool = False,
    ) -> int:
        """Send a DISPATCH to every live (or resumable) session. Returns how many got it.

        Sessions whose socket is currently down buffer the event; it is replayed on RESUME.
        ``strip_content`` blanks content/embeds/attachments/components for sessions without
        the MESSAGE_CONTENT intent (Discord's behaviour for other users' guild messages).
        """
        count = 0
        guild_id = data.get("guild_id") if event != "GUILD_CREATE" else data.get("id")
        if event in ("GUILD_UPDATE", "GUILD_DELETE"):
            guild_id = data.get("id")
        for session in list(self.sessions.values()):
            if session.invalidated:
                continue
            if intent and not session.has_intent(intent):
                continue
            if not session.owns_guild(guild_id):
                continue
            payload = data
            if strip_content and not session.has_intent(MESSAGE_CONTENT):
                payload = dict(data, content="", embeds=[], attachments=[], components=[])
            await session.dispatch(event, payload)
            count += 1
        return count

    # ------------------------------------------------------------------ faults
    async def drop(self, code: int | None = None) -> int:
        """Drop every live connection.

        ``code=None`` kills the TCP connection without a close frame (client sees 1006);
        otherwise a close frame with ``code`` is sent (4000 = resumable "unknown error").
        Sessions stay resumable. Returns the number of connections dropped.
        """
        conns = [c for c in self.live if c.open]
        for conn in conns:
            self.drops += 1
            if code is None:
                conn.abort()
            else:
                await conn.close(code, "fake drop")
        self.fake._bump()
        return len(conns)

    async def send_reconnect(self) -> int:
        """Send op 7 RECONNECT; discord.py closes and RESUMEs."""
        conns = [c for c in self.live if c.open and c.session is not None]
        for conn in conns:
            self.reconnects_sent += 1
            await conn.send({"op": RECONNECT, "d": None, "s": None, "t": None})
        return len(conns)

    async def invalidate_session(self, *, resumable: bool = False) -> int:
        """Send op 9 INVALID_SESSION. With ``resumable=False`` the session is also dropped
        server-side, so the client must IDENTIFY again (discord.py's default
        ``before_identify_hook`` sleeps 5 s before a non-initial IDENTIFY)."""
        conns = [c for c in self.live if c.open and c.session is not None]
        for conn in conns:
            self.invalid_sessions_sent += 1
            if not resumable and conn.session is not None:
                conn.session.invalidated = True
            await conn.send({"op": INVALID_SESSION, "d": resumable, "s": None, "t": None})
        self.fake._bump()
        return len(conns)

    async def request_heartbeat(self) -> int:
        """Send op 1; the client must answer with a heartbeat immediately."""
        conns = [c for c in self.live if c.open]
        for conn in conns:
            await conn.send({"op": HEARTBEAT, "d": None, "s": None, "t": None})
        return len(conns)

    async def close_all(self) -> None:
        for conn in list(self.live):
            await conn.close(WSCloseCode.GOING_AWAY, "fake shutting down")
            if not conn.ws.closed:
                conn.abort()
