"""Raw frames of the live liquidation streams, kept for a retention (``liq_raw``).

The 1-minute buckets in ``observations`` are what signals read. The frames that carried BTC
liquidations are also kept, exactly as the venue sent them, to audit the buckets and rebuild
them (after a parser fix, say) with the venue's parser. A busy stream sends hundreds of frames
a second, so they are written in batches: one row per venue and write, frames newline-separated.
Collecting a frame costs a list append on the event loop; the bytes are written on the database
thread, which releases the interpreter lock while SQLite works.
"""

from __future__ import annotations

from sqlite_utils import Database


class RawBatch:
    """Frames collected between two writes, per venue, with the span of their liquidations."""

    def __init__(self) -> None:
        self.frames: dict[str, list[str | bytes]] = {}
        self.first: dict[str, int] = {}
        self.last: dict[str, int] = {}

    def add(self, venue: str, frame: str | bytes, first_ms: int, last_ms: int) -> None:
        lst = self.frames.get(venue)
        if lst is None:
            self.frames[venue] = [frame]
            self.first[venue], self.last[venue] = first_ms, last_ms
            return
        lst.append(frame)
        if first_ms < self.first[venue]:
            self.first[venue] = first_ms
        if last_ms > self.last[venue]:
            self.last[venue] = last_ms

    @property
    def n(self) -> int:
        return sum(len(v) for v in self.frames.values())

    def rows(self) -> list[tuple[str, int, int, int, str]]:
        out = []
        for venue, frames in self.frames.items():
            texts = [f if isinstance(f, str) else f.decode("utf-8", "replace") for f in frames]
            out.append((venue, self.first[venue], self.last[venue], len(texts), "\n".join(texts)))
        return out


def insert_batch(db: Database, batch: RawBatch) -> None:
    rows = batch.rows()
    if rows:
        with db.atomic():
            db.conn.executemany(
                "INSERT INTO liq_raw (venue, first_ms, last_ms, n, frames) VALUES (?, ?, ?, ?, ?)", rows
            )


def read(db: Database, start_ms: int, end_ms: int) -> list[tuple[str, str]]:
    """(venue, frame) of the batches that overlap ``[start_ms, end_ms)``, oldest batch first."""
    rows = db.execute(
        "SELECT venue, frames FROM liq_raw WHERE last_ms >= ? AND first_ms < ? ORDER BY first_ms, rowid",
        [start_ms, end_ms],
    ).fetchall()
    return [(venue, f) for venue, frames in rows for f in frames.split("\n")]


def prune(db: Database, before_ms: int, dry_run: bool = False) -> int:
    """Drop batches whose newest liquidation is older than ``before_ms``; returns frames dropped
    (or that would be, with ``dry_run``)."""
    count = "SELECT COALESCE(SUM(n), 0) FROM liq_raw WHERE last_ms < ?"
    if dry_run:
        return int(db.execute(count, [before_ms]).fetchone()[0])
    with db.atomic():
        n = db.execute(count, [before_ms]).fetchone()[0]
        db.execute("DELETE FROM liq_raw WHERE last_ms < ?", [before_ms])
    return int(n)
