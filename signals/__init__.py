"""Signals: one module or package per signal, each defining ``SIGNAL``. Discovered automatically.

``SIGNAL`` is any object with the core members of :class:`signals.contract.Signal` (it inherits
nothing); a module that defines one without them is refused at start-up with what is missing.
Modules and packages whose names start with ``_``, and the shared vocabulary (``base``,
``contract``, the calendars …), define no ``SIGNAL`` and are skipped.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from signals.base import Level, Param, Params, Reading
from signals.contract import Signal, missing_members

__all__ = ["Level", "Param", "Params", "Reading", "Signal", "get_signal", "registry"]

_SKIP = {"base", "contract", "sources"}


class SignalError(TypeError):
    """A module's ``SIGNAL`` does not satisfy the contract; the message says what it lacks."""


@cache
def registry() -> dict[str, Signal]:
    """Every signal module or package in this package, by id, in a stable order."""
    found: dict[str, Signal] = {}
    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if mod.name in _SKIP or mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{mod.name}")
        sig = getattr(module, "SIGNAL", None)
        if sig is None:
            continue
        missing = missing_members(sig)
        if missing:
            raise SignalError(
                f"{module.__name__}.SIGNAL is not a signal: it lacks {', '.join(missing)} "
                "(see signals/contract.py and docs/new-signal.md)"
            )
        if sig.id in found:
            raise SignalError(f"{module.__name__}.SIGNAL: the id {sig.id!r} is taken by another signal")
        found[sig.id] = sig
    return found


def get_signal(signal_id: str) -> Signal:
    reg = registry()
    if signal_id not in reg:
        raise KeyError(f"unknown signal {signal_id!r}; available: {', '.join(reg) or 'none'}")
    return reg[signal_id]
