"""Hostile input: every parser returns valid rows or raises its one clear error (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from signals.sources import cboe, fred, yahoo
from signals.sources.base import SourceError
from tests.conftest import fixture_text
from tests.fuzzing import check_rows, expect_clear_error, fuzz_settings, mutated

NOW = datetime(2026, 11, 21, tzinfo=UTC)
LIMIT = NOW.timestamp() + 600


def _seeds(*paths: str) -> list[str]:
    try:
        return [fixture_text(p) for p in paths]
    except Exception:  # the shared folder is absent: fuzz from a minimal valid payload
        return ["DATE,OPEN,HIGH,LOW,CLOSE\n01/02/2026,1,1,1,1\n"]


CBOE = _seeds("cboe/VIX_History.csv", "cboe/VIX3M_History.csv")
FRED = _seeds("fred/VIXCLS.csv", "fred/VIXCLS_legacy_layout.csv", "fred/VXVCLS.csv")
YAHOO = _seeds("yahoo/chart_VIX_1d.json", "yahoo/chart_VIX3M_1d.json", "yahoo/chart_error_not_found.json")


@fuzz_settings
@given(st.one_of(mutated(CBOE), st.text(max_size=300)))
def test_cboe_csv(text: str) -> None:
    rows = expect_clear_error(lambda: cboe.parse_csv(text, "vix", now=NOW), (SourceError,))
    check_rows(rows or [], max_ts=LIMIT)


@fuzz_settings
@given(st.one_of(mutated(FRED), st.text(max_size=300)))
def test_fred_csv(text: str) -> None:
    rows = expect_clear_error(lambda: fred.parse_csv(text, now=NOW), (SourceError,))
    check_rows(rows or [], max_ts=LIMIT)


@fuzz_settings
@given(st.one_of(mutated(YAHOO), st.text(max_size=300)), st.sampled_from(["1d", "5m"]))
def test_yahoo_chart(text: str, interval: str) -> None:
    rows = expect_clear_error(
        lambda: yahoo.parse_chart(text, "yahoo.vix.5m", interval=interval, now=NOW), (SourceError,)
    )
    check_rows(rows or [], max_ts=LIMIT)
