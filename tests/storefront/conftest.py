"""A customer who signed up and confirmed their phone through the pages, still logged in."""

from __future__ import annotations

import httpx
import pytest

from tests.accounts.helpers import Person
from tests.storefront.support import sign_up_and_verify


@pytest.fixture
async def shopper(client: httpx.AsyncClient) -> Person:
    """Who signed up in ``client``; the browser stays logged in as them."""
    return await sign_up_and_verify(client)


@pytest.fixture
def logged_in_client(client: httpx.AsyncClient, shopper: Person) -> httpx.AsyncClient:
    return client
