"""Hostile command lines: ``flowwatch`` with generated argv exits 0, 1 or 2 with a clear message.

Every command gets argv built from its own grammar (:data:`GRAMMAR`): positionals and flags in
any order, each with a valid value, a hostile one (``option_value``: blanks, control characters,
``1e309``, ``2026-02-30``, …) or none at all, plus stray tokens. Paths point at real files the
example writes first: recorded provider payloads mutated the way the parser fuzz does, folders
where files are expected, files where folders are expected, missing parents, odd names.
Databases: one with real Cboe history, a fresh one, a directory, a text file, a path under a file.

The machine is offline and time is instant: HTTP clients answer every request with 403 at once
(a refused network, no retries), ``asyncio.sleep`` returns at once. ``run`` starts the real App
and stops it right away (the liquidation streams are off in ``.env``); ``demo``'s scenario
(10 s, covered by ``test_cli.py``) is replaced by a recorder once its flags are validated.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot import cli
from signals import registry
from signals.sources import backfills
from tests.fuzzing import (
    NO_VALUE,
    Opt,
    csv_mutated,
    hostile_text,
    option_sets,
    option_value,
    payloads,
    scaled,
)
from tests.signals.sources import seeds as S


@dataclass(frozen=True)
class File:
    """A file the example writes before running: ``name`` in a fresh folder, ``content``."""

    name: str
    content: str | None  # None: the path is not created


@dataclass(frozen=True)
class Folder:
    """A folder with ``files`` (an empty folder when there are none)."""

    files: tuple[File, ...] = ()


@dataclass(frozen=True)
class Special:
    """A prepared path: ``good_db``, ``fresh_db``, ``dir``, ``text_file``, ``under_file``,
    ``missing_parent``, ``odd_name``, ``long_name``."""

    kind: str


Arg = str | File | Folder | Special


# -- values ---------------------------------------------------------------------------------


def text_files(seeds: list[str], kind: str, names: list[str]) -> st.SearchStrategy[File]:
    content = payloads(seeds, kind) if kind != "csv" else st.one_of(csv_mutated(seeds), payloads(seeds))
    return st.builds(File, st.sampled_from(names) | hostile_text(12).map(lambda t: f"{t}.csv"), content)


#: per backfill source: what its files look like, with the names its parser reads meaning from
SOURCE_FILES: dict[str, st.SearchStrategy[File]] = {
    "alphavantage": text_files(S.ALPHAVANTAGE, "csv", ["earnings_calendar.csv"]),
    "binance": text_files(S.KLINES, "json", ["klines_BTCUSDT_1d.json", "klines.json"])
    | text_files(S.KLINE_CSV, "csv", ["btc_usdt_binance_daily.csv"]),
    "cboe": text_files(S.CBOE, "csv", ["VIX_History.csv", "VIX3M_History.csv", "prices.csv"]),
    "coinbase": text_files(S.COINBASE, "json", ["candles_BTC-USD_86400.json", "candles.json"]),
    "coinglass": text_files(S.COINGLASS[:1], "json", ["liquidation_history_4h.json", "liq.json"])
    | text_files(S.COINGLASS, "csv", ["btc_liquidations_binance_daily_coinglass.csv"]),
    "earnings": text_files(S.EARNINGS, "csv", ["earnings.csv"]),
    "fedwatch": text_files(S.ZQ, "csv", ["zq_settlements.csv"])
    | text_files(
        S.CME, "csv", ["fedwatch_meeting_export_20261209.csv", "fedwatch_meeting_export_20261210.csv"]
    ),
    "fred": text_files(S.FRED, "csv", ["VIXCLS.csv", "fredgraph.csv"]),
    "kalshi": text_files(S.KALSHI_EVENTS, "json", ["events.json"])
    | text_files(S.NOCHANGE, "csv", ["dec.csv"]),
    "nasdaq": text_files(S.NASDAQ, "json", ["earnings_2026-10-13.json", "earnings.json"]),
    "okx": text_files(S.OKX_REST, "json", ["liquidation_orders.json"]),
    "polymarket": text_files(S.POLY_EVENTS, "json", ["gamma_events.json"])
    | text_files(S.NOCHANGE, "csv", ["dec.csv"]),
    "sp500": text_files(S.SP500, "csv", ["constituents.csv"]),
    "spx": text_files(S.SPX_BARS, "csv", ["sp500_index_daily.csv", "spx.csv"]),
}
assert set(SOURCE_FILES) == set(backfills()), "a backfill source without hostile files"

IMPORT_SEEDS = [
    "ts,value\n2024-08-05,38.57\n2024-08-06T14:30:00Z,27.71\n1722988800,20.1\n1722988800000,19.9\n"
]

specials = st.sampled_from(
    [
        Special(k)
        for k in ("fresh_db", "dir", "text_file", "under_file", "missing_parent", "odd_name", "long_name")
    ]
)
any_file = st.one_of(
    st.sampled_from(list(SOURCE_FILES.values())).flatmap(lambda s: s),
    st.builds(File, st.sampled_from(["out.png", "chart.PNG", "x.txt", "a b.png", "backup.db"]), st.none()),
    specials,
    hostile_text(8),
)
folders = st.builds(Folder, st.lists(any_file.filter(lambda f: isinstance(f, File)), max_size=3).map(tuple))
dbs = st.one_of(st.just(Special("good_db")), st.just(Special("good_db")), specials, hostile_text(8))
signal_ids = st.sampled_from(sorted(registry())) | hostile_text(12)
params = st.sampled_from(
    sorted(
        {
            f"{p.name}={v}"
            for sig in registry().values()
            for p in sig.params
            for v in (p.default, p.lo, p.hi, -1, "NaN", "1e309", "")
        }
    )
)


def pngs() -> st.SearchStrategy[Arg]:
    return st.one_of(
        st.builds(File, st.sampled_from(["c.png", "C.PNG", "c.txt", "c"]), st.none()),
        specials,
        hostile_text(10),
    )


#: every command's positionals and flags (--db is added to each)
GRAMMAR: dict[tuple[str, ...], list[Opt]] = {
    ("run",): [Opt("--no-initial-poll")],
    ("demo",): [
        Opt("--format", option_value("text", ["text", "jsonl"])),
        Opt("--out", st.one_of(st.builds(Folder), specials, hostile_text(10))),
    ],
    ("import",): [
        Opt(
            None,
            st.sampled_from(["cboe.vix.close", "test.series", "liq.btc.okx.long_usd.1m"]) | hostile_text(20),
        ),
        Opt(
            None,
            st.builds(
                File,
                st.just("data.csv"),
                st.one_of(csv_mutated(IMPORT_SEEDS), payloads(IMPORT_SEEDS), st.none()),
            )
            | specials,
        ),
        Opt("--custom"),
    ],
    ("backfill",): [
        Opt(None, st.sampled_from(["all", *sorted(backfills())]) | hostile_text(10)),
        Opt("--file", any_file),
        Opt("--dir", st.one_of(folders, specials, hostile_text(8))),
        Opt("--since", option_value("date", ["2026-01-01", "2020-02-03"])),
    ],
    ("replay",): [
        Opt(None, signal_ids),
        Opt("--from", option_value("date", ["2026-04-01", "2026-05-20"])),
        Opt("--to", option_value("date", ["2026-05-26", "2026-04-01"])),
        Opt("--set", params | hostile_text(12), repeat=True),
        Opt("--format", option_value("text", ["text", "jsonl"])),
        Opt("--chart", pngs()),
        Opt("--restart"),
    ],
    ("check",): [Opt(None, signal_ids), Opt("--no-fetch")],
    ("test-alert",): [Opt("--signal", signal_ids | hostile_text(10))],
    ("chart",): [
        Opt(None, signal_ids),
        Opt("--days", option_value("number", ["2", "30", "365", "20000"])),
        Opt("-o", pngs()),
        Opt("--at", option_value("date", ["2026-05-27", "2026-04-20"])),
    ],
    ("db", "migrate"): [],
    ("db", "stats"): [],
    ("db", "prune"): [Opt("--dry-run")],
    ("db", "backup"): [
        Opt(None, st.one_of(st.builds(File, st.just("copy.db"), st.none()), specials, any_file))
    ],
    ("health",): [Opt("--integrity")],
    ("sync-commands",): [
        Opt("--guild", option_value("number", ["1191531302092800010", "0", "-5", "12345678901234567890123"])),
        Opt("--dry-run"),
    ],
}


@st.composite
def argvs(draw: st.DrawFn) -> list[Arg]:
    """A command line for one command: its words, then its options in any order."""
    if draw(st.integers(0, 19)) == 0:  # no command, an unknown one, or top-level flags
        return draw(
            st.lists(
                st.sampled_from(["--version", "--help", "-h", "nope", "--db", "x"]) | hostile_text(8),
                max_size=3,
            )
        )
    words = draw(st.sampled_from(sorted(GRAMMAR)))
    out: list[Arg] = [*words]
    for opt, value in draw(option_sets([*GRAMMAR[words], Opt("--db", dbs)])):
        if opt.name is None:
            out.append(value)
        else:
            out += [opt.name] if value is None or value is NO_VALUE else [opt.name, value]
    if not draw(st.integers(0, 9)):  # a stray word or flag somewhere
        i = draw(st.integers(len(words), len(out)))
        out.insert(i, draw(st.sampled_from(["--bogus", "-x", "--db", "--", "extra"]) | hostile_text(6)))
    return out


# -- the sandbox ----------------------------------------------------------------------------


class Sandbox:
    """Paths for one example, under a folder that is emptied after it."""

    def __init__(self, root: Path, good_db: Path) -> None:
        self.root = root
        self.good_db = good_db
        self.n = 0

    def materialize(self, argv: list[Arg]) -> tuple[list[str], Path]:
        self.n += 1
        ex = self.root / f"ex{self.n}"
        ex.mkdir()
        out = []
        for i, a in enumerate(argv):
            arg = a if isinstance(a, str) else str(self._path(a, ex / f"a{i}"))
            out.append(arg.replace("\x00", ""))  # an OS argv is C strings: it cannot hold NUL
        return out, ex

    def _path(self, a: File | Folder | Special, base: Path) -> Path:
        base.mkdir()
        if isinstance(a, File):
            p = base / (a.name.replace("/", "_").replace("\x00", "_") or "f")
            if a.content is not None:
                with contextlib.suppress(OSError):  # a name too long for the file system stays a path
                    p.write_text(a.content, encoding="utf-8", errors="surrogatepass")
            return p
        if isinstance(a, Folder):
            for i, f in enumerate(a.files):
                name = f"{i}_{f.name[:40]}".replace("/", "_").replace("\x00", "_")
                (base / name).write_text(f.content or "", encoding="utf-8", errors="surrogatepass")
            return base
        kind = a.kind
        if kind == "good_db":
            return self.good_db
        if kind == "fresh_db":
            return base / "new.db"
        if kind == "dir":
            return base
        if kind == "text_file":
            (base / "notes.db").write_text("this is not a database\n")
            return base / "notes.db"
        if kind == "under_file":
            (base / "file").write_text("x")
            return base / "file" / "x.db"
        if kind == "missing_parent":
            return base / "missing" / "x.db"
        if kind == "long_name":
            return base / ("x" * 300 + ".db")  # longer than a file name may be
        return base / "we?ird #%41 name.db"  # odd_name


async def _no_wait(delay: float, result: Any = None) -> Any:
    return await _REAL_SLEEP(0, result)


_REAL_SLEEP = asyncio.sleep


def _offline(request: httpx.Request) -> httpx.Response:
    return httpx.Response(403, text="offline: this test has no network")


class OfflineClient(httpx.AsyncClient):
    def __init__(self, *args: Any, **kw: Any) -> None:
        kw.setdefault("transport", httpx.MockTransport(_offline))
        super().__init__(*args, **kw)


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fixtures_dir: Path) -> Sandbox:
    from bot import demo, runner, testalert

    good = tmp_path / "good.db"
    code = cli.main(["backfill", "cboe", "--dir", str(fixtures_dir / "cboe"), "--db", str(good)])
    assert code == 0
    (tmp_path / ".env").write_text("FLOWWATCH_LIQ_VENUES=none\n")  # cwd: no real streams in `run`
    monkeypatch.setattr(httpx, "AsyncClient", OfflineClient)
    monkeypatch.setattr(asyncio, "sleep", _no_wait)
    real_run = runner.run_until_stopped

    async def start_and_stop(app: Any, stop: asyncio.Event | None = None, initial_poll: bool = True) -> None:
        stop = asyncio.Event()
        stop.set()
        await real_run(app, stop, initial_poll=False)

    monkeypatch.setattr(runner, "run_until_stopped", start_and_stop)

    def demo_recorder(settings: Any, out: Path, fmt: str = "text", db_path: Path | None = None) -> int:
        assert out.is_dir() and fmt in ("text", "jsonl")
        return 0

    monkeypatch.setattr(demo, "run_demo", demo_recorder)

    async def test_alert_recorder(
        settings: Any, db: Any, signal_id: str, now: Any, stream: Any, report: Any
    ) -> Any:
        from bot.testalert import SinkAnswer

        assert signal_id in registry()
        return [SinkAnswer("console", True, "recorded")]  # the real one is tested in test_testalert.py

    monkeypatch.setattr(testalert, "run_test_alert", test_alert_recorder)
    root = tmp_path / "examples"
    root.mkdir()
    return Sandbox(root, good)


def run_main(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code: Any = cli.main(argv)
        except SystemExit as exc:  # argparse: --help, --version, usage errors
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def check_outcome(argv: list[str], code: Any, out: str, err: str) -> None:
    shown = f"argv={argv!r}\nexit={code!r}\nstdout={out[-600:]}\nstderr={err[-1500:]}"
    assert code in (0, 1, 2), shown
    assert "Traceback" not in err and "Traceback" not in out, shown
    if code:
        assert (err + out).strip(), shown
        if argv[:1] != ["health"]:
            # what follows "error:" (paths may hold line breaks: the whole rest counts)
            assert "error:" in err and err.split("error:", 1)[1].strip(), shown


def _cleanup_logging() -> None:
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_flowwatch", False):
            root.removeHandler(h)


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")  # reprs of 5000-char values
@scaled(0.5)  # about 20 ms a case: the command runs for real
@given(argvs())
@example(["demo", "--out", Special("text_file")])  # found: FileExistsError
@example(["check", "--db", Special("text_file")])  # found: StorageError from the fetch
@example(["backfill", "cboe", "--file", Special("long_name")])  # found: OSError, file name too long
@example(["db", "backup", Special("long_name")])
@example(["import", "cboe.vix.close", File("data.csv", 'ts,value\n"' + "9" * 200_000)])  # found: csv.Error
@example(["backfill", "sp500", "--file", File("constituents.csv", 'Symbol\n"' + "x" * 200_000)])
def test_every_command_line_exits_cleanly(sandbox: Sandbox, argv: list[Arg]) -> None:
    args, ex = sandbox.materialize(argv)
    try:
        code, out, err = run_main(args)
        check_outcome(args, code, out, err)
    finally:
        _cleanup_logging()
        shutil.rmtree(ex, ignore_errors=True)


def test_the_grammar_covers_every_command() -> None:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    commands = set(sub.choices)  # type: ignore[attr-defined]
    assert commands == {w[0] for w in GRAMMAR}
    flags: dict[tuple[str, ...], set[str]] = {}
    for name, p in sub.choices.items():  # type: ignore[attr-defined]
        nested = [a for a in p._actions if a.dest == "db_command"]
        for words, q in [((name, k), v) for k, v in nested[0].choices.items()] if nested else [((name,), p)]:
            flags[words] = {o for a in q._actions for o in a.option_strings if o.startswith("-")} - {
                "-h",
                "--help",
                "--db",
            }
    for words, opts in GRAMMAR.items():
        named = {o.name for o in opts if o.name}
        assert named <= flags[words] and flags[words] <= named | {"--output"}, (words, named, flags[words])
