"""The benchmark's buyers: verified customers, each with a saved card and a bearer token,
made straight in the database (signing up through the API would measure argon2)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta

from topup.accounts.models import Customer, CustomerStatus, Role
from topup.accounts.sessions import issue_token
from topup.kit import clock
from topup.kit.db import unit_of_work
from topup.kit.ids import new_id
from topup.payments.service import save_card
from topup.providers.payments.base import CardDetails
from topup.runtime import Runtime

BATCH = 500


@dataclass(frozen=True)
class Buyer:
    token: str
    card_id: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def visa_number(index: int) -> str:
    """A distinct Visa test number per buyer that the sandbox charges as it does 4242…:
    one card on many accounts is a fraud signal that blocks the card, and a benchmark of
    thousands of buyers sharing 4242 4242 4242 4242 would measure that rule instead."""
    payload = f"4242{index:011d}"
    total = 0
    for position, character in enumerate(reversed(payload)):  # Luhn, from the right
        value = int(character) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return payload + str((10 - total % 10) % 10)


def buyer_row(index: int) -> Customer:
    """An active American customer (the sandbox's cards are American, so no
    country-mismatch signal), a month old, with a confirmed phone."""
    return Customer(
        id=new_id("cus"),
        first_name="Ada",
        last_name=f"Buyer {index}",
        status=CustomerStatus.active.value,
        role=Role.customer.value,
        language="en",
        country_iso2="US",
        created_at=clock.now() - timedelta(days=30),
        phone_verified_at=clock.now(),
    )


async def make_buyers(runtime: Runtime, count: int, first: int = 0) -> list[Buyer]:
    """``count`` buyers, each with a saved card and a bearer token; ``first`` is the index
    of the first one, so that buyers made later get cards of their own."""
    buyers: list[Buyer] = []
    expiry_year = clock.now().year + 2
    for start in range(first, first + count, BATCH):
        async with unit_of_work(runtime.session_factory) as session:
            for index in range(start, min(first + count, start + BATCH)):
                customer = buyer_row(index)
                session.add(customer)
                await session.flush()
                card = await save_card(
                    session,
                    runtime.payment_gateway,
                    customer,
                    CardDetails(visa_number(index), 12, expiry_year, "123"),
                )
                issued = issue_token(session, runtime.accounts, customer)
                buyers.append(Buyer(issued.token, card.id))
    return buyers
