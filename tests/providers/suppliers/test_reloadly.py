"""The Reloadly adapter against a fake Reloadly over real HTTP on 127.0.0.1: the documented
outcomes, the token's life, and every transport fault read as "unknown", never as failed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fixtures.reloadly_server import (
    Fault,
    FaultKind,
    Route,
    RunningReloadly,
    reloadly_for,
)
from topup.kit import clock
from topup.providers.suppliers.base import SupplierUnavailable, TopupRequest, TopupStatus
from topup.providers.suppliers.reloadly import ReloadlySupplier

SEND_FAULTS = list(FaultKind)


def a_request(phone: str = "+2348031234567", reference: str = "ord_1") -> TopupRequest:
    return TopupRequest(reference, phone, "ng-mtn", amount=250_000, currency="NGN")


@pytest.fixture
async def supplier(reloadly_server: RunningReloadly) -> AsyncIterator[ReloadlySupplier]:
    adapter = reloadly_for(reloadly_server)
    yield adapter
    await adapter.close()


async def test_a_top_up_is_sent_once_under_our_reference(
    supplier: ReloadlySupplier, reloadly_server: RunningReloadly
) -> None:
    sent = await supplier.send_topup(a_request())

    assert sent.status is TopupStatus.succeeded
    assert sent.supplier_transaction_id is not None
    transaction = reloadly_server.reloadly.transaction("ord_1")
    assert transaction is not None
    assert (transaction["recipientPhone"], transaction["countryCode"]) == ("2348031234567", "NG")
    assert (transaction["operatorId"], transaction["requestedAmount"]) == (341, 2500.0)
    assert str(transaction["transactionId"]) == sent.supplier_transaction_id
    # A retry finds the first top-up (Reloadly refuses the reused reference): still one.
    again = await supplier.send_topup(a_request())
    assert (again.status, again.supplier_transaction_id) == (
        sent.status,
        sent.supplier_transaction_id,
    )
    assert reloadly_server.reloadly.topups("ord_1") == 1
    assert reloadly_server.reloadly.sends == 2
    assert reloadly_server.reloadly.token_requests == 1  # the token is kept


@pytest.mark.parametrize(
    ("suffix", "first", "then", "failure"),
    [
        ("0001", TopupStatus.failed, TopupStatus.failed, "operator_failed"),
        ("0002", TopupStatus.pending, TopupStatus.succeeded, None),
        ("0003", TopupStatus.pending, TopupStatus.failed, "operator_refunded"),
        ("0004", TopupStatus.pending, TopupStatus.pending, None),
    ],
)
async def test_documented_statuses_map_to_ours(
    supplier: ReloadlySupplier,
    suffix: str,
    first: TopupStatus,
    then: TopupStatus,
    failure: str | None,
) -> None:
    sent = await supplier.send_topup(a_request(f"+234803123{suffix}"))
    later = await supplier.status("ord_1")

    assert sent.status is first
    assert (later.status, later.failure_code) == (then, failure)


async def test_an_unknown_reference_is_not_found(supplier: ReloadlySupplier) -> None:
    assert (await supplier.status("ord_never_sent")).status is TopupStatus.not_found


@pytest.mark.parametrize("kind", SEND_FAULTS)
async def test_a_fault_after_delivery_is_unknown_and_the_status_finds_the_top_up(
    supplier: ReloadlySupplier, reloadly_server: RunningReloadly, kind: FaultKind
) -> None:
    reloadly_server.reloadly.fail_next(Route.send, Fault(kind, delivered=True, delay_seconds=1.5))

    with pytest.raises(SupplierUnavailable):
        await supplier.send_topup(a_request())

    assert (await supplier.status("ord_1")).status is TopupStatus.succeeded
    assert reloadly_server.reloadly.topups("ord_1") == 1


@pytest.mark.parametrize("kind", [FaultKind.delay, FaultKind.reset, FaultKind.server_error])
async def test_a_fault_before_delivery_is_unknown_and_nothing_is_there(
    supplier: ReloadlySupplier, reloadly_server: RunningReloadly, kind: FaultKind
) -> None:
    reloadly_server.reloadly.fail_next(Route.send, Fault(kind, delivered=False, delay_seconds=1.5))

    with pytest.raises(SupplierUnavailable):
        await supplier.send_topup(a_request())

    assert (await supplier.status("ord_1")).status is TopupStatus.not_found
    assert (await supplier.send_topup(a_request())).status is TopupStatus.succeeded
    assert reloadly_server.reloadly.topups("ord_1") == 1


@pytest.mark.parametrize("route", [Route.report, Route.status, Route.token])
@pytest.mark.parametrize("kind", SEND_FAULTS)
async def test_a_fault_on_any_status_call_is_unknown(
    reloadly_server: RunningReloadly, route: Route, kind: FaultKind
) -> None:
    sender = reloadly_for(reloadly_server)
    await sender.send_topup(a_request())
    await sender.close()
    fresh = reloadly_for(reloadly_server)  # no token yet, so the token route is asked too
    reloadly_server.reloadly.fail_next(route, Fault(kind, delay_seconds=1.5))
    try:
        with pytest.raises(SupplierUnavailable):
            await fresh.status("ord_1")
        assert (await fresh.status("ord_1")).status is TopupStatus.succeeded
    finally:
        await fresh.close()


async def test_an_expired_token_is_renewed_once_and_the_call_goes_through(
    supplier: ReloadlySupplier, reloadly_server: RunningReloadly
) -> None:
    await supplier.send_topup(a_request(reference="ord_a"))
    reloadly_server.reloadly.expire_tokens()

    assert (await supplier.send_topup(a_request(reference="ord_b"))).status is TopupStatus.succeeded
    assert reloadly_server.reloadly.token_requests == 2
    assert reloadly_server.reloadly.topups("ord_b") == 1


async def test_a_token_past_its_lifetime_is_renewed_before_use(
    supplier: ReloadlySupplier, reloadly_server: RunningReloadly
) -> None:
    await supplier.status("ord_1")
    clock.advance(86_400)

    await supplier.status("ord_1")

    assert reloadly_server.reloadly.token_requests == 2


async def test_wrong_credentials_are_unknown_not_a_failure(
    reloadly_server: RunningReloadly,
) -> None:
    adapter = reloadly_for(reloadly_server, client_id="someone-else")
    try:
        with pytest.raises(SupplierUnavailable):
            await adapter.send_topup(a_request())
    finally:
        await adapter.close()
    assert reloadly_server.reloadly.sends == 0


async def test_a_request_reloadly_refuses_is_failed_with_a_code(
    supplier: ReloadlySupplier, reloadly_server: RunningReloadly
) -> None:
    refused = await supplier.send_topup(a_request("+23480312"))

    assert (refused.status, refused.failure_code) == (TopupStatus.failed, "invalid_recipient_phone")
    assert reloadly_server.reloadly.topups("ord_1") == 0


async def test_an_operator_without_a_reloadly_id_is_never_sent(
    supplier: ReloadlySupplier, reloadly_server: RunningReloadly
) -> None:
    request = TopupRequest("ord_1", "+2348031234567", "xx-unknown", 100, "NGN")

    result = await supplier.send_topup(request)

    assert (result.status, result.failure_code) == (TopupStatus.failed, "operator_not_mapped")
    assert reloadly_server.reloadly.sends == 0


async def test_the_supplier_down_is_unknown_until_it_comes_back(
    supplier: ReloadlySupplier, reloadly_server: RunningReloadly
) -> None:
    reloadly_server.go_down()
    with pytest.raises(SupplierUnavailable):
        await supplier.send_topup(a_request())
    with pytest.raises(SupplierUnavailable):
        await supplier.status("ord_1")

    reloadly_server.come_back()

    assert (await supplier.status("ord_1")).status is TopupStatus.not_found
    assert (await supplier.send_topup(a_request())).status is TopupStatus.succeeded


# ---- PIN products ------------------------------------------------------------------------


def a_voucher(phone: str = "+2348031234567", reference: str = "ord_pin") -> TopupRequest:
    return TopupRequest(
        reference, phone, "ng-mtn", amount=100_000, currency="NGN", product_type="voucher"
    )


async def test_a_voucher_goes_to_the_pin_operator_and_its_pin_detail_is_read(
    supplier: ReloadlySupplier, reloadly_server: RunningReloadly
) -> None:
    sent = await supplier.send_topup(a_voucher())

    transaction = reloadly_server.reloadly.transaction("ord_pin")
    assert transaction is not None
    assert transaction["operatorId"] == 900  # "ng-mtn:voucher", not the airtime operator
    detail = transaction["pinDetail"]
    assert sent.pin is not None
    assert (sent.pin.code, sent.pin.serial) == (detail["code"], str(detail["serial"]))
    assert (sent.pin.instructions, sent.pin.access_number) == (detail["info1"], detail["ivr"])
    assert detail["code"] not in repr(sent)
    # The retry and the status check both find the same PIN.
    assert (await supplier.send_topup(a_voucher())).pin == sent.pin
    assert (await supplier.status("ord_pin")).pin == sent.pin


async def test_a_pending_pin_arrives_with_the_status_that_says_successful(
    supplier: ReloadlySupplier,
) -> None:
    sent = await supplier.send_topup(a_voucher("+2348031230002"))
    assert (sent.status, sent.pin) == (TopupStatus.pending, None)

    done = await supplier.status("ord_pin")

    assert done.status is TopupStatus.succeeded
    assert done.pin is not None
    assert done.pin.code.isdigit()


async def test_airtime_carries_no_pin_and_reloadly_reports_no_card_balance(
    supplier: ReloadlySupplier,
) -> None:
    sent = await supplier.send_topup(a_request())
    assert sent.pin is None
    with pytest.raises(SupplierUnavailable):
        await supplier.card_balance("ord_1")


async def test_reloadly_documents_no_way_to_end_a_plan(supplier: ReloadlySupplier) -> None:
    # So a plan's end is never confirmed with Reloadly, and its refund goes to support.
    with pytest.raises(SupplierUnavailable):
        await supplier.end_plan("ord_1")


async def test_a_pin_detail_without_a_code_is_a_delivery_without_a_pin(
    supplier: ReloadlySupplier, reloadly_server: RunningReloadly
) -> None:
    # Read as Reloadly reports it, a success without a PIN (never an unreadable answer):
    # the lifecycle decides what that means for the order (pending, then failed unpaid).
    reloadly_server.reloadly.pin_detail_instead = {"serial": 1, "code": None}
    sent = await supplier.send_topup(a_voucher())

    assert (sent.status, sent.pin) == (TopupStatus.succeeded, None)
