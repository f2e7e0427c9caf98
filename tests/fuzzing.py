"""Property-based fuzzing helpers: parsers must return good rows or raise their clear error.

The number of generated cases per property comes from ``FLOWWATCH_FUZZ_EXAMPLES`` (default
small for the default suite; the long run sets it high: see ``.ci/run``).

Strategies, from dumb to structure-aware (all reusable for any text input: payloads, CLI
flags, slash-command options):

- :func:`mutated`: a recorded payload cut, spliced, with bytes inserted, deleted or replaced;
- :func:`json_mutated`: a recorded JSON document with nodes replaced by hostile values (NaN,
  huge numbers, wrong types, future timestamps), keys dropped, lists emptied or duplicated;
- :func:`csv_mutated`: a recorded CSV with cells, rows and header names replaced or shuffled;
- :func:`hostile_text`, :func:`numberish`, :func:`dateish`, :func:`durationish`: option values
  that look almost right (``1e309``, ``-0``, ``2026-02-30``, ``  15m``, control characters …)
  next to plain random text; ``option_value(kind)`` picks the one for a kind of option;
- :class:`Opt` and :func:`option_sets`: a command's options (CLI flags or slash-command options)
  and which of them one generated call sets, with what (``tests/bot/test_cli_fuzz.py`` turns them
  into argv; an interaction payload can be built the same way).
"""

from __future__ import annotations

import copy
import csv
import io
import json
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("FLOWWATCH_FUZZ_EXAMPLES", "200"))

fuzz_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=EXAMPLES <= 500,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
    ],
)


def scaled(factor: float) -> settings:
    """``fuzz_settings`` with a fraction of the examples, for properties that cost more per case."""
    return settings(fuzz_settings, max_examples=max(10, int(EXAMPLES * factor)))


#: tokens that break naive parsers: numbers that are not, empties, structure characters
HOSTILE_TOKENS = [
    "NaN",
    "nan",
    "-1",
    "0",
    "-0.0",
    "1e308",
    "1e309",
    "-inf",
    "inf",
    "Infinity",
    "null",
    '""',
    "N/A",
    ".",
    "[]",
    "{}",
    "9999999999999",
    "99999999999999999999999",
    "-9999999999",
    "<html>",
    ",",
    "\n",
    "\r\n",
    '"',
    "true",
    "\ufeff",
    "\x00",
    "2099-12-31",
    "12/31/2099",
    "02/30/2026",
    "2026-13-45",
    "0001-01-01",
    "9999-12-31T23:59:59-14:00",
    "1e400",
]


@st.composite
def mutated(draw: st.DrawFn, seeds: Sequence[str]) -> str:
    """A recorded payload, cut, spliced, or with bytes inserted, deleted or replaced."""
    text = draw(st.sampled_from(list(seeds)))
    ops = draw(st.lists(st.sampled_from(["cut", "insert", "delete", "replace", "dup", "junk"]), max_size=4))
    for op in ops:
        n = len(text)
        i = draw(st.integers(0, max(n, 0)))
        if op == "cut":
            text = text[:i]
        elif op == "insert":
            text = text[:i] + draw(st.text(max_size=12)) + text[i:]
        elif op == "delete":
            j = draw(st.integers(i, min(n, i + 20)))
            text = text[:i] + text[j:]
        elif op == "replace":
            token = draw(st.sampled_from(HOSTILE_TOKENS))
            j = draw(st.integers(i, min(n, i + 8)))
            text = text[:i] + token + text[j:]
        elif op == "dup":
            text = text + text[i:]
        else:
            text = draw(st.text(max_size=200))
    return text


#: JSON values a provider should never send where a number, string or object is expected
HOSTILE_JSON: list[Any] = [
    math.nan,
    math.inf,
    -math.inf,
    -1,
    0,
    -0.0,
    1e308,
    10**30,
    2**63,
    -(2**63) - 1,
    4_102_444_800_000,  # 2100 in ms
    9_999_999_999,  # 2286 in s
    -1_000_000_000_000,
    "",
    " ",
    "NaN",
    "-1",
    "1e400",
    "0.0000",
    "-0.5000",
    "1.5000",
    "abc",
    "2099-01-01T00:00:00Z",
    "9999-12-31T23:59:59+14:00",
    "0001-01-01T00:00:00-14:00",
    None,
    True,
    False,
    [],
    {},
    [None],
    {"": None},
    "x" * 300,
]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        node = node[p]
    return node


def _hostile_json(draw: st.DrawFn) -> Any:
    return copy.deepcopy(draw(st.sampled_from(HOSTILE_JSON)))  # never share a list between cases


