"""One chaos run from start to end: a fresh PostgreSQL database, the receiving servers,
the processes, the stream and the kills, the settling, the checks and the report."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from scripts.bench.database import fresh_database
from scripts.chaos import kills
from scripts.chaos.checks import FINAL, Findings, check
from scripts.chaos.points import Prober
from scripts.chaos.processes import Fleet
from scripts.chaos.stream import Planner, StreamRecord, run_stream, sign_up, staff_log_in
from tests.fixtures.databases import as_asyncpg
from tests.fixtures.services import free_port, service_environment, upgrade_database
from tests.fixtures.sms_provider import RunningSmsProvider, start_sms_provider
from tests.fixtures.smtp_server import RunningSmtp, start_smtp_server
from topup.idempotency.service import IN_FLIGHT_LOCK
from topup.kit.db import create_engine, create_session_factory, unit_of_work
from topup.risk.rules import load_defaults, read_defaults
from topup.risk.schemas import DefaultsFile

DAY_AND_A_BIT = 25 * 3600
# The Idempotency-Key lease and a second: the clock move that stands for a client waiting
# out the key of a request that died with the API.
LEASE_SECONDS = int(IN_FLIGHT_LOCK.total_seconds()) + 1
SETTLE_POLL_SECONDS = 0.5
SETTLE_POLLS_PER_DAY = 4
REVIEW_WITHIN_SECONDS = 30.0
CLOCK_MOVE_WITHIN_SECONDS = 30.0
# The points a stream reaches; the review point needs the clock moved on by a day.
STREAM_POINTS = tuple(point for point in kills.EVERY_POINT if point not in kills.REVIEW_POINTS)


@dataclass(frozen=True)
class ChaosOptions:
    server_url: str  # any database on the PostgreSQL server; the run makes its own beside it
    orders: int = 50
    seconds: float = 30.0
    customers: int = 6
    random_kills: int = 6
    kill_interval: tuple[float, float] = (2.0, 5.0)
    settle_seconds: float = 90.0
    retry_budget_seconds: float = 150.0
    points_seconds: float = 90.0  # for the stream's points to be reached, one after another
    seed: int = 9
    work_directory: Path | None = None


@dataclass
class ChaosReport:
    orders: dict[str, int]
    operations: int
    answers: dict[str, int]
    exercised: dict[str, int]
    client_retries: dict[str, int]
    client_gave_up: int
    kills_random: dict[str, int]
    kills_at_point: dict[str, int]
    kills_total: int
    missed_points: list[str]
    messages: dict[str, int]
    refunds: dict[str, int]
    delivered_emails: int
    delivered_sms: int
    same_identity_repeats: dict[str, int]
    ledger_check: str
    violations: list[str]
    seconds: float
    phases: dict[str, float]  # seconds from the start to the end of each phase

    def as_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


def chaos_rules() -> DefaultsFile:
    """The shipped rules, with what a stream of a few customers trips by design loosened:
    the sandbox's test cards are shared by every account, and every customer tops up many
    numbers and pays with several cards. Account and card limits are raised, the per-number
    limits kept (one hot number makes some rejections), big orders of new accounts held."""
    rules = read_defaults()
    for limit in rules.limits:
        if limit.scope in ("customer", "card"):
            limit.max_count = None if limit.max_count is None else limit.max_count * 40
            limit.max_amount = None if limit.max_amount is None else limit.max_amount * 40
    loosen = {
        "card_on_many_accounts": {"accounts": 1000},
        "many_cards_on_account": {"cards": 100},
        "many_recipients": {"recipients": 1000},
        "decline_burst": {"declines": 12},
    }
    for signal in rules.signals:
        signal.params |= loosen.get(signal.id, {})
    return rules


def service_settings(
    database_url: str, smtp: RunningSmtp, sms: RunningSmsProvider
) -> dict[str, str]:
    return service_environment(
        database_url,
        {
            "TOPUP_ENV": "development",  # the sandbox gateway and the supplier simulator
            "TOPUP_RUN_WORKER": "false",  # the workers are their own processes
            "TOPUP_SMTP_URL": f"smtp://{smtp.host}:{smtp.port}?starttls=off",
            "TOPUP_SMS_URL": sms.url_with_credentials,
            "TOPUP_LOG_LEVEL": "WARNING",
            "TOPUP_DATABASE_POOL_SIZE": "4",
            # The run moves the sandbox clock on by days; logins must outlive that.
            "TOPUP_SESSION_TTL_SECONDS": str(60 * 86400),
            "TOPUP_ARGON2_TIME_COST": "1",
            "TOPUP_ARGON2_MEMORY_KIB": "8192",
            "TOPUP_ARGON2_PARALLELISM": "1",
        },
    )


async def run_chaos(options: ChaosOptions) -> ChaosReport:
    started = time.monotonic()
    phases: dict[str, float] = {}
    directory = options.work_directory or Path(tempfile.mkdtemp(prefix="topup-chaos-"))
    async with fresh_database(as_asyncpg(options.server_url), "chaos") as database_url:
        upgrade_database(database_url, directory)
        engine = create_engine(database_url)
        try:
            async with unit_of_work(create_session_factory(engine)) as session:
                await load_defaults(session, chaos_rules())
            with start_smtp_server() as smtp, start_sms_provider() as sms:
                fleet = Fleet(
                    service_settings(database_url, smtp, sms), free_port(), directory / "logs"
                )
                try:
                    timeline = Phases(started, phases)
                    stream, killer = await _drive(
                        fleet, options, engine, database_url, directory, timeline
                    )
                    findings = await check(engine, database_url, smtp, sms, directory)
                    timeline.end("checks")
                finally:
                    fleet.stop_all()
        finally:
            await engine.dispose()
    return _report(stream, killer.record, findings, time.monotonic() - started, phases)


@dataclass(frozen=True)
class Phases:
    started: float
    ends: dict[str, float]

    def end(self, phase: str) -> None:
        self.ends[phase] = round(time.monotonic() - self.started, 1)


async def _drive(
    fleet: Fleet,
    options: ChaosOptions,
    engine: Any,
    database_url: str,
    directory: Path,
    phases: Phases,
) -> tuple[StreamRecord, kills.Killer]:
    rng = random.Random(options.seed)
    async with httpx.AsyncClient(base_url=fleet.base_url, timeout=20.0) as http:
        killer = kills.Killer(fleet, rng, after_api_death=lambda: _wait_out_lease(http))
        killer.queue()
        await fleet.start_all()
        support, *customers = await asyncio.gather(
            staff_log_in(http, database_url, directory),
            *(sign_up(http, index) for index in range(options.customers)),
        )
        phases.end("start")
        watcher = asyncio.create_task(killer.watch())
        record = StreamRecord()
        planner = Planner(rng, customers)
        prober = Prober(http, planner, record, killer, support, options.retry_budget_seconds)
        await prober.review()
        random_kills = asyncio.create_task(
            killer.kill_randomly(options.random_kills, options.kill_interval)
        )
        probing = asyncio.create_task(prober.run(set(STREAM_POINTS), options.points_seconds))
        await run_stream(
            http,
            planner,
            record,
            orders=options.orders,
            seconds=options.seconds,
            more_wanted=lambda: not (probing.done() and random_kills.done()),
            budget_seconds=options.retry_budget_seconds,
        )
        await asyncio.gather(random_kills, probing)
        phases.end("stream")
        await _expire_reviews(killer, http, engine)
        await killer.disarm_all()
        phases.end("reviews")
        await asyncio.gather(*record.tasks, *prober.tasks)
        await _settle(http, engine, options.settle_seconds)
        phases.end("settle")
        killer.stop_watching()
        await watcher
    return record, killer


async def _advance_clock(http: httpx.AsyncClient, seconds: int) -> None:
    """Move the sandbox clock; the API may be restarting (a kill), so try for a while."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CLOCK_MOVE_WITHIN_SECONDS
    while True:
        try:
            answer = await http.post("/v1/sandbox/clock", json={"advance_seconds": seconds})
            if answer.status_code != 503:
                answer.raise_for_status()
                return
        except httpx.TransportError:
            if loop.time() > deadline:
                raise
        await asyncio.sleep(0.2)


