"""Fixtures of the wallet tests: customers who can log in, pay and delete their account.

The orders tests' ``buyer`` gives only a bearer header; the wallet tests also need the
customer's id (to read the ledger account, to block the account) and a password (to
delete it), so ``accounts`` makes customers of its own the same way.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.wallet.support import PASSWORD, Account, NewAccount
from topup.accounts.models import Customer, CustomerStatus, Role
from topup.accounts.sessions import issue_token
from topup.kit import clock, faults
from topup.kit.db import unit_of_work
from topup.kit.ids import new_id
from topup.runtime import Runtime


@pytest.fixture
def accounts(runtime: Runtime) -> NewAccount:
    """A verified, active customer with a password, logged in: ``await accounts()``."""

    async def make(*, phone_verified: bool = True) -> Account:
        password_hash = await runtime.accounts.passwords.hash(PASSWORD)
        async with unit_of_work(runtime.session_factory) as session:
            customer = Customer(
                id=new_id("cus"),
                first_name="Ada",
                last_name="Obi",
                status=CustomerStatus.active.value,
                role=Role.customer.value,
                language="en",
                created_at=clock.now(),
                phone_verified_at=clock.now() if phone_verified else None,
                password_hash=password_hash,
            )
            session.add(customer)
            await session.flush()
            issued = issue_token(session, runtime.accounts, customer)
        return Account(customer.id, {"Authorization": f"Bearer {issued.token}"})

    return make


@pytest.fixture(autouse=True)
def _no_armed_faults() -> Iterator[None]:
    """A crash test that failed before its crash must not leave the point armed."""
    yield
    faults.disarm()
