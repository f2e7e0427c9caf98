"""btc_liq: BTC futures liquidation cascades across venues.

Crypto is the front-line probe of liquidity, and forced selling shows first as liquidations.
This signal sums long and short liquidations (USD) from the live venues (Bybit, Binance, OKX:
1-minute buckets) or an imported aggregate (Coinglass: 1 h, 4 h or 1 d buckets) over rolling
windows of 5 m, 1 h, 4 h and 24 h (windows shorter than the bucket are skipped).

Severity comes from the series' own history, so it holds on any venue mix (the rule is in
:mod:`signals.btc_liq._vocab`): a window ``k_watch`` × its rolling median is a heads-up; at
``k_alert`` × and in the top ``top_n`` of its trailing 365 days (by total, or by multiple of
the median) it is an alert; the largest of the trailing 365 days is severe. The USD floors
only guard against noise in a thin, quiet series, in all-venue terms: an import that carries
a fraction of the all-venue total (``import_coverage``) is judged on that fraction.

One key, ``cascade``: a cascade is one lifecycle whose ``value`` is its running total in
millions of USD, so the engine emits ``updated`` events as it grows (``update_growth``) and the
resolve carries the final total and duration. Stored history is read by range
(:mod:`signals.btc_liq._stored` over :mod:`storage.liq_reads`): the 1-minute rows of the last days,
the roll-ups for baselines and ranks; the live stream service evaluates the same tracker in
memory as frames arrive.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

from signals.base import Demo, InputLoader, Level, Param, Params, Reading, Rules
from signals.btc_liq._chart import BtcLiqChart, CascadeChart, cascade_chart, chart_range, chart_resolution
from signals.btc_liq._demo import demo
from signals.btc_liq._grade import ladder, reading_level
from signals.btc_liq._history import coverage_report, history_of, latest_reading, stream_readings
from signals.btc_liq._live import LiveCascade
from signals.btc_liq._present import present
from signals.btc_liq._reading import step, warm_tracker
from signals.btc_liq._text import span, usd
from signals.btc_liq._timeline import Episode
from signals.btc_liq._vocab import LIVE_STALE_S, WARMUP_S
from signals.presentation import AlertText, Stamp
from storage import liq_reads
from storage.alerts import AlertEvent
from storage.observations import Inputs
from storage.timeutil import to_epoch


def _param(name: str, default: float, lo: float, hi: float, text: str, **kw: Any) -> Param:
    return Param(name, default, lo, hi, text, **kw)


class BtcLiq:
    id = "btc_liq"
    title = "BTC liquidations"
    description = (
        "BTC futures liquidations (USD, long vs short) from Bybit, Binance and OKX (or a Coinglass import): "
        "one alert per cascade that grows in place"
    )
    inputs = ("liq.btc.%", "btc.usd.close.%")
    keys: ClassVar[dict[str, str]] = {"cascade": "liquidation cascade (all venues)"}
    alert_chart_days = 2
    lookback = timedelta(days=400)
    params = (
        _param(
            "k_watch", 3, 1.5, 50, "multiple of a window's rolling median for a watch heads-up", guild=True
        ),
        _param(
            "k_alert",
            5,
            2,
            100,
            "multiple of a window's rolling median that an alert needs, with a top-N rank of its year",
            guild=True,
        ),
        _param(
            "k_severe",
            10,
            2,
            200,
            "multiple of a window's median (at least its floor) that alerts while it has too little history to rank",
            guild=True,
        ),
        _param(
            "watch_days",
            30,
            1,
            365,
            "a heads-up (watch) needs the window to be the largest of at least this many days",
            integer=True,
            unit="days",
        ),
        _param(
            "top_n",
            5,
            1,
            50,
            "a window in the top N of its trailing 365 days (by total, or by multiple of its median) is an alert",
            integer=True,
            guild=True,
        ),
        _param(
            "floor_5m",
            2,
            0.01,
            100000,
            "USD (all venues) below which a 5-minute window is noise, whatever its rank",
            unit="M USD",
            guild=True,
        ),
        _param(
            "floor_1h",
            5,
            0.01,
            100000,
            "USD (all venues) below which a 1-hour window is noise",
            unit="M USD",
            guild=True,
        ),
        _param(
            "floor_4h",
            10,
            0.01,
            100000,
            "USD (all venues) below which a 4-hour window is noise",
            unit="M USD",
            guild=True,
        ),
        _param(
            "floor_24h",
            25,
            0.01,
            100000,
            "USD (all venues) below which a 24-hour window is noise",
            unit="M USD",
            guild=True,
        ),
        _param(
            "import_coverage",
            0.35,
            0.01,
            1,
            "share of the all-venue total an import of fewer venues carries (the Binance-only Coinglass history)",
        ),
        _param(
            "baseline_days",
            28,
            7,
            365,
            "days of history in each window's rolling median",
            integer=True,
            unit="days",
        ),
        _param(
            "record_days",
            180,
            30,
            365,
            "with less than a year of history, the largest of at least this many days is severe",
            integer=True,
            unit="days",
        ),
        _param(
            "exit_ratio",
            0.6,
            0.1,
            0.95,
            "a cascade ends when liquidations run below exit_ratio x k_watch x the normal rate",
        ),
        _param(
            "quiet_minutes",
            15,
            1,
            1440,
            "minutes at that calmer rate that end a cascade (at least one bucket)",
            integer=True,
            unit="minutes",
        ),
        _param(
            "cooldown_hours",
            1,
            0,
            72,
            "hours after a cascade resolves before a new one can fire",
            unit="hours",
        ),
    )

    def inputs_loader(self) -> InputLoader:
        """Read by range through the roll-ups, not by loading ``inputs`` over the lookback."""
        return liq_reads.load_inputs

    def validate(self, params: Params) -> list[str]:
        p = params
        if not p["k_watch"] < p["k_alert"] < p["k_severe"]:
            return [
                f"multiples must rise: k_watch ({p['k_watch']:g}) < k_alert ({p['k_alert']:g}) "
                f"< k_severe ({p['k_severe']:g})"
            ]
        return []

    def rules(self, params: Params) -> Rules:
        return Rules(
            cooldown_s=int(params["cooldown_hours"] * 3600),
            update_growth=1.5,
            value_format="{:,.1f}",  # readings carry unit "M USD"
            describe_peak=lambda key, value: usd(value * 1e6),
        )

    def grade(self, key: str, value: float, figures: Mapping[str, Any], params: Params) -> Level:
        """The level the reading's window figures give under ``params`` (multiples of each
        window's median, its rank in the trailing year, the floors): a guild's ``/thresholds
        set top_n 2`` or ``floor_1h 75`` regrades a cascade by its own rule. An event recorded
        without window figures falls back to its total against the 1-hour floor × the multiples."""
        lvl = reading_level(figures, params)
        if lvl is not None:
            return lvl
        f = params["floor_1h"]
        k = (params["k_watch"], params["k_alert"], params["k_severe"])
        return ladder(value, [f * k[0] / k[1], f, f * k[2] / k[1]])

    # -- evaluation ------------------------------------------------------------------

    def history(self, inputs: Inputs, params: Params) -> list[Reading]:
        return list(self.stream(inputs, params))

    def stream(
        self, inputs: Inputs, params: Params, start: datetime | None = None, end: datetime | None = None
    ) -> Iterator[Reading]:
        """Every reading in time order, from the warm-up before ``start`` (or the first data)
        to ``end``, made a chunk of days at a time: a replay holds a week of minutes, not the
        history (the readings before ``start`` seed the engine's streaks)."""
        h = history_of(inputs, params)
        yield from stream_readings(h, params, start, end, self.id)

    def latest(self, inputs: Inputs, params: Params, now: datetime) -> list[Reading]:
        h = history_of(inputs, params)
        r = latest_reading(h, params, to_epoch(now), self.id)
        return [r] if r is not None else []

    def readings_since(
        self, inputs: Inputs, params: Params, after: datetime | None, now: datetime, warmup: int = 30
    ) -> list[Reading]:
        """Live catch-up from the tail only: the tracker warmed up over the two days before
        ``after`` (as :meth:`latest` and the stream service do), then stepped to ``now``."""
        h = history_of(inputs, params)
        t_now = to_epoch(now)
        last = h.last_end(t_now + 1)
        if last is None:
            return []
        t_after = to_epoch(after) if after is not None else None
        a = (t_after if t_after is not None else min(last, t_now)) - WARMUP_S - 86400
        tl = h.timeline(a, t_now + 1)
        ends = tl.end[tl.end <= t_now]
        tail = ends[ends > t_after] if t_after is not None else ends[-warmup:]
        if not len(tail):
            return []
        first = int(tail[0])
        hists = h.histories(params, first - WARMUP_S, int(tail[-1]))
        tracker, _ = warm_tracker(params, tl, hists, ends[ends < first], first - 1)
        tracker.signal = self.id
        return [step(tracker, int(t), tl, hists) for t in tail.tolist()]

    def stale_reason(self, reading: Reading, now: datetime) -> str | None:
        """Live buckets are written every minute a stream is up, quiet or not: judge by those."""
        if not reading.data.get("live"):
            return None
        age = to_epoch(now) - int(reading.data.get("last_data", to_epoch(reading.ts)))
        if age > LIVE_STALE_S:
            return f"no live liquidation buckets for {span(age)} (are the venue streams connected?)"
        return None

    # -- presentation -----------------------------------------------------------------

    def chart(
        self,
        inputs: Inputs,
        params: Params,
        end: datetime,
        days: int,
        marks: Iterable[tuple[datetime, str, str]] = (),
        *,
        episodes: Sequence[Episode] | None = None,
    ) -> BtcLiqChart:
        h = history_of(inputs, params)
        end_s = to_epoch(end)
        last = h.last_end(end_s)
        if last is None:
            return BtcLiqChart(signal=self.id, title="BTC liquidations")
        x_end = min(end_s, last)
        first = h.first_start()
        x_start = x_end - int(days * 86400)
        if first is not None:
            x_start = max(x_start, first)  # the range there is data for: its bars, its resolution
        # the range asked for, never more: two days of 4-hour buckets are 12 bars (it was widened
        # to 60 buckets, so `--days 2` drew ten days of them)
        tl = h.timeline(x_start, x_end, chart_resolution(x_end - x_start))
        return chart_range(h, tl, params, x_start, x_end, marks, self.id, episodes=episodes)

    def alert_chart(self, inputs: Inputs, params: Params, alert: Mapping[str, Any]) -> CascadeChart:
        """The chart of one cascade alert (``alert``: its ``ts``, ``event``, ``level``, ``value``
        and ``data``): from a little before the cascade started to the alert, the cumulative USD
        liquidated, longs and shorts, with the headline figure on it, and the BTC move."""
        return cascade_chart(history_of(inputs, params), alert, self.id)

    def coverage_report(self, inputs: Inputs, params: Params) -> str | None:
        """Where live buckets overlap an import: the import's measured share of the live total
        next to the ``import_coverage`` in use (``flowwatch check``)."""
        return coverage_report(history_of(inputs, params), params)

    # -- demo -------------------------------------------------------------------------

    def live_model(self, params: Params) -> LiveCascade:
        """The model the stream service runs as frames arrive (:mod:`signals.btc_liq._live`)."""
        return LiveCascade(params)

    def present(self, ev: AlertEvent, stamp: Stamp) -> AlertText | None:
        """The message of one of its alerts (:mod:`signals.presentation`)."""
        return present(ev, stamp)

    def demo(self, start: datetime) -> Demo:
        return demo(start)


SIGNAL = BtcLiq()
