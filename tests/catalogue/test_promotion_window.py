"""A promotion shows on its products only inside its window, without any catalogue change,
and admins enter, change and switch off promotions with their input checked."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.backoffice.test_endpoints import staff
from tests.fixtures.risky import Risky
from tests.orders.conftest import Headers
from topup.catalogue.promotions import sync_promotions
from topup.catalogue.repository import CatalogueRepository
from topup.kit import clock

PROMOTIONS = "/v1/admin/operator-promotions"
AIRTEL_NUMBER = "+2348021234567"  # 0802: Airtel Nigeria


def at(moment: datetime) -> str:
    return moment.isoformat()


async def admin(risky: Risky) -> Headers:
    _, headers = await staff(risky, "admin")
    return headers


async def products(risky: Risky, **headers: str) -> httpx.Response:
    response = await risky.http.get("/v1/operators/ng-airtel/products", headers=headers)
    assert response.status_code in (200, 304), response.text
    return response


def promotions_of(response: httpx.Response) -> dict[str, Any]:
    return {product["id"]: product["promotion"] for product in response.json()["data"]}


async def version(risky: Risky) -> int | None:
    async with risky.runtime.session_factory() as session:
        return await CatalogueRepository(session).current_version()


async def test_a_promotion_shows_only_inside_its_window(risky: Risky) -> None:
    headers = await admin(risky)
    first = await products(risky)
    airtel_ids = list(promotions_of(first))
    chosen, other = airtel_ids[0], airtel_ids[1]
    starts = clock.now().replace(microsecond=0) + timedelta(hours=1)
    body = {
        "operator_id": "ng-airtel",
        "title": "Double data weekend",
        "description": "Twice the data on this bundle.",
        "bonus_percent": 100,
        "bonus_text": "2x data",
        "product_ids": [chosen],
        "starts_at": at(starts),
        "ends_at": at(starts + timedelta(hours=2)),
    }
    made = await risky.http.post(PROMOTIONS, json=body, headers=headers)
    assert made.status_code == 201, made.text

    before = await products(risky)
    assert set(promotions_of(before).values()) == {None}
    etag = before.headers["etag"]
    assert int(before.headers["cache-control"].split("max-age=")[1].split(",")[0]) <= 3600
    assert (await products(risky, **{"If-None-Match": etag})).status_code == 304
    catalogue_version = await version(risky)

    clock.advance(3600)  # starts_at itself: it runs from then
    during = await products(risky)
    assert during.status_code == 200
    assert promotions_of(during)[chosen] == {
        "title": "Double data weekend",
        "description": "Twice the data on this bundle.",
        "bonus_percent": 100,
        "bonus_text": "2x data",
        "denominations": None,
        "starts_at": at(starts),
        "ends_at": at(starts + timedelta(hours=2)),
    }
    assert promotions_of(during)[other] is None  # limited to the product it names
    assert during.headers["etag"] != etag
    assert (await products(risky, **{"If-None-Match": etag})).status_code == 200
    lookup = await risky.http.get("/v1/lookup", params={"phone": AIRTEL_NUMBER})
    assert lookup.status_code == 200, lookup.text
    assert lookup.json()["operator"]["id"] == "ng-airtel"
    looked_up = {product["id"]: product["promotion"] for product in lookup.json()["products"]}
    assert looked_up == promotions_of(during)

    clock.advance(2 * 3600)  # ends_at itself: over
    after = await products(risky)
    assert set(promotions_of(after).values()) == {None}
    assert after.headers["etag"] == etag  # the answer from before, again
    assert await version(risky) == catalogue_version  # the clock alone did all this


async def test_admins_create_change_and_switch_off_promotions(risky: Risky) -> None:
    headers = await admin(risky)
    starts = clock.now().replace(microsecond=0) - timedelta(hours=1)
    body = {
        "operator_id": "ng-airtel",
        "title": "Bonus airtime",
        "starts_at": at(starts),
        "ends_at": at(starts + timedelta(days=2)),
    }
    made = await risky.http.post(PROMOTIONS, json=body, headers=headers)
    assert made.status_code == 201, made.text
    promotion = made.json()
    assert (promotion["supplier"], promotion["enabled"], promotion["product_ids"]) == (
        "manual",
        True,
        None,
    )
    path = f"{PROMOTIONS}/{promotion['id']}"
    assert {value["title"] for value in promotions_of(await products(risky)).values()} == {
        "Bonus airtime"
    }

    changed = await risky.http.patch(path, json={"title": "More airtime"}, headers=headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["title"] == "More airtime"
    off = await risky.http.patch(path, json={"enabled": False}, headers=headers)
    assert off.status_code == 200, off.text
    assert set(promotions_of(await products(risky)).values()) == {None}
    on = await risky.http.patch(path, json={"enabled": True}, headers=headers)
    assert on.status_code == 200, on.text
    assert {value["title"] for value in promotions_of(await products(risky)).values()} == {
        "More airtime"
    }

    # The list: newest first, by operator, a page at a time.
    second = await risky.http.post(
        PROMOTIONS, json=body | {"operator_id": "ng-glo"}, headers=headers
    )
    assert second.status_code == 201, second.text
    page = (await risky.http.get(PROMOTIONS, params={"limit": 1}, headers=headers)).json()
    assert [item["id"] for item in page["data"]] == [second.json()["id"]]
    rest = await risky.http.get(
        PROMOTIONS, params={"limit": 1, "cursor": page["next_cursor"]}, headers=headers
    )
    assert [item["id"] for item in rest.json()["data"]] == [promotion["id"]]
    glo = await risky.http.get(PROMOTIONS, params={"operator_id": "ng-glo"}, headers=headers)
    assert [item["operator_id"] for item in glo.json()["data"]] == ["ng-glo"]


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"ends_at": "starts"}, "invalid_window", "ends_at"),
        ({"operator_id": "xx-nobody"}, "operator_not_found", "operator_id"),
        ({"product_ids": ["ng-mtn-2500"]}, "product_not_for_operator", "product_ids"),
        ({"starts_at": "2030-01-01T00:00:00"}, None, "starts_at"),  # no offset: which zone?
        ({"starts_at": "0001-01-01T00:00:00+14:00"}, None, "starts_at"),  # before UTC's year 1
        ({"bonus_percent": 0}, None, "bonus_percent"),
        ({"bonus_percent": "50"}, None, "bonus_percent"),
        ({"title": ""}, None, "title"),
    ],
)
async def test_a_promotion_with_bad_input_is_refused_with_its_field(
    risky: Risky, change: dict[str, Any], code: str | None, field: str
) -> None:
    starts = "2030-01-01T00:00:00Z"
    body = {
        "operator_id": "ng-airtel",
        "title": "Bonus",
        "starts_at": starts,
        "ends_at": "2030-01-02T00:00:00Z",
    } | {key: starts if value == "starts" else value for key, value in change.items()}

    response = await risky.http.post(PROMOTIONS, json=body, headers=await admin(risky))

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == field
    if code is not None:
        assert error["code"] == code


async def test_a_change_that_would_break_a_promotion_is_refused(risky: Risky) -> None:
    headers = await admin(risky)
    body = {
        "operator_id": "ng-airtel",
        "title": "Bonus",
        "starts_at": "2030-01-01T00:00:00Z",
        "ends_at": "2030-01-02T00:00:00Z",
    }
    made = await risky.http.post(PROMOTIONS, json=body, headers=headers)
    path = f"{PROMOTIONS}/{made.json()['id']}"

    early = await risky.http.patch(path, json={"ends_at": "2029-12-31T00:00:00Z"}, headers=headers)
    untitled = await risky.http.patch(path, json={"title": None}, headers=headers)
    missing = await risky.http.patch(f"{PROMOTIONS}/opr_{'0' * 32}", json={}, headers=headers)

    assert (early.status_code, early.json()["error"]["code"]) == (422, "invalid_window")
    assert (untitled.status_code, untitled.json()["error"]["field"]) == (422, "title")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "promotion_not_found")


async def test_a_suppliers_promotion_can_only_be_switched_off(risky: Risky) -> None:
    headers = await admin(risky)
    await sync_promotions(risky.runtime.promotion_sync_deps())  # the simulator's
    listed = await risky.http.get(PROMOTIONS, params={"operator_id": "ng-mtn"}, headers=headers)
    (synced,) = listed.json()["data"]
    path = f"{PROMOTIONS}/{synced['id']}"

    retitled = await risky.http.patch(path, json={"title": "Mine now"}, headers=headers)
    off = await risky.http.patch(path, json={"enabled": False}, headers=headers)

    assert retitled.status_code == 422
    assert (retitled.json()["error"]["code"], retitled.json()["error"]["field"]) == (
        "supplier_promotion",
        "title",
    )
    assert off.status_code == 200, off.text
    mtn = await risky.http.get("/v1/operators/ng-mtn/products")
    assert {product["promotion"] for product in mtn.json()["data"]} == {None}
