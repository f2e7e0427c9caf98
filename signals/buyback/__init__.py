"""buyback: the estimated share of large US companies in their buyback blackout (a package).

- ``_signal``: the signal (:data:`SIGNAL`), its levels, capabilities and demo;
- ``_vocab``: table names, model constants, day numbers and the parameters;
- ``_model``: who is in blackout on a day, from the earnings calendar (known or estimated dates);
- ``_daily``: each session's share as known that day, its level, projection and closed runs;
- ``_reading``, ``_chart``, ``_demo``: the readings and their texts, the chart, the demo calendar.

The app uses the names below; the rest is private to the package.
"""

from __future__ import annotations

from signals.buyback._chart import BuybackChart
from signals.buyback._signal import SIGNAL, Buyback

__all__ = ["SIGNAL", "Buyback", "BuybackChart"]
