"""Reading Reloadly's promotions: its several date forms, its HTML, its bonus wording."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from topup.providers.suppliers.reloadly_promotions import (
    PromotionPage,
    bonus_percent,
    parse_date,
    plain_text,
    read_promotions,
)

JAN_1_10H = datetime(2021, 1, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "2021-01-01 10:00:00",
        "2021-01-01T10:00",
        "2021-01-01T10:00:00Z",
        "2021-01-01T11:00:00+01:00",
        "Fri, 01 Jan 2021 10:00:00 +0000",
    ],
)
def test_every_date_form_reloadly_uses_reads_as_the_same_utc_moment(text: str) -> None:
    assert parse_date(text) == JAN_1_10H


@pytest.mark.parametrize("text", ["", "soon", "2021-13-01 00:00:00", "Mon, 99 Foo"])
def test_a_date_that_is_not_one_is_none(text: str) -> None:
    assert parse_date(text) is None


def test_html_becomes_plain_text() -> None:
    html = (
        "<br />- For top ups of&nbsp; USD 10 / HTG 500 will receive 200% Bonus credit<br />"
        "- <strong>Valid</strong> 3 days &ldquo;on-net&rdquo;<br /><br />"
        '<img alt=\\"\\" src=\\"https://i.example/x.png\\" /><script>alert(1)</script>'
        '<a href="https://example.com">click here</a>.'
    )
    assert plain_text(html) == (
        "- For top ups of USD 10 / HTG 500 will receive 200% Bonus credit\n"
        "- Valid 3 days \u201con-net\u201d\n"
        "click here."
    )


@pytest.mark.parametrize(
    ("offer", "percent"),
    [
        ("100% Bonus", 100),
        ("Get 50 % extra credit", 50),
        ("Bonus of 200%", 200),
        ("Bonus 2x", None),  # double, or twice extra? not a number to promise
        ("Bonus 3X and 4X", None),
        ("Free data and minutes", None),
        ("5000% bonus", None),  # beyond any real promotion: not shown as a number
    ],
)
def test_a_bonus_percentage_is_read_only_where_stated(offer: str, percent: int | None) -> None:
    assert bonus_percent(offer) == percent


def test_a_page_says_whether_it_is_the_last() -> None:
    assert PromotionPage.model_validate({"content": [], "last": True}).is_last(1)
    assert not PromotionPage.model_validate({"content": [{}], "totalPages": 3}).is_last(2)
    assert PromotionPage.model_validate({"content": [{}], "totalPages": 3}).is_last(3)
    assert PromotionPage.model_validate({"content": [{}]}).is_last(1)  # a short page


def test_only_mapped_operators_and_readable_promotions_are_kept() -> None:
    base = {
        "promotionId": 1,
        "operatorId": 341,
        "title": "MTN Nigeria From 01 Jan 2021 00:00 To 02 Jan 2021 00:00 (GMT+01:00)",
        "title2": None,
        "description": None,
        "startDate": "2021-01-01 10:00:00",
        "endDate": "2021-01-02 10:00:00",
        "denominations": "All",
        "localDenominations": None,
    }
    found = read_promotions(
        [base, base | {"promotionId": 2, "operatorId": 999}, {"promotionId": 3}], {341: "ng-mtn"}
    )
    (only,) = found
    assert (only.supplier_promotion_id, only.operator_id) == ("1", "ng-mtn")
    assert only.title.startswith("MTN Nigeria From")  # no offer line: the operator's title
    assert (only.description, only.denominations) == ("", "All")
    assert (only.starts_at, only.ends_at) == (JAN_1_10H, JAN_1_10H.replace(day=2))
