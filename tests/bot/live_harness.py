"""A live ``flowwatch run`` process for crash tests: real App, real SQLite file, real polls.

The Cboe CDN is served by an ``httpx.MockTransport`` that returns the real history files cut
at the simulated date, and the clock moves one trading day per step (to 17:30 ET, after the
close). Console alerts are appended to ``--out``. Progress goes to stderr as ``day N`` so a
test can SIGKILL the process at chosen points and start it again.

    python -m tests.bot.live_harness --db X --out Y --data DIR --from 2020-02-03 --to 2020-04-30
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx

from bot.clock import SimClock
from bot.config import load_settings
from bot.runner import App
from bot.sinks.console import ConsoleSink
from signals import tradingcal
from signals.sources import cboe
from storage import meta
from storage.timeutil import NEW_YORK

FILES = {
    "VIX": "cboe_vix_daily.csv",
    "VIX3M": "cboe_vix3m_daily.csv",
    "VIX9D": "cboe_vix9d_daily.csv",
    "VIX6M": "cboe_vix6m_daily.csv",
}


def indexed(text: str) -> tuple[str, list[tuple[date, str]]]:
    lines = text.splitlines()
    rows = []
    for line in lines[1:]:
        m, d, y = line.split(",", 1)[0].split("/")
        rows.append((date(int(y), int(m), int(d)), line))
    return lines[0], rows


def cut_csv(header: str, rows: list[tuple[date, str]], upto: date) -> str:
    return "\n".join([header, *(line for d, line in rows if d <= upto)]) + "\n"


async def main(args: argparse.Namespace) -> None:
    texts = {sym: indexed((Path(args.data) / f).read_text()) for sym, f in FILES.items()}
    days = tradingcal.sessions_between(date.fromisoformat(args.start), date.fromisoformat(args.end))
    current = {"day": days[0]}

    def handler(request: httpx.Request) -> httpx.Response:
        sym = request.url.path.rsplit("/", 1)[-1].removesuffix("_History.csv")
        return httpx.Response(200, text=cut_csv(*texts[sym], current["day"]))

    settings = load_settings(env={"FLOWWATCH_DB": args.db}, dotenv=None)
    clock = SimClock(datetime(2000, 1, 1, tzinfo=UTC))
    out = open(args.out, "a", encoding="utf-8")  # noqa: SIM115, ASYNC230 - test harness, closed at the end
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    app = App(settings, clock=clock, client=client, sinks=[ConsoleSink(stream=out, fmt="jsonl")])
    await app.start(schedule=False, initial_poll=False)
    done = await app.store.call(meta.get, "harness_day", None)
    poll = next(p for p in cboe.POLLS if p.name == "cboe_daily")
    for i, d in enumerate(days):
        if done is not None and d.isoformat() <= done:
            continue
        current["day"] = d
        clock.set(datetime.combine(d, datetime.min.time(), tzinfo=NEW_YORK) + timedelta(hours=17, minutes=30))
        await app.run_poll(poll)
        await app.dispatcher.drain_once()
        await app.store.call(meta.put, "harness_day", d.isoformat())
        print(f"day {i} {d}", file=sys.stderr, flush=True)
    await app.stop()
    out.close()
    print("finished", file=sys.stderr, flush=True)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--db", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--from", dest="start", required=True)
    p.add_argument("--to", dest="end", required=True)
    asyncio.run(main(p.parse_args()))
