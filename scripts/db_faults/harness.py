"""PostgreSQL restarted under load, with Topup's real processes (`topup serve`, `topup worker`)
on a private cluster, and a client that places orders and reads while the harness restarts
the server (immediately, as a crash) and stops it for a few seconds.

What must hold: every answer is 201/200, a clean 503 (retryable, with Retry-After) or the
documented 409 ``idempotency_key_in_use`` while a cut-off first attempt's lock lapses; never
a 500 and never a refused connection to the API. /readyz is 200 again within seconds of the
server's return, without touching Topup. Every order answered 201 exists and reaches a final
state, every order in the database was answered to the client or is whole, and `topup
ledger check` passes.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import text

from scripts.bench.accounts import Buyer, make_buyers
from scripts.db_faults.cluster import PrivateCluster
from topup.config import Environment, Settings
from topup.kit.db import DATABASE_FAILURES
from topup.runtime import build_runtime

TOPUP = str(Path(sys.executable).with_name("topup"))
PRODUCT = "ng-mtn-2500"
FINAL = ("succeeded", "failed", "declined", "rejected")
RETRYABLE = {503, 409}  # 409 only as idempotency_key_in_use (checked where it is counted)
READY_WITHIN_SECONDS = 60.0


@dataclass
class Figures:
    requests: int = 0
    answers: Counter[int] = field(default_factory=Counter)
    unreachable: int = 0  # the API itself refused or dropped the connection: must be 0
    missing_retry_after: int = 0
    other_conflicts: int = 0  # a 409 other than idempotency_key_in_use
    outages: list[float] = field(default_factory=list)  # seconds the server was away
    recoveries: list[float] = field(default_factory=list)  # server back → /readyz 200
    accepted: set[str] = field(default_factory=set)
    abandoned: int = 0  # orders still refused when the client gave up
    violations: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"requests: {self.requests}",
            f"answers: {dict(sorted(self.answers.items()))}",
            f"500s: {self.answers.get(500, 0)}",
            f"503s: {self.answers.get(503, 0)}",
            f"API unreachable: {self.unreachable}",
            f"orders accepted: {len(self.accepted)}, abandoned: {self.abandoned}",
            "outages (s): " + ", ".join(f"{seconds:.1f}" for seconds in self.outages),
            "recovery to /readyz 200 (s): "
            + ", ".join(f"{seconds:.1f}" for seconds in self.recoveries),
            f"violations: {len(self.violations)}",
            *(f"  - {violation}" for violation in self.violations),
        ]


@dataclass(frozen=True)
class Plan:
    orders: int = 24
    restarts: int = 1  # immediate restarts; each is followed by one stop of stop_seconds
    stop_seconds: float = 3.0
    concurrency: int = 4
    deadline_seconds: float = 90.0


def _environment(database_url: str, worker: bool) -> dict[str, str]:
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("TOPUP_")
    }
    return environment | {
        "TOPUP_ENV": "development",  # the sandbox gateway and the supplier simulator
        "TOPUP_DATABASE_URL": database_url,
        "TOPUP_RUN_WORKER": "true" if worker else "false",
        "TOPUP_LOG_LEVEL": "WARNING",
        "TOPUP_DATABASE_POOL_SIZE": "5",
    }


class Processes:
    """`topup serve` and `topup worker`, stopped (even on failure) by :meth:`stop`."""

    def __init__(self, database_url: str, port: int, logs: Path) -> None:
        self.base_url = f"http://127.0.0.1:{port}"
        self._running: list[subprocess.Popen[bytes]] = []
        commands = {
            "api": ([TOPUP, "serve", "--port", str(port)], False),
            "worker": ([TOPUP, "worker"], True),
        }
        for name, (command, worker) in commands.items():
            log = (logs / f"{name}.log").open("wb")
            self._running.append(
                subprocess.Popen(
                    command,
                    env=_environment(database_url, worker),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )

    def alive(self) -> bool:
        return all(process.poll() is None for process in self._running)

    def stop(self) -> None:
        for process in self._running:
            process.terminate()
        for process in self._running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


async def _wait_ready(http: httpx.AsyncClient, within: float) -> float:
    """Seconds until /readyz answers 200."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        try:
            if (await http.get("/readyz", timeout=2)).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"/readyz was not 200 within {within:.0f} s")


