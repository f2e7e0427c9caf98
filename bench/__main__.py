"""Run every benchmark: ``python -m bench [--only NAME ...] [--list]``."""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import tempfile
import time

os.environ.setdefault("MPLCONFIGDIR", os.path.join(tempfile.gettempdir(), "flowwatch-mpl"))


def modules() -> list[str]:
    import bench

    return sorted(
        m.name
        for m in pkgutil.iter_modules(bench.__path__)
        if m.name not in ("common",) and not m.name.startswith("_")
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--only", nargs="*", help="benchmark modules to run (default: all)", choices=modules())
    p.add_argument("--list", action="store_true", help="list the benchmark modules")
    args = p.parse_args(argv)
    if args.list:
        print("\n".join(modules()))
        return 0
    failed = 0
    for name in args.only or modules():
        mod = importlib.import_module(f"bench.{name}")
        run = getattr(mod, "run", None)
        if run is None:
            continue
        t0 = time.perf_counter()
        try:
            for m in run():
                print(m.line(), flush=True)
        except Exception as exc:  # report and go on with the others
            failed += 1
            print(f"bench {name}: failed: {exc!r}", file=sys.stderr)
        print(f"bench {name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
