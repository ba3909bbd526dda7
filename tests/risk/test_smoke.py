"""The risk fixture works: an ordinary order passes the default rules."""

from __future__ import annotations

from tests.risk.conftest import Risky


async def test_an_ordinary_order_passes_the_default_rules(risky: Risky) -> None:
    _, headers = await risky.buyer()

    response = await risky.order(headers)

    assert response.status_code == 201, response.text
    assert response.json()["status"] == "created"
