"""Crash safety: the real Discord bot through a replay storm, SIGKILLed at random points and restarted.

The fake Discord runs here, in the test process, so it outlives every kill and counts what
landed. The bot runs in a child process (:mod:`tests.bot.storm_harness`) through a storm of
every signal (:mod:`tests.bot.storm_plan`): alerts are produced and delivered while it may die.
Kill points come from the child's own progress lines (a random step and phase, spread over the
whole run) and from the fake itself: right after it stored a message or an edit and before the
answer goes back (sent, not yet marked: the nastiest point).

At the end, against an uninterrupted reference run of the same storm:

* every alert event exists once (the outbox, in order) and every delivery is sent;
* every delivery landed exactly once: per channel the same messages in the same order (a
  resend after a kill is absorbed by its nonce; a quiet-hours digest, a job of its own, may
  come before or after deliveries left pending by a kill), each going through the same states
  (``updated`` events edit the episode's message; an edit repeated after a kill shows the
  same state again and is not a new message), and no message the fake holds that no delivery
  records;
* ``PRAGMA integrity_check`` is ok;
* no observation of a flushed batch is lost: every bucket the child reported committed is in
  the database with the total of the liquidations fed for it, every bucket equals the
  reference run's, and the raw frames kept for an audit are the reference run's, each once.

The default suite kills the small storm four times; ``-m slow`` runs the full storm with 110
kills (README, "Crash safety").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot import guild_config
from signals import registry
from storage import alerts as alert_repo
from storage import batches, subscriptions
from storage import observations as obs_repo
from storage.batches import Batch
from storage.db import open_db
from tests.bot.storm_plan import Storm, build_storm, describe
from tests.fakediscord import (
    DEFAULT_BOT,
    Defaults,
    FakeChannel,
    FakeDiscord,
    FakeGuild,
    FakeMember,
    FakeRole,
    RecordedRequest,
    StoredMessage,
    default_guild,
)
from tests.fakediscord import permissions as perms
from tests.fakediscord.snowflake import fixed_snowflake

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
GUILD = Defaults.GUILD_ID
ALERTS, GENERAL, ADMIN = Defaults.ALERTS_CHANNEL_ID, Defaults.GENERAL_CHANNEL_ID, Defaults.ADMIN_CHANNEL_ID
#: a second guild with quiet hours (22:00-07:00 UTC): its alerts wait and come as one digest
NIGHT_GUILD, NIGHT = fixed_snowflake(2024, 2, 2, 1), fixed_snowflake(2024, 2, 2, 2)
CHANNELS = (ALERTS, GENERAL, ADMIN, NIGHT)
QUIET_DIGEST = "While quiet hours were on"
PHASES = ("start", "evaluated", "drained", "step")
BTC_PHASES = ("start", "evaluated", "fed", "drained", "flushed", "step")
MESSAGE_WRITES = {
    ("POST", "/channels/{channel_id}/messages"),
    ("PATCH", "/channels/{channel_id}/messages/{message_id}"),
}
LINE_TIMEOUT = 120.0  # a run that says nothing this long is stuck


# -- the child processes ----------------------------------------------------------------------


class Zygote:
    """``tests.bot.storm_harness --zygote``: forks one bot run per request (imports paid once)."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.bot.storm_harness", "--zygote"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=env,
        )
        assert self._read() == "ready"

    def _read(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the storm zygote exited ({self.proc.poll()})")
        return line.strip()

    def _ask(self, command: str) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self._read()

    def spawn(self, argv: list[str], log: Path) -> int:
        reply = self._ask("run " + json.dumps({"argv": argv, "log": str(log)}))
        assert reply.startswith("pid "), reply
        return int(reply.split()[1])

    def wait(self, pid: int) -> int:
        """The exit code of run ``pid`` (negative: killed by that signal)."""
        _, who, code = self._ask(f"wait {pid}").split()
        assert int(who) == pid
        return int(code)

    def close(self) -> None:
        assert self.proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def zygote() -> Iterator[Zygote]:
    z = Zygote()
    yield z
    z.close()


def sigkill(pid: int) -> None:
    """SIGKILL ``pid`` and return once it is dead (it can run nothing after this)."""
    fd = os.pidfd_open(pid)
    try:
        signal.pidfd_send_signal(fd, signal.SIGKILL)
        select.select([fd], [], [], 10.0)
    finally:
        os.close(fd)


# -- the storm's world and database -----------------------------------------------------------


def night_guild() -> FakeGuild:
    bot_role = fixed_snowflake(2024, 2, 2, 3)
    return FakeGuild(
        id=NIGHT_GUILD,
        name="Night Desk",
        owner_id=Defaults.ADMIN_USER_ID,
        roles=[
            FakeRole(NIGHT_GUILD, "@everyone", perms.EVERYONE_DEFAULT),
            FakeRole(bot_role, DEFAULT_BOT.username, perms.BOT_DEFAULT, position=1, managed=True),
        ],
        channels=[FakeChannel(NIGHT, "night-alerts")],
        members=[FakeMember(DEFAULT_BOT, [bot_role])],
        system_channel_id=NIGHT,
    )


def storm_fake() -> FakeDiscord:
    return FakeDiscord(guilds=[default_guild(), night_guild()], patch_client=False)


def prepare(path: Path, storm: Storm) -> None:
    """What earlier runs and the guilds' admins left: BTC history, the earnings calendar,
    subscriptions for every signal (#alerts from watch; #general from alert, pinging the Trader
    role on severe; the night guild's channel from watch), #admin as the first guild's admin
    channel (stale-data notices go there) and the night guild's quiet hours."""
    db = open_db(path)
    obs_repo.upsert(db, storm.pre)
    batches.write(db, Batch((), tuple(storm.rows)), live=False)
    with db.atomic():
        for sid in registry():
            subscriptions.subscribe(db, GUILD, ALERTS, sid, "watch")
            subscriptions.subscribe(db, GUILD, GENERAL, sid, "alert", Defaults.TRADER_ROLE_ID)
            subscriptions.subscribe(db, NIGHT_GUILD, NIGHT, sid, "watch")
        guild_config.set_admin_channel(db, GUILD, ADMIN)
        guild_config.set_quiet_hours(db, NIGHT_GUILD, guild_config.QuietHours.parse("22:00", "07:00", "UTC"))
    db.close()


# -- driving runs and killing them ------------------------------------------------------------


@dataclass
class Trigger:
    """``line``: kill when the child reports ``(step, phase)`` (it has run on a little by then).
    ``write``: kill inside the fake at the ``nth`` message write of this run, which the reference
    run says is in ``step``; if the run gets past ``step`` without it, at the end of a step."""

    kind: str
    step: int
    phase: str = ""
    nth: int = 0


@dataclass
class Run:
    flushed: list[tuple[str, int, float]] = field(default_factory=list)
    writes_at: dict[int, int] = field(default_factory=dict)  # step -> message writes during it
    kills: list[str] = field(default_factory=list)  # where each kill landed
    runs: int = 0
    seconds: float = 0.0
    startup: float = 0.0  # seconds from a spawn to the run's 'resume' line, summed


class StormDriver:
    """Runs the storm to the end against ``fake``, killing it ``kills`` times on the way."""

    def __init__(self, zygote: Zygote, storm: Storm, db: Path, fake: FakeDiscord, log: Path) -> None:
        self.zygote = zygote
        self.storm = storm
        self.db = db
        self.fake = fake
        self.log = log
        self.lines: asyncio.Queue[str | None] = asyncio.Queue()
        self.pid: int | None = None
        self.trigger: Trigger | None = None
        self.writes = 0  # message writes of the current run
        self.run = Run()
        fake.response_hooks.append(self._on_response)

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[int]:
        server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        try:
            yield int(server.sockets[0].getsockname()[1])
        finally:
            server.close()
            await server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                raw = await reader.readline()
                if not raw.endswith(b"\n"):
                    break  # EOF (a line cut by a kill is not a line)
                self.lines.put_nowait(raw.decode().rstrip("\n"))
        finally:
            writer.close()
            self.lines.put_nowait(None)

    def _on_response(self, rec: RecordedRequest) -> None:
        if (rec.method, rec.route) not in MESSAGE_WRITES or not 200 <= (rec.status or 0) < 300:
            return
        self.writes += 1
        t = self.trigger
        if t is not None and t.kind == "write" and self.writes >= t.nth:
            self._kill(f"step {t.step}: in the fake, {rec.method} {rec.route} answered {rec.status}")

    def _kill(self, where: str) -> None:
        pid, t, self.pid, self.trigger = self.pid, self.trigger, None, None
        if pid is not None:
            sigkill(pid)
            self.run.kills.append(f"{where} [{t}]")

    def _choose(self, rng: random.Random, first: int, left: int, ref: Run | None) -> Trigger:
        """A kill point after ``first``: spread so that ``left`` kills cover the rest of the run."""
        n = len(self.storm.steps)
        span = max(1, 2 * (n - first) // (left + 1))
        r = rng.random()
        if r < 0.06 or first >= n:
            return Trigger("line", first, "resume")
        s = min(n - 1, first + rng.randrange(span))
        if r < 0.55 and ref is not None:  # the next step with deliveries, if not too far
            for j in range(s, min(n, s + 3 * span)):
                if ref.writes_at.get(j):
                    # (counted from what this run wrote at start-up: the resends of pending ones)
                    before = self.writes + sum(ref.writes_at.get(k, 0) for k in range(first, j))
                    return Trigger("write", j, nth=before + rng.randint(1, ref.writes_at[j]))
        phases = BTC_PHASES if self.storm.steps[s].window is not None else PHASES
        return Trigger("line", s, rng.choice(phases))

    def _on_line(self, i: int, phase: str) -> None:
        t = self.trigger
        if t is None:
            return
        if t.kind == "write":
            if i >= t.step and phase == "step":  # its writes are all done by now
                self._kill(f"step {i}: at its end ({self.writes} of {t.nth} writes came)")
        elif (i, phase) == (t.step, t.phase) or i > t.step:
            self._kill(f"step {i}: after '{phase}'")

    def tail(self) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return text[-6000:]

    async def go(self, kills: int, rng: random.Random, ref: Run | None) -> Run:
        run = self.run
        t0 = time.perf_counter()
        async with self.serving() as port:
            argv = [
                "--db",
                str(self.db),
                "--api",
                self.fake.api_base,
                "--gateway",
                self.fake.gateway_url,
                "--token",
                self.fake.token,
                "--progress",
                str(port),
                "--size",
                self.storm.size,
            ]
            while True:
                self.trigger, self.writes = None, 0
                spawned = time.perf_counter()
                pid = await asyncio.to_thread(self.zygote.spawn, argv, self.log)
                self.pid = pid
                run.runs += 1
                kills_before, finished, last_step, sent = len(run.kills), False, -1, 0
                while True:
                    try:
                        line = await asyncio.wait_for(self.lines.get(), timeout=LINE_TIMEOUT)
                    except TimeoutError as exc:
                        self._kill("stuck")
                        raise AssertionError(
                            f"run {run.runs} said nothing for {LINE_TIMEOUT} s\n{self.tail()}"
                        ) from exc
                    if line is None:
                        break
                    head, _, rest = line.partition(" ")
                    if head == "finished":
                        finished = True
                    elif head == "resume":
                        run.startup += time.perf_counter() - spawned
                        if len(run.kills) < kills and self.pid is not None:
                            self.trigger = self._choose(rng, int(rest), kills - len(run.kills), ref)
                            if self.trigger.phase == "resume":
                                self._kill(f"step {rest}: right after start-up (pending deliveries)")
                    else:
                        i = int(head)
                        phase, _, detail = rest.partition(" ")
                        if phase == "flushed":
                            run.flushed += [(s, t, v) for s, t, v in json.loads(detail)]
                        elif phase == "drained":  # detail: deliveries this run has sent so far
                            run.writes_at[i] = int(detail) - sent
                            sent = int(detail)
                        elif phase == "step":
                            last_step = i
                        self._on_line(i, phase)
                code = await asyncio.to_thread(self.zygote.wait, pid)
                if code == -signal.SIGKILL and len(run.kills) == kills_before + 1:
                    continue
                assert code == 0 and finished, (
                    f"run {run.runs} exited {code} after step {last_step}\n{self.tail()}"
                )
                assert len(run.kills) == kills_before
                break
        run.seconds = time.perf_counter() - t0
        return run


# -- what the runs left -----------------------------------------------------------------------


@dataclass
class Outcome:
    alerts: list[tuple[Any, ...]]
    deliveries: list[tuple[int, str, str, Any]]  # alert #, destination, status, (channel, message states)
    liq: dict[tuple[str, int], float]
    frames: list[str]  # the raw frames kept for an audit (liq_raw)
    channels: dict[int, list[list[tuple[str, str | None, str | None]]]]
    nonce_duplicates: int
    edits: int
    orphans: list[Any]  # messages no delivery records (a second copy of one): none


def versions(m: StoredMessage) -> list[tuple[str, str | None, str | None]]:
    """The states a message went through (content, embed title, description), repeats merged."""
    out: list[tuple[str, str | None, str | None]] = []
    for snap in [e.before for e in m.edits] + [m.snapshot()]:
        embed = snap["embeds"][0] if snap["embeds"] else {}
        v = (snap["content"], embed.get("title"), embed.get("description"))
        if not out or out[-1] != v:
            out.append(v)
    return out


def outcome(db_path: Path, fake: FakeDiscord) -> Outcome:
    db = open_db(db_path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = alert_repo.list_alerts(db, "live", kind=None)
        order = {a.id: n for n, a in enumerate(stored)}
        alerts = [
            (a.kind, a.signal, a.key, a.event, a.ts, a.level, None if a.value is None else round(a.value, 6))
            for a in stored
        ]
        rows = db.execute(
            "SELECT alert_id, destination, status, external_id FROM deliveries ORDER BY alert_id, destination"
        ).fetchall()
        liq = {
            (s, t): v
            for s, t, v in db.execute(
                "SELECT series, ts, value FROM observations WHERE series LIKE 'liq.btc.%'"
            )
        }
        frames = sorted(f for (batch,) in db.execute("SELECT frames FROM liq_raw") for f in batch.split("\n"))
    finally:
        db.close()
    channels = {cid: fake.messages(cid) for cid in CHANNELS}
    landed = {m.id: (cid, tuple(versions(m))) for cid, msgs in channels.items() for m in msgs}
    deliveries = []
    for alert_id, dest, status, external in rows:
        where = landed.get(int(external)) if external else None
        deliveries.append((order[alert_id], dest, status, where))
    every = fake.messages()
    assert {m.channel_id for m in every} <= set(channels), "a message outside the subscribed channels"
    recorded = {int(external) for *_, external in rows if external}
    orphans = [(m.channel_id, versions(m)[0]) for m in every if m.id not in recorded]
    return Outcome(
        alerts,
        deliveries,
        liq,
        frames,
        {cid: [versions(m) for m in msgs] for cid, msgs in channels.items()},
        sum(m.nonce_duplicates for m in every),
        sum(len(m.edits) for m in every),
        orphans,
    )


def undigested(channels: dict[int, list[Any]]) -> dict[int, list[Any]]:
    return {
        c: [m for m in msgs if not (m[0][1] or "").startswith(QUIET_DIGEST)] for c, msgs in channels.items()
    }


def channel_diff(expected: dict[int, list[Any]], got: dict[int, list[Any]]) -> str:
    """Where the messages of a channel first differ from the uninterrupted run's."""
    out = []
    for cid, want in expected.items():
        have = got.get(cid, [])
        if have == want:
            continue
        n = next(
            (k for k, (a, b) in enumerate(zip(want, have, strict=False)) if a != b), min(len(want), len(have))
        )
        out.append(
            f"channel {cid}: {len(want)} messages expected, {len(have)} found; first difference at #{n}:\n"
            f"  expected {want[n] if n < len(want) else None}\n  found    {have[n] if n < len(have) else None}"
        )
    return "\n".join(out)


def dump_reference(expected: Outcome) -> None:
    """With ``STORM_DUMP=FILE``: the uninterrupted run's events, messages, deliveries and
    buckets as JSON. A storm compares a killed run with a reference run of the same code; two dumps
    compare the reference runs of two commits (a change that must not change behaviour)."""
    path = os.environ.get("STORM_DUMP")
    if not path:
        return
    blob = {
        "alerts": expected.alerts,
        "channels": {str(c): msgs for c, msgs in expected.channels.items()},
        "deliveries": expected.deliveries,
        "liq": sorted([s, t, v] for (s, t), v in expected.liq.items()),
        "frames": len(expected.frames),
        "edits": expected.edits,
    }
    Path(path).write_text(json.dumps(blob, indent=1, sort_keys=True, default=str) + "\n", encoding="utf-8")


# -- the tests --------------------------------------------------------------------------------


async def storm_with_kills(zygote: Zygote, tmp_path: Path, size: str, kills: int, seed: int) -> None:
    storm = build_storm(size)
    base = tmp_path / "base.db"
    prepare(base, storm)
    rng = random.Random(seed)

    ref_db = tmp_path / "ref.db"
    shutil.copy(base, ref_db)
    async with storm_fake() as ref_fake:
        ref = await StormDriver(zygote, storm, ref_db, ref_fake, tmp_path / "ref.log").go(0, rng, None)
        expected = outcome(ref_db, ref_fake)
    dump_reference(expected)

    db = tmp_path / "storm.db"
    shutil.copy(base, db)
    async with storm_fake() as fake:
        got = await StormDriver(zygote, storm, db, fake, tmp_path / "storm.log").go(kills, rng, ref)
        result = outcome(db, fake)

    print(
        f"\nstorm {size}: {describe(storm)}\n"
        f"reference: {ref.seconds:.1f} s, {len(expected.alerts)} events, "
        f"{sum(len(v) for v in expected.channels.values())} messages, {expected.edits} edits\n"
        f"killed {len(got.kills)} times in {got.seconds:.1f} s ({got.runs} runs, {got.startup:.1f} s of start-ups); "
        f"{result.nonce_duplicates} resends absorbed by their nonce, {result.edits} edits"
    )
    per_signal = Counter(f"{a[0]} {a[1]}" for a in expected.alerts)
    print("  events:", ", ".join(f"{k} {n}" for k, n in sorted(per_signal.items())))
    for k in got.kills:
        print("  kill:", k)

    assert len(got.kills) == kills
    # the storm is one: every signal alerted and resolved, notices, deliveries to every channel,
    # cascades that grew in place, a quiet-hours digest
    lifecycle = {sid: {a[3] for a in expected.alerts if a[:2] == ("alert", sid)} for sid in registry()}
    assert all("fired" in evs for evs in lifecycle.values()), lifecycle
    assert sum("resolved" in evs for evs in lifecycle.values()) >= (4 if size == "full" else 3), lifecycle
    notices = {a[1:4] for a in expected.alerts if a[0] == "notice"}  # the late close: one per signal
    assert {("vix_term", "stale:data", "fired"), ("vix_term", "stale:data", "resolved")} <= notices, notices
    assert all(expected.channels.values()) and expected.edits > 0
    assert any((v[0][1] or "").startswith(QUIET_DIGEST) for v in expected.channels[NIGHT])
    assert any(k.startswith("step") and "in the fake" in k for k in got.kills) or kills < 2
    # a kill right after the fake stored a new message leaves its delivery pending: the restart
    # sends it again and the nonce absorbs it (each such kill is at least one absorbed resend)
    assert result.nonce_duplicates >= sum("in the fake, POST" in k for k in got.kills)

    # every alert event exists once, every delivery sent, every message the fake holds is
    # recorded by a delivery (a second copy of a delivery would be a message nothing records)
    assert result.alerts == expected.alerts
    assert expected.orphans == [] and result.orphans == [], result.orphans
    assert {d[2] for d in result.deliveries} == {"sent"}
    # every delivery landed once: the same messages, states and message of each delivery
    # (a quiet-hours digest is a job of its own: after a restart it may go out before or after
    # the deliveries that were pending, so only the deliveries' own order is compared)
    assert {c: sorted(m) for c, m in result.channels.items()} == {
        c: sorted(m) for c, m in expected.channels.items()
    }, channel_diff(expected.channels, result.channels)
    assert undigested(result.channels) == undigested(expected.channels), channel_diff(
        undigested(expected.channels), undigested(result.channels)
    )
    assert result.deliveries == expected.deliveries
    # no observation of a flushed batch lost
    assert got.flushed and ref.flushed
    for series, ts, value in got.flushed:
        final = result.liq.get((series, ts))
        assert final is not None, f"{series} at {ts} was flushed and is gone"
        assert value <= final + 0.01
        if ".gap_s." not in series:
            assert final == pytest.approx(storm.buckets.get((series, ts), 0.0), abs=0.02), (series, ts)
    assert set(result.liq) == set(expected.liq)
    assert all(result.liq[k] == pytest.approx(v, abs=0.02) for k, v in expected.liq.items())
    for (series, ts), fed in storm.buckets.items():
        assert result.liq.get((series, ts)) == pytest.approx(fed, abs=0.02), (series, ts)
    # and the raw frames of every committed batch, each once
    assert len(set(result.frames)) == len(result.frames)
    assert result.frames == expected.frames, f"{len(expected.frames) - len(result.frames)} raw frames lost"


async def test_storm_killed_a_few_times(zygote: Zygote, tmp_path: Path) -> None:
    await storm_with_kills(zygote, tmp_path, "small", kills=4, seed=7)


@pytest.mark.slow
async def test_storm_killed_over_a_hundred_times(zygote: Zygote, tmp_path: Path) -> None:
    await storm_with_kills(zygote, tmp_path, "full", kills=110, seed=2026)
