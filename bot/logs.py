"""Logging to stderr with secrets redacted from every record."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import TextIO

_WEBHOOK_RE = re.compile(r"(/webhooks/\d+/)[A-Za-z0-9._\-]+")
_TOKEN_RE = re.compile(r"[A-Za-z0-9_\-]{23,28}\.[A-Za-z0-9_\-]{6,7}\.[A-Za-z0-9_\-]{27,}")
#: keys passed in query strings (e.g. Alpha Vantage's apikey=) in URLs that reach a log line
_QUERY_KEY_RE = re.compile(r"([?&](?:api_?key|apikey|token|key)=)[^&\s\"']+", re.IGNORECASE)


class RedactingFilter(logging.Filter):
    """Replaces known secrets, webhook tokens and bot-token-shaped strings with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def redact(self, text: str) -> str:
        for s in self.secrets:
            text = text.replace(s, "***")
        text = _WEBHOOK_RE.sub(r"\1***", text)
        text = _QUERY_KEY_RE.sub(r"\1***", text)
        return _TOKEN_RE.sub("***", text)

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        red = self.redact(msg)
        if red != msg:
            record.msg, record.args = red, None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


class UTCFormatter(logging.Formatter):
    converter = __import__("time").gmtime

    def __init__(self) -> None:
        super().__init__("%(asctime)sZ %(levelname)-7s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")


def setup_logging(
    level: str = "INFO", secrets: Iterable[str] = (), stream: TextIO | None = None
) -> RedactingFilter:
    """Configure the root logger once; returns the filter so more secrets can be added."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_flowwatch", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._flowwatch = True  # type: ignore[attr-defined]
    redactor = RedactingFilter(secrets)
    handler.addFilter(redactor)
    handler.setFormatter(UTCFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in (
        "apscheduler",
        "discord.http",
        "discord.gateway",
        "httpx",
        "httpcore",
        "apscheduler.executors.default",
        "matplotlib",
        "websockets",
    ):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    return redactor
