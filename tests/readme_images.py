"""Make the README's two pictures from a real alert: ``python -m tests.readme_images``.

1. ``docs/img/alert-chart.png``: the chart of the VIX/VIX3M alert of 2024-08-05, replayed from the
   real Cboe history in ``../shared/data`` through the real signal and engine.
2. ``docs/img/alert-message.png``: that alert as the bot posts it: the real bot sends it through
   its channel sink to the local fake Discord, and the embed the fake stored (title, colour,
   description, fields, the attached chart) is drawn the way Discord's dark theme shows it.

Timestamps (``<t:…:f>``) are drawn as a reader in New York would see them.
"""

from __future__ import annotations

import asyncio
import io
import re
import sys
import tempfile
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "img"
SHOWN_TZ = ZoneInfo("America/New_York")


def real_alert(db_path: Path) -> tuple[Any, Any]:
    """(settings, the fired VIX/VIX3M event of 2024-08-05) from the real history."""
    from bot.cli import main
    from bot.config import load_settings
    from bot.replay import run_replay
    from signals import get_signal
    from storage.db import open_db
    from tests.conftest import DATA

    assert main(["backfill", "cboe", "--dir", str(DATA), "--db", str(db_path)]) == 0
    settings = load_settings(env={"FLOWWATCH_DB": str(db_path)}, dotenv=None)
    db = open_db(db_path)
    events: list[Any] = []
    sig = get_signal("vix_term")
    run_replay(
        db, [sig], {sig.id: settings.signal_params(sig.id)}, datetime(2024, 1, 1, tzinfo=UTC), None,
        emit=lambda _i, ev: events.append(ev), resume=False,
    )  # fmt: skip
    db.close()
    ev = next(e for e in events if e.key == "vix3m" and e.event == "fired" and e.ts >= 1722816000)
    return settings, ev


def chart_png(settings: Any, ev: Any, dpi: int) -> bytes:
    from bot.alert_text import alert_chart
    from bot.charts import render_png
    from bot.queries import chart_data
    from storage.db import open_db
    from storage.timeutil import from_epoch

    db = open_db(settings.db_path)
    try:
        data = alert_chart(chart_data(db, settings, "vix_term", from_epoch(ev.ts + 1), 180), ev)
    finally:
        db.close()
    return render_png(data, dpi=dpi)


async def posted_message(settings: Any, ev: Any) -> tuple[dict[str, Any], bytes]:
    """The embed and the chart as the local fake Discord stored them."""
    from bot.clock import SimClock
    from storage.timeutil import from_epoch
    from tests.bot.discord_harness import insert_events, running_bot
    from tests.fakediscord import Defaults, FakeDiscord

    async with FakeDiscord() as fake:
        clock = SimClock(from_epoch(ev.ts + 60))
        async with running_bot(fake, settings, clock=clock) as bot:
            await insert_events(bot, [ev], [f"discord:{Defaults.ALERTS_CHANNEL_ID}"])
            msg = await fake.wait_for_message(Defaults.ALERTS_CHANNEL_ID, timeout=30)
        assert msg.embed is not None
        return msg.embed, msg.attachments[0].data