class Client:
    """Places orders and reads them, retrying each order with its key as a client should."""

    def __init__(self, http: httpx.AsyncClient, figures: Figures, plan: Plan) -> None:
        self.http = http
        self.figures = figures
        self.deadline = time.monotonic() + plan.deadline_seconds

    async def send(self, method: str, path: str, **options: object) -> httpx.Response | None:
        self.figures.requests += 1
        try:
            response = await self.http.request(method, path, timeout=15, **options)  # type: ignore[arg-type]
        except httpx.TransportError as error:
            self.figures.unreachable += 1
            self.figures.violations.append(f"{method} {path}: API unreachable ({error!r})")
            return None
        self.figures.answers[response.status_code] += 1
        if response.status_code == 503 and "retry-after" not in response.headers:
            self.figures.missing_retry_after += 1
            self.figures.violations.append(f"{method} {path}: 503 without Retry-After")
        if response.status_code == 409 and _code(response) != "idempotency_key_in_use":
            self.figures.other_conflicts += 1
        if response.status_code >= 500 and response.status_code != 503:
            self.figures.violations.append(
                f"{method} {path}: {response.status_code} {response.text[:200]}"
            )
        return response

    async def order(self, buyer: Buyer, index: int) -> None:
        headers = {"Authorization": f"Bearer {buyer.token}", "Idempotency-Key": f"order-{index}"}
        body = {
            # A distinct MTN Nigeria number per order, ending as the simulator delivers.
            "recipient_phone": f"+234803{index % 1000:03d}4567",
            "product_id": PRODUCT,
            "payment": {"card_id": buyer.card_id},
        }
        while time.monotonic() < self.deadline:
            response = await self.send("POST", "/v1/orders", json=body, headers=headers)
            if response is not None and response.status_code == 201:
                order_id = response.json()["id"]
                self.figures.accepted.add(order_id)
                await self.send("GET", f"/v1/orders/{order_id}", headers=headers)
                return
            if response is not None and response.status_code not in RETRYABLE:
                self.figures.violations.append(
                    f"order {index}: {response.status_code} {response.text[:200]}"
                )
                return
            await self.send("GET", "/v1/countries")
            await asyncio.sleep(float(response.headers.get("retry-after", 1)) if response else 0.5)
        self.figures.abandoned += 1


def _code(response: httpx.Response) -> str | None:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None


async def _faults(
    cluster: PrivateCluster, http: httpx.AsyncClient, plan: Plan, figures: Figures
) -> None:
    """Between orders: immediate restarts, each followed by a stop of a few seconds."""
    for _ in range(plan.restarts):
        await asyncio.sleep(random.uniform(1.0, 2.0))
        away = time.monotonic()
        await asyncio.to_thread(cluster.restart_immediately)
        figures.outages.append(time.monotonic() - away)
        figures.recoveries.append(await _wait_ready(http, READY_WITHIN_SECONDS))
        await asyncio.sleep(random.uniform(1.0, 2.0))
        away = time.monotonic()
        await asyncio.to_thread(cluster.stop)
        await asyncio.sleep(plan.stop_seconds)
        await asyncio.to_thread(cluster.start)
        figures.outages.append(time.monotonic() - away)
        figures.recoveries.append(await _wait_ready(http, READY_WITHIN_SECONDS))


def _fault_seconds(plan: Plan) -> float:
    """About how long :func:`_faults` takes: two pauses, a restart and a stop per round."""
    return plan.restarts * (2 * 1.5 + 1.0 + plan.stop_seconds)


async def _reads_until(done: asyncio.Event, client: Client, buyer: Buyer) -> None:
    """A reader of "My purchases" all along the faults: the outages always meet requests
    (each one touches the database, the login included), and each must be a clean 503."""
    headers = {"Authorization": f"Bearer {buyer.token}"}
    while not done.is_set():
        response = await client.send("GET", "/v1/orders", headers=headers)
        await asyncio.sleep(0.2 if response is not None and response.status_code == 200 else 0.5)


