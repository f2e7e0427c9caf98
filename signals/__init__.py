"""Signals: one module per signal, each defining ``SIGNAL``. Discovered automatically."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from signals.base import Level, Param, Params, Reading, Signal

__all__ = ["Level", "Param", "Params", "Reading", "Signal", "get_signal", "registry"]

_SKIP = {"base", "sources"}


@cache
def registry() -> dict[str, Signal]:
    """Every signal module in this package, by id, in a stable order."""
    found: dict[str, Signal] = {}
    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if mod.name in _SKIP or mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{mod.name}")
        sig = getattr(module, "SIGNAL", None)
        if isinstance(sig, Signal):
            found[sig.id] = sig
    return found


def get_signal(signal_id: str) -> Signal:
    reg = registry()
    if signal_id not in reg:
        raise KeyError(f"unknown signal {signal_id!r}; available: {', '.join(reg) or 'none'}")
    return reg[signal_id]
