"""credit: high-yield spread stress and the 2s10s curve (a package: one module per job).

- ``_model``: the pure model (the spread's widening and the curve's steepening, ranked in their
  own history);
- ``_vocab``: the series it reads, the parameters, when FRED has each figure;
- ``_readings``: the readings and the stale rule; ``_present``: the alert texts;
- ``_signal``: the signal (:data:`SIGNAL`); ``_demo``: the demo scenario.
"""

from __future__ import annotations

from signals.credit._model import (
    CURVE,
    CURVE_DAYS,
    HY,
    HY_HORIZONS,
    KEYS,
    Rules,
    curve_frame,
    curve_levels,
    curve_summary,
    hy_frame,
    hy_levels,
    hy_summary,
)
from signals.credit._signal import SIGNAL, Credit

__all__ = [
    "CURVE",
    "CURVE_DAYS",
    "HY",
    "HY_HORIZONS",
    "KEYS",
    "SIGNAL",
    "Credit",
    "Rules",
    "curve_frame",
    "curve_levels",
    "curve_summary",
    "hy_frame",
    "hy_levels",
    "hy_summary",
]
