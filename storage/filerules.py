"""When a file is refused: one rule for every file flowwatch reads (``backfill <src> --file``,
``backfill … --dir``, ``backfill all --dir``, ``import``).

- **Cut off.** A file whose last line has no line break was cut off (a copy or a download that
  stopped): its last row may be a fragment that still parses (``2026-07-24,2`` from
  ``2026-07-24,21.37``; ``…,4200,43`` from ``…,4200,4370.5``). Nothing tells a cut value from a
  real one, so the file is refused whole, the message naming the line.
- **One value per time.** A time (of one series) that appears twice with the same value is kept
  once; twice with two different values, the file is refused whole, the message naming the
  lines. Keeping the last one silently would store whichever copy happened to come last.

A refused file writes nothing: the readers check before they hand anything over, and
:func:`storage.batches.write` checks a file's batch again before its transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from storage.observations import Observation
from storage.timeutil import iso

#: conflicts named in one message
MAX_SHOWN = 5
#: what a file gives a key: a number, or several (a row's long and short USD)
Value = float | tuple[float, ...]


class FileRefused(ValueError):
    """A file broke a rule of this module; the message says which line and that nothing was imported."""


def cut_off_line(text: str) -> tuple[int, str] | None:
    """The number and text of the last line when it has no line break (the file was cut off), or
    None when the file ends with a line break (or is empty)."""
    if not text.strip() or text.endswith(("\n", "\r")):
        return None
    n = text.count("\n") + 1 if "\n" in text else text.count("\r") + 1
    last = text.rsplit("\n", 1)[-1].rsplit("\r", 1)[-1]
    return n, last


def cut_off_message(line: int | None, text: str) -> str:
    """Why a cut-off file is refused (without the file's label)."""
    where = f"line {line}, {text[-40:]!r}" if line is not None else repr(text[-40:])
    return (
        f"the file ends in the middle of a line ({where}: no line break after it): it was cut off, "
        "and its last row may be a fragment of a longer one (a number cut short still reads as a "
        "number); nothing imported. Copy or download it again (if that line is complete, end the "
        "file with a line break)"
    )


def check_complete(text: str, label: str) -> None:
    """Refuse (:class:`FileRefused`) ``text`` when its last line has no line break."""
    cut = cut_off_line(text)
    if cut is not None:
        raise FileRefused(f"{label}: {cut_off_message(*cut)}")


def check_file_tail(path: Path, label: str) -> None:
    """:func:`check_complete` for a file too large to read whole: only its end is read."""
    with path.open("rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        if size == 0:
            return
        fh.seek(max(0, size - 4096))
        tail = fh.read()
    if tail.strip() and not tail.endswith((b"\n", b"\r")):
        last = tail.rsplit(b"\n", 1)[-1].rsplit(b"\r", 1)[-1].decode("utf-8", errors="replace")
        raise FileRefused(f"{label}: {cut_off_message(None, last)}")


@dataclass
class Conflicts:
    """Collects the values a file gives each key (a series and a time) with their line numbers.

    :meth:`add` returns True the first time it meets a key (keep the row) and False for a repeat
    (an identical repeat is dropped; a different one is a conflict, reported by :meth:`message`).
    Only the first value of each key is kept, and the others of a conflicting key.
    """

    first: dict[Hashable, tuple[Value, int | None]] = field(default_factory=dict)
    more: dict[Hashable, list[tuple[int | None, Value]]] = field(default_factory=dict)

    def add(self, key: Hashable, value: Value, line: int | None = None) -> bool:
        got = self.first.get(key)
        if got is None:
            self.first[key] = (value, line)
            return True
        if got[0] != value:
            others = self.more.setdefault(key, [])
            if all(v != value for _, v in others):
                others.append((line, value))
        return False

    def __bool__(self) -> bool:
        return bool(self.more)

    def message(self, describe_key: Callable[[Hashable], str] = str) -> str | None:
        """The refusal naming the conflicting keys, their lines and values (without the file's
        label), or None when there is none."""
        if not self.more:
            return None
        shown = []
        for key in list(self.more)[:MAX_SHOWN]:
            value, line = self.first[key]
            seen = [(line, value), *self.more[key]]
            parts = [f"line {ln}: {_show(v)}" if ln is not None else _show(v) for ln, v in seen]
            shown.append(f"{describe_key(key)} ({', '.join(parts)})")
        more = f" (and {len(self.more) - MAX_SHOWN} more)" if len(self.more) > MAX_SHOWN else ""
        return (
            f"{len(self.more)} timestamp(s) appear more than once with different values, "
            f"nothing imported: {'; '.join(shown)}{more}. Keep one value per timestamp"
        )

    def check(self, label: str, describe_key: Callable[[Hashable], str] = str) -> None:
        """Raise :class:`FileRefused` with :meth:`message` when a key has two values."""
        text = self.message(describe_key)
        if text is not None:
            raise FileRefused(f"{label}: {text}")


def _show(value: Value) -> str:
    return "/".join(f"{v:.12g}" for v in value) if isinstance(value, tuple) else f"{value:.12g}"


def series_time(key: Hashable) -> str:
    """``(series, ts)`` as ``series at 2026-07-22T00:00:00Z``."""
    assert isinstance(key, tuple)
    series, ts = key
    return f"{series} at {iso(int(ts))}"


def check_observations(observations: Sequence[Observation], label: str) -> None:
    """Refuse (:class:`FileRefused`) a file's observations when one series has two values at one
    time (one pass over plain numbers; the message is built only for a file that is refused)."""
    per: dict[str, dict[int, float]] = {}
    clash = False
    for o in observations:
        if per.setdefault(o.series, {}).setdefault(o.ts, o.value) != o.value:
            clash = True
    if clash:
        conflicts = Conflicts()
        for o in observations:
            conflicts.add((o.series, o.ts), o.value)
        conflicts.check(label, series_time)