def _stamps(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        t = datetime.fromtimestamp(int(m.group(1)), UTC).astimezone(SHOWN_TZ)
        if m.group(2) == "R":
            return "a moment ago"
        return f"{t:%B} {t.day}, {t:%Y} {t:%I:%M %p}".replace(" 0", " ")

    return re.sub(r"<t:(\d+):([a-zA-Z])>", one, text)


def _plain(text: str) -> str:
    """Without the emoji the drawing font lacks (Discord draws them; the colour bar shows the level)."""
    return "".join(c for c in text if ord(c) < 0x2300 or 0x2500 <= ord(c) < 0x2600).strip()


def draw_embed(embed: dict[str, Any], chart: bytes, dpi: int = 100) -> bytes:
    """The embed as Discord's dark theme shows it (an approximation drawn with matplotlib)."""
    import matplotlib.image as mpimg

    from bot.charts import new_figure, to_png

    width_px, pad = 620, 16
    text_w = 66  # characters per line at this width
    title = _plain(_stamps(embed.get("title", "")))
    desc_lines: list[tuple[str, bool]] = []
    for para in _plain(_stamps(embed.get("description", ""))).splitlines():
        italic = para.startswith("*") and para.endswith("*")
        for line in textwrap.wrap(para.strip("*").strip(), text_w) or [""]:
            desc_lines.append((line, italic))
    fields = [(f["name"], _stamps(f["value"]), f.get("inline", False)) for f in embed.get("fields", [])]
    img = mpimg.imread(io.BytesIO(chart), format="png")
    chart_w = width_px - 2 * pad - 8
    chart_h = int(chart_w * img.shape[0] / img.shape[1])
    rows: list[list[tuple[str, str]]] = []
    for name, value, inline in fields:
        if inline and rows and len(rows[-1]) < 3 and rows[-1][0][0] != "\n":
            rows[-1].append((name, value))
        else:
            rows.append([(name, value)])
    line_h = 17
    field_h = [
        max(len(textwrap.wrap(v, 26 if len(r) > 1 else text_w)) for _, v in r) * line_h + 20 for r in rows
    ]
    height_px = pad + 8 + 2 * line_h + len(desc_lines) * line_h + 10 + sum(field_h) + chart_h + 2 * pad + 24
    fig = new_figure(width_px / dpi, height_px / dpi, dpi)
    fig.patch.set_facecolor("#313338")
    H = height_px

    def y(px: float) -> float:
        return 1 - px / H

    def x(px: float) -> float:
        return px / width_px

    colour = "#{:06x}".format(embed.get("color", 0x5865F2))
    fig.add_artist(
        __import__("matplotlib.patches", fromlist=["Rectangle"]).FancyBboxPatch(
            (x(pad), y(H - pad)), x(width_px - 2 * pad), (H - 2 * pad) / H,
            boxstyle="round,pad=0,rounding_size=0.01", facecolor="#2b2d31", edgecolor="none",
            transform=fig.transFigure, zorder=-2,
        )
    )  # fmt: skip
    fig.add_artist(
        __import__("matplotlib.patches", fromlist=["Rectangle"]).Rectangle(
            (x(pad), y(H - pad)),
            x(4),
            (H - 2 * pad) / H,
            facecolor=colour,
            transform=fig.transFigure,
            zorder=-1,
        )
    )
    left = pad + 16
    cur = pad + 14
    for line in textwrap.wrap(title, 58):
        fig.text(x(left), y(cur), line, color="#f2f3f5", fontsize=10.5, fontweight="bold", va="top")
        cur += line_h + 2
    cur += 4
    for line, italic in desc_lines:
        fig.text(
            x(left),
            y(cur),
            line,
            color="#dbdee1",
            fontsize=9,
            va="top",
            style="italic" if italic else "normal",
        )
        cur += line_h
    cur += 8
    for r, h in zip(rows, field_h, strict=True):
        col_w = (width_px - left - pad - 8) / max(1, len(r)) if len(r) > 1 else width_px
        for i, (name, value) in enumerate(r):
            fx = left + i * col_w
            fig.text(x(fx), y(cur), name, color="#f2f3f5", fontsize=8.5, fontweight="bold", va="top")
            for j, line in enumerate(textwrap.wrap(value, 26 if len(r) > 1 else text_w)):
                fig.text(x(fx), y(cur + 16 + j * line_h), line, color="#dbdee1", fontsize=8.5, va="top")
        cur += h
    ax = fig.add_axes((x(left), y(cur + chart_h), chart_w / width_px, chart_h / H))
    ax.imshow(img)
    ax.set_axis_off()
    cur += chart_h + 8
    footer = embed.get("footer", {}).get("text", "")
    fig.text(x(left), y(cur), footer, color="#b5bac1", fontsize=7.5, va="top")
    return to_png(fig)


def main() -> int:
    from tests.conftest import DATA

    if not DATA.exists():
        print(f"needs the real history in {DATA}", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        settings, ev = real_alert(Path(tmp) / "vix.db")
        (OUT / "alert-chart.png").write_bytes(chart_png(settings, ev, dpi=70))
        embed, chart = asyncio.run(posted_message(settings, ev))
        (OUT / "alert-message.png").write_bytes(draw_embed(embed, chart))
    for name in ("alert-chart.png", "alert-message.png"):
        print(f"{OUT / name}: {(OUT / name).stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
