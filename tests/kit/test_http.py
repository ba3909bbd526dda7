"""The request's unit of work must commit before the answer is sent."""

from __future__ import annotations

from typing import get_args

from topup.kit.http import SessionDep


def test_the_unit_of_work_ends_before_the_answer_leaves() -> None:
    # With FastAPI's default scope the commit ran after the answer was sent: a client that
    # logged in and called /v1/me at once got 401 now and then (caught by the e2e test).
    (_, dependency) = get_args(SessionDep)
    assert dependency.scope == "function"
