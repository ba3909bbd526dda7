"""One chaos run from start to end: a fresh PostgreSQL database, the receiving servers,
the processes, the stream and the kills, the settling, the checks and the report."""

from __future__ import annotations

import asyncio
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
from scripts.chaos.processes import API, WORKERS, Fleet
from scripts.chaos.stream import Planner, StreamRecord, run_stream, sign_up
from tests.fixtures.databases import as_asyncpg
from tests.fixtures.services import free_port, service_environment, upgrade_database
from tests.fixtures.sms_provider import RunningSmsProvider, start_sms_provider
from tests.fixtures.smtp_server import RunningSmtp, start_smtp_server
from topup.kit.db import create_engine, create_session_factory, unit_of_work
from topup.risk.rules import load_defaults, read_defaults
from topup.risk.schemas import DefaultsFile

DAY_AND_A_BIT = 25 * 3600
SETTLE_POLL_SECONDS = 2.0


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
    seed: int = 9
    work_directory: Path | None = None


@dataclass
class ChaosReport:
    orders: dict[str, int]
    operations: int
    answers: dict[str, int]
    exercised: dict[str, int]
    client_retries: int
    client_gave_up: int
    kills_random: dict[str, int]
    kills_at_point: dict[str, int]
    kills_total: int
    missed_points: list[str]
    messages: dict[str, int]
    delivered_emails: int
    delivered_sms: int
    same_identity_repeats: dict[str, int]
    ledger_check: str
    violations: list[str]
    seconds: float

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
                    stream, killer = await _drive(fleet, options, engine)
                    findings = await check(engine, database_url, smtp, sms, directory)
                finally:
                    fleet.stop_all()
        finally:
            await engine.dispose()
    return _report(stream, killer.record, findings, time.monotonic() - started)


async def _drive(
    fleet: Fleet, options: ChaosOptions, engine: Any
) -> tuple[StreamRecord, kills.Killer]:
    rng = random.Random(options.seed)
    await fleet.start_all()
    killer = kills.Killer(fleet, rng)
    async with httpx.AsyncClient(base_url=fleet.base_url, timeout=20.0) as http:
        customers = [await sign_up(http, index) for index in range(options.customers)]
        watcher = asyncio.create_task(killer.watch())
        await killer.arm(API, kills.ORDER_POINTS + kills.FUNDING_POINTS)
        await killer.arm(WORKERS[0], kills.MESSAGE_POINTS)
        await killer.arm(WORKERS[1], kills.SETTLE_POINTS)
        random_kills = asyncio.create_task(
            killer.kill_randomly(options.random_kills, options.kill_interval)
        )
        in_stream = set(
            kills.ORDER_POINTS + kills.FUNDING_POINTS + kills.MESSAGE_POINTS + kills.SETTLE_POINTS
        )
        stream = await run_stream(
            http,
            Planner(rng, customers),
            orders=options.orders,
            seconds=options.seconds,
            more_wanted=lambda: bool(killer.armed_points() & in_stream) or not random_kills.done(),
            budget_seconds=options.retry_budget_seconds,
        )
        await random_kills
        await killer.disarm_all()
        await _expire_reviews_armed(killer, http, engine)
        await asyncio.gather(*stream.tasks)  # the clock moved on: keys held by the dead free
        await _settle(http, engine, options.settle_seconds)
        killer.stop_watching()
        await watcher
    return stream, killer


async def _advance_clock(http: httpx.AsyncClient, seconds: int) -> None:
    answer = await http.post("/v1/sandbox/clock", json={"advance_seconds": seconds})
    answer.raise_for_status()


async def _count(engine: Any, statement: str) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text(statement))).scalar_one())


async def _expire_reviews_armed(killer: kills.Killer, http: httpx.AsyncClient, engine: Any) -> None:
    """Move the clock a day on with both workers armed at the review point: the expired
    reviews are voided by a worker that dies right after the gateway's void."""
    reviews = await _count(engine, "SELECT count(*) FROM orders WHERE status = 'review'")
    if reviews:
        for name in WORKERS:
            await killer.arm(name, kills.REVIEW_POINTS)
    await _advance_clock(http, DAY_AND_A_BIT)
    deadline = asyncio.get_running_loop().time() + 30
    while reviews and not killer.record.at_point[kills.REVIEW_POINTS[0]]:
        if asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.2)
    await killer.disarm_all()


async def _settle(http: httpx.AsyncClient, engine: Any, seconds: float) -> None:
    """Let the workers finish: every order final, every funding and message done. The
    clock moves on a day whenever something waits, so retries and 24 h expiries come."""
    finals = ", ".join(f"'{status}'" for status in FINAL)
    waiting = (
        f"SELECT (SELECT count(*) FROM orders WHERE status NOT IN ({finals}))"
        " + (SELECT count(*) FROM wallet_fundings WHERE status IN ('created', 'authorized'))"
        " + (SELECT count(*) FROM outbound_messages WHERE status IN ('pending', 'sending'))"
    )
    deadline = asyncio.get_running_loop().time() + seconds
    rounds = 0
    while await _count(engine, waiting) and asyncio.get_running_loop().time() < deadline:
        rounds += 1
        if rounds % 3 == 0:
            await _advance_clock(http, DAY_AND_A_BIT)
        await asyncio.sleep(SETTLE_POLL_SECONDS)


def _report(
    stream: StreamRecord, record: kills.KillRecord, findings: Findings, seconds: float
) -> ChaosReport:
    violations = list(findings.violations)
    violations.extend(f"process died on its own: {exit}" for exit in record.unexpected_exits)
    violations.extend(f"no answer after retries for {n} requests" for n in [stream.gave_up] if n)
    return ChaosReport(
        orders=dict(findings.orders),
        operations=len(stream.tasks),
        answers=dict(stream.answers),
        exercised=dict(stream.exercised),
        client_retries=stream.retries,
        client_gave_up=stream.gave_up,
        kills_random=dict(record.random),
        kills_at_point=dict(record.at_point),
        kills_total=record.total,
        missed_points=record.missed_points,
        messages=dict(findings.messages),
        delivered_emails=findings.delivered_emails,
        delivered_sms=findings.delivered_sms,
        same_identity_repeats=dict(findings.same_identity_repeats),
        ledger_check=findings.ledger_check,
        violations=violations,
        seconds=round(seconds, 1),
    )
