"""Fixtures of the wallet tests: customers who can log in, pay and delete their account.

The orders tests' ``buyer`` gives only a bearer header; the wallet tests also need the
customer's id (to read the ledger account, to block the account) and a password (to
delete it), so ``accounts`` makes customers of its own the same way.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.customers import logged_in_customer
from tests.wallet.support import PASSWORD, Account, NewAccount
from topup.kit import faults
from topup.runtime import Runtime


@pytest.fixture
def accounts(runtime: Runtime) -> NewAccount:
    """A verified, active customer with a password, logged in: ``await accounts()``."""

    async def make(*, phone_verified: bool = True) -> Account:
        password_hash = await runtime.accounts.passwords.hash(PASSWORD)
        made = await logged_in_customer(
            runtime, phone_verified=phone_verified, password_hash=password_hash
        )
        return Account(made.id, made.headers)

    return make


@pytest.fixture(autouse=True)
def _no_armed_faults() -> Iterator[None]:
    """A crash test that failed before its crash must not leave the point armed."""
    yield
    faults.disarm()
