"""A local Discord-compatible fake (API v10 REST + gateway) for end-to-end tests.

The *real, unmodified* discord.py client talks to an aiohttp server on 127.0.0.1 (ephemeral
port). Nothing leaves the machine.

Quick start
-----------
::

    import discord
    from tests.fakediscord import (
        FAST_GUILD_READY_TIMEOUT, Defaults, FakeDiscord, bot_intents, running_client,
    )

    async def test_alert(fake_discord):            # fixture: started + discord.py patched
        client = discord.Client(intents=bot_intents(),
                                guild_ready_timeout=FAST_GUILD_READY_TIMEOUT)
        async with running_client(client, fake_discord):   # login, READY, on_ready
            await client.get_channel(Defaults.ALERTS_CHANNEL_ID).send("VIX inverted")
        msg = await fake_discord.wait_for_message(Defaults.ALERTS_CHANNEL_ID, timeout=5)
        assert msg.content == "VIX inverted"

Without the fixture: ``async with FakeDiscord(token=..., guilds=[...]) as fake:`` starts the
server and patches discord.py (``patch_client=False`` to skip patching); leaving the block
restores discord.py and stops the server. Close clients *before* the fake stops
(``running_client`` does this).

Pointing discord.py at the fake
-------------------------------
:func:`patch_discord` (used automatically) sets two class attributes and restores them after:

* ``discord.http.Route.BASE`` -> ``http://127.0.0.1:PORT/api/v10``. This covers the bot's REST
  calls *and* ``discord.Webhook`` (``webhook/async_.py`` imports the same ``Route``), interaction
  callbacks and followups.
* ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` -> ``ws://127.0.0.1:PORT/``. A plain
  ``discord.Client`` never calls ``GET /gateway/bot``; it connects straight to this URL, then
  RESUMEs at READY's ``resume_gateway_url`` (``ws://127.0.0.1:PORT/resume`` here).
  ``AutoShardedClient`` asks ``GET /gateway/bot``, which returns the same URL.

Webhook-URL mode (no bot)
-------------------------
``fake.add_webhook(channel_id)`` returns a :class:`FakeWebhook` whose ``.url`` is the canonical
``https://discord.com/api/webhooks/<id>/<68-char token>`` -- exactly what a user pastes into the
config. The sink should simply do ``discord.Webhook.from_url(url, session=session)`` (or
``Webhook.partial(id, token, session=...)``): ``from_url`` only *parses* id and token with its
discord.com regex; the request URL is built from ``Route.BASE``, which the patch redirects. So the
sink needs no test-only code path. ``fake.webhook_local_url(hook)`` gives a direct
``http://127.0.0.1:PORT/api/webhooks/<id>/<token>`` URL for non-discord.py HTTP clients.

What discord.py 2.7 does on login
---------------------------------
``Client.login``: ``GET /users/@me`` (401 -> ``LoginFailure``), then
``GET /oauth2/applications/@me`` (application id/flags). ``Client.connect``: websocket to
``DEFAULT_GATEWAY?v=10&encoding=json&compress=zlib-stream`` (``zstd-stream`` if ``zstandard`` is
installed), HELLO -> heartbeat immediately -> IDENTIFY (token, intents, ``compress: true``,
``large_threshold: 250``) -> READY -> GUILD_CREATE per guild. ``on_ready`` fires
``guild_ready_timeout`` (default **2 s**) after the last GUILD_CREATE: pass
``guild_ready_timeout=FAST_GUILD_READY_TIMEOUT`` to the client in tests.

The default world
-----------------
One guild (``Defaults.GUILD_ID``) with a category and text channels ``#alerts``, ``#admin``
(hidden from @everyone, visible to Admin + the bot), ``#general`` (system channel) and
``#readonly`` (the bot may not send there: 403 50013); roles @everyone, ``Admin`` (Manage Server
0x20), ``Trader`` and the bot's managed role; users ``DEFAULT_ADMIN`` (Admin role, also the
application owner), ``DEFAULT_MEMBER`` (Trader, no Manage Server), an owner and the bot. All ids
are fixed 19-digit snowflakes (:class:`Defaults`); runtime ids (messages, interactions...) are
real time-based snowflakes. Build your own with :class:`FakeGuild` & co or
:func:`default_guild`.

Main API (``FakeDiscord``)
--------------------------
* World: ``guilds``, ``channels``, ``users``, ``webhooks``, ``guild``, ``channel(name_or_id)``,
  ``add_guild()``, ``add_webhook()``, ``dm_channel_for(user_id)``.
* Recording: ``requests`` (:class:`RecordedRequest`: method, path, route template, query,
  headers of interest, json / payload_json, files with bytes, status, response, fault),
  ``requests_matching(method, path)``, ``unknown_requests`` +
  ``assert_no_unexpected_requests()``, ``messages(channel_id, source=...)``,
  ``get_message(id)`` (:class:`StoredMessage`: content, embeds, components, attachments with
  bytes, allowed_mentions, resolved mentions, nonce, flags, ``edits`` history, ``deleted``,
  ``nonce_duplicates``), ``nonce_hits``, ``interactions`` (:class:`InteractionRecord`: callbacks,
  original/followup message ids, autocomplete choices, modal), ``commands`` /
  ``command_syncs`` (:class:`CommandSync`), ``gateway`` (``identify_count``, ``resume_count``,
  ``heartbeat_count``, ``connections``, ``identify_payloads``), ``rate_limited``.
  ``response_hooks``: callables run with each :class:`RecordedRequest` after its route ran (a
  message is stored) and before the answer is sent (a crash test kills the bot there).
* Waiting (event-driven, no polling; ``TimeoutError`` shows what was recorded):
  ``wait_until(predicate, timeout=)``, ``wait_for_message``, ``wait_for_edit``,
  ``wait_for_request``, ``wait_for_interaction_response``, ``wait_for_followup``,
  ``wait_for_command_sync``, ``wait_for_identify``, ``wait_for_resume``, ``wait_for_connected``.
* Driving the bot: ``dispatch_interaction(payload)``, ``invoke_slash_command(name, *options,
  user=, channel=, dm=, locale=, permissions=)``, ``click_button(message, custom_id, user=)``,
  ``build_slash_command`` / ``build_autocomplete`` / ``build_component`` /
  ``build_modal_submit`` (see :mod:`.payloads`; options via :func:`option`, :func:`subcommand`,
  :func:`subcommand_group`), ``inject_user_message(channel_id, user_id, content)``,
  ``seed_bot_message(channel_id, content, components=...)`` (a message from a previous run),
  ``dispatch(event, data)``.
* Faults (``fake.faults``, see :mod:`.faults`): ``rate_limit`` (429 + ``Retry-After``,
  ``X-RateLimit-*``, ``Via``), ``server_error(status=500/502/503)``, ``forbidden(code=50013 |
  50001)``, ``not_found(code=10003 | 10008 | 10015)``, ``http_error``, ``delay``,
  ``disconnect``, ``cloudflare_ban``; each by method + route template or glob, ``times=N``.
  Gateway (``fake.gateway``): ``drop(code=None)`` (TCP abort -> 1006) / ``drop(code=4000)``,
  ``send_reconnect()`` (op 7), ``invalidate_session(resumable=)`` (op 9),
  ``reject_resumes = N``, ``ack_heartbeats = False`` (zombie), ``request_heartbeat()``.
  Real per-channel limiter: ``FakeDiscord(message_rate_limit=(5, 5.0))`` (off by default).
* Options: ``privileged_intents`` (others -> close 4014), ``enforce_permissions``,
  ``emit_message_events`` (MESSAGE_CREATE/UPDATE/DELETE for messages it stores),
  ``interaction_ack_deadline`` (3 s like Discord; late -> 404 10062), ``nonce_window``
  (300 s), ``max_upload_bytes`` (per file) and ``max_request_bytes`` (per request),
  ``heartbeat_interval_ms``, ``gateway_compression``.

Behaviour worth knowing (discord.py 2.7.1)
------------------------------------------
* discord.py parses a body as JSON only if ``Content-Type`` is exactly ``application/json``;
  aiohttp's ``web.json_response`` adds ``; charset=utf-8``, so the fake sets the header itself.
* A 429 without a ``Via`` header is treated as a Cloudflare ban: no retry, ``HTTPException``.
  The fake sends ``Via: 1.1 google`` like Discord (``faults.cloudflare_ban`` omits it). The
  retry delay comes from the JSON ``retry_after``, not the ``Retry-After`` header.
* 500/502/504 are retried after sleeping 1 s, 3 s, ... (a "500 then success" test costs ~1 s);
  503 is not retried (``DiscordServerError``).
* ``send(nonce=...)`` always adds ``enforce_nonce: true``; the fake returns the original message
  for a repeated (channel, author, nonce) within ``nonce_window``.
* A non-initial IDENTIFY (after INVALID_SESSION) sleeps 5 s in ``Client.before_identify_hook``;
  override that hook in test clients. RESUME and RECONNECT need no sleep.
* ``channel.send(view=v)`` binds ``v`` to that message id, which wins over ``add_view``; to test a
  persistent view as after a restart, click a message created with ``seed_bot_message``.
* Without the MESSAGE_CONTENT intent, other users' guild MESSAGE_CREATEs arrive with empty
  content (as on Discord).

Not implemented: voice, threads/forums, reactions, pins, polls, stickers, audit logs, member
chunking beyond one chunk, guild/channel/role mutation routes, ETF encoding, payload (non-stream)
compression, sharding beyond one shard, interaction PING over HTTP, entitlements/SKUs.
"""

