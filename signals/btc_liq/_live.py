"""btc_liq live: the model the app's stream service runs as frames arrive (pure, in memory).

The service (``bot.streams.StreamService``) owns the venue clients, the tasks and the writes; it
hands this model each frame's liquidations (:meth:`LiveCascade.on_events`, the ingest hot path:
1-minute buckets in a :class:`LiveBook`), asks it for a reading on arrival and on a short tick
(:meth:`step`: the same cascade :class:`Tracker` replay uses), and asks it which rows to write
every few seconds (:meth:`rows_due`: every minute a stream was up, liquidations or not, the
seconds a stream was down, and the raw frames for an audit, in one batch). Baselines and ranks
come from stored history (:meth:`load` runs on a read-only connection) and are refreshed hourly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from signals.base import Level, Params, Reading
from signals.btc_liq._baselines import WindowHistory, window_histories
from signals.btc_liq._livebook import LiveBook
from signals.btc_liq._reading import step, warm_tracker
from signals.btc_liq._stored import StoredHistory
from signals.btc_liq._text import span
from signals.btc_liq._timeline import Timeline
from signals.btc_liq._tracker import Tracker
from signals.btc_liq._vocab import NAMES, VENUE_INDEX, VENUES, WARMUP_S
from signals.contract import StreamHealth
from storage import liq_raw
from storage.batches import Batch, GapFill, Written
from storage.liq_reads import LiqReader
from storage.series import LiqEvent, gap_series, liq_series

SIGNAL_ID = "btc_liq"
KEY = "cascade"
_COL = {v: 2 * i for v, i in VENUE_INDEX.items()}
_PRICE_SYMBOLS = {"BTCUSDT", "BTC-USDT-SWAP"}


def load_history(
    db: Database, params: Params, now: float, until: float, minutes: bool = True
) -> tuple[Timeline, dict[str, WindowHistory]]:
    """What the model needs from stored history, by bounded reads (a read-only connection): the
    1-minute buckets of the last days (the ring, the tracker's warm-up; with ``minutes``) and
    every window's baseline and rank history for readings up to ``until`` (the next refresh)."""
    h = StoredHistory(LiqReader(db), params)
    t = int(now)
    tl = h.timeline(t - WARMUP_S - 86400, t + 60) if minutes else Timeline.empty()
    hists = h.histories(params, t - WARMUP_S, int(until))
    for hist in hists.values():
        hist.load_ranks()  # the connection closes when this returns
    return tl, hists


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=UTC)