@st.composite
def json_mutated(draw: st.DrawFn, seeds: Sequence[str], max_ops: int = 4) -> str:
    """A recorded JSON body with a few nodes made hostile: values replaced (NaN, huge, wrong
    type, future dates), keys removed, lists emptied, items duplicated or nested wrongly."""
    doc = json.loads(draw(st.sampled_from(list(seeds))))
    for _ in range(draw(st.integers(1, max_ops))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(["value", "value", "value", "drop", "empty", "dup", "stringify", "wrap"]))
        if not path:
            if op in ("value", "wrap"):
                doc = _hostile_json(draw) if op == "value" else [doc]
            continue
        parent = _get(doc, path[:-1])
        key = path[-1]
        cur = parent[key]
        if op == "value":
            parent[key] = _hostile_json(draw)
        elif op == "drop":
            if isinstance(parent, dict):
                del parent[key]
            else:
                parent.pop(key)
        elif op == "empty":
            parent[key] = type(cur)() if isinstance(cur, list | dict) else None
        elif op == "dup" and isinstance(parent, list):
            parent.insert(key, json.loads(json.dumps(cur, allow_nan=True)))
        elif op == "stringify":
            parent[key] = json.dumps(cur, allow_nan=True) if isinstance(cur, list | dict) else str(cur)
        elif op == "wrap":
            parent[key] = [cur]
    return json.dumps(doc, allow_nan=True)


@st.composite
def csv_mutated(draw: st.DrawFn, seeds: Sequence[str], max_ops: int = 4) -> str:
    """A recorded CSV with cells replaced by hostile tokens, rows dropped, duplicated or cut
    short, header names swapped; line ends LF or CRLF."""
    text = draw(st.sampled_from(list(seeds)))
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        rows = [[""]]
    for _ in range(draw(st.integers(1, max_ops))):
        r = draw(st.integers(0, len(rows) - 1))
        row = rows[r]
        op = draw(st.sampled_from(["cell", "cell", "cell", "droprow", "duprow", "short", "long", "swap"]))
        if op == "cell" and row:
            c = draw(st.integers(0, len(row) - 1))
            row[c] = draw(st.one_of(st.sampled_from(HOSTILE_TOKENS), st.text(max_size=10)))
        elif op == "droprow" and len(rows) > 1:
            rows.pop(r)
        elif op == "duprow":
            rows.insert(r, list(row))
        elif op == "short" and row:
            rows[r] = row[: draw(st.integers(0, len(row) - 1))]
        elif op == "long":
            row.append(draw(st.sampled_from(HOSTILE_TOKENS)))
        elif op == "swap" and len(row) > 1:
            i, j = draw(st.integers(0, len(row) - 1)), draw(st.integers(0, len(row) - 1))
            row[i], row[j] = row[j], row[i]
    out = io.StringIO()
    csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n"]))).writerows(rows)
    return out.getvalue()


def payloads(seeds: Sequence[str], kind: str = "text") -> st.SearchStrategy[str]:
    """Everything a provider could answer instead of the recorded body: structure-aware mutants
    (``kind`` ``json``/``jsonl``/``csv``), text-level mutants, and random text."""
    parts: list[st.SearchStrategy[str]] = [mutated(seeds), st.text(max_size=300)]
    if kind == "json":
        parts.insert(0, json_mutated(seeds))
    elif kind == "csv":
        parts.insert(0, csv_mutated(seeds))
    return st.one_of(*parts)


# -- option values (CLI flags now; slash-command options use the same) --------------------


def hostile_text(max_size: int = 40) -> st.SearchStrategy[str]:
    """Strings an option should refuse cleanly: empty, blanks, control characters, huge,
    right-to-left and combining marks, surrogate-free unicode, shell and SQL metacharacters."""
    return st.one_of(
        st.sampled_from(
            [
                "",
                " ",
                "\t",
                "\x00",
                "-",
                "--",
                "-1",
                "=",
                "'; DROP TABLE alerts; --",
                "%",
                "_",
                "../../etc/passwd",
                "\u202e",
                "é́",
                "x" * 5000,
                "@everyone",
                "<@123>",
            ]
        ),
        st.sampled_from(HOSTILE_TOKENS),
        st.text(max_size=max_size),
    )


def numberish() -> st.SearchStrategy[str]:
    """Numbers as a user would type them, and the ones that only look like numbers."""
    return st.one_of(
        st.integers(-(10**12), 10**12).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.sampled_from(["1e309", "-0", "0x10", "1_000", " 5 ", "5.", ".5", "1,5", "NaN", "inf", "٣"]),
        hostile_text(12),
    )


