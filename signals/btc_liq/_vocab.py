"""The vocabulary of ``btc_liq``: buckets, windows, coverage, runs, and the rule of the levels.

Everything in the package is in memory and deterministic; the same code drives live evaluation
(the stream service feeds a :class:`~signals.btc_liq._livebook.LiveBook`), replay and tests (a
:class:`~signals.btc_liq._timeline.Timeline` of stored buckets). Stored history is read through
a :class:`~signals.btc_liq._history.History`: ``MemoryHistory`` over every bucket of an
:class:`~storage.observations.Inputs` frame (tests, small data), or
:class:`signals.btc_liq._stored.StoredHistory`, which reads only the range it is asked for (the
1-minute rows of the last days, the roll-ups for baselines and ranks).

Vocabulary:

- A **bucket** is USD liquidated per venue and side over ``[start, start + length)``:
  1-minute buckets from the live venues (Bybit, Binance, OKX), their 5-minute, hourly and
  daily roll-ups, 1h/4h/1d buckets from an imported aggregate (Coinglass). Columns:
  ``COLUMNS`` × (long, short).
- A **timeline** is the de-duplicated sequence of buckets: live venues where they cover a
  bucket of an import, the import only where they do not; among resolutions, the finer one
  where it covers (so an imported aggregate and live venues never count the same bucket).
- **Coverage**: the share of the all-venue total a bucket's data carries. Live buckets count
  as 1; an import that does not list all three live venues (the Binance-only Coinglass
  history) counts as ``import_coverage``. Levels compare *normalised* totals (USD / coverage):
  a rank or a median never mixes a one-venue import with three live venues, and the USD
  floors apply to the data in all-venue terms. Messages report the USD as measured.
- A **window** (5 m, 1 h, 4 h, 24 h) is the total over ``[t - W, t)``; windows shorter than the
  bucket at ``t`` are skipped. Its **baseline** is the rolling median of that window's
  aligned, non-overlapping period totals over the past ``baseline_days``; its **rank** is its
  place among those periods over the trailing ``RANK_DAYS`` (365), by total and (windows of an
  hour or more) by multiple of the baseline.
- A **run** (a cascade) starts when a window reaches a level, grows while liquidations keep
  coming faster than normal, and ends when the last ``quiet_minutes`` ran below
  ``exit_ratio × k_watch ×`` the normal rate. Its total is everything liquidated from the
  triggering window's start to its end. After a run, windows count only buckets after its end
  (the *fence*), so the same liquidations never start a second cascade.

The level of a window (:meth:`Tracker._judge`), all in normalised USD:

- below the window's floor (``floor_<w>``): ``ok`` — the floor only guards against noise in a
  thin, quiet series;
- under ``k_watch`` × its median: ``ok``; at or above it and the largest of at least
  ``watch_days`` (a heads-up is news, not every 3× of a quiet median): ``watch``;
- the largest period total of the trailing 365 days (or, with less history, of the stored
  history once it spans ``record_days``): ``severe``;
- at or above ``k_alert`` × its median and in the top ``top_n`` of the trailing 365 days, by
  total or (windows of an hour or more) by multiple: ``alert``. With ``H`` < 365 days of
  history the rank ``r`` among them stands for ``1 + (r - 1) × 365 / H`` in a year;
- with too little history to rank (under ``365 / top_n`` days, or no baseline yet), an alert
  needs ``k_severe`` × the larger of its median and its floor.
"""

from __future__ import annotations

import numpy as np

from storage.series import LIQ_BUCKET_NAMES, LIQ_BUCKETS, LIQ_COLUMNS, LIQ_IMPORTS, LIQ_NAMES, LIQ_VENUES

VENUES = LIQ_VENUES


IMPORTS = LIQ_IMPORTS


COLUMNS = LIQ_COLUMNS


NCOL = 2 * len(COLUMNS)


VENUE_INDEX = {v: i for i, v in enumerate(COLUMNS)}


NAMES = LIQ_NAMES


BUCKETS = LIQ_BUCKETS


BUCKET_NAMES = LIQ_BUCKET_NAMES


WINDOWS: tuple[tuple[str, int], ...] = (("5m", 300), ("1h", 3600), ("4h", 14400), ("24h", 86400))


LONG, SHORT = 0, 1


LONG_COLS = np.arange(0, NCOL, 2)


SHORT_COLS = np.arange(1, NCOL, 2)


#: a coarser bucket gives way to finer data covering at least this share of it
COVER_SHARE = 0.8


#: the cascade state is rebuilt from this much history when evaluating "now"
WARMUP_S = 2 * 86400


#: ranks look this far back (the issue of every rank: "largest of the trailing year")
RANK_DAYS = 365


RANK_S = RANK_DAYS * 86400


#: rank texts name the place ("3rd-largest") up to this rank, then only "largest since"
RANK_TEXT_MAX = 20


#: windows whose multiples of the baseline are ranked too (a 5-minute year is 105,000 periods)
MULTIPLE_RANKED = ("1h", "4h", "24h")


BINANCE_NOTE = "Binance is a lower bound (it publishes at most one liquidation per symbol per second)"


#: live data older than this is stale (the streams write a bucket every minute, quiet or not)
LIVE_STALE_S = 15 * 60


CHART_RESOLUTIONS = (60, 300, 900, 3600, 14400, 86400)


#: at most this many bars: a year is drawn as days, two days as 5 minutes (bars a reader can see)
CHART_MAX_BARS = 800


#: a replay reads 1-minute rows this many days at a time
REPLAY_CHUNK_S = 7 * 86400


#: the tracker's windows and the run totals reach this far back from a chunk's first step
CHUNK_OVERLAP_S = 2 * 86400
