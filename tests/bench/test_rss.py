"""The peak RSS a benchmark reports is the measured process's own, not the bench process's.

Observed: every ``history.btc_liq.*.rss`` read 202.746 MiB in a full ``python -m bench`` run (the
bench process's own peak, inherited by each child through fork/vfork and exec), while the
same operations peak at 93-125 MiB on their own: a check that could not fail.
"""

from __future__ import annotations

import os
import sys

from bench import btc_liq_history

ALLOCATE = "import sys; b = b'y' * ({mib} * 1024 * 1024); print(len(b)); sys.exit({code})"


def test_a_child_peak_is_its_own_when_the_bench_process_is_much_larger() -> None:
    ballast = b"x" * (200 * 1024 * 1024)  # this process: over 200 MiB resident
    env = dict(os.environ)
    seconds, small, out = btc_liq_history._run([sys.executable, "-c", ALLOCATE.format(mib=30, code=0)], env)
    assert out.strip() == str(30 * 1024 * 1024)
    assert 30 <= small < 120, small  # the child's 30 MiB and an interpreter, not our 200+
    _, large, _ = btc_liq_history._run([sys.executable, "-c", ALLOCATE.format(mib=150, code=0)], env)
    assert large >= 150 and large - small >= 100, (small, large)  # it still sees a real peak
    assert seconds > 0 and len(ballast) > 0


def test_a_failing_child_is_an_error() -> None:
    try:
        btc_liq_history._run([sys.executable, "-c", ALLOCATE.format(mib=1, code=3)], dict(os.environ))
    except RuntimeError as exc:
        assert "exited with 3" in str(exc)
    else:
        raise AssertionError("a failing operation was measured as if it succeeded")