class LiveCascade:
    """btc_liq's live model: the book, the tracker, the baselines and the raw frames."""

    signal = SIGNAL_ID
    key = KEY

    def __init__(self, params: Params, keep_raw: bool = True) -> None:
        self.params = params
        self.keep_raw = keep_raw
        self.book = LiveBook()
        self.tracker = Tracker(params, SIGNAL_ID, KEY)
        self.hists: Mapping[str, WindowHistory] = window_histories(Timeline.empty(), params)
        self.raw = liq_raw.RawBatch()
        self.latest_event_ms = 0
        self._price: float | None = None
        self._open_minute = 0  # minutes before this were written at least once
        self._flushed_until: int | None = None

    # -- stored history (read-only connections) ---------------------------------------------

    def load(self, db: Database, now: float, until: float, minutes: bool = True) -> Any:
        return load_history(db, self.params, now, until, minutes)

    def warm(self, loaded: Any, now: float) -> None:
        """Windows, baselines and the cascade state from what is stored (a restart continues)."""
        tl, self.hists = loaded
        self.book.load(tl.slice(int(now) - 2 * 86400, int(now) + 60))
        self.tracker, _ = warm_tracker(self.params, tl, self.hists, tl.end, int(now))
        self.tracker.signal, self.tracker.key = SIGNAL_ID, KEY
        self.tracker.advance(int(now), self.book, self.hists)  # the minute in progress, too

    def refresh(self, loaded: Any) -> None:
        """Baselines and ranks of the next hour."""
        _tl, self.hists = loaded

    def start(self, now: float) -> None:
        """Coverage and batches begin at the minute the service starts."""
        m = int(now) // 60 * 60
        self._flushed_until = m
        self._open_minute = m

    # -- ingest: the hot path --------------------------------------------------------------

    def on_events(self, events: Sequence[LiqEvent], frame: str | bytes = "") -> None:
        """One frame's liquidations (one venue) into the book; the frame kept for the audit."""
        pend = self.book.pending
        get = pend.get
        latest = self.latest_event_ms
        col = _COL[events[0][1]]
        lo = hi = events[0][0]
        for ts_ms, _venue, _symbol, side, _qty, _price, amount in events:
            key = (ts_ms // 60000, col + side)
            pend[key] = get(key, 0.0) + amount
            if ts_ms > hi:
                hi = ts_ms
            elif ts_ms < lo:
                lo = ts_ms
        if hi > latest:
            self.latest_event_ms = hi
            last = events[-1]
            if last[2] in _PRICE_SYMBOLS:
                self._price = last[5]
        if self.keep_raw and frame:
            self.raw.add(events[0][1], frame, lo, hi)

    # -- evaluation --------------------------------------------------------------------------

    def step(self, now: float, connected: Iterable[str]) -> Reading:
        """The reading at ``now``: venues connected now count the minute as covered."""
        m = int(now) // 60 * 60
        for venue in connected:
            self.book.mark(venue, m)
        if self._price is not None:
            self.book.note_price(m, self._price)
        return step(self.tracker, int(now), self.book, self.hists)

    def notice(self, venue: str, stale: bool, now: float, health: StreamHealth) -> Reading:
        """A venue's stream down (or back): a notice reading, ``kind='notice'``."""
        name = NAMES.get(venue, venue)
        down = health.down_since
        if stale:
            assert down is not None
            summary = (
                f"{name} liquidation stream down for {span(now - down)}: {health.last_error or 'no connection'}; "
                "cascade totals leave it out until it is back"
            )
        else:
            summary = f"{name} liquidation stream back: live again as of {_dt(now):%Y-%m-%d %H:%M} UTC"
        lvl = Level.WATCH if stale else Level.OK
        return Reading(
            signal=SIGNAL_ID,
            key=f"stale:{venue}",
            ts=_dt(now),
            value=(now - down) / 60 if stale and down is not None else 0.0,
            level=lvl,
            hold=lvl,
            summary=summary,
            source=name,
        )

    # -- persistence, batched -------------------------------------------------------------------

    def rows_due(
        self, now: float, started_at: float, health: Mapping[str, StreamHealth]
    ) -> tuple[list[tuple[str, int, float, str]], liq_raw.RawBatch, int]:
        """The rows of every minute since the last batch (and late events for minutes already
        written), the raw frames since then, and the minute the next batch starts at."""
        cur = int(now) // 60 * 60
        start = self._flushed_until if self._flushed_until is not None else cur
        self.book.fold()
        touched, self.book.touched = self.book.touched, set()
        late = {m for m in touched if m < self._open_minute}  # late events for written minutes
        minutes = set(range(start, cur + 60, 60)) | late
        rows: list[tuple[str, int, float, str]] = []
        for m in sorted(minutes):
            closed = m < cur
            for venue, h in health.items():
                if h.unavailable:
                    continue
                a, b = max(float(m), started_at), min(float(m + 60), now)
                if b <= a:
                    continue
                up = h.up_seconds(a, b)
                if up > 0:
                    self.book.mark(venue, m)
                gap = (b - a) - up
                if closed and gap >= 1:
                    self.book.set_gap(venue, m, round(gap))
                    rows.append((gap_series(venue), m, float(round(gap)), venue))
            mask = self.book.venues_at(m)
            vals = self.book.row(m)
            for venue in VENUES:
                k = VENUE_INDEX[venue]
                if mask >> k & 1:
                    rows.append((liq_series(venue, "long", "1m"), m, round(float(vals[2 * k]), 2), venue))
                    rows.append(
                        (liq_series(venue, "short", "1m"), m, round(float(vals[2 * k + 1]), 2), venue)
                    )
        raw, self.raw = self.raw, liq_raw.RawBatch()
        return rows, raw, cur

    def flushed(self, cur: int) -> None:
        """The batch up to ``cur`` is written."""
        self._flushed_until = cur
        self._open_minute = cur

    def absorb(self, batch: Batch, written: Written) -> int:
        """Minutes a REST fill wrote before this start (OKX): the windows of the last day see them
        too. Returns the minutes filled."""
        n = 0
        for rec in batch.rows:
            if not isinstance(rec, GapFill):
                continue
            obs, _kept = written.result(rec)
            for o in obs:
                if o.value:
                    side = 0 if ".long_usd." in o.series else 1
                    self.book.add(o.ts, _COL[o.series.split(".")[2]] + side, o.value)
            n += len(obs) // 2
        return n
