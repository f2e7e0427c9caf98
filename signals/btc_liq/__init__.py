"""btc_liq: BTC futures liquidation cascades across venues (a package: one module per job).

- ``_signal``: the signal (:data:`SIGNAL`), its parameters, levels and capabilities;
- ``_vocab``: the vocabulary (venues, buckets, windows) and the rule of the levels, in words;
- ``_timeline``, ``_baselines``: buckets without double counting, and each window's history;
- ``_tracker``, ``_grade``, ``_reading``, ``_text``: the cascade state machine, a window's level
  from its figures, the reading and its texts;
- ``_history``, ``_stored``: where the liquidations come from (a frame, or a database read by
  range) and the readings over them; ``_livebook``: the 1-minute buckets of the live streams;
- ``_chart``, ``_demo``: the charts and the demo scenario.

The app uses the names below; the rest is private to the package.
"""

from __future__ import annotations

from signals.btc_liq._chart import BtcLiqChart, CascadeChart, chart_range, chart_resolution
from signals.btc_liq._history import history_of, latest_reading
from signals.btc_liq._signal import SIGNAL, BtcLiq
from signals.btc_liq._text import span, undercounts, usd, venue_list
from signals.btc_liq._vocab import BINANCE_NOTE, COLUMNS, NAMES, VENUE_INDEX, VENUES

__all__ = [
    "BINANCE_NOTE",
    "COLUMNS",
    "NAMES",
    "SIGNAL",
    "VENUES",
    "VENUE_INDEX",
    "BtcLiq",
    "BtcLiqChart",
    "CascadeChart",
    "chart_range",
    "chart_resolution",
    "history_of",
    "latest_reading",
    "span",
    "undercounts",
    "usd",
    "venue_list",
]
