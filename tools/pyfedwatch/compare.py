"""Cross-check flowwatch's FedWatch method against pyfedwatch on every trading day of 2015-2021.

pyfedwatch (PyPI) implements CME's method independently. It runs in its own virtual environment
(``tools/pyfedwatch/requirements.txt``; ``.ci/run`` builds it) through ``peer.py``; this script
runs in flowwatch's environment, gives both the same settlements (the rows flowwatch accepts) and
the same FOMC calendar, and compares each meeting's own-move distribution day by day.

Where both solve a meeting from the same anchor (the same contracts, the same chain) they must
agree within ``--tolerance`` percentage points. Where the anchors differ, the gap is put down to
one of the named causes below (``docs/signals/ratecut.md`` explains each); the script fails on a
gap above the tolerance that no cause explains or whose cause that page's table does not name,
and prints the count and largest gap per cause.

Usage (from the repository root)::

    .venv/bin/python tools/pyfedwatch/compare.py [--peer-python .venv-pyfedwatch/bin/python]
        [--data ../shared/data] [--tolerance 1.0] [--meetings 8] [--quiet]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from signals import fomc  # noqa: E402
from signals.sources import fedwatch, fred  # noqa: E402
from signals.sources._fedwatch_method import (  # noqa: E402
    MeetingOdds,
    Month,
    RateChange,
    month_label,
    month_of,
    shift_month,
)

MONTH_CODES = "FGHJKMNQUVXZ"

#: the page whose table names every cause of a gap above the tolerance
DOC = REPO / "docs" / "signals" / "ratecut.md"

#: named causes of a gap between the two where the anchors differ
CAUSES = {
    "expired-anchor": "pyfedwatch starts from the expired month before; CME uses listed contracts "
    "only (its 2022-09-12 spreadsheet solves September backward from October)",
    "overdetermined": "pyfedwatch takes the end rate from the next month and ignores the meeting "
    "month's own price; CME solves the end from that price",
    "chain-forward": "CME chains forward from a meeting solved forward; pyfedwatch chains backward "
    "from the next month without a meeting",
    "first-half": "a decision early in its month: flowwatch solves forward from the rate already "
    "known (back-solving multiplies the noise by N/(d-1)); pyfedwatch back-solves",
    "known-change": "a range change already known inside the month (2020-03-04, 2020-03-16): "
    "flowwatch counts its days at the old rate, pyfedwatch cannot",
    "inherited": "the meeting's chain runs through a meeting whose anchors differ",
    "refused-contract": "a contract pyfedwatch's chain uses was refused by flowwatch (2020: far "
    "contracts settled above 100, a negative rate) or is missing that day; flowwatch prices no meeting "
    "whose anchor needs it, pyfedwatch reads its last earlier price",
    "peer-failed": "pyfedwatch could not price the day (it needs a contract the data lacks)",
    "unexplained": "the anchors differ in a way none of the causes above describes",
}


@dataclass
class Row:
    day: date
    meeting: date
    gap_pp: float
    same: bool
    cause: str
    ours: dict[int, float]
    peer: dict[int, float]


def symbol(m: Month) -> str:
    return f"ZQ{MONTH_CODES[m[1] - 1]}{str(m[0])[-2:]}"


def peer_calendar(td: date) -> list[str]:
    """The meetings pyfedwatch gets: flowwatch's known decisions, one a month (a scheduled one
    wins over an unscheduled decision in the same month)."""
    by_month: dict[Month, date] = {}
    scheduled = {m.decision_date for m in fomc.meetings()}
    for d in fedwatch.known_decisions(td):
        m = month_of(d)
        if m not in by_month or d in scheduled:
            by_month[m] = d
    return [d.isoformat() for d in sorted(by_month.values())]


def our_signature(
    mo: MeetingOdds, prev: date | None, nxt: date | None
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    m = month_of(mo.decision_date)
    k = mo.anchor
    if k == "forward":
        return ("avg", shift_month(m, -1)), ("solve",)
    if k == "backward":
        return ("solve",), ("avg", shift_month(m, 1))
    if k == "chain-forward":
        return ("end-of", prev), ("solve",)
    if k == "chain-backward":
        return ("solve",), ("start-of", nxt)
    return (k, shift_month(m, -1)), ("solve",)  # known-level, effr


def peer_signatures(months: list[dict[str, Any]]) -> dict[date, tuple[tuple[Any, ...], tuple[Any, ...]]]:
    out = {}
    for i, row in enumerate(months):
        if row["meeting"] == "No FOMC" or row["order"] <= 0 or i == 0 or i + 1 >= len(months):
            continue
        prior, nxt = months[i - 1], months[i + 1]
        y, mo_ = (int(x) for x in prior["month"].split("-"))
        start = ("avg", (y, mo_)) if prior["meeting"] == "No FOMC" else ("solve",)
        if nxt["meeting"] == "No FOMC":
            y, mo_ = (int(x) for x in nxt["month"].split("-"))
            end: tuple[Any, ...] = ("avg", (y, mo_))
        else:
            end = ("start-of", date.fromisoformat(nxt["meeting"]))
        out[date.fromisoformat(row["meeting"])] = (start, end)
    return out


def has_known_change(m: Month, known: list[RateChange]) -> bool:
    return any(month_of(c.effective) == m and c.effective.day > 1 for c in known)


def classify(
    td: date,
    meeting: date,
    ours: Mapping[date, tuple[tuple[Any, ...], tuple[Any, ...]]],
    kinds: Mapping[date, str],
    peer: Mapping[date, tuple[tuple[Any, ...], tuple[Any, ...]]],
    known: list[RateChange],
) -> tuple[bool, str]:
    """(same anchor, the cause when not): follows the chain through 'start-of' references."""
    seen: list[date] = []
    d: date | None = meeting
    while d is not None and d not in seen:
        seen.append(d)
        so, sp = ours.get(d), peer.get(d)
        m = month_of(d)
        if has_known_change(m, known):
            return False, "known-change"
        if so is None or sp is None:
            return False, "inherited"
        if so != sp:
            if sp[0][0] == "avg" and sp[0][1] < month_of(td):
                cause = "expired-anchor"
            elif kinds.get(d) in ("known-level", "effr"):
                cause = "first-half"
            elif kinds.get(d) == "forward":
                cause = "overdetermined"
            elif kinds.get(d) == "chain-forward":
                cause = "chain-forward"
            else:
                cause = "unexplained"
            return False, cause if d == meeting else "inherited"
        d = so[1][1] if so[1][0] == "start-of" else None
    return True, ""


def load(data: Path) -> tuple[dict[date, dict[Month, float]], list, list, list, dict[date, set[Month]]]:
    refused: dict[date, set[Month]] = {}
    by_day = fedwatch.parse_zq_csv(
        (data / "zq_settlements_2015_2021.csv").read_text(), name="zq 2015-2021", refused=refused
    )
    effr = [(o.ts, o.value) for o in fred.parse_csv((data / "fred_dff_daily.csv").read_text())]
    rng = fred.parse_csv((data / "fed_target_range_2015_2021_constructed.csv").read_text())
    lo = sorted((o.ts, o.value) for o in rng if o.series == "fred.target_lower")
    hi = sorted((o.ts, o.value) for o in rng if o.series == "fred.target_upper")
    return by_day, sorted(effr), lo, hi, refused


def run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    by_day, effr, lo, hi, refused = load(args.data)
    changes = fedwatch.rate_changes(lo)
    ours: dict[date, list[MeetingOdds]] = {}
    jobs = []
    for td, prices in by_day.items():
        odds = fedwatch.odds_on(td, prices, effr, lo, hi, changes, refused=refused.get(td, ()))
        ours[td] = odds
        if odds:
            jobs.append(
                {"date": td.isoformat(), "fomc": peer_calendar(td), "n": min(len(odds), args.meetings)}
            )
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        settle = Path(tmp) / "settlements.csv"
        with settle.open("w") as f:
            f.write("trade_date,symbol,contract_month,settle\n")
            for td, prices in by_day.items():
                for m, p in sorted(prices.items()):
                    f.write(f"{td.isoformat()},{symbol(m)},{month_label(m)},{p}\n")
        job_file, out_file = Path(tmp) / "jobs.jsonl", Path(tmp) / "peer.jsonl"
        job_file.write_text("".join(json.dumps(j) + "\n" for j in jobs))
        peer_py = REPO / "tools" / "pyfedwatch" / "peer.py"
        proc = subprocess.run(
            [str(args.peer_python), str(peer_py), str(settle), str(job_file), str(out_file)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            print(f"pyfedwatch failed to run:\n{proc.stderr[-2000:]}", file=sys.stderr)
            return 2
        peer = [json.loads(line) for line in out_file.read_text().splitlines()]
    t2 = time.perf_counter()

    rows: list[Row] = []
    failed_days: list[tuple[str, str]] = []
    for res in peer:
        td = date.fromisoformat(res["date"])
        odds = ours[td]
        if "error" in res:
            failed_days.append((res["date"], res["error"]))
            continue
        known = [c for c in changes if c.effective <= td + timedelta(days=1)]
        dates = [o.decision_date for o in odds]
        sig_ours = {
            o.decision_date: our_signature(
                o, dates[i - 1] if i else None, dates[i + 1] if i + 1 < len(dates) else None
            )
            for i, o in enumerate(odds)
        }
        kinds = {o.decision_date: o.anchor for o in odds}
        sig_peer = peer_signatures(res["months"])
        for pm in res["meetings"]:
            d = date.fromisoformat(pm["meeting"])
            mine = next((o for o in odds if o.decision_date == d), None)
            if mine is None:
                continue
            theirs: dict[int, float] = defaultdict(float)
            theirs[pm["h0"]] += pm["p0"]
            theirs[pm["h1"]] += pm["p1"]
            gap = max(
                abs(mine.meeting.get(k, 0.0) - theirs.get(k, 0.0)) for k in set(mine.meeting) | set(theirs)
            )
            one_anchor, cause = classify(td, d, sig_ours, kinds, sig_peer, known)
            used = {(int(x["month"][:4]), int(x["month"][5:])) for x in res["months"]}
            if not one_anchor and any(m >= month_of(td) and m not in by_day[td] for m in used):
                cause = "refused-contract"
            rows.append(Row(td, d, gap * 100, one_anchor, cause, dict(mine.meeting), dict(theirs)))
    t3 = time.perf_counter()

    same = [r for r in rows if r.same]
    bad = [r for r in same if r.gap_pp > args.tolerance]
    days = len({r.day for r in rows})
    print(
        f"pyfedwatch cross-check: {len(by_day)} trading days "
        f"({min(by_day)}..{max(by_day)}), {days} compared, {len(rows)} meeting-days"
    )
    print(
        f"  same anchor: {len(same)} meeting-days, largest gap {max((r.gap_pp for r in same), default=0):.3f} pp "
        f"(tolerance {args.tolerance:g} pp), {len(bad)} above it"
    )
    by_cause: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        if not r.same:
            by_cause[r.cause].append(r)
    if failed_days:
        by_cause["peer-failed"] = []
    for cause, rs in sorted(by_cause.items()):
        if cause == "peer-failed":
            print(
                f"  {cause}: {len(failed_days)} days ({failed_days[0][0]}..{failed_days[-1][0]}): {CAUSES[cause]}"
            )
            continue
        above = [r for r in rs if r.gap_pp > args.tolerance]
        worst = max(rs, key=lambda r: r.gap_pp)
        print(
            f"  {cause}: {len(rs)} meeting-days, {len(above)} above {args.tolerance:g} pp, largest "
            f"{worst.gap_pp:.1f} pp ({worst.day} for {worst.meeting}): {CAUSES[cause]}"
        )
    if not args.quiet:
        for r in sorted(bad, key=lambda r: -r.gap_pp)[:20]:
            print(
                f"  DISAGREE {r.day} {r.meeting}: {r.gap_pp:.2f} pp, flowwatch {r.ours} pyfedwatch {r.peer}"
            )
    print(
        f"  time: flowwatch {t1 - t0:.1f} s, pyfedwatch {t2 - t1:.1f} s, comparison {t3 - t2:.1f} s",
        file=sys.stderr,
    )
    problems = failures(rows, bool(failed_days), args.tolerance, DOC.read_text())
    for problem in problems:
        print(f"FAIL: {problem}")
    return 1 if problems else 0


def failures(rows: list[Row], peer_failed: bool, tolerance: float, doc: str) -> list[str]:
    """What fails the cross-check: a gap above ``tolerance`` where both use the same anchor, no
    meeting-day solved the same way, a gap above it no named cause explains, or a cause of such
    gaps that ``doc`` (docs/signals/ratecut.md) does not name in its table."""
    out: list[str] = []
    same = [r for r in rows if r.same]
    bad = [r for r in same if r.gap_pp > tolerance]
    if bad:
        out.append(f"{len(bad)} meeting-days with the same anchor disagree by more than {tolerance:g} pp")
    if not same:
        out.append("no meeting-day was solved the same way by both: nothing was checked")
    above: dict[str, int] = defaultdict(int)
    for r in rows:
        if not r.same and r.gap_pp > tolerance:
            above[r.cause] += 1
    if peer_failed:
        above["peer-failed"] += 1
    for cause, n in sorted(above.items()):
        if cause == "unexplained":
            out.append(f"{n} meeting-days disagree by more than {tolerance:g} pp for no named cause")
        elif f"| {cause.replace('-', ' ')} |" not in doc:
            out.append(
                f"{n} meeting-days disagree by more than {tolerance:g} pp for the cause "
                f"'{cause}', which {DOC.relative_to(REPO)} does not name (add it to its table)"
            )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--peer-python", type=Path, default=REPO / ".venv-pyfedwatch" / "bin" / "python")
    p.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("FLOWWATCH_SHARED", REPO.parent / "shared")) / "data",
    )
    p.add_argument("--tolerance", type=float, default=1.0, help="pp, where both use the same anchor")
    p.add_argument("--meetings", type=int, default=8, help="upcoming meetings compared per day")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    if not args.peer_python.exists():
        print(
            f"{args.peer_python} not found: build it with python3.11 -m venv .venv-pyfedwatch && "
            ".venv-pyfedwatch/bin/pip install -r tools/pyfedwatch/requirements.txt",
            file=sys.stderr,
        )
        return 2
    if not (args.data / "zq_settlements_2015_2021.csv").exists():
        print(f"{args.data}/zq_settlements_2015_2021.csv not found (the shared data folder)", file=sys.stderr)
        return 2
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
