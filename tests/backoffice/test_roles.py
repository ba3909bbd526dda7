"""Who may call each admin endpoint: nobody anonymous, no customer, support for the
day's work, admin alone for rules."""

from __future__ import annotations

import pytest

from tests.fixtures.risky import Risky

ORDER = "ord_" + "0" * 32
CUSTOMER = "cus_" + "0" * 32
Call = tuple[str, str, object]
STAFF_ONLY: list[Call] = [
    ("GET", "/v1/admin/rules", None),
    ("GET", "/v1/admin/reviews", None),
    ("GET", f"/v1/admin/orders/{ORDER}", None),
    ("POST", f"/v1/admin/reviews/{ORDER}/approve", None),
    ("POST", f"/v1/admin/reviews/{ORDER}/reject", {"reason": "r"}),
    ("POST", f"/v1/admin/customers/{CUSTOMER}/block", {"reason": "r"}),
    ("DELETE", f"/v1/admin/customers/{CUSTOMER}/block", None),
    ("POST", "/v1/admin/cards/blocks", {"fingerprint": "abc", "reason": "r"}),
    ("DELETE", "/v1/admin/cards/blocks/abc", None),
    ("GET", "/v1/admin/audit", None),
]
ADMIN_ONLY: list[Call] = [
    (
        "PUT",
        "/v1/admin/rules/limits/x",
        {"scope": "card", "window_seconds": 3600, "max_count": 1, "description": "d"},
    ),
    ("PUT", "/v1/admin/rules/markets/IT", {"description": "d"}),
    (
        "PUT",
        "/v1/admin/rules/signals/decline_burst",
        {"weight": 1, "params": {"declines": 3, "window_seconds": 3600}},
    ),
    ("PUT", "/v1/admin/rules/thresholds", {"review_score": 50, "reject_score": 100}),
]


async def status_for(risky: Risky, role: str | None, method: str, path: str, body: object) -> int:
    headers: dict[str, str] = {}
    if role is not None:
        _, headers = await risky.buyer(role=role)
    response = await risky.http.request(method, path, json=body, headers=headers)
    return response.status_code


@pytest.mark.parametrize(("method", "path", "body"), STAFF_ONLY + ADMIN_ONLY)
async def test_anonymous_callers_and_customers_are_turned_away(
    risky: Risky, method: str, path: str, body: object
) -> None:
    assert await status_for(risky, None, method, path, body) == 401
    assert await status_for(risky, "customer", method, path, body) == 403


@pytest.mark.parametrize(("method", "path", "body"), STAFF_ONLY)
async def test_support_and_admin_pass_the_role_check_of_the_days_work(
    risky: Risky, method: str, path: str, body: object
) -> None:
    for role in ("support", "admin"):
        # Past the role check, each answers on its own terms (200, 201, 404 for the
        # made-up ids): never 401 or 403.
        assert await status_for(risky, role, method, path, body) not in (401, 403, 500)


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ONLY)
async def test_only_an_admin_changes_a_rule(
    risky: Risky, method: str, path: str, body: object
) -> None:
    assert await status_for(risky, "support", method, path, body) == 403
    assert await status_for(risky, "admin", method, path, body) == 200
