"""What an order writes to the ledger, always in the order step's own transaction.

- authorized: a hold of the price, from card clearing (what the gateway will owe us) to
  orders in flight; paid from the wallet, the hold is on the customer's wallet instead,
  placed with the order itself;
- succeeded: the hold posted, then the price split out of orders in flight into sales
  (the supplier cost), service fees and VAT payable, and the supplier cost owed; a promo
  code's discount is funded from the promotions account into orders in flight in the same
  entry, so sales, fees and VAT get the whole list price and orders in flight nets to zero;
- failed: the hold voided, nothing moved.

Every entry's idempotency key derives from the order id, so a repeated step writes nothing.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from topup.kit.money import Money
from topup.ledger import service as ledger
from topup.orders.models import Order
from topup.wallet.accounting import open_wallet, wallet_account_id

EUR = "EUR"
IN_FLIGHT = "orders_in_flight:EUR"
SALES = "sales:EUR"
FEES = "service_fees:EUR"
VAT = "vat_payable:EUR"
COST_OF_SALES = "cost_of_sales:EUR"
# What discounts cost us: a contra-revenue account, debited by each delivered order's
# discount (the customer paid the list price less it; the hold only ever held what was paid).
PROMOTIONS = "promotions:EUR"
# A hold outlives the order's 24 hours a little, so the order always resolves it first.
HOLD_MARGIN = timedelta(hours=1)


async def _accounts(session: AsyncSession, *pairs: tuple[str, str]) -> None:
    await ledger.open_accounts(session, pairs, currency=EUR)


async def hold(session: AsyncSession, order: Order, *, gateway: str) -> str:
    clearing = f"card_clearing:{gateway}:EUR"
    await _accounts(session, (clearing, "card_clearing"), (IN_FLIGHT, "orders_in_flight"))
    transfer = await ledger.hold(
        session,
        kind="order_hold",
        reference=order.id,
        idempotency_key=f"{order.id}:hold",
        movement=ledger.Movement(clearing, IN_FLIGHT, Money(order.price_amount, EUR)),
        timeout_at=order.expires_at + HOLD_MARGIN,
    )
    return transfer.id


async def wallet_hold(session: AsyncSession, order: Order) -> str:
    """The price reserved on the customer's wallet, as the order is placed."""
    await _accounts(session, (IN_FLIGHT, "orders_in_flight"))
    await open_wallet(session, order.customer_id)
    transfer = await ledger.hold(
        session,
        kind="wallet_order_hold",
        reference=order.id,
        idempotency_key=f"{order.id}:hold",
        movement=ledger.Movement(
            wallet_account_id(order.customer_id), IN_FLIGHT, Money(order.price_amount, EUR)
        ),
        timeout_at=order.expires_at + HOLD_MARGIN,
    )
    return transfer.id


async def capture(session: AsyncSession, order: Order, *, supplier: str) -> None:
    assert order.hold_transfer_id is not None
    payable = f"supplier_payable:{supplier}:EUR"
    accounts = [
        (SALES, "sales"),
        (FEES, "service_fees"),
        (VAT, "vat_payable"),
        (COST_OF_SALES, "cost_of_sales"),
        (payable, "supplier_payable"),
    ]
    if order.discount_amount > 0:
        accounts.append((PROMOTIONS, "promotions"))
    await _accounts(session, *accounts)
    await ledger.post_hold(session, order.hold_transfer_id, idempotency_key=f"{order.id}:capture")
    movements = []
    if order.discount_amount > 0:
        movements.append(ledger.Movement(PROMOTIONS, IN_FLIGHT, Money(order.discount_amount, EUR)))
    parts = [(SALES, order.cost_amount), (FEES, order.fee_amount), (VAT, order.vat_amount)]
    movements += [
        ledger.Movement(IN_FLIGHT, account, Money(amount, EUR))
        for account, amount in parts
        if amount > 0
    ]
    if order.cost_amount > 0:
        movements.append(ledger.Movement(COST_OF_SALES, payable, Money(order.cost_amount, EUR)))
    await ledger.record(
        session,
        kind="order_revenue",
        reference=order.id,
        idempotency_key=f"{order.id}:revenue",
        movements=movements,
    )


async def release(session: AsyncSession, order: Order) -> None:
    if order.hold_transfer_id is None:
        return
    await ledger.void_hold(session, order.hold_transfer_id, idempotency_key=f"{order.id}:void")
