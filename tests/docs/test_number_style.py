"""The docs write money and percentages as every message does (``signals/_levels.usd_text``:
``$50B``, ``$1.40T``, ``$850M``; ``+100% → +28%``), never in a second style (``$50bn``,
``+100 %``), so a reader can match a page to the alert in front of them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "docs" / "signals").glob("*.md")])
OTHER_STYLE = {
    "money as bn/tn/mn (write $50B, $1.40T, $850M)": re.compile(
        r"[0-9](?:bn|tn|mn)\b|\$[0-9.,]+ (?:bn|tn|mn)\b"
    ),
    "a space before % (write 28%)": re.compile(r"[0-9] %"),
}


def test_pages_exist() -> None:
    names = {p.name for p in PAGES}
    assert {"README.md", "cta_trend.md", "net_liquidity.md", "vol_control.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_money_and_percent_in_the_messages_style(page: Path) -> None:
    bad = [
        f"{page.name}:{n}: {why}: {line.strip()}"
        for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
        for why, pattern in OTHER_STYLE.items()
        if pattern.search(line)
    ]
    assert not bad, "\n".join(bad)


def test_settings_help_in_the_messages_style() -> None:
    """``.env.example`` (every setting's and parameter's help, as ``/thresholds`` shows it too)."""
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    bad = [
        f".env.example:{n}: {why}: {line.strip()}"
        for n, line in enumerate(text.splitlines(), 1)
        for why, pattern in OTHER_STYLE.items()
        if pattern.search(line)
    ]
    assert not bad, "\n".join(bad)
