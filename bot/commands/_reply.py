"""A signal report as a Discord reply: one embed, its fields, and the chart attached."""

from __future__ import annotations

import io

import discord

from bot.commands._common import bot_of
from bot.discord_embeds import LEVEL_EMOJI, level_colour
from signals.charts import ChartData

MAX_FIELD = 1024
#: Discord refuses a message whose embeds hold more than 6,000 characters in all (title,
#: description, field names and values, footer text, author name)
EMBED_TOTAL = 6000


def fit_embed(embed: discord.Embed, limit: int = EMBED_TOTAL) -> discord.Embed:
    """Shrink ``embed`` to Discord's total: drop fields from the end (always saying so), then
    clip the description, the footer and the title, in that order. Never leaves a blank field
    name or value (Discord refuses those too)."""
    for i, f in enumerate(list(embed.fields)):
        name = (f.name or "").strip() or "–"
        value = (f.value or "").strip() or "–"
        if name != f.name or value != f.value:
            embed.set_field_at(i, name=name[:256], value=value[:MAX_FIELD], inline=bool(f.inline))
    dropped = 0
    while len(embed) > limit and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
        dropped += 1
    if dropped:  # the reader must know part of the report is missing, even at the text's cost
        embed.add_field(name="…", value=f"{dropped} more field(s) did not fit", inline=False)
    over = len(embed) - limit
    if over > 0 and embed.description:
        keep = max(0, len(embed.description) - over - 1)
        embed.description = embed.description[:keep] + "…"
    over = len(embed) - limit
    if over > 0 and embed.footer.text:
        embed.set_footer(text=embed.footer.text[: max(1, len(embed.footer.text) - over)])
    over = len(embed) - limit
    if over > 0 and embed.title:
        embed.title = embed.title[: max(1, len(embed.title) - over)]
    return embed


async def send_report(
    interaction: discord.Interaction,
    *,
    title: str,
    level: str,
    description: str,
    fields: dict[str, str],
    chart: ChartData | None,
    filename: str,
    footer: str,
) -> None:
    """Follow up a deferred interaction with the report's embed and (when there is data) its chart."""
    bot = bot_of(interaction)
    assert bot.app is not None
    embed = discord.Embed(
        title=f"{LEVEL_EMOJI.get(level, '')} {title}"[:256],
        description=description[:4000],
        colour=level_colour(level),
    )
    for name, value in list(fields.items())[:24]:
        embed.add_field(
            name=((name or "").strip() or "–")[:256],
            value=((value or "").strip() or "–")[:MAX_FIELD],
            inline=True,
        )
    embed.set_footer(text=footer[:2048])
    fit_embed(embed)
    if chart is not None and not chart.empty:
        png = await bot.app.renderer.render(chart)
        embed.set_image(url=f"attachment://{filename}")
        await interaction.followup.send(embed=embed, file=discord.File(io.BytesIO(png), filename=filename))
    else:
        await interaction.followup.send(embed=embed)
