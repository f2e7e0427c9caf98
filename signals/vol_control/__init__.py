"""vol_control: estimated de-risking by volatility-targeting funds (a package: one module per job).

- ``_model``: the pure model (the funds' rule, its assumptions, the levels from its own history);
- ``_vocab``: keys and parameters; ``_readings``: the readings and their texts;
- ``_signal``: the signal (:data:`SIGNAL`); ``_chart``, ``_present``: its chart and alert texts.

The model's names are exported for the tests, the bench and the docs.
"""

from __future__ import annotations

from signals.vol_control._model import (
    BUY,
    KEYS,
    SELL,
    Model,
    Rules,
    assumptions,
    frame,
    levels,
    realized_vol,
    summary,
)
from signals.vol_control._signal import SIGNAL, VolControl

__all__ = [
    "BUY",
    "KEYS",
    "SELL",
    "SIGNAL",
    "Model",
    "Rules",
    "VolControl",
    "assumptions",
    "frame",
    "levels",
    "realized_vol",
    "summary",
]
