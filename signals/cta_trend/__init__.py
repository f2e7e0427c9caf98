"""cta_trend: a trend-follower replication on the S&P 500 (a package: one module per job).

- ``_model``: the pure replication (signals, trigger levels, the net flip level, scenarios, the
  levels from its own history);
- ``_vocab``: keys and parameters; ``_readings``: the readings and their texts;
- ``_signal``: the signal (:data:`SIGNAL`); ``_chart``, ``_present``: its chart and alert texts.

The model's names are exported for the tests, the bench and the docs.
"""

from __future__ import annotations

from signals.cta_trend._model import (
    BUY,
    FLIP_SEARCH,
    KEYS,
    NAMES,
    NEAR,
    SELL,
    Model,
    Rules,
    assumptions,
    frame,
    levels,
    scenarios,
    summary,
)
from signals.cta_trend._signal import SIGNAL, CtaTrend

__all__ = [
    "BUY",
    "FLIP_SEARCH",
    "KEYS",
    "NAMES",
    "NEAR",
    "SELL",
    "SIGNAL",
    "CtaTrend",
    "Model",
    "Rules",
    "assumptions",
    "frame",
    "levels",
    "scenarios",
    "summary",
]
