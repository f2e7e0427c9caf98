"""Embeds stay inside Discord's limits whatever the data."""

from __future__ import annotations

import discord

from bot.discord_embeds import _add_field, alert_embed, digest_embed, event_line, with_ack
from signals.base import Level
from storage.alerts import StoredAlert
from storage.guild_state import Ack


def alert(i: int = 1, **kw: object) -> StoredAlert:
    base: dict[str, object] = {
        "signal": "vix_term",
        "key": "vix3m",
        "event": "fired",
        "level": "alert",
        "ts": 1_710_447_300 + i,
        "summary": "x" * 5000,
        "value": 1.05,
        "fields": {f"field {n}": "v" * 2000 for n in range(40)},
        "source": "Cboe daily close",
        "id": i,
    }
    base.update(kw)
    return StoredAlert(**base)  # type: ignore[arg-type]


def test_alert_embed_is_clipped_to_discord_limits() -> None:
    e = alert_embed(alert(), image="c.png", grade=Level.SEVERE, ack=Ack("1", 2, 3, 4, 5))
    assert len(e) <= 6000 and len(e.fields) <= 25
    assert len(e.description or "") <= 4096 and all(len(f.value or "") <= 1024 for f in e.fields)
    assert e.image.url == "attachment://c.png" and e.colour == discord.Colour(0xEF6C00)


def test_resolved_is_green_and_shows_the_level_it_left() -> None:
    e = alert_embed(alert(event="resolved", level="ok", prev_level="severe", summary="over", fields={}))
    assert e.colour == discord.Colour(0x2E7D32) and (e.title or "").startswith("🟢 Over (was Severe):")
    assert "Over (was Severe)" in event_line(alert(event="resolved", level="ok", prev_level="severe"))


def test_regrading_note_only_when_the_guild_differs() -> None:
    names = lambda e: [f.name for f in e.fields]  # noqa: E731
    assert "This server" in names(alert_embed(alert(fields={}), grade=Level.WATCH))
    assert "This server" not in names(alert_embed(alert(fields={}), grade=Level.ALERT))


def test_ack_replaces_an_earlier_ack_field() -> None:
    e = alert_embed(alert(fields={}), ack=Ack("1", 2, 3, 4, 5))
    again = with_ack(e, Ack("1", 2, 3, 9, 6))
    acks = [f.value for f in again.fields if f.name == "Acknowledged"]
    assert acks == ["by <@9> <t:6:R>"]


def test_digest_of_hundreds_of_events_keeps_the_newest() -> None:
    e = digest_embed("storm", [alert(i, summary="s", fields={}) for i in range(300)], "more than 5 in 10 min")
    assert len(e.description or "") <= 4096 and len(e) <= 6000
    lines = (e.description or "").splitlines()
    assert lines[0].startswith("… and ") and lines[-1].startswith(f"<t:{1_710_447_300 + 299}:f>")
    assert (e.title or "").startswith("Alert storm: 300 event(s)")


def test_status_embed_shows_the_most_urgent_first_when_not_all_fit() -> None:
    from datetime import UTC, datetime

    from bot.discord_embeds import status_embed
    from bot.queries import KeyStatus
    from signals.base import Reading

    def ks(i: int, level: Level) -> KeyStatus:
        r = Reading(
            "vix_term", f"k{i}", datetime(2024, 1, 1, tzinfo=UTC), 1.0, level, level, "s" * 900, "src"
        )
        return KeyStatus("vix_term", f"k{i}", f"key {i}", r, None, None, None)

    rows = [ks(i, Level.OK) for i in range(30)] + [ks(99, Level.SEVERE)]
    e = status_embed(rows)
    assert len(e.fields) == 25 and (e.fields[0].name or "").startswith("🔴")
    assert (e.footer.text or "").startswith("6 more reading(s) not shown")


def test_blank_and_whitespace_fields_are_left_out() -> None:
    """Discord refuses a field whose name or value is empty or only spaces (the whole message with it)."""
    e = discord.Embed(title="t")
    for name, value in {"Spread": "  ", "\u2003": "1.2", "": "3", "VIX9D": "14.2", "Gap": "\n"}.items():
        _add_field(e, name, value)
    assert [(f.name, f.value) for f in e.fields] == [("VIX9D", "14.2")]
