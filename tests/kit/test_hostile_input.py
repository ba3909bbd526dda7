"""Hostile request bodies and parameters get a clean 4xx with a stable code and field, on
both databases: bytes that are not UTF-8, JSON nested 10,000 deep, duplicate keys, wrong
content types, the NUL character, and amounts and messages of every shape."""

from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fixtures.fuzzing import HostedApp
from topup.accounts.models import Role
from topup.kit.ids import new_id

FUZZ = settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
UNKNOWN_CARD = "card_" + "0" * 32


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code < 500, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


def fund(hosted_app: HostedApp, amount: Any) -> httpx.Response:
    account = hosted_app.account(Role.customer)
    return hosted_app.request(
        "POST",
        "/v1/wallet/fund",
        json={
            "amount": {"amount": amount, "currency": "EUR"},
            "payment": {"card_id": UNKNOWN_CARD},
        },
        headers=account.headers | {"Idempotency-Key": new_id("key")},
    )


def test_a_body_that_is_not_utf8_is_invalid_json(hosted_app: HostedApp) -> None:
    # Regression: FastAPI's own 400 "There was an error parsing the body" came through
    # as `http_error`, with no field, undeclared in the OpenAPI document.
    response = hosted_app.request(
        "POST",
        "/v1/auth/login",
        content=b'{"login": "\xff\xfe", "password": "x"}',
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid_json"


def test_json_nested_ten_thousand_deep_is_invalid_json(hosted_app: HostedApp) -> None:
    # Regression: the parser's RecursionError took the same 400 path as bad UTF-8.
    deep = b"[" * 10_000 + b"]" * 10_000

    response = hosted_app.request(
        "POST", "/v1/auth/login", content=deep, headers={"content-type": "application/json"}
    )

    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid_json"


def test_a_nul_in_a_json_body_is_refused_with_its_field(hosted_app: HostedApp) -> None:
    # Regression: PostgreSQL cannot store U+0000; the insert failed and the answer was
    # 503 `service_unavailable`, "try again", which no retry could fix.
    admin = hosted_app.account(Role.admin)

    response = hosted_app.request(
        "POST",
        "/v1/admin/cards/blocks",
        json={"reason": "stolen\u0000", "card_id": UNKNOWN_CARD},
        headers=admin.headers,
    )

    assert response.status_code == 422
    assert error_of(response) | {"message": ""} == {
        "code": "invalid_field",
        "field": "reason",
        "message": "",
    }


def test_a_nul_in_a_query_parameter_is_refused_with_its_name(hosted_app: HostedApp) -> None:
    admin = hosted_app.account(Role.admin)

    response = hosted_app.request(
        "GET", "/v1/admin/audit", params={"order_id": "ord_\u0000"}, headers=admin.headers
    )

    assert response.status_code == 422
    assert error_of(response)["field"] == "order_id"


def test_duplicate_keys_are_read_as_the_last_and_judged_as_usual(hosted_app: HostedApp) -> None:
    body = b'{"login": "ada@example.com", "password": "x", "password": "correct horse"}'

    response = hosted_app.request(
        "POST", "/v1/auth/login", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 401
    assert error_of(response)["code"] == "invalid_credentials"


@FUZZ
@given(
    content_type=st.sampled_from(
        [
            "text/plain",
            "application/xml",
            "multipart/form-data",
            "application/x-www-form-urlencoded",
        ]
    )
)
def test_a_json_body_under_another_content_type_is_refused(
    hosted_app: HostedApp, content_type: str
) -> None:
    body = json.dumps({"login": "ada@example.com", "password": "correct horse"}).encode()

    response = hosted_app.request(
        "POST", "/v1/auth/login", content=body, headers={"content-type": content_type}
    )

    assert response.status_code == 422
    assert error_of(response)["code"] in {"invalid_field", "invalid_json", "missing_field"}


NOT_AMOUNTS = st.one_of(
    st.integers(max_value=0),
    st.integers(min_value=10**15),
    st.floats(allow_nan=False, allow_infinity=False).filter(lambda value: value != int(value)),
    st.booleans(),
    st.none(),
    st.text(max_size=20).filter(lambda text: not text.strip().lstrip("+").isdigit()),
    st.sampled_from(["1e3", "2000.5", "0x10", "١٢٣", "-5", "Infinity", "NaN"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@FUZZ
@given(amount=NOT_AMOUNTS)
def test_wallet_funding_refuses_every_amount_that_is_not_whole_minor_units(
    hosted_app: HostedApp, amount: Any
) -> None:
    response = fund(hosted_app, amount)

    assert response.status_code == 422, response.text
    error = error_of(response)
    assert error["code"] == "invalid_field"
    assert error["field"] == "amount.amount"


@FUZZ
@given(amount=st.integers(min_value=1, max_value=10**15 - 1))
def test_wallet_funding_reads_whole_minor_units_of_any_size(
    hosted_app: HostedApp, amount: int
) -> None:
    response = fund(hosted_app, amount)

    error = error_of(response)  # past validation: the bounds, or the unknown card
    assert (error["code"], error["field"]) in {
        ("amount_out_of_bounds", "amount.amount"),
        ("card_not_found", "payment.card_id"),
    }, error


MESSAGES = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), min_size=0, max_size=400
) | st.sampled_from(["\u202eevil\u202c", "👩‍👩‍👧‍👦" * 10, "\u0301" * 50, "a\r\nb\tc\x1b[31m"])


@FUZZ
@given(message=MESSAGES)
def test_an_order_message_of_any_text_is_placed_or_refused_on_its_field(
    hosted_app: HostedApp, message: str
) -> None:
    account = hosted_app.account(Role.customer)

    response = hosted_app.request(
        "POST",
        "/v1/orders",
        json={
            "recipient_phone": "+2348031234567",
            "product_id": "ng-mtn-2500",
            "message": message,
            "payment": {"card_id": UNKNOWN_CARD},
        },
        headers=account.headers | {"Idempotency-Key": new_id("key")},
    )

    error = error_of(response)
    assert error["field"] in {"message", "payment.card_id"}, error


def test_an_escaped_lone_surrogate_in_a_message_is_refused(hosted_app: HostedApp) -> None:
    account = hosted_app.account(Role.customer)
    body = (
        b'{"recipient_phone": "+2348031234567", "product_id": "ng-mtn-2500", '
        b'"message": "hi \\ud83d", "payment": {"card_id": "' + UNKNOWN_CARD.encode() + b'"}}'
    )

    response = hosted_app.request(
        "POST",
        "/v1/orders",
        content=body,
        headers=account.headers
        | {"Idempotency-Key": new_id("key"), "content-type": "application/json"},
    )

    error = error_of(response)
    assert response.status_code == 422
    assert error["field"] in {"message", None}


def test_a_boolean_is_not_a_whole_number_in_a_rule(hosted_app: HostedApp) -> None:
    # Regression: schemathesis sent `"min_age": true` and the rule was stored with 1.
    admin = hosted_app.account(Role.admin)

    response = hosted_app.request(
        "PUT",
        "/v1/admin/rules/markets/RD",
        json={"description": "test", "enabled": True, "min_age": True},
        headers=admin.headers,
    )

    assert response.status_code == 422
    assert error_of(response)["field"] == "min_age"
