"""Reading Reloadly's operator promotions (``GET /promotions``) into our terms.

What Reloadly documents and what its answers show:

- ``GET /promotions?page=&size=`` is a page (``content``, ``totalPages``, ``last``) of
  promotions with ``promotionId``, ``operatorId`` (Reloadly's numeric id), ``title`` (the
  operator and the dates, e.g. "Digicel Haiti From 01 Jan 2021 00:00 To …"), ``title2`` (the
  offer: "Bonus 3X and 4X", "Free data and minutes"), ``description`` (HTML, with images
  and links), ``startDate``/``endDate`` and ``denominations``/``localDenominations``
  (free text: "USD 10 and up", "All", "PKR 100 and above");
- the dates come in several forms across its answers and examples: ``2020-11-16
  10:00:00``, ``2021-01-01T10:00``, ``2020-12-24T10:00:00Z`` and ``Mon, 25 Jun 2018
  06:00:00 +0000``. A date without an offset is UTC, as every other Reloadly timestamp.

The description is HTML written by operators: it is reduced to plain text here, so no
markup of theirs ever reaches a page of ours. A bonus percentage is taken only where the
offer says one outright ("100% Bonus"): "Bonus 2x" can mean double or twice extra, and a
guess shown to a buyer would be a promise we cannot keep, so that stays in the words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html import unescape
from html.parser import HTMLParser
from typing import Any

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from topup.providers.suppliers.base import SupplierPromotion

log = structlog.get_logger(__name__)

PAGE_SIZE = 200  # Reloadly's default and what it documents as the page size
MAX_PAGES = 50
TITLE_LENGTH = 200
DESCRIPTION_LENGTH = 2000
DENOMINATIONS_LENGTH = 200
_PERCENT = re.compile(r"(\d{1,4})\s*%\s*(?:extra|bonus)|bonus\s+(?:of\s+)?(\d{1,4})\s*%", re.I)
_BREAKS = {"br", "p", "div", "li", "tr"}
_UNSHOWN = {"script", "style"}  # their content is code, not words


class ReloadlyPromotion(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    promotion_id: int = Field(alias="promotionId")
    operator_id: int = Field(alias="operatorId")
    title: str | None = None
    title2: str | None = None
    description: str | None = None
    start_date: str = Field(alias="startDate")
    end_date: str = Field(alias="endDate")
    denominations: str | None = None
    local_denominations: str | None = Field(default=None, alias="localDenominations")


class PromotionPage(BaseModel):
    """One page; each item is read on its own, so one malformed promotion does not hide
    the others."""

    model_config = ConfigDict(extra="ignore", strict=True)

    content: list[dict[str, Any]]
    total_pages: int | None = Field(default=None, alias="totalPages")
    last: bool | None = None

    def is_last(self, page: int) -> bool:
        if self.last is not None:
            return self.last
        if self.total_pages is not None:
            return page >= self.total_pages
        return len(self.content) < PAGE_SIZE


def read_promotions(
    items: Iterable[dict[str, Any]], ours: Mapping[int, str]
) -> list[SupplierPromotion]:
    """The promotions of the operators in ``ours`` (Reloadly's id → ours) that read well."""
    found = []
    for item in items:
        try:
            promotion = ReloadlyPromotion.model_validate(item)
        except ValidationError:
            log.warning("reloadly_promotion_unreadable", promotion_id=item.get("promotionId"))
            continue
        operator_id = ours.get(promotion.operator_id)
        if operator_id is None:
            continue
        converted = _converted(promotion, operator_id)
        if converted is not None:
            found.append(converted)
    return found


def _converted(promotion: ReloadlyPromotion, operator_id: str) -> SupplierPromotion | None:
    starts_at = parse_date(promotion.start_date)
    ends_at = parse_date(promotion.end_date)
    if starts_at is None or ends_at is None or ends_at <= starts_at:
        log.warning("reloadly_promotion_dates_unreadable", promotion_id=promotion.promotion_id)
        return None
    offer = plain_text(promotion.title2 or "")
    title = offer or plain_text(promotion.title or "") or "Operator promotion"
    amounts = promotion.local_denominations or promotion.denominations
    return SupplierPromotion(
        supplier_promotion_id=str(promotion.promotion_id),
        operator_id=operator_id,
        title=_cut(title, TITLE_LENGTH),
        description=_cut(plain_text(promotion.description or ""), DESCRIPTION_LENGTH),
        starts_at=starts_at,
        ends_at=ends_at,
        bonus_percent=bonus_percent(offer or title),
        bonus_text=None,  # the offer's words are the title already
        denominations=_cut(plain_text(amounts), DENOMINATIONS_LENGTH) if amounts else None,
    )


def parse_date(text: str) -> datetime | None:
    text = text.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def bonus_percent(text: str) -> int | None:
    match = _PERCENT.search(text)
    if match is None:
        return None
    value = int(match.group(1) or match.group(2))
    return value if 0 < value <= 1000 else None


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BREAKS:
            self.parts.append("\n")
        self.hidden += tag in _UNSHOWN

    def handle_endtag(self, tag: str) -> None:
        if tag in _UNSHOWN and self.hidden:
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def plain_text(html: str) -> str:
    """The words of an HTML fragment: tags dropped, entities decoded, spaces collapsed,
    line breaks kept where the markup broke lines."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    text = unescape("".join(parser.parts)).replace("\xa0", " ")
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _cut(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"
