"""The demo calendar: 120 companies over seven seasons (illustrative)."""

from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta

from signals.base import Demo, Evaluations, LiveRun
from storage import earnings as earnings_repo
from storage.batches import EarningsRows


def demo(start: datetime) -> Demo:
    """Seven seasons of a synthetic earnings calendar (dated, known 180 days ahead). As a live
    run: the calendar is stored ahead, the signal is evaluated on the first evening, then every
    Friday evening (22:05 UTC) for 25 weeks as the blackout window closes, peaks and reopens
    twice (the short run: the first seven weeks)."""
    frontier = int((start + timedelta(days=180)).timestamp())
    rows = EarningsRows(tuple(demo_calendar(start.date())), "demo", now=frontier, dated=True)
    evening, week = timedelta(hours=22, minutes=5), timedelta(days=7)
    friday = start + timedelta(days=4) + evening
    live = LiveRun(
        evaluations=(
            Evaluations(start + evening, start + evening),
            Evaluations(friday, friday + 6 * week, every=week),
            Evaluations(friday + 7 * week, friday + 24 * week, every=week, short=False),
        )
    )
    return Demo(rows=(rows,), live=live)


def demo_calendar(start: date) -> list[earnings_repo.Report]:
    """A synthetic calendar of 120 companies over seven seasons around ``start`` (illustrative).

    Most report two to five weeks into each quarter, a quarter of them late, one in five on
    an off-calendar fiscal year (a month later); half carry their fiscal quarter end. One in
    ten has no date yet for the last season, so the model estimates it.
    """
    rng = random.Random(11)
    companies = []
    for n in range(120):
        off_calendar = n % 5 == 4
        if off_calendar:
            offset = rng.uniform(36, 58)
        elif n % 4 == 0:
            offset = rng.uniform(26, 44)
        else:
            offset = min(max(rng.gauss(15, 6), 1), 30)
        cap = math.exp(rng.uniform(math.log(8e9), math.log(3e12)))
        companies.append((f"DM{n:03d}", offset, off_calendar, "amc" if n % 3 else "bmo", n % 2 == 0, cap))
    out: list[earnings_repo.Report] = []
    year0 = start.year - 1
    quarters = [(y, q) for y in (year0, year0 + 1) for q in (1, 2, 3, 4)][:7]
    for y, q in quarters:
        first_month = date(y, 3 * (q - 1) + 1, 1)
        for ticker, offset, off_calendar, tod, with_fqe, cap in companies:
            if (y, q) == quarters[-1] and int(ticker[2:]) % 10 == 3:
                continue  # not listed yet: estimated from last year's date + 364
            d = first_month + timedelta(days=round(11 + offset + rng.uniform(-2, 2)))
            if d.weekday() >= 5:
                d += timedelta(days=7 - d.weekday())
            if off_calendar:
                fqe = (first_month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
            else:
                fqe = first_month - timedelta(days=1)
            out.append(earnings_repo.Report(ticker, d, tod, fqe if with_fqe else None, round(cap, -6)))
    return out
