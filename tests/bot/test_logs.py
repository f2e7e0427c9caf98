from __future__ import annotations

import io
import logging

from bot.logs import setup_logging

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.ThisIsAFakeTokenValue_abcdefghijkl"
HOOK = "https://discord.com/api/webhooks/123456789012345678/abcDEF-ghi_jklMNOpqrSTUvwxYZ0123456789abcdefghijklmnopqrstuvwxyz12"


def test_secrets_are_redacted_in_messages_and_tracebacks() -> None:
    buf = io.StringIO()
    setup_logging("INFO", [TOKEN], stream=buf)
    log = logging.getLogger("flowwatch.test")
    log.info("token is %s", TOKEN)
    log.warning("posting to %s failed", HOOK)
    try:
        raise RuntimeError(f"bad auth {TOKEN}")
    except RuntimeError:
        log.exception("boom")
    out = buf.getvalue()
    assert TOKEN not in out
    assert "abcDEF-ghi" not in out and "/webhooks/123456789012345678/***" in out
    assert out.count("***") >= 3
