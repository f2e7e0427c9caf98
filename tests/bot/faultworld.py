"""A simulated provider world for the fault table: every HTTP source's hosts, answering in their
real formats (built from the recorded fixtures) at the simulated clock's time, and the faults.

:class:`World` is the ``httpx.MockTransport`` handler. Each host has a route that builds the body
its provider would send *now* (``World.data_now``: the clock, or the moment the provider froze for
the stale-data rows), optionally with every value made bad (``values``: ``nan``, ``negative``,
``future``). A :class:`Fault` replaces the answer: a connect or read timeout, a status, an HTML
page, a body cut in the middle, an empty body. ``World.sleep`` is the sources' injected sleep: it
records the backoff and returns at once.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx

from bot.clock import SimClock
from signals import tradingcal
from storage.timeutil import NEW_YORK
from tests.conftest import DATA, FIXTURES

Route = Callable[[httpx.Request, "World", str | None], httpx.Response]
FUTURE = timedelta(days=400)  # every row lands after "now", the oldest too


@dataclass(frozen=True)
class Fault:
    """One fault: ``name`` (the table's column), ``words`` (one of them must be in the log line
    and the health record), ``respond`` (the answer instead of the route's, for transport faults)
    or ``values`` (the route's answer with every value made bad)."""

    name: str
    words: tuple[str, ...]
    respond: Callable[[httpx.Request, World, Route], httpx.Response] | None = None
    values: str | None = None


def _raise(exc: type[httpx.TransportError]) -> Callable[[httpx.Request, World, Route], httpx.Response]:
    def respond(request: httpx.Request, world: World, route: Route) -> httpx.Response:
        raise exc("simulated", request=request)

    return respond


def _unresolved(request: httpx.Request, world: World, route: Route) -> httpx.Response:
    """No network: the host's name does not resolve (what httpx raises, a gaierror as its cause)."""
    try:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    except socket.gaierror as cause:
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request) from cause


def _status(
    code: int, headers: dict[str, str] | None = None, text: str = ""
) -> Callable[..., httpx.Response]:
    def respond(request: httpx.Request, world: World, route: Route) -> httpx.Response:
        return httpx.Response(code, headers=headers, text=text)

    return respond


def _cut(request: httpx.Request, world: World, route: Route) -> httpx.Response:
    good = route(request, world, None)
    text = good.text
    return httpx.Response(200, text=text[: max(1, len(text) * 3 // 5)], headers=good.headers)


HTML = "<!DOCTYPE html><html><head><title>Maintenance</title></head><body>We'll be right back.</body></html>"

FAULTS: dict[str, Fault] = {
    f.name: f
    for f in [
        Fault("connect_timeout", ("ConnectTimeout",), _raise(httpx.ConnectTimeout)),
        Fault("read_timeout", ("ReadTimeout",), _raise(httpx.ReadTimeout)),
        Fault("unresolved", ("did not resolve",), _unresolved),
        Fault("http_503", ("HTTP 503",), _status(503, text="upstream unavailable")),
        Fault("http_429_retry_after", ("HTTP 429",), _status(429, {"Retry-After": "7"})),
        Fault("http_429", ("HTTP 429",), _status(429)),
        Fault("http_429_wait_an_hour", ("HTTP 429",), _status(429, {"Retry-After": "3600"})),
        Fault("html_200", ("HTML",), _status(200, {"Content-Type": "text/html"}, HTML)),
        Fault("truncated", ("cut off", "malformed JSON"), _cut),
        Fault("empty", ("empty body",), _status(200, text="")),
        Fault("nan", ("not a number", "NaN"), values="nan"),
        Fault("negative", ("non-positive", "negative", "outside [0, 1]"), values="negative"),
        Fault("future", ("future",), values="future"),
    ]
}


@dataclass
class World:
    clock: SimClock
    routes: dict[str, Route] = field(default_factory=dict)
    fault: Fault | None = None
    #: the hosts the fault hits (None: every host)
    fault_hosts: set[str] | None = None
    frozen_at: datetime | None = None
    requests: list[httpx.Request] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    @property
    def data_now(self) -> datetime:
        """The provider's own "now": the clock, or when it froze (stale data)."""
        return self.frozen_at or self.clock.now()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = self.routes.get(request.url.host)
        if route is None:
            return httpx.Response(404, text=f"no such host in the simulated world: {request.url.host}")
        fault = self.fault
        if fault is not None and self.fault_hosts is not None and request.url.host not in self.fault_hosts:
            fault = None
        if fault is not None and fault.respond is not None:
            return fault.respond(request, self, route)
        return route(request, self, fault.values if fault else None)

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)


# -- value corruption --------------------------------------------------------------------------


def bad_number(x: float, values: str | None) -> float:
    if values == "nan":
        return math.nan
    if values == "negative":
        return -abs(x) or -1.0
    return x


def bad_text_number(text: str, values: str | None) -> str:
    if values == "nan":
        return "NaN"
    if values == "negative":
        return "-" + text.lstrip("-")
    return text


def _fixture(rel: str) -> str:
    return (FIXTURES / rel).read_text(encoding="utf-8")


# -- Cboe and FRED: daily closes ---------------------------------------------------------------

CBOE_SYMBOLS = ("VIX", "VIX9D", "VIX3M", "VIX6M")


def published_sessions(first: date, now: datetime) -> list[date]:
    """Sessions whose close (16:15 ET) is at least 45 minutes before ``now``."""
    local = now.astimezone(NEW_YORK)
    out = []
    for d in tradingcal.sessions_between(first, local.date()):
        close = datetime.combine(d, datetime.min.time(), tzinfo=NEW_YORK) + timedelta(hours=17)
        if close <= local:
            out.append(d)
    return out


def cboe_rows(symbol: str, now: datetime) -> list[tuple[date, list[str]]]:
    """The recorded history (Apr-May 2026), continued at its last close up to ``now``."""
    lines = _fixture(f"cboe/{symbol}_History.csv").strip().splitlines()[1:]
    rows = []
    for line in lines:
        d, *vals = line.split(",")
        m, dd, y = d.split("/")
        rows.append((date(int(y), int(m), int(dd)), vals))
    last_d, last_v = rows[-1]
    for d in published_sessions(last_d + timedelta(days=1), now):
        rows.append((d, list(last_v)))
    return [(d, v) for d, v in rows if d <= now.astimezone(NEW_YORK).date()]


def cboe_route(request: httpx.Request, world: World, values: str | None) -> httpx.Response:
    symbol = request.url.path.rsplit("/", 1)[-1].removesuffix("_History.csv")
    out = ["DATE,OPEN,HIGH,LOW,CLOSE"]
    for d, vals in cboe_rows(symbol, world.data_now):
        if values == "future":
            d += FUTURE
        out.append(f"{d:%m/%d/%Y}," + ",".join(bad_text_number(v, values) for v in vals))
    return httpx.Response(200, text="\n".join(out) + "\n", headers={"Content-Type": "text/csv"})


FRED_OF = {"VIXCLS": "VIX", "VXVCLS": "VIX3M"}
#: the flow series: the recorded fixture (FRED's format, its units: RRPONTSYD in billions),
#: continued at its last value up to the day FRED would have it
FRED_FLOWS = ("WALCL", "WTREGEN", "RRPONTSYD", "BAMLH0A0HYM2", "DGS10", "DGS2")


def fred_route(request: httpx.Request, world: World, values: str | None) -> httpx.Response:
    fid = request.url.params.get("id", "")
    if fid in FRED_FLOWS:
        return fred_flow_route(fid, world, values)
    out = [f"observation_date,{fid}"]
    if fid == "SP500":
        since = date.fromisoformat(request.url.params.get("cosd", "2000-01-01"))
        for d, close in gspc_rows(world.data_now):
            if d >= since:
                d2 = d + FUTURE if values == "future" else d
                out.append(f"{d2.isoformat()},{bad_text_number(f'{close:.2f}', values)}")
        return httpx.Response(200, text="\n".join(out) + "\n", headers={"Content-Type": "text/csv"})
    for d, vals in cboe_rows(FRED_OF.get(fid, "VIX"), world.data_now):
        if values == "future":
            d += FUTURE
        out.append(f"{d.isoformat()},{bad_text_number(vals[-1], values)}")
    return httpx.Response(200, text="\n".join(out) + "\n", headers={"Content-Type": "text/csv"})


def fred_flow_known(fid: str, now: datetime) -> date:
    """The last date of ``fid`` FRED has at ``now``: the H.4.1 Wednesday once it is out (Thursday
    16:30 ET), reverse repo the same day after 13:30 ET, the spread the next morning (10:00 ET),
    the yields the next weekday at 16:30 ET (holidays aside: the world is a simulation)."""
    local = now.astimezone(NEW_YORK)
    if fid in ("WALCL", "WTREGEN"):
        d = local.date() - timedelta(days=(local.weekday() - 2) % 7)  # the last Wednesday
        if local.date() - d < timedelta(days=1) or (
            local.date() - d == timedelta(days=1) and (local.hour, local.minute) < (16, 30)
        ):
            d -= timedelta(days=7)
        return d
    cut = {"RRPONTSYD": (13, 30, 0), "BAMLH0A0HYM2": (10, 0, 1), "DGS10": (16, 30, 1), "DGS2": (16, 30, 1)}
    hour, minute, lag = cut[fid]
    d = local.date()
    if (local.hour, local.minute) < (hour, minute):
        d -= timedelta(days=1)
    for _ in range(lag):
        d -= timedelta(days=1)
        while d.weekday() >= 5:
            d -= timedelta(days=1)
    while d.weekday() >= 5:
        d -= timedelta(days=1)
    return d


def fred_flow_route(fid: str, world: World, values: str | None) -> httpx.Response:
    if fid == "DGS2":  # no recording of DGS2: DGS10's (illustrative) rows, 35 bp lower
        lines = _fixture("fred/DGS10.csv").strip().splitlines()
        rows = [
            [d, f"{float(v) - 0.35:.2f}" if v.strip() else v] for d, v in (ln.split(",") for ln in lines[1:])
        ]
        header = "observation_date,DGS2"
    else:
        lines = _fixture(f"fred/{fid}.csv").strip().splitlines()
        header, rows = lines[0], [ln.split(",") for ln in lines[1:]]
    known = fred_flow_known(fid, world.data_now)
    last = next(float(v) for _, v in reversed(rows) if v.strip() not in ("", "."))
    d = date.fromisoformat(rows[-1][0])
    step = timedelta(days=7) if fid in ("WALCL", "WTREGEN") else timedelta(days=1)
    d += step
    while d <= known:
        if step.days == 7 or d.weekday() < 5:
            rows.append([d.isoformat(), f"{last:g}"])
        d += step
    out = [header]
    for day, v in rows:
        when = date.fromisoformat(day)
        if when > known:
            continue
        if values == "future":
            when += FUTURE
        out.append(f"{when.isoformat()},{bad_text_number(v, values) if v.strip() else v}")
    return httpx.Response(200, text="\n".join(out) + "\n", headers={"Content-Type": "text/csv"})


# -- Yahoo ^GSPC (and FRED SP500): S&P 500 daily closes ---------------------------------------

#: the first session of the simulated S&P 500 history (four years before the scenarios: enough
#: for the flow signals' ranks)
GSPC_FIRST = date(2022, 1, 3)


def gspc_close(i: int) -> float:
    """The simulated close of the i-th session: a gentle trend with a slow wave."""
    return round(4500.0 * math.exp(0.0003 * i + 0.03 * math.sin(i / 23.0)), 2)


def gspc_rows(now: datetime) -> list[tuple[date, float]]:
    """Every published session's close up to ``now``."""
    return [(d, gspc_close(i)) for i, d in enumerate(published_sessions(GSPC_FIRST, now))]


def gspc_route(request: httpx.Request, world: World, values: str | None) -> httpx.Response:
    """Daily bars as Yahoo sends them: the last month (``range=1mo``) or ``period1``..``period2``;
    stamps at the session's 09:30 ET open, the session in progress included."""
    doc = json.loads(_fixture("yahoo/chart_GSPC_1d.json"))
    res = doc["chart"]["result"][0]
    now = world.data_now
    rows = gspc_rows(now)
    local = now.astimezone(NEW_YORK)
    forming = tradingcal.is_market_open(now) and (not rows or rows[-1][0] < local.date())
    if forming:  # the bar still forming moves with the index
        rows.append((local.date(), gspc_close(len(rows)) + 1.5))
    if "period1" in request.url.params:
        first = datetime.fromtimestamp(int(request.url.params["period1"]), UTC).date()
    else:
        first = local.date() - timedelta(days=31)
    rows = [(d, c) for d, c in rows if d >= first]
    stamps, closes = [], []
    for d, c in rows:
        open_ = datetime.combine(d, datetime.min.time(), tzinfo=NEW_YORK) + timedelta(hours=9, minutes=30)
        stamps.append(int(open_.timestamp()) + (int(FUTURE.total_seconds()) if values == "future" else 0))
        closes.append(bad_number(c, values))
    res["timestamp"] = stamps
    q = res["indicators"]["quote"][0]
    for k in ("open", "high", "low", "close"):
        q[k] = list(closes)
    q["volume"] = [0] * len(closes)
    res["indicators"]["adjclose"] = [{"adjclose": list(closes)}]
    return httpx.Response(
        200, text=json.dumps(doc, separators=(",", ":")), headers={"Content-Type": "application/json"}
    )


# -- Yahoo: 5-minute bars of the session so far -------------------------------------------------

YAHOO_LEVEL = {"^VIX": 16.5, "^VIX3M": 19.25, "^VIX9D": 15.75}


def yahoo_route(request: httpx.Request, world: World, values: str | None) -> httpx.Response:
    symbol = request.url.path.rsplit("/", 1)[-1]
    if symbol == "^GSPC":
        return gspc_route(request, world, values)
    doc = json.loads(_fixture("yahoo/chart_VIX_1d.json"))
    res = doc["chart"]["result"][0]
    now = world.data_now
    local = now.astimezone(NEW_YORK)
    open_ = datetime.combine(local.date(), datetime.min.time(), tzinfo=NEW_YORK) + timedelta(
        hours=9, minutes=30
    )
    stamps, closes = [], []
    t = open_
    while t + timedelta(minutes=5) <= now:
        ts = int(t.timestamp()) + (int(FUTURE.total_seconds()) if values == "future" else 0)
        stamps.append(ts)
        closes.append(bad_number(YAHOO_LEVEL.get(symbol, 16.0) + 0.01 * (len(closes) % 7), values))
        t += timedelta(minutes=5)
    res["meta"]["symbol"] = symbol
    res["meta"]["dataGranularity"] = "5m"
    res["timestamp"] = stamps
    q = res["indicators"]["quote"][0]
    for k in ("open", "high", "low", "close"):
        q[k] = list(closes)
    q["volume"] = [0] * len(closes)
    res["indicators"]["adjclose"] = [{"adjclose": list(closes)}]
    return httpx.Response(
        200, text=json.dumps(doc, separators=(",", ":")), headers={"Content-Type": "application/json"}
    )


# -- Kalshi and Polymarket: the recorded snapshot -----------------------------------------------

_KALSHI_PRICES = ("yes_bid_dollars", "yes_ask_dollars", "last_price_dollars", "previous_price_dollars")


def kalshi_route(request: httpx.Request, world: World, values: str | None) -> httpx.Response:
    doc = json.loads(_fixture("kalshi/events_KXFEDDECISION_nested.json"))
    if values:
        for ev in doc["events"]:
            for m in ev["markets"]:
                for k in _KALSHI_PRICES:
                    m[k] = bad_text_number(m[k], values)
    return httpx.Response(200, text=json.dumps(doc), headers={"Content-Type": "application/json"})


def polymarket_route(request: httpx.Request, world: World, values: str | None) -> httpx.Response:
    events = json.loads(_fixture("polymarket/gamma_events.json"))
    if int(request.url.params.get("offset", "0")) > 0:
        events = []
    if values:
        for ev in events:
            for m in ev.get("markets", []):
                for k in ("bestBid", "bestAsk", "lastTradePrice"):
                    if isinstance(m.get(k), int | float):
                        m[k] = bad_number(float(m[k]), values)
                prices = json.loads(m.get("outcomePrices") or "[]")
                m["outcomePrices"] = json.dumps([bad_text_number(str(p), values) for p in prices])
    return httpx.Response(200, text=json.dumps(events), headers={"Content-Type": "application/json"})


# -- Coinbase candles and Binance klines: BTC-USD minutes ---------------------------------------


def _btc(ts: int) -> float:
    return round(85000.0 + 25.0 * math.sin(ts / 3600.0), 2)


def coinbase_route(request: httpx.Request, world: World, values: str | None) -> httpx.Response:
    params = parse_qs(request.url.query.decode())
    g = int(params["granularity"][0])
    start = int(datetime.fromisoformat(params["start"][0].replace("Z", "+00:00")).timestamp()) // g * g
    end = min(
        int(datetime.fromisoformat(params["end"][0].replace("Z", "+00:00")).timestamp()),
        int(world.data_now.timestamp()),
    )
    rows = []
    for t in range(start, end, g):  # newest first, [time, low, high, open, close, volume]
        c = bad_number(_btc(t), values)
        ts = t + (int(FUTURE.total_seconds()) if values == "future" else 0)
        rows.insert(0, [ts, c, c, c, c, 1.5])
    return httpx.Response(200, text=json.dumps(rows), headers={"Content-Type": "application/json"})


def binance_route(request: httpx.Request, world: World, values: str | None) -> httpx.Response:
    limit = int(request.url.params.get("limit", "500"))
    end = int(world.data_now.timestamp()) // 60 * 60
    rows = []
    for t in range(end - 60 * (limit - 1), end + 60, 60):
        c = str(bad_number(_btc(t), values))
        ts = (t + (int(FUTURE.total_seconds()) if values == "future" else 0)) * 1000
        rows.append([ts, c, c, c, c, "12.5", ts + 59999, "1", 10, "1", "1", "0"])
    return httpx.Response(200, text=json.dumps(rows), headers={"Content-Type": "application/json"})


# -- the earnings calendar and the S&P 500 list --------------------------------------------------


@functools.cache
def sp500_tickers() -> tuple[str, ...]:
    """About 500 real tickers (the earnings history), or made-up ones without the data folder."""
    path = DATA / "sp500_earnings_dates_2015_2025.csv"
    if path.exists():
        with path.open(newline="") as fh:
            names = sorted({row["ticker"] for row in csv.DictReader(fh)})
        if len(names) >= 450:
            return tuple(names[:503])
    return tuple(f"T{i:03d}" for i in range(503))


def sp500_route(request: httpx.Request, world: World, values: str | None) -> httpx.Response:
    head = _fixture("sp500/constituents.csv").splitlines()[0]
    out = io.StringIO()
    out.write(head + "\n")
    w = csv.writer(out, lineterminator="\n")
    for t in sp500_tickers():
        w.writerow(
            [
                t,
                f"{t} Inc.",
                "Industrials",
                "Industrial Machinery",
                "Somewhere, Ohio",
                "2001-01-01",
                "1",
                "1900",
            ]
        )
    return httpx.Response(200, text=out.getvalue(), headers={"Content-Type": "text/csv"})


def nasdaq_route(request: httpx.Request, world: World, values: str | None) -> httpx.Response:
    day = date.fromisoformat(request.url.params["date"])
    doc = json.loads(_fixture("nasdaq/earnings.json"))
    doc["data"]["asOf"] = f"{day:%a, %b} {day.day}, {day.year}"
    first = tradingcal.sessions_between(world.data_now.astimezone(NEW_YORK).date(), day)[:1]
    recorded = doc["data"]["rows"]
    template = recorded[0]
    # the recorded rows on the first day of the scan; every listed member reports on one weekday
    # of the week, so a week's scan covers the whole index list (as a season's calendar does)
    rows = list(recorded) if first == [day] else []
    if day.weekday() < 5:
        known = {r["symbol"] for r in rows}
        for i, t in enumerate(sp500_tickers()):
            if i % 5 == day.weekday() and t not in known:
                rows.append(
                    template
                    | {"symbol": t, "name": f"{t} Inc.", "marketCap": f"${(i + 1) * 1_000_000_000:,}"}
                )
    doc["data"]["rows"] = rows
    return httpx.Response(200, text=json.dumps(doc), headers={"Content-Type": "application/json"})


def alphavantage_route(request: httpx.Request, world: World, values: str | None) -> httpx.Response:
    return httpx.Response(
        200, text=_fixture("alphavantage/earnings_calendar.csv"), headers={"Content-Type": "text/csv"}
    )


ROUTES: dict[str, Route] = {
    "cdn.cboe.com": cboe_route,
    "fred.stlouisfed.org": fred_route,
    "query1.finance.yahoo.com": yahoo_route,
    "external-api.kalshi.com": kalshi_route,
    "gamma-api.polymarket.com": polymarket_route,
    "api.exchange.coinbase.com": coinbase_route,
    "api.binance.com": binance_route,
    "raw.githubusercontent.com": sp500_route,
    "api.nasdaq.com": nasdaq_route,
    "www.alphavantage.co": alphavantage_route,
}


def world_at(start: datetime) -> World:
    return World(SimClock(start.astimezone(UTC)), routes=dict(ROUTES))


def json_body(resp: httpx.Response) -> Any:
    return json.loads(resp.text)
