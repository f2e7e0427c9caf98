"""What a source hands over to be stored: a typed batch, written by the app in one transaction.

Sources fetch and parse; they never write. A poll returns a :class:`Batch` (observations and
table rows), a backfill yields one or more, and the runner, the CLI and the bench write them
with :func:`write`:

- ``live=True`` (a poll): an implausible observation is dropped with a logged reason and the
  good rows beside it are kept (one garbage tick must not stop a feed);
- ``live=False`` (a backfill, an import, a demo): an implausible value refuses the whole batch
  (:class:`~storage.series.ImplausibleValues`): nothing is written.

A batch read from a file (:attr:`Batch.file`) is also refused whole when one series has two
different values at one time (:mod:`storage.filerules`, :class:`~storage.filerules.FileRefused`).

Table rows are records (:data:`TableWrite`): the earnings calendar, an index's members, a
cached value of ``meta``, the minutes a stream missed (:class:`GapFill`). The line a backfill
prints or a poll logs comes from what was written (:attr:`Batch.describe`), so it can count
new and updated rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlite_utils import Database

from storage import earnings as earnings_repo
from storage import filerules, meta
from storage import observations as obs_repo
from storage.earnings import CalendarWrite, Member, Report
from storage.observations import Observation, UpsertResult


@dataclass(frozen=True)
class EarningsRows:
    """A source's listings of report dates (:func:`storage.earnings.write_reports`)."""

    reports: tuple[Report, ...]
    source: str
    now: int | None = None
    dated: bool = False
    covered: tuple[date, ...] | None = None


@dataclass(frozen=True)
class IndexMembers:
    """An index's constituents, replacing the stored list (:func:`storage.earnings.replace_members`)."""

    index_id: str
    members: tuple[Member, ...]
    now: int | None = None


@dataclass(frozen=True)
class MetaValue:
    """A value kept in ``meta`` (a source's day cache), merged by ``merge(old, new)`` when given."""

    key: str
    value: Any
    now: int | None = None
    merge: Callable[[Any, Any], Any] | None = None


@dataclass(frozen=True)
class GapFill:
    """Buckets for the minutes a live stream did not cover. ``observations`` hold every candidate
    minute; a minute that any row of another source than ``own_source`` holds in ``[since,
    until)`` is live and kept as it is. Checked inside the transaction, so a live flush in
    between is never overwritten. Result: ``(the observations written, live minutes kept)``."""

    observations: tuple[Observation, ...]
    series: tuple[str, ...]
    own_source: str
    since: int
    until: int


TableWrite = EarningsRows | IndexMembers | MetaValue | GapFill


@dataclass
class Written:
    """What :func:`write` did: the observations' counts (and how many implausible live rows were
    dropped), and each table record's result: a ``CalendarWrite`` for :class:`EarningsRows`,
    ``(added, removed, kept)`` for :class:`IndexMembers`, the stored value for
    :class:`MetaValue`, ``(observations written, live minutes kept)`` for :class:`GapFill`."""

    observations: UpsertResult = field(default_factory=lambda: UpsertResult(0, 0, 0))
    dropped: int = 0
    rows: list[tuple[TableWrite, Any]] = field(default_factory=list)

    def result(self, record: TableWrite) -> Any:
        """The result of ``record`` (the very object the batch held)."""
        for rec, res in self.rows:
            if rec is record:
                return res
        raise KeyError(f"not written: {record!r}")


def _describe_none(written: Written) -> str:
    return ""


@dataclass(frozen=True)
class Batch:
    """Observations and table rows from one fetch, written together."""

    observations: tuple[Observation, ...] = ()
    rows: tuple[TableWrite, ...] = ()
    #: the line(s) a backfill prints (a poll logs them) from what was written
    describe: Callable[[Written], str] = _describe_none
    #: part of the fetch failed: the description is also logged as one WARNING
    warn: bool = False
    #: the file the batch was read from: the batch is held to the file rules
    #: (:mod:`storage.filerules`: a series with two values at one time refuses it whole)
    file: str | None = None

    def __bool__(self) -> bool:
        return bool(self.observations or self.rows)


def counted(head: str, tail: str = "") -> Callable[[Written], str]:
    """A description: ``head`` then the observations written, ``(N new, M updated)``, then ``tail``."""
    return lambda w: f"{head} ({w.observations.new} new, {w.observations.updated} updated){tail}"


def write(db: Database, batch: Batch, *, live: bool) -> Written:
    """Write ``batch`` in one transaction; see the module docstring for ``live``."""
    out = Written()
    obs: Sequence[Observation] = batch.observations
    if batch.file is not None:
        filerules.check_observations(obs, batch.file)
    if live:
        kept = obs_repo.plausible_only(obs)
        out.dropped = len(obs) - len(kept)
        obs = kept
    with db.atomic():
        if obs:
            out.observations = obs_repo.upsert(db, obs)
        for rec in batch.rows:
            out.rows.append((rec, _write_row(db, rec)))
    return out


def _write_row(db: Database, rec: TableWrite) -> Any:
    if isinstance(rec, EarningsRows):
        res: CalendarWrite = earnings_repo.write_reports(
            db, rec.reports, source=rec.source, now=rec.now, dated=rec.dated, covered=rec.covered
        )
        return res
    if isinstance(rec, IndexMembers):
        return earnings_repo.replace_members(db, rec.index_id, rec.members, rec.now)
    if isinstance(rec, MetaValue):
        value = rec.value
        if rec.merge is not None:
            value = rec.merge(meta.get(db, rec.key), value)
        meta.put(db, rec.key, value, rec.now)
        return value
    if isinstance(rec, GapFill):
        return fill_gaps(db, rec)
    raise TypeError(f"not a table write: {rec!r}")


def fill_gaps(db: Database, rec: GapFill) -> tuple[list[Observation], int]:
    """Write the minutes of ``rec`` that no live row covers; (observations written, minutes kept)."""
    marks = ",".join("?" * len(rec.series))
    covered = {
        int(t)
        for (t,) in db.execute(
            f"SELECT DISTINCT ts FROM observations WHERE series IN ({marks}) AND ts >= ? AND ts < ? "
            "AND source != ?",
            [*rec.series, rec.since, rec.until, rec.own_source],
        )
    }
    keep = [o for o in rec.observations if o.ts not in covered]
    obs_repo.upsert(db, keep)
    return keep, len(covered)
