"""The product choice names the operator's promotion running now, next to its product."""

from __future__ import annotations

from datetime import timedelta

from tests.backoffice.test_endpoints import staff
from tests.fixtures.risky import Risky
from topup.kit import clock

AIRTEL_NUMBER = "+2348021234567"  # 0802: Airtel Nigeria


async def test_the_product_choice_shows_the_running_promotion(risky: Risky) -> None:
    _, admin = await staff(risky, "admin")
    products = (await risky.http.get("/v1/operators/ng-airtel/products")).json()["data"]
    chosen = products[0]["id"]
    starts = clock.now() + timedelta(hours=1)
    body = {
        "operator_id": "ng-airtel",
        "title": "Double data <b>weekend</b>",
        "product_ids": [chosen],
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(days=2)).isoformat(),
    }
    made = await risky.http.post("/v1/admin/operator-promotions", json=body, headers=admin)
    assert made.status_code == 201, made.text
    shown = '<span class="promotion">Double data &lt;b&gt;weekend&lt;/b&gt;</span>'

    before = await risky.http.get("/topup", params={"phone": AIRTEL_NUMBER})
    clock.advance(3600)
    during = await risky.http.get("/topup", params={"phone": AIRTEL_NUMBER})

    assert before.status_code == during.status_code == 200
    assert 'class="promotion"' not in before.text
    assert during.text.count('class="promotion"') == 1  # on the product it names only
    assert shown in during.text  # the title as text, never as markup
    label_start = during.text.index(f'for="product-{chosen}"')
    assert label_start < during.text.index(shown) < during.text.index("</label>", label_start)
