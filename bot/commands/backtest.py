"""``/backtest signal overrides [start]``: how often would this have fired under other thresholds?

Answers privately (ephemeral) with the alert lifecycles per year under the given thresholds
versus the current ones, the last few with dates and peaks, and the chart. The replay runs on a
read-only connection, on its own worker thread (never the event loop, never the database writer),
within ``FLOWWATCH_BACKTEST_SECONDS``; each user waits ``FLOWWATCH_BACKTEST_COOLDOWN`` between two.
Bad names and values get the messages of ``flowwatch replay --set``.
"""

from __future__ import annotations

import asyncio
import io
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import discord
from discord import app_commands

from bot.backtest import (
    BacktestResult,
    BudgetExceeded,
    Run,
    backtest_chart_data,
    open_readonly,
    params_with_overrides,
    parse_pairs,
    run_backtest,
)
from bot.charts import render_png
from bot.commands._common import (
    Cooldowns,
    UserInputError,
    bot_of,
    check_signal,
    defer_private,
    parse_or_refuse,
    signal_choices,
)
from bot.config import Settings
from bot.discord_embeds import clip, signal_title, ts_tag
from bot.engine import rules_for
from bot.formatting import fmt_value, level_word
from signals import get_signal
from signals.base import Level, Params
from storage.timeutil import parse_date_arg

LAST_SHOWN = 5
_executor: ThreadPoolExecutor | None = None
_cooldowns: weakref.WeakKeyDictionary[Any, Cooldowns] = weakref.WeakKeyDictionary()


def executor() -> ThreadPoolExecutor:
    """One backtest at a time, on its own thread."""
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="backtest")
    return _executor


def work(
    settings: Settings, signal_id: str, params: Params, start: datetime | None, deadline: float
) -> tuple[BacktestResult, bytes]:
    """On the backtest thread: the replay on a read-only connection, then the chart."""
    db = open_readonly(settings.db_path)
    try:
        result = run_backtest(db, settings, signal_id, params, start, deadline)
        png = render_png(backtest_chart_data(db, settings, result))
    finally:
        db.close()
    return result, png


def _run_line(result: BacktestResult, run: Run) -> str:
    """Alerts a year (lifecycles that reached Alert or Severe: what the override is about), then
    the heads-ups apart: they never ping, and one key's heads-ups must not drown the number."""
    alerts = run.at_least(Level.ALERT)
    heads_up = len(run.lifecycles) - alerts
    return (
        f"**{alerts / result.years:.1f} alerts a year**: {alerts} reaching {level_word('alert')} or "
        f"{level_word('severe')} in {result.years:.1f} years; {heads_up} heads-up"
        f"{'s' if heads_up != 1 else ''} besides ({heads_up / result.years:.1f} a year)"
    )


#: a field's value limit (Discord: 1,024 characters)
FIELD_MAX = 1024


def per_key_field(result: BacktestResult) -> tuple[str, str] | None:
    """(name, value) of the lifecycles per key, yours vs current, within one field's limit: a
    signal with many keys (ratecut: a key per meeting and kind) is summed by kind of key
    (``*.size``), and what still does not fit is clipped."""
    tested, current = result.tested.lifecycles, result.current.lifecycles
    keys = sorted({c.key for c in tested + current})
    if len(keys) <= 1:
        return None
    text = " · ".join(
        f"`{k}` {sum(c.key == k for c in tested)} vs {sum(c.key == k for c in current)}" for k in keys
    )
    if len(text) <= FIELD_MAX:
        return "Lifecycles per key (yours vs current)", text

    def kind(key: str) -> str:
        return "*." + key.rsplit(".", 1)[1] if "." in key else key

    kinds = sorted({kind(k) for k in keys})
    text = " · ".join(
        f"`{g}` {sum(kind(c.key) == g for c in tested)} vs {sum(kind(c.key) == g for c in current)} "
        f"({sum(kind(k) == g for k in keys)} keys)"
        for g in kinds
    )
    return f"Lifecycles per kind of key, {len(keys)} keys (yours vs current)", clip(text, FIELD_MAX)


def _peak_text(result: BacktestResult, key: str, peak: float | None) -> str | None:
    """A lifecycle's peak as the signal's own messages write it (``99.7th percentile``,
    ``$1.46B``), never a bare number; None where a peak means nothing (cta_trend's trigger: its
    value is a distance, smallest when it matters)."""
    if peak is None:
        return None
    describe = rules_for(get_signal(result.signal), result.params).describe_peak
    return describe(key, peak) if describe is not None else fmt_value(result.signal, peak)


