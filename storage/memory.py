"""Handing freed memory back to the operating system after a large read.

glibc's allocator keeps the pages a process has freed, and a read of a long history (a year of
1-minute liquidation buckets for a chart or the hourly baselines) frees a few hundred MiB of
short-lived arrays and objects at once: without help the process then stays at that
high-water mark for good (the soak test saw RSS at 600-700 MiB where about 250 MiB was in
use). ``malloc_trim(0)`` returns the free pages of every arena; elsewhere (musl, macOS) this
is a no-op.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable


@functools.cache
def _trim() -> Callable[[int], int] | None:
    try:
        fn: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    return fn


def release_free_memory() -> bool:
    """Give free heap pages back to the OS; True when the allocator supports it."""
    trim = _trim()
    if trim is None:
        return False
    trim(0)
    return True
