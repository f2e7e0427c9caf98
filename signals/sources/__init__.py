"""Sources: one module per data provider, discovered automatically.

A module contributes ``POLLS`` (scheduled fetches), ``BACKFILL`` (``flowwatch backfill``),
``STREAMS`` (live websocket feeds the app runs as a service), ``SETTINGS`` and ``RETENTION`` —
see :mod:`signals.sources.base`.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from types import ModuleType

from signals.sources.base import Backfill, Poll, Setting, Stream
from storage.maintenance import Retention

_SKIP = {"base", "http"}


@cache
def modules() -> dict[str, ModuleType]:
    out = {}
    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if mod.name in _SKIP or mod.name.startswith("_"):
            continue
        out[mod.name] = importlib.import_module(f"{__name__}.{mod.name}")
    return out


def backfills() -> dict[str, Backfill]:
    found: dict[str, Backfill] = {}
    for module in modules().values():
        bf = getattr(module, "BACKFILL", None)
        for b in bf if isinstance(bf, list | tuple) else [bf]:
            if isinstance(b, Backfill):
                found[b.name] = b
    return dict(sorted(found.items()))


def polls() -> list[Poll]:
    out: list[Poll] = []
    for module in modules().values():
        out += [p for p in getattr(module, "POLLS", []) if isinstance(p, Poll)]
    return out


def settings() -> list[tuple[str, Setting[object]]]:
    """(module, setting) of every source's ``SETTINGS``, in module order."""
    out: list[tuple[str, Setting[object]]] = []
    for name, module in modules().items():
        out += [(name, s) for s in getattr(module, "SETTINGS", ()) if isinstance(s, Setting)]
    return out


def retention() -> list[Retention]:
    """How long each provider's observations are kept (``RETENTION`` in source modules)."""
    out: list[Retention] = []
    for module in modules().values():
        out += [r for r in getattr(module, "RETENTION", []) if isinstance(r, Retention)]
    return out


def streams() -> list[Stream]:
    """Every source's live streams (``STREAMS``), in module order."""
    out: list[Stream] = []
    for module in modules().values():
        out += [s for s in getattr(module, "STREAMS", []) if isinstance(s, Stream)]
    return out
