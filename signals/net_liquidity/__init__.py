"""net_liquidity: the Fed's balance sheet net of the Treasury's account and reverse repo (a
package: one module per job).

- ``_model``: the pure model (the weekly frame, changes over 1-4 weeks, their driver and
  release, the levels from its own history);
- ``_vocab``: the series it reads, the parameters, the release times;
- ``_readings``: the readings and the stale rule; ``_present``: the alert texts;
- ``_signal``: the signal (:data:`SIGNAL`); ``_demo``: the demo scenario.
"""

from __future__ import annotations

from signals.net_liquidity._model import (
    HORIZONS,
    KEYS,
    LADDER,
    PARTS,
    RRP_DAILY_SINCE,
    RRP_FILL_DAYS,
    Rules,
    frame,
    h41_release,
    levels,
    summary,
)
from signals.net_liquidity._signal import SIGNAL, NetLiquidity

__all__ = [
    "HORIZONS",
    "KEYS",
    "LADDER",
    "PARTS",
    "RRP_DAILY_SINCE",
    "RRP_FILL_DAYS",
    "SIGNAL",
    "NetLiquidity",
    "Rules",
    "frame",
    "h41_release",
    "levels",
    "summary",
]
