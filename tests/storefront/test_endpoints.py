"""The help page, the static files, and the error pages a browser sees instead of JSON."""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
import pytest

from tests.accounts.helpers import new_person, sms_code
from tests.storefront.support import lang_of, read, sign_up
from topup.runtime import Runtime
from topup.storefront.service import balance_code_table


async def test_the_help_page_lists_each_operators_balance_code(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    snapshot = await runtime.catalogue.get()
    mtn = snapshot.operators["ng-mtn"]
    orange = snapshot.operators["fr-orange"]
    sfr = snapshot.operators["fr-sfr"]
    assert mtn.balance_check_code
    assert orange.balance_check_code
    assert sfr.balance_check_code is None

    page = await client.get("/help")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for operator in (mtn, orange):
        name, code = re.escape(operator.name), re.escape(str(operator.balance_check_code))
        assert re.search(rf"<td>{name}</td>\s*<td><code>{code}</code></td>", page.text), name
    assert re.search(rf"<td>{sfr.name}</td>\s*<td>see the operator's app</td>", page.text)
    # Every operator we serve has its row: one per operator, under the table's heading.
    rows = [tag for tag in read(page.text).tags if tag.tag == "tr"]
    served = sum(len(country.operators) for country in balance_code_table(snapshot, "en"))
    assert served > 50
    assert len(rows) == served + 1


async def test_the_help_page_in_french(client: httpx.AsyncClient) -> None:
    page = await client.get("/help", headers={"Accept-Language": "fr"})
    assert lang_of(page.text) == "fr"
    assert "<code>*310#</code>" in page.text


async def test_an_unknown_page_is_an_html_404(client: httpx.AsyncClient) -> None:
    page = await client.get("/no-such-page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "This page does not exist" in page.text
    assert 'href="/"' in page.text
    assert page.text.lstrip().startswith("<!doctype html>")


async def test_an_unknown_page_speaks_the_visitors_language(client: httpx.AsyncClient) -> None:
    page = await client.get("/nope", headers={"Accept-Language": "es"})
    assert page.status_code == 404
    assert lang_of(page.text) == "es"


@pytest.mark.parametrize("path", ["/v1/no-such-thing", "/v1/orders/nope/extra", "/healthz/x"])
async def test_unknown_api_paths_still_answer_json(client: httpx.AsyncClient, path: str) -> None:
    answer = await client.get(path)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["error"]["code"] == "not_found"


async def test_api_errors_stay_json(client: httpx.AsyncClient) -> None:
    unauthorized = await client.get("/v1/me")
    assert unauthorized.status_code == 401
    assert unauthorized.json()["error"]["code"]
    invalid = await client.post("/v1/auth/login", json={"login": 3})
    assert invalid.status_code == 422
    assert invalid.headers["content-type"].startswith("application/json")


async def test_a_wrong_method_on_a_page_is_an_html_page(client: httpx.AsyncClient) -> None:
    page = await client.get("/topup/pay")
    assert page.status_code == 405
    assert page.headers["content-type"].startswith("text/html")
    assert "Something is not right" in page.text


async def test_a_malformed_page_address_is_an_html_page(client: httpx.AsyncClient) -> None:
    page = await client.get("/topup", params={"phone": "1" * 500})
    assert page.status_code == 422
    assert page.headers["content-type"].startswith("text/html")
    assert "Something is not right" in page.text


async def test_the_page_assets_are_served(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assets = [
        tag.attrs.get("href") or tag.attrs.get("src") or ""
        for tag in read(page.text).tags
        if (tag.tag == "link" and tag.attrs.get("rel") == "stylesheet") or tag.tag == "script"
    ]
    assert len(assets) == 2
    for asset in assets:
        assert re.fullmatch(r"/static/[\w.]+\?v=[0-9a-f]{12}", asset), asset
        served = await client.get(asset)
        assert served.status_code == 200, asset
        assert served.headers["x-content-type-options"] == "nosniff"
        assert served.content
    styles = await client.get(assets[0])
    assert styles.headers["content-type"].startswith("text/css")


async def test_a_missing_asset_is_not_a_page(client: httpx.AsyncClient) -> None:
    answer = await client.get("/static/nothing-here.js")
    assert answer.status_code == 404
    assert not answer.headers["content-type"].startswith("text/html")


async def test_the_sandbox_inbox_shows_the_code_sent(client: httpx.AsyncClient) -> None:
    person = new_person()
    verify_page = await client.get(await sign_up(client, person))
    link = f'href="/sandbox/inbox?to={quote(person.phone, safe="")}"'
    assert link in verify_page.text
    code = await sms_code(client, person.phone)
    for to in (person.phone, person.phone.removeprefix("+")):  # a "+" lost on the way
        inbox = await client.get("/sandbox/inbox", params={"to": to})
        assert inbox.status_code == 200
        bodies = [tag.text for tag in read(inbox.text).tags if tag.tag == "pre"]
        assert len(bodies) == 1
        assert code in bodies[0]
    nobody = await client.get("/sandbox/inbox", params={"to": new_person().phone})
    assert "Nothing was sent to this address yet." in nobody.text