async def _wait_out_lease(http: httpx.AsyncClient) -> None:
    """After the API died: the keys of the requests it held lapse (see scripts.chaos.kills).
    An API that died again while starting gets the move after its next start."""
    with contextlib.suppress(httpx.HTTPError):
        answer = await http.post("/v1/sandbox/clock", json={"advance_seconds": LEASE_SECONDS})
        answer.raise_for_status()


async def _count(engine: Any, statement: str) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text(statement))).scalar_one())


async def _expire_reviews(killer: kills.Killer, http: httpx.AsyncClient, engine: Any) -> None:
    """Move the clock a day on with the workers armed at the review point: the expired
    reviews are voided by a worker that dies right after the gateway's void."""
    reviews = await _count(engine, "SELECT count(*) FROM orders WHERE status = 'review'")
    await _advance_clock(http, DAY_AND_A_BIT)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + REVIEW_WITHIN_SECONDS
    while reviews and not killer.killed_at(kills.REVIEW_POINTS[0]):
        if loop.time() > deadline:
            break
        await asyncio.sleep(0.2)


async def _settle(http: httpx.AsyncClient, engine: Any, seconds: float) -> None:
    """Let the workers finish: every order final, every funding, refund and message done.
    The clock moves on a day whenever something still waits after a few polls, so
    retries, polls and 24 h expiries come at once."""
    finals = ", ".join(f"'{status}'" for status in FINAL)
    waiting = (
        f"SELECT (SELECT count(*) FROM orders WHERE status NOT IN ({finals}))"
        " + (SELECT count(*) FROM wallet_fundings WHERE status IN ('created', 'authorized'))"
        " + (SELECT count(*) FROM refund_requests WHERE status = 'approved')"
        " + (SELECT count(*) FROM outbound_messages WHERE status IN ('pending', 'sending'))"
    )
    deadline = asyncio.get_running_loop().time() + seconds
    rounds = 0
    while await _count(engine, waiting) and asyncio.get_running_loop().time() < deadline:
        rounds += 1
        if rounds % SETTLE_POLLS_PER_DAY == 0:
            await _advance_clock(http, DAY_AND_A_BIT)
        await asyncio.sleep(SETTLE_POLL_SECONDS)


def _report(
    stream: StreamRecord,
    record: kills.KillRecord,
    findings: Findings,
    seconds: float,
    phases: dict[str, float],
) -> ChaosReport:
    violations = list(findings.violations)
    violations.extend(f"process died on its own: {exit}" for exit in record.unexpected_exits)
    violations.extend(f"no answer after retries for {n} requests" for n in [stream.gave_up] if n)
    return ChaosReport(
        orders=dict(findings.orders),
        operations=len(stream.tasks),
        answers=dict(stream.answers),
        exercised=dict(stream.exercised),
        client_retries=dict(stream.retries),
        client_gave_up=stream.gave_up,
        kills_random=dict(record.random),
        kills_at_point=dict(record.at_point),
        kills_total=record.total,
        missed_points=record.missed_points,
        messages=dict(findings.messages),
        refunds=dict(findings.refunds),
        delivered_emails=findings.delivered_emails,
        delivered_sms=findings.delivered_sms,
        same_identity_repeats=dict(findings.same_identity_repeats),
        ledger_check=findings.ledger_check,
        violations=violations,
        seconds=round(seconds, 1),
        phases=phases,
    )
