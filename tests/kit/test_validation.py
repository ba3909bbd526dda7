"""describe_validation_error: Pydantic's error list becomes one stable code and field."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import BaseModel, Field, ValidationError

from topup.kit.validation import describe_validation_error


class Card(BaseModel):
    number: str
    exp_month: int = Field(ge=1, le=12)


class Payment(BaseModel):
    card: Card


class OrderBody(BaseModel):
    recipient_phone: str
    payment: Payment


def errors_of(raw: Any) -> list[Any]:
    with pytest.raises(ValidationError) as raised:
        OrderBody.model_validate(raw)
    # FastAPI puts where the value came from first, as in a request.
    return [{**error, "loc": ("body", *error["loc"])} for error in raised.value.errors()]


def test_a_missing_nested_value_names_the_dotted_field() -> None:
    error = describe_validation_error(
        errors_of({"recipient_phone": "+2348031234567", "payment": {"card": {"exp_month": 1}}})
    )

    assert error.code == "missing_field"
    assert error.field == "payment.card.number"
    assert error.message == "payment.card.number is required."
    assert error.status_code == 422


def test_a_missing_top_level_value() -> None:
    error = describe_validation_error(
        errors_of({"payment": {"card": {"number": "4242", "exp_month": 1}}})
    )

    assert (error.code, error.field) == ("missing_field", "recipient_phone")


@pytest.mark.parametrize("location", ["query", "path", "header", "cookie"])
def test_every_location_prefix_is_dropped(location: str) -> None:
    error = describe_validation_error(
        [{"type": "missing", "loc": (location, "phone"), "msg": "Field required"}]
    )

    assert error.field == "phone"


def test_a_value_out_of_bounds_is_an_invalid_field() -> None:
    error = describe_validation_error(
        errors_of(
            {
                "recipient_phone": "+2348031234567",
                "payment": {"card": {"number": "4242", "exp_month": 13}},
            }
        )
    )

    assert error.code == "invalid_field"
    assert error.field == "payment.card.exp_month"
    assert error.message == "payment.card.exp_month: Input should be less than or equal to 12"


def test_a_wrong_type_is_an_invalid_field() -> None:
    error = describe_validation_error(errors_of({"recipient_phone": ["+234"], "payment": {}}))

    assert (error.code, error.field) == ("invalid_field", "recipient_phone")
    assert error.message.startswith("recipient_phone: Input should be a valid string")


def test_a_value_error_loses_its_prefix() -> None:
    error = describe_validation_error(
        [{"type": "value_error", "loc": ("body", "amount"), "msg": "Value error, must be positive"}]
    )

    assert error.message == "amount: must be positive"


def test_invalid_json_has_no_field() -> None:
    error = describe_validation_error(
        [{"type": "json_invalid", "loc": ("body", 7), "msg": "JSON decode error"}]
    )

    assert error.code == "invalid_json"
    assert error.field is None
    assert error.body() == {
        "error": {"code": "invalid_json", "message": "The body is not valid JSON."}
    }


def test_a_whole_body_error_has_no_field() -> None:
    error = describe_validation_error(
        [
            {
                "type": "model_attributes_type",
                "loc": ("body",),
                "msg": "Input should be a valid dictionary",
            }
        ]
    )

    assert (error.code, error.field) == ("invalid_field", None)
    assert error.message == "Input should be a valid dictionary"


def test_only_the_first_error_is_described() -> None:
    error = describe_validation_error(errors_of({}))

    assert error.field == "recipient_phone"


def test_an_empty_list_still_gives_an_error() -> None:
    error = describe_validation_error([])

    assert (error.code, error.field) == ("invalid_field", None)


async def test_the_app_answers_a_missing_query_parameter(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/lookup")

    assert response.status_code == 422
    assert response.json() == {
        "error": {"code": "missing_field", "field": "phone", "message": "phone is required."}
    }


async def test_the_app_answers_a_too_long_query_parameter(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/lookup", params={"phone": "1" * 65})

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_field"
    assert response.json()["error"]["field"] == "phone"
