"""The wallet in the ledger: one EUR liability account per customer.

Money in (a card funding, a refund) is a credit to the account; money out (a top-up paid
from the wallet) is first a pending debit, a hold, then posted or voided with the order.
The account is opened with ``never_negative``, so the database itself refuses any debit,
pending ones included, beyond what was credited: no race can overdraw it. Balances are
read from the account row, never summed from transfers.

This module knows only the ledger and the fundings' rows, so the accounts domain can ask it
about a balance (an account deletion) without importing the wallet's endpoints or services.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from topup.kit.errors import Conflict, InvalidInput
from topup.kit.money import Money
from topup.ledger import service as ledger
from topup.ledger.models import LedgerAccount
from topup.ledger.repository import LedgerRepository
from topup.refunds.repository import RefundRepository
from topup.wallet.repository import WalletRepository

EUR = "EUR"
WALLET = "wallet"
FORFEITED = "forfeited_balances:EUR"  # balances given up when an account was deleted


def wallet_account_id(customer_id: str) -> str:
    return f"{WALLET}:{customer_id}:{EUR}"


@dataclass(frozen=True, slots=True)
class Balance:
    """``balance`` is what the wallet holds; ``pending`` what top-ups in flight have
    reserved of it. Only ``available`` can be spent."""

    balance: int
    pending: int

    @property
    def available(self) -> int:
        return self.balance - self.pending

    @classmethod
    def of(cls, account: LedgerAccount | None) -> Balance:
        if account is None:
            return cls(0, 0)
        return cls(account.credits_posted - account.debits_posted, account.debits_pending)


async def open_wallet(session: AsyncSession, customer_id: str) -> LedgerAccount:
    return await ledger.open_account(
        session,
        wallet_account_id(customer_id),
        code=WALLET,
        currency=EUR,
        customer_id=customer_id,
        never_negative=True,
    )


async def balance_of(session: AsyncSession, customer_id: str) -> Balance:
    account = await LedgerRepository(session).account(wallet_account_id(customer_id))
    return Balance.of(account)


def ensure_available(balance: Balance, amount: int, *, field: str) -> None:
    """Refuse early with the figures; the database constraint stays the real guard."""
    if balance.available < amount:
        raise ledger.LedgerRefused(
            f"The wallet has {Money(balance.available, EUR).to_major()} EUR available"
            f" and this costs {Money(amount, EUR).to_major()} EUR.",
            field=field,
        )


async def give_up_balance(session: AsyncSession, customer_id: str, *, acknowledged: bool) -> int:
    """Close the wallet of an account being deleted; returns the amount given up.

    A balance is only given up when the customer said so in as many words: the money is
    theirs, so deleting the account is refused until they either acknowledge it or spend
    it first (the refund terms do not pay a wallet balance back to a card). A wallet still
    paying for a top-up in flight, or with a card funding not yet finished, cannot be closed.
    """
    balance = await balance_of(session, customer_id)
    if balance.pending:
        raise Conflict(
            "A top-up paid from your wallet is still in progress; delete the account once"
            " it has finished.",
            code="wallet_payment_in_flight",
        )
    if await WalletRepository(session).has_open_funding(customer_id):
        # The worker would still charge the card and credit a wallet nobody can reach.
        raise Conflict(
            "Money you are adding to your wallet is still on its way; delete the account"
            " once it has arrived.",
            code="wallet_payment_in_flight",
        )
    if await RefundRepository(session).has_open_request(customer_id):
        # Its payment may land in this wallet, which nobody could then reach.
        raise Conflict(
            "A refund request of yours is still open; delete the account once it has been"
            " paid or rejected.",
            code="refund_in_progress",
        )
    if balance.balance == 0:
        return 0
    if not acknowledged:
        raise InvalidInput(
            f"Your wallet still holds {Money(balance.balance, EUR).to_major()} EUR. Spend it"
            " on top-ups first, or confirm that you give this balance up.",
            code="wallet_balance_remaining",
            field="give_up_balance",
        )
    await ledger.open_account(session, FORFEITED, code="forfeited_balances", currency=EUR)
    await ledger.record(
        session,
        kind="wallet_given_up",
        reference=customer_id,
        idempotency_key=f"{customer_id}:wallet_given_up",
        movements=[
            ledger.Movement(wallet_account_id(customer_id), FORFEITED, Money(balance.balance, EUR))
        ],
    )
    return balance.balance