async def _load(
    processes: Processes, cluster: PrivateCluster, buyers: list[Buyer], plan: Plan
) -> Figures:
    figures = Figures()
    async with httpx.AsyncClient(base_url=processes.base_url) as http:
        client = Client(http, figures, plan)
        gate = asyncio.Semaphore(plan.concurrency)

        # The orders spread over the time the faults take, so some of them meet an outage
        # however fast this machine places them.
        pace = _fault_seconds(plan) / plan.orders

        async def one(index: int) -> None:
            await asyncio.sleep(index * pace)
            async with gate:
                await client.order(buyers[index % len(buyers)], index)

        async def faults_then_stop() -> None:
            await _faults(cluster, http, plan, figures)
            faults_done.set()

        faults_done = asyncio.Event()
        await asyncio.gather(
            faults_then_stop(),
            _reads_until(faults_done, client, buyers[0]),
            *(one(i) for i in range(plan.orders)),
        )
    if not processes.alive():
        figures.violations.append("a Topup process ended during the run")
    return figures


async def _settled(database_url: str, figures: Figures, within: float) -> None:
    """Wait for the worker to finish every order, then check what the database holds."""
    runtime = build_runtime(Settings(env=Environment.development, database_url=database_url))
    try:
        deadline = time.monotonic() + within
        while True:
            async with runtime.session_factory() as session:
                rows = (
                    await session.execute(
                        text(
                            "SELECT o.id, o.status, k.state, k.response_body FROM orders o "
                            "LEFT JOIN idempotency_keys k ON k.customer_id = o.customer_id "
                            "AND k.response_body LIKE '%' || o.id || '%'"
                        )
                    )
                ).all()
            if all(row.status in FINAL for row in rows) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
    finally:
        await runtime.close()
    stored = {row.id for row in rows}
    for order_id in figures.accepted - stored:
        figures.violations.append(f"{order_id} was accepted (201) but is not stored")
    for row in rows:
        if row.status not in FINAL:
            figures.violations.append(f"{row.id} never reached a final state ({row.status})")
        if row.state != "done":
            figures.violations.append(f"{row.id} is stored without its Idempotency-Key answer")


def _ledger_check(database_url: str, figures: Figures) -> None:
    checked = subprocess.run(
        [TOPUP, "ledger", "check"],
        env=_environment(database_url, False),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if checked.returncode != 0:
        figures.violations.append(f"topup ledger check: {checked.stdout}{checked.stderr}")


async def _buyers(database_url: str, count: int) -> list[Buyer]:
    runtime = build_runtime(Settings(env=Environment.development, database_url=database_url))
    try:
        return await make_buyers(runtime, count)
    finally:
        await runtime.close()


def run(plan: Plan, *, cluster_port: int, api_port: int, logs: Path) -> Figures:
    """The whole run; every process it started is stopped before it returns."""
    logs.mkdir(parents=True, exist_ok=True)
    cluster = PrivateCluster(cluster_port)
    processes: Processes | None = None
    try:
        cluster.create()
        subprocess.run(
            [TOPUP, "db", "upgrade"],
            env=_environment(cluster.url, False),
            check=True,
            timeout=120,
            capture_output=True,
        )
        buyers_count = max(1, plan.orders // 2)
        processes = Processes(cluster.url, api_port, logs)
        buyers = asyncio.run(_ready_then_buyers(processes, cluster.url, buyers_count))
        figures = asyncio.run(_load(processes, cluster, buyers, plan))
        asyncio.run(_settled(cluster.url, figures, within=60))
        _ledger_check(cluster.url, figures)
        return figures
    except DATABASE_FAILURES as error:
        raise RuntimeError(f"the harness itself could not reach the database: {error!r}") from error
    finally:
        if processes is not None:
            processes.stop()
        cluster.remove()


async def _ready_then_buyers(processes: Processes, database_url: str, count: int) -> list[Buyer]:
    async with httpx.AsyncClient(base_url=processes.base_url) as http:
        await _wait_ready(http, READY_WITHIN_SECONDS)  # serve loads the catalogue and rules
    return await _buyers(database_url, count)
