"""vix_term: the VIX term structure (a package: one module per job).

- ``_signal``: the signal (:data:`SIGNAL`), its levels and capabilities;
- ``_vocab``: the series it reads, the ladders of its levels, the parameters, the Cboe close;
- ``_readings``: the readings at each Cboe close and from intraday 5-minute bars;
- ``_chart``, ``_demo``: the chart and the demo scenario.

The app uses the names below; the rest is private to the package.
"""

from __future__ import annotations

from signals.vix_term._chart import VixTermChart
from signals.vix_term._signal import SIGNAL, VixTerm
from signals.vix_term._vocab import VIX, VIX3M, VIX6M, VIX9D

__all__ = ["SIGNAL", "VIX", "VIX3M", "VIX6M", "VIX9D", "VixTerm", "VixTermChart"]