def backtest_embed(result: BacktestResult, filename: str) -> discord.Embed:
    over = (
        ", ".join(f"`{k}={v:g}`" for k, v in result.overrides.items()) or "the current thresholds (no change)"
    )
    embed = discord.Embed(
        title=clip(f"Backtest · {signal_title(result.signal)} since {result.start:%Y-%m-%d}", 256),
        description=clip(
            f"With {clip(over, 1500)}: {_run_line(result, result.tested)}.\n"
            f"With the current thresholds: {_run_line(result, result.current)}.\n"
            "-# An alert is one lifecycle (fired to resolved) that reached Alert or Severe; its "
            "escalations and updates count once. Heads-ups never ping and are counted apart.",
            4096,
        ),
        colour=discord.Colour(0x5865F2),
    )
    per_key = per_key_field(result)
    if per_key is not None:
        embed.add_field(name=per_key[0], value=per_key[1], inline=False)
    last = result.tested.lifecycles[-LAST_SHOWN:]
    if last:
        lines = []
        for c in reversed(last):
            end = ts_tag(c.end, "d") if c.end is not None else "still open"
            shown = _peak_text(result, c.key, c.peak)
            peak = f" · peak {shown}" if shown else ""
            lines.append(f"{ts_tag(c.start, 'd')} → {end}{peak} · {level_word(c.peak_level)} · `{c.key}`")
        embed.add_field(
            name=f"Last {len(last)} with these thresholds", value=clip("\n".join(lines), 1024), inline=False
        )
    else:
        embed.add_field(name="With these thresholds", value="No alert in this period.", inline=False)
    embed.set_image(url=f"attachment://{filename}")
    embed.set_footer(
        text=f"flowwatch · replayed {result.seconds:.1f} s on stored history; nothing was changed"
    )
    return embed


async def backtest_callback(
    interaction: discord.Interaction,
    signal: str,
    overrides: app_commands.Range[str, 1, 200],
    start: app_commands.Range[str, 1, 10] | None = None,
) -> None:
    bot = bot_of(interaction)
    assert bot.app is not None
    sig = check_signal(signal)
    pairs = parse_or_refuse(parse_pairs, overrides or "")
    if not pairs:
        raise UserInputError("Give one or more thresholds as NAME=VALUE, e.g. `alert=1.05 confirm=3`.")
    params = parse_or_refuse(params_with_overrides, sig.id, bot.settings, pairs)
    start_at = parse_or_refuse(parse_date_arg, start.strip()) if start and start.strip() else None
    cooldowns = _cooldowns.get(bot)
    if cooldowns is None:
        cooldowns = _cooldowns[bot] = Cooldowns(bot.settings.backtest_cooldown, bot.cooldowns.clock)
    cooldowns.hit(interaction.user.id)
    await defer_private(interaction)
    budget = bot.settings.backtest_seconds
    loop = asyncio.get_running_loop()
    job = loop.run_in_executor(
        executor(), work, bot.settings, sig.id, params, start_at, time.monotonic() + budget
    )
    try:
        result, png = await asyncio.wait_for(asyncio.shield(job), timeout=budget + 5)
    except (BudgetExceeded, TimeoutError):
        raise UserInputError(
            f"The backtest of {sig.title} took longer than {budget:g} s and was stopped; "
            "try a later `start` date."
        ) from None
    except ValueError as exc:  # OverrideError: nothing stored, a start after the data
        raise UserInputError(str(exc)[:1].upper() + str(exc)[1:] + ".") from None
    filename = f"backtest-{sig.id}.png"
    await interaction.followup.send(
        embed=backtest_embed(result, filename),
        file=discord.File(io.BytesIO(png), filename=filename),
        ephemeral=True,
    )


def commands() -> list[app_commands.Command[Any, ..., Any]]:
    cmd: app_commands.Command[Any, ..., None] = app_commands.Command(
        name="backtest",
        description="How often would a signal have fired under other thresholds? (only you see the answer)",
        callback=backtest_callback,
    )
    app_commands.describe(
        signal="Which signal to test",
        overrides="Thresholds as NAME=VALUE, e.g. alert=1.05 confirm=3 (/thresholds show lists the names)",
        start="First date tested, YYYY-MM-DD (default: all stored history)",
    )(cmd)
    app_commands.choices(signal=signal_choices())(cmd)
    return [cmd]
