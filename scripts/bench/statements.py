"""SQL statements and round trips per completed top-up, counted rather than timed, so the
figure is the same on a busy machine and an idle one.

Top-ups go through the whole app in this process (``POST /v1/orders`` with a saved card,
the fast path that authorizes, delivers and captures, then worker rounds until the
receipt's outbox rows are handled), with SQLAlchemy's events counting what reaches the
database. A round trip is a statement, a BEGIN, a COMMIT or ROLLBACK, or the liveness
ping of a pooled connection as it is checked out. Statements on the sandbox gateway's and
the supplier simulator's own tables are counted apart: in production those are HTTP calls
to the card network and the supplier, not queries on our database.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from scripts.bench.accounts import Buyer
from scripts.bench.load import PRODUCT
from topup.app import create_app
from topup.config import Environment, Settings
from topup.runtime import Runtime
from topup.worker import run_round

STAND_IN_TABLES = ("sandbox_", "simulator_")
_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE|JOIN)\s+\"?([a-z_]+)", re.IGNORECASE)


@dataclass
class Counts:
    statements: Counter[str] = field(default_factory=Counter)  # by first table named
    transactions: int = 0
    commits: int = 0
    rollbacks: int = 0
    checkouts: int = 0

    def ours(self) -> int:
        return sum(
            n for table, n in self.statements.items() if not table.startswith(STAND_IN_TABLES)
        )

    def stand_ins(self) -> int:
        return sum(self.statements.values()) - self.ours()


def _count_into(engine: AsyncEngine, counts: Counts) -> None:
    def statement(_connection: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        match = _TABLE.search(sql)
        counts.statements[match.group(1).lower() if match else sql.split()[0].lower()] += 1

    def begun(_connection: Any) -> None:
        counts.transactions += 1

    def committed(_connection: Any) -> None:
        counts.commits += 1

    def rolled_back(_connection: Any) -> None:
        counts.rollbacks += 1

    def checked_out(*_arguments: Any) -> None:
        counts.checkouts += 1

    sync_engine = engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", statement)
    event.listen(sync_engine, "begin", begun)
    event.listen(sync_engine, "commit", committed)
    event.listen(sync_engine, "rollback", rolled_back)
    event.listen(sync_engine.pool, "checkout", checked_out)


async def _buy(client: httpx.AsyncClient, buyer: Buyer, number: int) -> None:
    response = await client.post(
        "/v1/orders",
        headers={"Authorization": f"Bearer {buyer.token}", "Idempotency-Key": str(uuid.uuid4())},
        json={
            "recipient_phone": f"+234803{number * 10 + 7:07d}",
            "product_id": PRODUCT,
            "payment": {"card_id": buyer.card_id},
        },
    )
    # Background tasks (the fast path) have run when the in-process transport answers.
    if response.status_code != 201 or response.json()["status"] != "created":
        raise RuntimeError(f"the counted order was refused: {response.text}")


Buy = Callable[[Buyer, int], Awaitable[None]]


@asynccontextmanager
async def buying(settings: Settings, runtime: Runtime) -> AsyncIterator[Buy]:
    """The app in this process; yields ``buy(buyer, number)``, which places a top-up and
    returns once its fast path is done; worker rounds follow at the end."""
    assert settings.env is not Environment.production
    app = create_app(settings.model_copy(update={"run_worker": False}), runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

            async def buy(buyer: Buyer, number: int) -> None:
                await _buy(client, buyer, number)

            yield buy
            await _work_off(runtime)


async def _work_off(runtime: Runtime) -> None:
    """Worker rounds until nothing is due: the receipts' outbox rows, in batches as a
    worker takes them when top-ups arrive faster than one a round."""
    while await run_round(runtime):
        pass


async def count_per_topup(
    settings: Settings, runtime: Runtime, buyers: list[Buyer], *, first_number: int
) -> dict[str, object]:
    """Buy one top-up per buyer through the app and count what each cost the database."""
    async with buying(settings, runtime) as buy:
        await buy(buyers[0], first_number)  # warm caches and prepared statements
        await _work_off(runtime)
        counts = Counts()
        _count_into(runtime.engine, counts)
        for offset, buyer in enumerate(buyers[1:], start=1):
            await buy(buyer, first_number + offset)
    topups = len(buyers) - 1
    round_trips = (
        sum(counts.statements.values())
        + counts.transactions
        + counts.commits
        + counts.rollbacks
        + counts.checkouts
    )
    return {
        "topups": topups,
        "statements_per_topup": round(counts.ours() / topups, 1),
        "stand_in_statements_per_topup": round(counts.stand_ins() / topups, 1),
        "transactions_per_topup": round(counts.transactions / topups, 1),
        "round_trips_per_topup": round(round_trips / topups, 1),
        "statements_by_table": {
            table: round(count / topups, 2) for table, count in counts.statements.most_common()
        },
    }
