"""Every query of the accounts domain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from topup.accounts.models import AccessToken, Customer, PasswordReset, PhoneVerification


class AccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: Customer | PhoneVerification | AccessToken | PasswordReset) -> None:
        self.session.add(row)

    async def flush(self) -> None:
        await self.session.flush()

    # ---- customers -----------------------------------------------------------------------

    async def customer(self, customer_id: str, *, for_update: bool = False) -> Customer | None:
        return await self.session.get(Customer, customer_id, with_for_update=for_update)

    async def customer_for_purchase(self, customer_id: str) -> Customer | None:
        """The account locked against a block racing a purchase, with PostgreSQL's FOR NO
        KEY UPDATE: a block (an UPDATE of the status) still waits for it, but the KEY SHARE
        lock that every foreign key to the account takes (a worker writing an order's
        message or updating one of its orders while it holds the ledger's house accounts)
        does not. With FOR UPDATE the two waited for each other: a deadlock."""
        return await self.session.get(Customer, customer_id, with_for_update={"key_share": True})

    async def customer_by_email(
        self, email_key: str, *, for_update: bool = False
    ) -> Customer | None:
        query = select(Customer).where(Customer.email_key == email_key)
        if for_update:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def customer_by_phone(self, phone: str, *, for_update: bool = False) -> Customer | None:
        query = select(Customer).where(Customer.phone == phone)
        if for_update:
            query = query.with_for_update()
        return await self.session.scalar(query)

    # ---- phone verification --------------------------------------------------------------

    async def open_verification(
        self, customer_id: str, *, now: datetime
    ) -> PhoneVerification | None:
        """The newest code still usable, locked so two guesses cannot race its counter."""
        query = (
            select(PhoneVerification)
            .where(
                PhoneVerification.customer_id == customer_id,
                PhoneVerification.closed_at.is_(None),
            )
            .order_by(PhoneVerification.created_at.desc())
            .limit(1)
            .with_for_update()
        )
        return await self.session.scalar(query)

    async def close_verifications(self, customer_id: str, *, now: datetime) -> None:
        await self.session.execute(
            update(PhoneVerification)
            .where(
                PhoneVerification.customer_id == customer_id,
                PhoneVerification.closed_at.is_(None),
            )
            .values(closed_at=now)
        )

    # ---- sessions ------------------------------------------------------------------------

    async def live_token(self, token_hash: str, *, now: datetime) -> AccessToken | None:
        query = select(AccessToken).where(
            AccessToken.token_hash == token_hash,
            AccessToken.revoked_at.is_(None),
            AccessToken.expires_at > now,
        )
        return await self.session.scalar(query)

    async def revoke_tokens(self, customer_id: str, *, now: datetime) -> None:
        await self.session.execute(
            update(AccessToken)
            .where(AccessToken.customer_id == customer_id, AccessToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def revoke_token(self, token_id: str, *, now: datetime) -> None:
        await self.session.execute(
            update(AccessToken)
            .where(AccessToken.id == token_id, AccessToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    # ---- password resets -----------------------------------------------------------------

    async def usable_reset(self, token_hash: str, *, now: datetime) -> PasswordReset | None:
        query = (
            select(PasswordReset)
            .where(
                PasswordReset.token_hash == token_hash,
                PasswordReset.used_at.is_(None),
                PasswordReset.expires_at > now,
                PasswordReset.customer_id.is_not(None),
            )
            .with_for_update()
        )
        return await self.session.scalar(query)

    async def spend_resets(self, customer_id: str, *, now: datetime) -> None:
        await self.session.execute(
            update(PasswordReset)
            .where(PasswordReset.customer_id == customer_id, PasswordReset.used_at.is_(None))
            .values(used_at=now)
        )

    async def forget_secrets(self, customer_id: str) -> None:
        """Drop the codes and reset links of a deleted account; tokens stay revoked rows."""
        await self.session.execute(
            delete(PhoneVerification).where(PhoneVerification.customer_id == customer_id)
        )
        await self.session.execute(
            delete(PasswordReset).where(PasswordReset.customer_id == customer_id)
        )