from .faults import FaultRule, Faults, error_body
from .harness import FAST_GUILD_READY_TIMEOUT, bot_intents, running_client, tiny_png
from .patching import patch_discord, point_discord_at
from .payloads import option, subcommand, subcommand_group
from .records import (
    CommandSync,
    InteractionRecord,
    RecordedFile,
    RecordedRequest,
    StoredAttachment,
    StoredMessage,
)
from .server import FakeDiscord
from .world import (
    DEFAULT_ADMIN,
    DEFAULT_BOT,
    DEFAULT_MEMBER,
    Defaults,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeRole,
    FakeUser,
    FakeWebhook,
    Overwrite,
    default_guild,
)

__all__ = [
    "DEFAULT_ADMIN",
    "DEFAULT_BOT",
    "DEFAULT_MEMBER",
    "FAST_GUILD_READY_TIMEOUT",
    "CommandSync",
    "Defaults",
    "FakeChannel",
    "FakeDiscord",
    "FakeGuild",
    "FakeMember",
    "FakeRole",
    "FakeUser",
    "FakeWebhook",
    "FaultRule",
    "Faults",
    "InteractionRecord",
    "Overwrite",
    "RecordedFile",
    "RecordedRequest",
    "StoredAttachment",
    "StoredMessage",
    "bot_intents",
    "default_guild",
    "error_body",
    "option",
    "patch_discord",
    "point_discord_at",
    "running_client",
    "subcommand",
    "subcommand_group",
    "tiny_png",
]
