"""The distribution of one FOMC meeting's move: buckets, the expected move, the path; their series.

Every venue prices a meeting as probabilities of moves of the target range. A *bucket* is a move
in bp, exact (``-25``: a 25 bp cut) or open-ended beyond its size (Kalshi's "cut >25 bp" and
Polymarket's "50+ bps decrease" are ``-50`` open: 50 bp or more). The FedWatch method gives exact
steps (``-75``, ``-100`` when a large cut is priced), so its buckets can be finer.

Series (probabilities in [0, 1] unless stated), per venue and decision date:

- ``<venue>.fomc.<date>.cut|hold|hike``: P(cut), P(hold), P(hike) (the existing ids);
- ``<venue>.fomc.<date>.cut25``, ``.cut50plus`` (open), ``.cut50``, ``.cut75``, ``.cut100`` …
  (exact), likewise ``.hike25``, ``.hike50plus``, ``.hike50`` …: one series per bucket;
- ``<venue>.fomc.<date>.move_bp``: the expected move of that meeting in bp (an open-ended bucket
  counts at its least size, so a 25 % chance of "50 bp or more" adds at least −12.5 bp);
- ``<venue>.fomc.<date>.path_bp``: the expected cumulative move from today's target range through
  that meeting, bp (the path CME displays: the sum of the expected moves of the meetings up to it,
  written only when every earlier meeting is priced at the same time);
- ``fedwatch.fomc.<date>.rate``: the expected midpoint of the target range after that meeting, in
  percent (FedWatch knows today's range from FRED).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from signals import fomc
from storage.observations import Observation
from storage.series import fomc_series

STEP = 25
#: the buckets every venue can be folded into: (move bp, open-ended)
COMMON = ((-50, True), (-25, False), (0, False), (25, False), (50, True))


@dataclass(frozen=True, order=True)
class Bucket:
    move: int  # bp, signed; a multiple of 25
    open: bool = False  # "this size or more"

    @property
    def suffix(self) -> str:
        """The series suffix: ``cut25``, ``cut50plus``, ``hold``, ``hike75``."""
        if self.move == 0:
            return "hold"
        side = "cut" if self.move < 0 else "hike"
        return f"{side}{abs(self.move)}{'plus' if self.open else ''}"

    @property
    def outcome(self) -> str:
        return "cut" if self.move < 0 else "hike" if self.move > 0 else "hold"

    @property
    def label(self) -> str:
        """``a 50 bp cut``, ``a cut of 50 bp or more``, ``no change``."""
        if self.move == 0:
            return "no change"
        side = "cut" if self.move < 0 else "hike"
        if self.open:
            return f"a {side} of {abs(self.move)} bp or more"
        return f"a {abs(self.move)} bp {side}"

    def common(self) -> Bucket:
        """The common bucket this one folds into (50 bp or more on either side is one)."""
        if abs(self.move) >= 50:
            return Bucket(50 if self.move > 0 else -50, True)
        return self


HOLD = Bucket(0)


def parse_suffix(suffix: str) -> Bucket | None:
    """``cut50plus`` -> Bucket(-50, open); ``hold`` -> Bucket(0); anything else -> None."""
    if suffix == "hold":
        return HOLD
    for side, sign in (("cut", -1), ("hike", 1)):
        if suffix.startswith(side):
            rest = suffix[len(side) :]
            is_open = rest.endswith("plus")
            digits = rest[: -len("plus")] if is_open else rest
            if digits.isdigit() and int(digits) > 0 and int(digits) % STEP == 0:
                return Bucket(sign * int(digits), is_open)
    return None


def venue_bucket(side: str, bp: int) -> Bucket:
    """A venue's bucket named by a side and a size: Kalshi ``C26`` means "more than 25 bp",
    an open bucket from the next step (``-50`` open); ``C25`` is exactly 25."""
    if bp == 0:
        return HOLD
    sign = -1 if side == "cut" else 1
    if bp % STEP:
        return Bucket(sign * math.ceil(bp / STEP) * STEP, True)
    return Bucket(sign * bp, False)


def expected_move(dist: Mapping[Bucket, float]) -> float:
    """The mean move in bp (an open bucket counts at its least size)."""
    return sum(b.move * p for b, p in dist.items())


def fold_common(dist: Mapping[Bucket, float]) -> dict[Bucket, float]:
    """The five common buckets (cut 50+, cut 25, hold, hike 25, hike 50+)."""
    out = {Bucket(m, o): 0.0 for m, o in COMMON}
    for b, p in dist.items():
        out[b.common()] += p
    return out


def outcomes(dist: Mapping[Bucket, float]) -> dict[str, float]:
    out = {"cut": 0.0, "hold": 0.0, "hike": 0.0}
    for b, p in dist.items():
        out[b.outcome] += p
    return out


def series(venue: str, meeting_id: str, suffix: str) -> str:
    return fomc_series(venue, meeting_id, suffix)


def dist_observations(
    venue: str, meeting_id: str, ts: int, dist: Mapping[Bucket, float], source: str
) -> list[Observation]:
    """P(cut/hold/hike), one series per bucket that is not hold, and the expected move."""
    out = [
        Observation(series(venue, meeting_id, o), ts, round(p, 6), source) for o, p in outcomes(dist).items()
    ]
    for b, p in sorted(dist.items()):
        if b.move != 0:
            out.append(Observation(series(venue, meeting_id, b.suffix), ts, round(p, 6), source))
    out.append(Observation(series(venue, meeting_id, "move_bp"), ts, round(expected_move(dist), 4), source))
    return out


def path_observations(venue: str, rows: Iterable[Observation]) -> list[Observation]:
    """``path_bp`` per time stamp: the running sum of ``move_bp`` over the meetings in calendar
    order from the first one still open then, as long as no meeting in between is missing."""
    moves: dict[int, dict[str, tuple[float, str]]] = {}
    for o in rows:
        parts = o.series.split(".")
        if len(parts) == 4 and parts[0] == venue and parts[3] == "move_bp":
            moves.setdefault(o.ts, {})[parts[2]] = (o.value, o.source)
    out: list[Observation] = []
    for ts, per in sorted(moves.items()):
        total = 0.0
        for m in fomc.upcoming(datetime.fromtimestamp(ts, UTC), len(per)):
            if m.id not in per:
                break
            value, source = per[m.id]
            total += value
            out.append(Observation(series(venue, m.id, "path_bp"), ts, round(total, 4), source))
    return out
