"""Run every benchmark: ``python -m bench [--only NAME ...] [--list]``.

Every module ``bench/<name>.py`` with a ``run()`` that yields :class:`bench.common.Metric` is a
benchmark. ``--only`` takes module names or metric names (``replay.ratecut``): a metric runs the
module that declares it in its ``COVERS`` (else the module named by its prefix, else one whose
``DERIVES`` holds its prefix, as ``bench/signals.py`` derives ``replay.<signal>``) and prints that
metric alone. stdout carries one JSON line per metric and nothing else (DESIGN.md's contract);
stderr carries each metric's note, whether its goal is met, and each module's time. The exit
status is 1 when a module failed (the others still run), else 0.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import tempfile
import time

os.environ.setdefault("MPLCONFIGDIR", os.path.join(tempfile.gettempdir(), "flowwatch-mpl"))

SKIP = {"common"}


def modules(package: str = "bench") -> list[str]:
    pkg = importlib.import_module(package)
    return sorted(
        m.name
        for m in pkgutil.iter_modules(pkg.__path__)
        if m.name not in SKIP and not m.name.startswith("_")
    )


def owner(metric: str, names: list[str], package: str = "bench") -> str | None:
    """The module that measures ``metric``: the one declaring it in ``COVERS``, else the module
    named by its prefix (``tiny.rate`` -> ``tiny``), else one whose ``DERIVES`` holds the prefix."""
    if "." not in metric:
        return None
    mods = {name: importlib.import_module(f"{package}.{name}") for name in names}
    for name, mod in mods.items():
        if metric in getattr(mod, "COVERS", ()):
            return name
    prefix = metric.split(".", 1)[0]
    if prefix in mods:
        return prefix
    return next((name for name, mod in mods.items() if prefix in getattr(mod, "DERIVES", ())), None)


def main(argv: list[str] | None = None, package: str = "bench") -> int:
    from bench.common import Metric

    names = modules(package)
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help=f"modules to run: {', '.join(names)}; or metrics (replay.ratecut): the module that measures it",
    )
    p.add_argument("--list", action="store_true", help="list the benchmark modules")
    args = p.parse_args(argv)
    if args.list:
        print("\n".join(names))
        return 0
    wanted: dict[str, set[str] | None] = {}  # module -> the metrics asked for (None: all)
    for token in args.only or names:
        name = token if token in names else owner(token, names, package)
        if name is None:
            p.error(
                f"argument --only: {token!r} is neither a benchmark module ({', '.join(names)}) nor a "
                "metric one declares (its COVERS) or derives"
            )
        if name == token:
            wanted[name] = None
        elif (asked := wanted.setdefault(name, set())) is not None:
            asked.add(token)
    failed = 0
    for name, only in wanted.items():
        t0 = time.perf_counter()
        try:
            run = getattr(importlib.import_module(f"{package}.{name}"), "run", None)
            if run is None:
                continue
            seen: set[str] = set()
            for m in run():
                if not isinstance(m, Metric):
                    raise TypeError(f"run() yielded {type(m).__name__}, not a bench.common.Metric")
                if only is not None and m.metric not in only:
                    continue
                seen.add(m.metric)
                print(m.line(), flush=True)
                met = m.goal_met()
                verdict = "goal met" if met else "goal MISSED" if met is False else "goal not checked"
                print(f"bench {name}: {m.metric} {m.value:g} {m.unit} ({verdict}: {m.goal})", file=sys.stderr)
                if m.note:
                    print(f"bench {name}: {m.metric}: {m.note}", file=sys.stderr)
            if only is not None and only - seen:
                raise RuntimeError(f"measured no {', '.join(sorted(only - seen))} (is its data there?)")
        except Exception as exc:  # report it and go on with the others
            failed += 1
            print(f"bench {name}: failed: {exc!r}", file=sys.stderr)
        print(f"bench {name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
