"""``DISCORD_WEBHOOK_URL``: every form Discord hands out, nothing else.

Discord shows webhook URLs as ``https://discord.com/api/webhooks/<id>/<token>``; older ones
say ``discordapp.com``, the desktop test builds ``ptb.`` and ``canary.``, and the API's own
versioned form puts ``/v10`` (any version) after ``/api``. A trailing slash is harmless.
Anything else is refused at start-up with what is allowed, never at the first alert.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_URL_RE = re.compile(
    r"^https://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/api(?:/v(?P<v>\d{1,2}))?/webhooks/"
    r"(?P<id>\d{17,20})/(?P<token>[A-Za-z0-9_\-.]{60,100})/?$"
)

EXAMPLE = "https://discord.com/api/webhooks/<id>/<token>"


@dataclass(frozen=True)
class WebhookRef:
    id: int
    token: str


def parse_webhook_url(text: str) -> WebhookRef:
    """The webhook id and token of a Discord webhook URL; ValueError says what is allowed."""
    t = text.strip()
    m = _URL_RE.match(t)
    if m is None:
        hint = ""
        if "?" in t or "#" in t:
            hint = " (remove the part from '?' on)"
        elif t.startswith("http://"):
            hint = " (Discord webhooks are https)"
        raise ValueError(
            f"expected a Discord webhook URL like {EXAMPLE}{hint}; discord.com or discordapp.com, "
            "optionally ptb. or canary., optionally /api/v10/"
        )
    return WebhookRef(int(m.group("id")), m.group("token"))
