"""Property-based fuzzing helpers: parsers must return good rows or raise their clear error.

The number of generated cases per property comes from ``FLOWWATCH_FUZZ_EXAMPLES`` (default
small for the default suite; the long run sets it high: see ``.ci/run``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("FLOWWATCH_FUZZ_EXAMPLES", "150"))

fuzz_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=EXAMPLES <= 500,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


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
            token = draw(
                st.sampled_from(
                    [
                        "NaN",
                        "-1",
                        "0",
                        "1e308",
                        "null",
                        '""',
                        "N/A",
                        ".",
                        "inf",
                        "[]",
                        "{}",
                        "9999999999999",
                        "<html>",
                        ",",
                        "\n",
                        '"',
                        "-0.0",
                        "true",
                    ]
                )
            )
            j = draw(st.integers(i, min(n, i + 8)))
            text = text[:i] + token + text[j:]
        elif op == "dup":
            text = text + text[i:]
        else:
            text = draw(st.text(max_size=200))
    return text


def check_rows(
    rows: Iterable[object], *, positive: bool = True, probability: bool = False, max_ts: float | None = None
) -> None:
    """Every produced observation is finite, in range and not from the future."""
    for r in rows:
        value = getattr(r, "value")  # noqa: B009
        assert isinstance(value, float | int) and math.isfinite(value), r
        if positive:
            assert value > 0, r
        if probability:
            assert 0.0 <= value <= 1.0, r
        if max_ts is not None:
            assert getattr(r, "ts") <= max_ts, r  # noqa: B009


def expect_clear_error(fn: Callable[[], object], errors: tuple[type[BaseException], ...]) -> object | None:
    """Run ``fn``; an allowed error must carry a non-empty message. Anything else fails."""
    try:
        return fn()
    except errors as exc:
        assert str(exc).strip(), f"{type(exc).__name__} without a message"
        return None
