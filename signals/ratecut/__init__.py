"""ratecut: the market-implied odds of the next two FOMC moves (a package: one module per job).

- ``_signal``: the signal (:data:`SIGNAL`), its keys per meeting, entry points and rules;
- ``_vocab``: venues, kinds, lags, the parameters and the ladders built from them;
- ``_venues``, ``_detect``: each venue's P(cut), and the swing, flip and divergence detectors;
- ``_size``, ``_size_detect``, ``_size_text``: the size key (repricings of the expected move);
- ``_readings``, ``_closing``, ``_freshness``: the readings and their texts, quiet moments and a
  meeting's close, live staleness per venue;
- ``_chart``, ``_demo``: the chart and the demo scenario.

The app uses the names below; the rest is private to the package.
"""

from __future__ import annotations

from signals.ratecut._chart import RateCutChart
from signals.ratecut._signal import SIGNAL, RateCut
from signals.ratecut._vocab import KINDS, LAGS, LIVE_VENUES, VENUE_NAMES, VENUES, VenueLine, meeting_label

__all__ = [
    "KINDS",
    "LAGS",
    "LIVE_VENUES",
    "SIGNAL",
    "VENUES",
    "VENUE_NAMES",
    "RateCut",
    "RateCutChart",
    "VenueLine",
    "meeting_label",
]
