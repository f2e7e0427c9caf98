"""Live ``btc_liq``: liquidation streams → in-memory buckets and windows → the engine → outbox.

:class:`LiveLiquidations` is started by ``flowwatch run`` (through
:mod:`signals.sources.liquidations`). It owns the venue clients; every frame's liquidations go
into a :class:`signals.liquidations.LiveBook` (1-minute buckets per venue and side, in memory),
and an evaluator re-runs the same cascade :class:`~signals.liquidations.Tracker` that replay
uses, on frame arrival (coalesced: one evaluation in flight, the next one sees every frame that
arrived meanwhile) and on a short tick, so windows roll and cascades resolve in quiet markets.

Only a reading that can change the lifecycle (a level or hold change, growth past the engine's
``update_growth``, or a once-a-minute heartbeat) is handed to the App's store thread, where
:meth:`bot.pipeline.Pipeline.apply` steps the engine and writes state, events and deliveries in
one transaction: that outbox write is the only SQLite work between a frame and its alert.
Buckets, stream gaps, raw events and venue health are written in batches every few seconds
(and on shutdown), off that path, one transaction per batch. Baselines come from stored history through a separate
read-only connection and are refreshed hourly.

A venue whose stream stays down raises a stale notice (kind ``notice``, key ``stale:<venue>``)
and a recovery notice later; a venue that refuses the handshake (geo-blocked) is reported once
and left out. Buckets are written for every minute a stream was up, liquidations or not (a
quiet market is data); seconds a stream was down go to ``liq.btc.<venue>.gap_s.1m``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from signals import registry
from signals.base import Level, Params, Reading
from signals.btc_liq._baselines import WindowHistory, window_histories
from signals.btc_liq._livebook import LiveBook
from signals.btc_liq._reading import step, warm_tracker
from signals.btc_liq._stored import StoredHistory
from signals.btc_liq._text import span
from signals.btc_liq._timeline import Timeline
from signals.btc_liq._tracker import Tracker
from signals.btc_liq._vocab import NAMES, VENUE_INDEX, VENUES, WARMUP_S
from signals.contract import rules_of
from signals.sources import liquidations as liq_source
from signals.sources._wsclient import Event, StreamClient
from signals.sources.liquidations import make_streams
from storage import batches, liq_raw, meta
from storage import observations as obs_repo
from storage.batches import Batch
from storage.liq_reads import LiqReader
from storage.memory import release_free_memory
from storage.series import gap_series, liq_series
from storage.state import KeyState

if TYPE_CHECKING:
    from bot.runner import App

log = logging.getLogger("flowwatch.liqlive")

SIGNAL_ID = "btc_liq"
KEY = "cascade"
_COL = {v: 2 * i for v, i in VENUE_INDEX.items()}
_PRICE_SYMBOLS = {"BTCUSDT", "BTC-USDT-SWAP"}
LATENCY_SAMPLES = 10_000


def load_history(
    db: Database, params: Params, now: float, until: float, minutes: bool = True
) -> tuple[Timeline, dict[str, WindowHistory]]:
    """What the service needs from stored history, by bounded reads (a read-only connection):
    the 1-minute buckets of the last days (the ring, the tracker's warm-up; with ``minutes``)
    and every window's baseline and rank history for readings up to ``until`` (the next
    refresh)."""
    h = StoredHistory(LiqReader(db), params)
    t = int(now)
    tl = h.timeline(t - WARMUP_S - 86400, t + 60) if minutes else Timeline.empty()
    hists = h.histories(params, t - WARMUP_S, int(until))
    for hist in hists.values():
        hist.load_ranks()  # the connection closes when this returns
    return tl, hists


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=UTC)


class LiveLiquidations:
    def __init__(
        self,
        app: App,
        *,
        streams: Sequence[StreamClient] | None = None,
        venues: Sequence[str] | None = None,
        urls: Mapping[str, str] | None = None,
        clock: Callable[[], float] | None = None,
        stream_kwargs: Mapping[str, Any] | None = None,
        flush_every: float = 5.0,
        tick: float = 5.0,
        refresh_every: float = 3600.0,
        stale_after: float = 300.0,
        retention_days: float | None = None,
        fill_from_rest: bool = False,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.app = app
        self.sleep = sleep  # the periodic helpers wait with it (tests pass a simulated one)
        sig = registry()[SIGNAL_ID]
        self.params = app.settings.signal_params(SIGNAL_ID)
        self.growth = rules_of(sig, self.params).update_growth or 0.0
        self.clock = clock or (lambda: app.clock.now().timestamp())
        self.book = LiveBook()
        self.tracker = Tracker(self.params, SIGNAL_ID, KEY)
        self.hists: Mapping[str, WindowHistory] = window_histories(Timeline.empty(), self.params)
        if streams is None:
            kw = dict(stream_kwargs or {})
            kw.setdefault("clock", self.clock)
            chosen = tuple(venues) if venues is not None else app.settings.get(liq_source.VENUES)
            streams = make_streams(
                chosen,
                self.on_events,
                urls,
                **kw,
            )
        self.streams = list(streams)
        self.primary: dict[str, StreamClient] = {}
        for s in self.streams:
            self.primary.setdefault(s.venue, s)
        days = app.settings.get(liq_source.RAW_RETENTION_DAYS) if retention_days is None else retention_days
        self.retention_s = days * 86400
        self.keep_raw = days > 0
        self.flush_every = flush_every
        self.tick = tick
        self.refresh_every = refresh_every
        self.stale_after = stale_after
        self.fill_from_rest = fill_from_rest
        self._raw = liq_raw.RawBatch()
        self._open_minute = 0  # minutes before this were written at least once
        self._flushed_until: int | None = None
        self._kick = asyncio.Event()
        self._pending_arrival: float | None = None
        self._sent: tuple[Level, Level, float, int] | None = None
        self._state: KeyState | None = None
        self._last_ts = 0
        self._notices: dict[str, bool] = {}
        self._started_at = 0.0
        self._last_summary = 0.0
        self._price: float | None = None
        self.latest_event_ms = 0
        #: frame-to-outbox seconds of the latest alert writes (a bounded sample)
        self.latencies: deque[float] = deque(maxlen=LATENCY_SAMPLES)
        self.evaluations = 0
        self.sends = 0

    # -- ingest: the hot path ---------------------------------------------------------

    def on_events(self, events: Sequence[Event], arrival: float, frame: str | bytes = "") -> None:
        """The ingest hot path: one frame's liquidations (one venue) into the book; the frame kept."""
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
            self._raw.add(events[0][1], frame, lo, hi)
        if self._pending_arrival is None:
            self._pending_arrival = arrival
        self._kick.set()

    # -- evaluation ---------------------------------------------------------------------

    def _mark_live(self, now: float) -> None:
        m = int(now) // 60 * 60
        for venue, s in self.primary.items():
            if s.health.connected:
                self.book.mark(venue, m)
        if self._price is not None:
            self.book.note_price(m, self._price)

    def _notice_readings(self, now: float) -> list[Reading]:
        out = []
        for venue, s in self.primary.items():
            h = s.health
            if h.unavailable:
                continue
            down = h.down_since
            stale = not h.connected and down is not None and now - down >= self.stale_after
            if stale == self._notices.get(venue, False):
                continue
            self._notices[venue] = stale
            name = NAMES.get(venue, venue)
            if stale:
                assert down is not None
                summary = (
                    f"{name} liquidation stream down for {span(now - down)}: {h.last_error or 'no connection'}; "
                    "cascade totals leave it out until it is back"
                )
            else:
                summary = f"{name} liquidation stream back: live again as of {_dt(now):%Y-%m-%d %H:%M} UTC"
            lvl = Level.WATCH if stale else Level.OK
            out.append(
                Reading(
                    signal=SIGNAL_ID,
                    key=f"stale:{venue}",
                    ts=_dt(now),
                    value=(now - down) / 60 if stale and down is not None else 0.0,
                    level=lvl,
                    hold=lvl,
                    summary=summary,
                    source=name,
                )
            )
        return out

    def _worth(self, r: Reading, t: int) -> bool:
        """Could this reading change the lifecycle? (Otherwise it stays in memory.)"""
        if self._sent is None:
            return True
        level, hold, _value, t_sent = self._sent
        if r.level != level or r.hold != hold:
            return True
        st = self._state
        if st is not None:
            if st.state == "pending":
                return True
            if (
                st.state == "firing"
                and self.growth
                and st.reported_value
                and r.value >= st.reported_value * self.growth
            ):
                return True
            if r.level > Level[st.level.upper()] and t - t_sent >= 5:
                return True  # e.g. the cooldown may have ended
        return t - t_sent >= 60

    async def evaluate(self) -> list[Any]:
        """One evaluation now; returns the events written (if any)."""
        now = self.clock()
        t = int(now)
        arrival, self._pending_arrival = self._pending_arrival, None
        self._mark_live(now)
        r = step(self.tracker, t, self.book, self.hists)
        self.evaluations += 1
        notices = self._notice_readings(now)
        if not notices and not self._worth(r, t):
            return []
        if t <= self._last_ts:
            # The engine keeps one reading per second; a second change within it goes next second.
            r = replace(r, ts=_dt(self._last_ts + 1))
        applied = await self.app.store.call(self.app.pipeline.apply, SIGNAL_ID, [r], _dt(now), notices)
        self.sends += 1
        self._last_ts = int(r.ts.timestamp())
        self._sent = (r.level, r.hold, r.value, t)
        self._state = applied.states.get(KEY, self._state)
        if applied.events:
            self.app.dispatcher.kick()
            if arrival is not None and any(ev.kind == "alert" for _id, ev in applied.events):
                self.latencies.append(time.perf_counter() - arrival)
        return applied.events

    async def _evaluator(self) -> None:
        while True:
            await self._kick.wait()
            self._kick.clear()
            try:
                await self.evaluate()
            except Exception:
                log.exception("btc_liq live evaluation failed")
                await self.sleep(1.0)

    async def _ticker(self) -> None:
        """Evaluate every ``tick`` seconds without frames too: windows roll, quiet cascades resolve."""
        while True:
            await self.sleep(self.tick)
            self._kick.set()

    # -- persistence, batched ---------------------------------------------------------------

    def _batch(self, now: float, final: bool) -> tuple[list[tuple[str, int, float, str]], int]:
        cur = int(now) // 60 * 60
        start = self._flushed_until if self._flushed_until is not None else cur
        self.book.fold()
        touched, self.book.touched = self.book.touched, set()
        late = {m for m in touched if m < self._open_minute}  # late events for written minutes
        minutes = set(range(start, cur + 60, 60)) | late
        rows: list[tuple[str, int, float, str]] = []
        for m in sorted(minutes):
            closed = m < cur
            for venue, s in self.primary.items():
                if s.health.unavailable:
                    continue
                a, b = max(float(m), self._started_at), min(float(m + 60), now)
                if b <= a:
                    continue
                up = s.health.up_seconds(a, b)
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
        return rows, cur

    @staticmethod
    def _write(
        db: Database,
        rows: list[tuple[str, int, float, str]],
        health: dict[str, Any],
        now: int,
        raw: liq_raw.RawBatch | None = None,
    ) -> None:
        """Buckets, venue health and the batch's raw frames in one transaction: a crash keeps
        all of a batch or none of it (never buckets whose frames are missing from the audit)."""
        with db.atomic():
            obs_repo.write_many(db, rows)
            for name, h in health.items():
                meta.put(db, f"source:{name}", h, now)
            if raw is not None:
                liq_raw.insert_batch(db, raw)

    async def flush(self, final: bool = False) -> int:
        """Write the buckets of every minute since the last flush (and late ones); returns rows."""
        now = self.clock()
        rows, cur = self._batch(now, final)
        raw, self._raw = self._raw, liq_raw.RawBatch()
        health = {s.name: s.health.as_dict(s.stats) for s in self.streams}
        await self.app.store.call(self._write, rows, health, int(now), raw)
        self._flushed_until = cur
        self._open_minute = cur
        if now - self._last_summary >= 60 or final:
            self._last_summary = now
            for s in self.streams:
                s.stats.log_summary(s.name)
        return len(rows)

    async def _flusher(self) -> None:
        while True:
            await self.sleep(self.flush_every)
            try:
                await self.flush()
            except Exception:
                log.exception("writing liquidation buckets failed; will retry")

    async def fill_okx(self, days: float = 1.0) -> int:
        """The minutes OKX's stream missed before this start (downtime), from its REST feed (about a day)."""
        from signals.sources import okx
        from signals.sources.base import SourceError

        start = int(self._started_at) // 60 * 60
        try:
            events = await okx.fetch_recent(
                self.app.client, _dt(self.clock()), _dt(self.clock() - days * 86400)
            )
        except SourceError as exc:
            log.warning("okx: could not fill the downtime from REST: %s", exc)
            return 0
        if not events:
            return 0
        fill = okx.gap_fill(events, start)
        written = await self.app.store.call(batches.write, Batch(rows=(fill,)), live=True)
        obs, _kept = written.result(fill)
        for o in obs:  # the windows of the last day see them too
            if o.value:
                side = 0 if ".long_usd." in o.series else 1
                self.book.add(o.ts, _COL["okx"] + side, o.value)
        if obs:
            log.info("okx: filled %d minutes before this start from REST", len(obs) // 2)
        return len(obs) // 2

    async def prune(self) -> int:
        return await self.app.store.call(liq_raw.prune, int((self.clock() - self.retention_s) * 1000))

    async def refresh(self) -> None:
        """Baselines and ranks from stored history (a read-only connection, off the store thread)."""
        now = self.clock()
        _tl, self.hists = await self.app.store.read(
            load_history, self.params, now, now + self.refresh_every + 600, False
        )
        release_free_memory()

    async def _refresher(self) -> None:
        while True:
            await self.sleep(self.refresh_every)
            try:
                await self.refresh()
                n = await self.prune()
                if n:
                    log.info("pruned %d raw liquidation events older than the retention", n)
            except Exception:
                log.exception("refreshing liquidation baselines failed")

    # -- lifecycle ------------------------------------------------------------------------

    async def warm(self) -> None:
        """Windows, baselines and the cascade state from what is stored (a restart continues)."""
        now = self.clock()
        tl, self.hists = await self.app.store.read(
            load_history, self.params, now, now + self.refresh_every + 600
        )
        self.book.load(tl.slice(int(now) - 2 * 86400, int(now) + 60))
        self.tracker, _ = warm_tracker(self.params, tl, self.hists, tl.end, int(now))
        self.tracker.signal, self.tracker.key = SIGNAL_ID, KEY
        self.tracker.advance(int(now), self.book, self.hists)  # the minute in progress, too
        del tl
        release_free_memory()

        def states(db: Database) -> dict[str, KeyState]:
            pipe = self.app.pipeline
            if pipe.engine is None:
                pipe.load(db)
            assert pipe.engine is not None
            return {k: st.copy() for (sig, k), st in pipe.engine.states.items() if sig == SIGNAL_ID}

        known = await self.app.store.call(states)
        self._state = known.get(KEY)
        if self._state is not None and self._state.last_ts:
            self._last_ts = self._state.last_ts
        for venue in self.primary:
            st = known.get(f"stale:{venue}")
            self._notices[venue] = st is not None and st.level != "ok"

    def start_clock(self) -> None:
        """Coverage and batches begin now (the minute the service starts)."""
        self._started_at = self.clock()
        self._kick = asyncio.Event()
        m = int(self._started_at) // 60 * 60
        self._flushed_until = m
        self._open_minute = m

    async def run(self) -> None:
        if not self.streams:
            return
        self.start_clock()
        await self.warm()
        self.app.pipeline.owned.add(SIGNAL_ID)
        names = ", ".join(s.name for s in self.streams)
        log.info(
            "btc_liq live: streams %s; evaluated in memory, buckets written every %.0f s",
            names,
            self.flush_every,
        )
        stream_tasks = [asyncio.create_task(s.run(), name=f"stream:{s.name}") for s in self.streams]
        helpers: list[asyncio.Task[Any]] = [
            asyncio.create_task(self._evaluator(), name="btc_liq:evaluate"),
            asyncio.create_task(self._ticker(), name="btc_liq:tick"),
            asyncio.create_task(self._flusher(), name="btc_liq:flush"),
            asyncio.create_task(self._refresher(), name="btc_liq:refresh"),
        ]
        if self.fill_from_rest and "okx" in self.primary:
            helpers.append(asyncio.create_task(self.fill_okx(), name="btc_liq:okx-rest"))
        try:
            results = await asyncio.gather(*stream_tasks, return_exceptions=True)
            for s, res in zip(self.streams, results, strict=True):
                if isinstance(res, BaseException):
                    log.error("%s: stream task failed: %r", s.name, res)
            log.warning("btc_liq live: no venue stream is left running; stored history only")
        finally:
            for s in self.streams:
                s.stop()
            for t in [*stream_tasks, *helpers]:
                t.cancel()
            for t in [*stream_tasks, *helpers]:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            with contextlib.suppress(Exception):
                await self.flush(final=True)
            self.app.pipeline.owned.discard(SIGNAL_ID)
