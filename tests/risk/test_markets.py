"""Market rules: Italian top-ups are for residents of Italy aged 18 or older."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from tests.risk.conftest import Risky
from tests.risk.support import IT_CARD, italian, nigerian, orders_of
from topup.kit import clock
from topup.risk.service import age_on


def years_ago(years: int) -> date:
    """Today's date ``years`` back (28 February standing in for a missing 29th)."""
    today = clock.now().date()
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


async def italian_order(risky: Risky, **profile: Any) -> tuple[str, dict[str, Any], int]:
    customer_id, headers = await risky.buyer(**profile)
    response = await risky.order(headers, italian(1), "it-tim-5", number=IT_CARD)
    body: dict[str, Any] = response.json()
    return customer_id, body, response.status_code


@pytest.mark.parametrize(
    ("profile", "field"),
    [
        ({"residence_country": "IT"}, "date_of_birth"),
        ({"date_of_birth": date(1990, 1, 1)}, "residence_country"),
    ],
)
async def test_an_italian_top_up_asks_for_what_the_profile_lacks(
    risky: Risky, profile: dict[str, Any], field: str
) -> None:
    customer_id, body, status = await italian_order(risky, **profile)

    assert status == 422
    assert body["error"]["code"] == "profile_incomplete"
    assert body["error"]["field"] == field
    assert await orders_of(risky.runtime, customer_id) == []


@pytest.mark.parametrize(
    ("years", "days_later"), [(17, 0), (18, 1)], ids=["17-today", "18-tomorrow"]
)
async def test_a_minor_is_refused_an_italian_top_up(
    risky: Risky, years: int, days_later: int
) -> None:
    born = years_ago(years) + timedelta(days=days_later)

    _, body, status = await italian_order(risky, date_of_birth=born, residence_country="IT")

    assert status == 201
    assert body["status"] == "rejected"
    assert body["failure_code"] == "market_restricted"
    assert body["payment"]["status"] == "none"


async def test_a_buyer_who_turns_eighteen_today_may_buy_an_italian_top_up(risky: Risky) -> None:
    _, body, status = await italian_order(
        risky, date_of_birth=years_ago(18), residence_country="IT"
    )

    assert status == 201
    assert body["status"] == "created"


async def test_an_adult_living_in_france_is_refused_an_italian_top_up(risky: Risky) -> None:
    _, body, status = await italian_order(
        risky, date_of_birth=date(1990, 1, 1), residence_country="FR"
    )

    assert status == 201
    assert body["status"] == "rejected"
    assert body["failure_code"] == "market_restricted"


async def test_a_nigerian_top_up_needs_no_birth_date_or_residence(risky: Risky) -> None:
    _, headers = await risky.buyer()

    response = await risky.order(headers, nigerian(1))

    assert response.status_code == 201, response.text
    assert response.json()["status"] == "created"


@pytest.mark.parametrize(
    ("today", "age"),
    [(date(2026, 2, 28), 17), (date(2026, 3, 1), 18), (date(2028, 2, 29), 20)],
)
def test_a_leap_day_birthday_counts_on_the_first_of_march_in_other_years(
    today: date, age: int
) -> None:
    assert age_on(date(2008, 2, 29), today) == age