def dateish() -> st.SearchStrategy[str]:
    """Dates and datetimes, valid or nearly so, in and out of range."""
    return st.one_of(
        st.dates().map(lambda d: d.isoformat()),
        st.datetimes().map(lambda d: d.isoformat()),
        st.integers(-(10**15), 10**15).map(str),
        st.sampled_from(
            [
                "2026-02-30",
                "2026-13-01",
                "0001-01-01",
                "9999-12-31",
                "9999-12-31T23:59:59-14:00",
                "0001-01-01T00:00:00+14:00",
                "2024-08-05T14:30:00Z",
                "2024-08-05 14:30",
                "05/08/2024",
                "yesterday",
                "1e12",
                "1722816000000",
            ]
        ),
        hostile_text(20),
    )


def durationish() -> st.SearchStrategy[str]:
    return st.one_of(
        st.from_regex(r"\A[0-9]{1,6}(\.[0-9]{1,3})?[smhdw]\Z"),
        st.sampled_from(["0s", "1h30m", "-5m", "15", "m", "1e9w", "99999999999999w", " 15m "]),
        hostile_text(12),
    )


OPTION_KINDS: dict[str, Callable[[], st.SearchStrategy[str]]] = {
    "text": hostile_text,
    "number": numberish,
    "date": dateish,
    "duration": durationish,
}


def option_value(kind: str, valid: Sequence[str] = ()) -> st.SearchStrategy[str]:
    """A value for an option of ``kind`` (text, number, date, duration): some valid ones
    (``valid``), mostly hostile."""
    strat = OPTION_KINDS[kind]()
    return st.one_of(st.sampled_from(list(valid)), strat) if valid else strat


@dataclass(frozen=True)
class Opt:
    """An option of a command (a CLI flag, a slash-command option): its ``name`` (None: a CLI
    positional), the values it may get (None: a switch without a value), and whether it may be
    given more than once."""

    name: str | None
    values: st.SearchStrategy[Any] | None = None
    repeat: bool = False


#: the value of an option given without one (``--days`` at the end of a command line)
NO_VALUE = object()


@st.composite
def option_sets(draw: st.DrawFn, opts: Sequence[Opt]) -> list[tuple[Opt, Any]]:
    """The options one generated call sets, as ``(opt, value)``: positionals first in their order
    (now and then one left out), then a random subset of the named ones in a random order, some
    repeated, now and then one without its value (:data:`NO_VALUE`; ``None`` for a switch)."""
    positionals: list[tuple[Opt, Any]] = []
    named: list[tuple[Opt, Any]] = []
    for opt in opts:
        if opt.name is None:
            assert opt.values is not None
            if draw(st.integers(0, 9)):
                positionals.append((opt, draw(opt.values)))
            continue
        for _ in range(draw(st.integers(0, 3 if opt.repeat else 1))):
            if opt.values is None:
                named.append((opt, None))
            elif draw(st.integers(0, 14)):
                named.append((opt, draw(opt.values)))
            else:
                named.append((opt, NO_VALUE))
    order = draw(st.permutations(range(len(named))))
    return positionals + [named[i] for i in order]


# -- checks -------------------------------------------------------------------------------


def check_rows(
    rows: Iterable[object],
    *,
    positive: bool = True,
    probability: bool = False,
    max_ts: float | None = None,
    allow_zero: bool = False,
) -> None:
    """Every produced observation is finite, in range and not from the future."""
    for r in rows:
        value = getattr(r, "value")  # noqa: B009
        assert isinstance(value, float | int) and math.isfinite(value), r
        if positive:
            assert value > 0 or (allow_zero and value == 0), r
        if probability:
            assert 0.0 <= value <= 1.0, r
        if max_ts is not None:
            assert getattr(r, "ts") <= max_ts, r  # noqa: B009


def expect_clear_error(fn: Callable[[], object], errors: tuple[type[BaseException], ...]) -> object | None:
    """Run ``fn``; an allowed error must carry a non-empty message. Anything else fails."""
    try:
        return fn()
    except errors as exc:
        assert_clear_message(str(exc))
        return None


def assert_clear_message(text: str) -> None:
    """A message a user can act on: not empty, no traceback, not a bare exception repr."""
    t = text.strip()
    assert t, "an error without a message"
    assert "Traceback (most recent call last)" not in t, t
    assert not t.startswith(("KeyError", "TypeError", "AttributeError", "IndexError")), t
