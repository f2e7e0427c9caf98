"""The console sink: one line per event on stdout (text or JSON lines), charts optionally saved."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from bot.formatting import event_jsonl, event_line
from bot.sinks import DeliveryError
from storage.alerts import Delivery, StoredAlert

log = logging.getLogger("flowwatch.console")


class ConsoleSink:
    name: str = "console"
    patterns: tuple[str, ...] = ("console",)

    def __init__(
        self,
        stream: TextIO | None = None,
        fmt: str = "text",
        tz: ZoneInfo | None = None,
        chart_dir: Path | None = None,
        charts: Callable[[StoredAlert], Awaitable[bytes | None]] | None = None,
    ) -> None:
        self.stream = stream or sys.stdout
        self.fmt = fmt
        self.tz = tz
        self.chart_dir = chart_dir
        self.charts = charts  # async callable(alert) -> bytes | None

    def line(self, alert: StoredAlert) -> str:
        return event_jsonl(alert) if self.fmt == "jsonl" else event_line(alert, self.tz)

    async def send(self, alert: StoredAlert, delivery: Delivery) -> str | None:
        suffix = ""
        if self.chart_dir is not None and self.charts is not None and alert.kind == "alert":
            try:
                png = await self.charts(alert)
                if png:
                    self.chart_dir.mkdir(parents=True, exist_ok=True)
                    path = self.chart_dir / f"{alert.signal}-{alert.key}-{alert.ts}-{alert.event}.png"
                    path.write_bytes(png)
                    suffix = f"  [chart: {path}]"
            except Exception as exc:  # a chart must never block the alert itself
                log.warning("chart for alert %d failed: %s", alert.id, exc)
        try:
            self.stream.write(self.line(alert) + (suffix if self.fmt == "text" else "") + "\n")
            self.stream.flush()
        except (OSError, ValueError) as exc:  # a closed pipe, a full disk, a closed stream: retry later
            raise DeliveryError(f"console output failed: {exc}", transient=True) from None
        return None

    async def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.stream.flush()
