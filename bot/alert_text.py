"""Alert messages people read in three seconds, for the Discord embeds (bot and webhook) and the
console line: a headline with the number, the level in plain words, one first line, one line on
what the move usually means, and figures that repeat nothing.

A signal that presents its own alerts (``present``, :mod:`signals.presentation`) gives the parts;
every other alert reads generically: the signal's title, the key, the value, its summary and
fields. Pure: an :class:`~storage.alerts.AlertEvent` in, an :class:`AlertText` out. Times are
written by the caller's ``stamp`` (Discord timestamps ``<t:…:f>`` in Discord,
``FLOWWATCH_TIMEZONE`` on the console). Machine interfaces (``replay --format jsonl``, the
database) keep the event's own ``summary`` and ``watch|alert|severe``.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.formatting import key_name
from signals import registry
from signals.charts import ChartData
from signals.contract import present_of, value_format_of
from signals.presentation import AlertText, Stamp, clip, level_word, message, pct, usd
from storage.alerts import AlertEvent
from storage.timeutil import from_epoch

__all__ = ["AlertText", "Stamp", "alert_chart", "chart_title", "pct", "present", "usd", "utc_stamp"]


def _generic(ev: AlertEvent, stamp: Stamp) -> AlertText:
    sig = registry().get(ev.signal)
    name = sig.title if sig else ev.signal
    value = "" if ev.value is None else f" {(value_format_of(sig) if sig else '{:.3f}').format(ev.value)}"
    head = f"{name} · {key_name(ev.signal, ev.key)}{value}"
    return message(ev, head, ev.summary, "", dict(ev.fields), None, stamp)


def present(ev: AlertEvent, stamp: Stamp) -> AlertText:
    """The message of one market alert event (``kind='alert'``)."""
    sig = registry().get(ev.signal)
    try:
        own = present_of(sig, ev, stamp) if sig is not None else None
    except (KeyError, TypeError, ValueError, ZeroDivisionError):  # odd data: never lose the alert
        own = None
    return own if own is not None else _generic(ev, stamp)


def utc_stamp(ts: int) -> str:
    return f"{from_epoch(ts):%Y-%m-%d %H:%M} UTC"


def chart_title(ev: AlertEvent) -> str:
    """An alert chart's title: the alert's own headline, the level the number already shows when it
    waits for confirmation (a chart is often seen alone: "Heads-up: VIX/VIX3M 1.122" must not read
    as all there is), and its date (UTC)."""
    text = present(ev, utc_stamp)
    aw = ev.data.get("awaiting") if text.pending else None
    note = f" · {level_word(str(aw.get('level')))} awaiting confirmation" if isinstance(aw, Mapping) else ""
    tail = f"{note} · {from_epoch(ev.ts):%Y-%m-%d}"
    # a long headline is shortened, never the date or the level awaiting confirmation
    return clip(text.title, max(110 - len(tail), 40)) + tail


def alert_chart(data: ChartData, alert: AlertEvent) -> ChartData:
    """A signal's chart data made the alert's own: titled with the alert, focused on its key."""
    return data.titled(chart_title(alert), focus_key=alert.key)
