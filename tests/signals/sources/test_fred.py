from __future__ import annotations

from datetime import UTC, datetime

import pytest

from signals.sources import fred
from signals.sources.base import SourceError
from storage.timeutil import iso
from tests.conftest import fixture_text

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def test_new_layout_empty_is_missing() -> None:
    rows = fred.parse_csv(fixture_text("fred/VIXCLS.csv"), now=NOW)
    dates = [iso(r.ts)[:10] for r in rows]
    assert "2026-04-03" not in dates  # Good Friday: empty value
    assert rows[0].series == "cboe.vix.close" and rows[0].source == "fred" and rows[0].value == 24.54


def test_legacy_layout_dot_is_missing() -> None:
    rows = fred.parse_csv(fixture_text("fred/VIXCLS_legacy_layout.csv"), now=NOW)
    assert len(rows) == 5 and "2026-04-03" not in [iso(r.ts)[:10] for r in rows]


def test_vxvcls_maps_to_vix3m() -> None:
    rows = fred.parse_csv(fixture_text("fred/VXVCLS.csv"), now=NOW)
    assert {r.series for r in rows} == {"cboe.vix3m.close"}


def test_both_layouts_agree() -> None:
    new = {r.ts: r.value for r in fred.parse_csv(fixture_text("fred/VIXCLS.csv"), now=NOW)}
    old = {r.ts: r.value for r in fred.parse_csv(fixture_text("fred/VIXCLS_legacy_layout.csv"), now=NOW)}
    assert all(new[t] == v for t, v in old.items())


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("<html><body>Service Unavailable</body></html>", "HTML page"),
        ("observation_date,VIXCLS,EXTRA\n", "unexpected header"),
        ("observation_date,UNKNOWN\n2026-01-01,1\n", "no series is mapped"),
    ],
)
def test_errors(body: str, needle: str) -> None:
    with pytest.raises(SourceError, match=needle):
        fred.parse_csv(body, now=NOW)
