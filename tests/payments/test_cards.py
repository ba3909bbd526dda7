"""``/v1/cards`` on both databases."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest
from sqlalchemy import text

from topup.accounts.models import Customer, CustomerStatus, Role
from topup.accounts.sessions import issue_token
from topup.kit import clock
from topup.kit.db import unit_of_work
from topup.kit.ids import new_id
from topup.runtime import Runtime

Headers = dict[str, str]
NEXT_YEAR = clock.now().year + 1
PASSWORD = "correct horse battery"
VISA = {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": NEXT_YEAR, "cvc": "123"}


@pytest.fixture
def customer_headers(runtime: Runtime) -> Callable[..., Awaitable[Headers]]:
    """A stored customer and a bearer token for them."""

    async def make(status: CustomerStatus = CustomerStatus.active) -> Headers:
        async with unit_of_work(runtime.session_factory) as session:
            customer = Customer(
                id=new_id("cus"),
                first_name="Ada",
                last_name="Obi",
                email=None,
                email_key=None,
                phone=None,
                password_hash=await runtime.accounts.passwords.hash(PASSWORD),
                status=status.value,
                role=Role.customer.value,
                language="en",
                created_at=clock.now(),
                phone_verified_at=clock.now(),
                block_reason="chargebacks" if status is CustomerStatus.blocked else None,
            )
            session.add(customer)
            await session.flush()
            issued = issue_token(session, runtime.accounts, customer)
        return {"Authorization": f"Bearer {issued.token}"}

    return make


async def test_a_card_is_saved_listed_and_removed(
    client: httpx.AsyncClient,
    customer_headers: Callable[..., Awaitable[Headers]],
    runtime: Runtime,
) -> None:
    headers = await customer_headers()
    saved = await client.post("/v1/cards", json=VISA, headers=headers)
    assert saved.status_code == 201, saved.text
    card = saved.json()
    assert card == {
        "id": card["id"],
        "brand": "visa",
        "last4": "4242",
        "exp_month": 12,
        "exp_year": NEXT_YEAR,
    }
    listed = await client.get("/v1/cards", headers=headers)
    assert listed.json() == {"data": [card], "next_cursor": None}
    # Nothing but the token, brand, last 4, expiry and fingerprint reached the database.
    async with runtime.session_factory() as session:
        row = (
            (
                await session.execute(
                    text("SELECT * FROM saved_cards WHERE id = :id"), {"id": card["id"]}
                )
            )
            .mappings()
            .one()
        )
    assert "4242424242424242" not in " ".join(str(value) for value in row.values())
    assert "123" not in {str(value) for value in row.values()}

    removed = await client.delete(f"/v1/cards/{card['id']}", headers=headers)
    assert removed.status_code == 204
    assert (await client.get("/v1/cards", headers=headers)).json()["data"] == []


async def test_another_customers_card_is_not_found(
    client: httpx.AsyncClient,
    customer_headers: Callable[..., Awaitable[Headers]],
) -> None:
    owner, stranger = await customer_headers(), await customer_headers()
    card = (await client.post("/v1/cards", json=VISA, headers=owner)).json()
    assert (await client.get("/v1/cards", headers=stranger)).json()["data"] == []
    refused = await client.delete(f"/v1/cards/{card['id']}", headers=stranger)
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "card_not_found"
    assert len((await client.get("/v1/cards", headers=owner)).json()["data"]) == 1


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"number": "378282246310005", "cvc": "1234"}, "unsupported_card_brand", "number"),
        ({"number": "4242424242424241"}, "invalid_card_number", "number"),
        ({"exp_year": 2020}, "expired_card", "exp_year"),
        ({"exp_month": 13}, "invalid_field", "exp_month"),
        ({"cvc": "1"}, "invalid_cvc", "cvc"),
        ({"pin": "0000"}, "invalid_field", "pin"),
    ],
)
async def test_unusable_cards_get_a_clear_422(
    client: httpx.AsyncClient,
    customer_headers: Callable[..., Awaitable[Headers]],
    changes: dict[str, object],
    code: str,
    field: str,
) -> None:
    response = await client.post("/v1/cards", json=VISA | changes, headers=await customer_headers())
    assert response.status_code == 422
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == (code, field)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        # Each would be read as a valid month or year by a lenient parser.
        ("exp_month", True),
        ("exp_month", "12"),
        ("exp_month", 12.0),
        ("exp_year", str(NEXT_YEAR)),
        ("exp_year", float(NEXT_YEAR)),
    ],
)
async def test_an_expiry_that_is_not_a_json_integer_is_refused(
    client: httpx.AsyncClient,
    customer_headers: Callable[..., Awaitable[Headers]],
    field: str,
    value: object,
) -> None:
    headers = await customer_headers()

    response = await client.post("/v1/cards", json=VISA | {field: value}, headers=headers)

    assert response.status_code == 422, response.text
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == (
        "invalid_field",
        field,
    )
    assert (await client.get("/v1/cards", headers=headers)).json()["data"] == []


async def test_cards_need_a_login(client: httpx.AsyncClient) -> None:
    for response in (await client.get("/v1/cards"), await client.post("/v1/cards", json=VISA)):
        assert response.status_code == 401


async def test_a_blocked_account_cannot_save_a_card(
    client: httpx.AsyncClient,
    customer_headers: Callable[..., Awaitable[Headers]],
) -> None:
    response = await client.post(
        "/v1/cards", json=VISA, headers=await customer_headers(CustomerStatus.blocked)
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "account_blocked"


async def test_deleting_the_account_removes_its_cards(
    client: httpx.AsyncClient,
    customer_headers: Callable[..., Awaitable[Headers]],
    runtime: Runtime,
) -> None:
    headers = await customer_headers()
    card = (await client.post("/v1/cards", json=VISA, headers=headers)).json()
    deleted = await client.request("DELETE", "/v1/me", json={"password": PASSWORD}, headers=headers)
    assert deleted.status_code == 204, deleted.text
    async with runtime.session_factory() as session:
        left = await session.scalar(
            text("SELECT count(*) FROM saved_cards WHERE id = :id"), {"id": card["id"]}
        )
    assert left == 0


@pytest.mark.parametrize(
    ("card_id", "field"),
    [
        ("card_%00", "path"),  # a NUL is refused for the whole path, before any route
        ("nonsense", "card_id"),
        ("card_" + "0" * 31, "card_id"),
    ],
)
async def test_a_malformed_card_id_is_refused_before_any_query(
    client: httpx.AsyncClient,
    customer_headers: Callable[..., Awaitable[Headers]],
    card_id: str,
    field: str,
) -> None:
    response = await client.delete(f"/v1/cards/{card_id}", headers=await customer_headers())
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field
