"""``/v1/wallet``: the balance, its statement, and adding money by card."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from topup.accounts.auth import CurrentCustomer
from topup.accounts.models import Customer, CustomerStatus
from topup.idempotency import service as idempotency
from topup.kit.db import unit_of_work
from topup.kit.errors import AppError, ServiceUnavailable
from topup.kit.http import IdempotencyKeyHeader, RuntimeDep, SessionDep, json_response
from topup.kit.pagination import decode_cursor, encode_cursor
from topup.kit.schemas import error_responses
from topup.providers.payments.base import CardDetails, GatewayUnavailable
from topup.runtime import Runtime
from topup.wallet import service
from topup.wallet.accounting import EUR, Balance, balance_of
from topup.wallet.models import FundingStatus, WalletFunding
from topup.wallet.schemas import FundIn, WalletLineList, WalletOut

router = APIRouter(prefix="/v1/wallet", tags=["wallet"])
FUND_SCOPE = "POST /v1/wallet/fund"


def _euros(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": EUR}


def wallet_out(balance: Balance, customer: Customer) -> dict[str, Any]:
    return WalletOut(
        balance=_euros(balance.balance),
        pending=_euros(balance.pending),
        available=_euros(balance.available),
        frozen=customer.status == CustomerStatus.blocked,
    ).model_dump(mode="json")


@router.get("", response_model=WalletOut, responses=error_responses(401))
async def get_wallet(customer: CurrentCustomer, session: SessionDep) -> Response:
    """The wallet's balance, and how much of it top-ups in flight have reserved."""
    return json_response(wallet_out(await balance_of(session, customer.id), customer))


@router.get("/transactions", response_model=WalletLineList, responses=error_responses(401, 422))
async def list_transactions(
    customer: CurrentCustomer,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Money in and out of the wallet, newest first, in pages."""
    page = await service.statement(session, customer, limit=limit, after=decode_cursor(cursor))
    data = []
    for line in page.lines:
        kind = service.LINE_KINDS.get(line.entry_kind, line.entry_kind)
        data.append(
            {
                "id": line.transfer_id,
                "kind": kind,
                "amount": _euros(service.signed_amount(line, customer.id)),
                "order_id": line.reference if kind in service.ORDER_LINE_KINDS else None,
                "status": "pending" if line.transfer_kind == "pending" else "posted",
                "created_at": line.created_at.isoformat(),
            }
        )
    last = page.lines[-1] if page.lines else None
    next_cursor = encode_cursor(last.created_at, last.transfer_id) if page.more and last else None
    return json_response({"data": data, "next_cursor": next_cursor})


@router.post(
    "/fund",
    status_code=201,
    response_model=WalletOut,
    responses=error_responses(401, 402, 403, 404, 409, 422),
)
async def fund_wallet(
    body: FundIn,
    customer: CurrentCustomer,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Add money to the wallet by card. The card is charged at once; a declined card gets
    402 with the decline code and nothing moves."""
    key = idempotency.checked_key(idempotency_key)
    claimed = await idempotency.claim_request(
        runtime.session_factory,
        secret=runtime.settings.secret_key,
        customer_id=customer.id,
        key=key,
        scope=FUND_SCOPE,
        body=body.model_dump(mode="json"),
    )
    if isinstance(claimed, idempotency.Replay):
        return json_response(claimed.body, claimed.status_code)
    # Given back on an outage even after the funding started: the funding row carries the
    # key, so the retry finds it and takes it on rather than starting another.
    async with idempotency.released_on_outage(runtime.session_factory, runtime.detached, claimed):
        status_code, answer = await _fund(runtime, customer, claimed, body)
    return json_response(answer, status_code)


async def _fund(
    runtime: Runtime, customer: Customer, claimed: idempotency.Claim, body: FundIn
) -> tuple[int, Any]:
    funding = await _start(runtime, customer, claimed, body)
    try:
        funding = await service.advance_funding(runtime.funding_deps(), funding.id)
    except GatewayUnavailable:
        # The outcome is unknown: the worker finishes the funding, and the same key, sent
        # again a minute later, answers with how it ended.
        raise ServiceUnavailable(
            "The card network did not answer. Send the same request again in a minute.",
            headers={"Retry-After": "60"},
        ) from None
    async with unit_of_work(runtime.session_factory) as session:
        status_code, answer = _answer(funding, customer, await balance_of(session, customer.id))
        await idempotency.complete(session, claimed, status_code=status_code, body=answer)
    return status_code, answer


async def _start(
    runtime: Runtime, customer: Customer, claimed: idempotency.Claim, body: FundIn
) -> WalletFunding:
    card = body.payment.card
    request = service.FundWallet(
        amount=body.amount.amount,
        card_id=body.payment.card_id,
        new_card=None
        if card is None
        else CardDetails(card.number, card.exp_month, card.exp_year, card.cvc),
    )
    try:
        async with unit_of_work(runtime.session_factory) as session:
            return await service.start_funding(
                session,
                runtime.payment_gateway,
                customer,
                key=claimed.key,
                request=request,
                bounds=runtime.funding_bounds(),
            )
    except AppError:  # refused before anything was asked of the card: the key is free
        await idempotency.release(runtime.session_factory, claimed)
        raise
    except GatewayUnavailable:  # the card could not even be read: nothing was started
        await idempotency.release(runtime.session_factory, claimed)
        raise ServiceUnavailable(
            "The card network did not answer. Try again in a minute.",
            headers={"Retry-After": "60"},
        ) from None


def _answer(funding: WalletFunding, customer: Customer, balance: Balance) -> tuple[int, Any]:
    if funding.status == FundingStatus.declined:
        code = funding.decline_code or "card_declined"
        error = {"code": code, "message": "The card was declined.", "field": "payment"}
        return 402, {"error": error}
    return 201, wallet_out(balance, customer)
