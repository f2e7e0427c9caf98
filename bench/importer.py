"""import.rss: ``flowwatch import`` of a ~200 MiB CSV holds no more memory than that of a small one.

``import`` streams the file into a staging table and writes it in one transaction (all or
nothing), so its peak memory must not grow with the file (it held the whole file once: a 210 MB
file took 2.9 GB). The value is the peak RSS of the ``flowwatch import`` process for a generated
file of :data:`BIG_MIB` MiB (``ts,value`` rows of ``cboe.vix.close``, one a minute from 2001:
about 12.9 million rows); the limit is the same command's peak for a file a hundred times
smaller (the interpreter, its libraries and the fixed buffers). The note gives the rows and
seconds of the big import. Set ``FLOWWATCH_BENCH_IMPORT_MIB`` to measure another size.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bench.common import REPO, Metric, metric, run_measured

BIG_MIB = float(os.environ.get("FLOWWATCH_BENCH_IMPORT_MIB", "200"))
SMALL_SHARE = 0.01


def write_csv(path: Path, mib: float) -> int:
    """A ``ts,value`` file of about ``mib`` MiB of plausible VIX closes; the rows written."""
    limit = int(mib * 1024 * 1024)
    rows = 0
    with path.open("w") as fh:
        fh.write("ts,value\n")
        while fh.tell() < limit:
            chunk = [
                f"{1_000_000_000 + (rows + i) * 60},{15 + ((rows + i) % 97) / 10:.2f}\n"
                for i in range(50_000)
            ]
            fh.write("".join(chunk))
            rows += len(chunk)
    return rows


def measure(csv: Path, db: Path) -> tuple[float, float, str]:
    """(seconds, peak RSS in MiB, stdout) of ``flowwatch import cboe.vix.close csv``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWWATCH_", "DISCORD_"))}
    env["PYTHONPATH"] = str(REPO)
    cmd = [sys.executable, "-m", "bot", "import", "cboe.vix.close", str(csv), "--db", str(db)]
    got = run_measured(cmd, env=env)
    if got.returncode:
        raise RuntimeError(f"import exited with {got.returncode}: {got.stderr[-400:]}")
    return got.seconds, got.peak_mib, got.stdout


def run(big_mib: float | None = None) -> Iterator[Metric]:
    big_mib = BIG_MIB if big_mib is None else big_mib
    with tempfile.TemporaryDirectory(prefix="flowwatch-bench-import-") as tmp:
        d = Path(tmp)
        small_rows = write_csv(d / "small.csv", big_mib * SMALL_SHARE)
        _, small_rss, _ = measure(d / "small.csv", d / "small.db")
        big_rows = write_csv(d / "big.csv", big_mib)
        size = (d / "big.csv").stat().st_size / 1024 / 1024
        (d / "small.csv").unlink()
        seconds, big_rss, out = measure(d / "big.csv", d / "big.db")
    if f"{big_rows} new" not in out:
        raise RuntimeError(f"the import did not write every row: {out.strip()[-300:]}")
    yield metric(
        "import.rss",
        big_rss,
        "MiB",
        small_rss,
        "<= 1.5x",
        f"peak RSS of flowwatch import: a {size:.0f} MiB file ({big_rows:,} rows, {seconds:.0f} s) against "
        f"a {size * SMALL_SHARE:.1f} MiB one ({small_rows:,} rows); one transaction either way",
    )
