"""``topup ledger check``: every invariant of the ledger, verified from the rows themselves.

- every journal entry moved money (at least one transfer, so at least two postings);
- every transfer's accounts hold its currency (the database enforces it; checked again);
- every account's four balances equal the sums of its transfers;
- every resolution matches its hold (same accounts and currency, never more than held,
  a void releases exactly the hold);
- no account that must not go negative is below zero, pending debits included;
- no hold is still open past its timeout.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from topup.kit import clock
from topup.ledger.repository import LedgerRepository

BALANCE_COLUMNS = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")


@dataclass(frozen=True, slots=True)
class Breach:
    invariant: str
    subject: str
    detail: str

    def __str__(self) -> str:
        return f"{self.invariant}: {self.subject}: {self.detail}"


async def check_ledger(session: AsyncSession) -> list[Breach]:
    repository = LedgerRepository(session)
    breaches = [
        Breach("entry_moves_money", entry_id, "a journal entry without any transfer")
        for entry_id in await repository.entries_without_transfers()
    ]
    breaches += [
        Breach("resolution_matches_hold", transfer_id, "differs from the hold it resolves")
        for transfer_id in await repository.bad_resolutions()
    ]
    breaches += await _balances(repository)
    now = clock.now()
    breaches += [
        Breach(
            "holds_resolved_in_time",
            hold.id,
            f"{hold.amount} {hold.currency} still held, timed out at {hold.timeout_at}",
        )
        for hold in await repository.expired_holds(now)
    ]
    return breaches


async def _balances(repository: LedgerRepository) -> list[Breach]:
    sums = await repository.sums_by_account()
    breaches = []
    for account in await repository.all_accounts():
        recomputed = sums.pop(account.id, {})
        for column in BALANCE_COLUMNS:
            stored, expected = getattr(account, column), recomputed.get(column, 0)
            if stored != expected:
                breaches.append(
                    Breach(
                        "balance_equals_transfers",
                        account.id,
                        f"{column} is {stored}, transfers say {expected}",
                    )
                )
        taken = account.debits_posted + account.debits_pending
        if account.debits_must_not_exceed_credits and taken > account.credits_posted:
            breaches.append(
                Breach(
                    "never_negative", account.id, f"{taken} taken out of {account.credits_posted}"
                )
            )
    breaches += [
        Breach("transfer_has_accounts", account_id, "transfers name no such account")
        for account_id in sums
    ]
    return breaches
