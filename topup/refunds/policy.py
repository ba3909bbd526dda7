"""Refund policies as data, and the business-day calendar their deadlines count in.

A policy is a document (``RefundPolicy``) stored per product type. The shipped presets
(``presets.toml``) are where they start; admins change them through the API, and every
change is validated by the same model, so a policy the service cannot apply is refused
at the door rather than discovered by a customer.
"""

from __future__ import annotations

import tomllib
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

import holidays
from dateutil.relativedelta import relativedelta
from pydantic import BaseModel, ConfigDict, Field, field_validator

PRESETS_FILE = Path(__file__).with_name("presets.toml")
PRODUCT_TYPE_PATTERN = r"^[a-z][a-z0-9_]{0,19}$"
ReasonName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]


class Approval(StrEnum):
    automatic = "automatic"
    manual = "manual"


class Destination(StrEnum):
    wallet = "wallet"
    original_method = "original_method"


class WindowUnit(StrEnum):
    calendar_days = "calendar_days"
    business_days = "business_days"
    months = "months"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Window(_Strict):
    length: Annotated[int, Field(ge=0, le=3650)]
    unit: WindowUnit


class RefundPolicy(_Strict):
    """One product type's refund rules (see presets.toml for what each field means)."""

    title: Annotated[str, Field(min_length=1, max_length=80)]
    final_note: Annotated[str, Field(min_length=1, max_length=200)]
    window: Window
    reasons: dict[ReasonName, Approval]
    fee_percent: Annotated[Decimal, Field(ge=0, lt=100, max_digits=5, decimal_places=2)]
    min_remaining_percent: Annotated[int, Field(ge=0, le=100)]
    refund_of: Literal["amount_paid", "remaining_balance"]
    destinations: Annotated[list[Destination], Field(min_length=1, max_length=2)]
    answer_within_business_days: Annotated[int, Field(ge=0, le=60)]
    processing_business_days: Annotated[int, Field(ge=0, le=60)]

    @field_validator("destinations")
    @classmethod
    def no_repeats(cls, destinations: list[Destination]) -> list[Destination]:
        if len(set(destinations)) != len(destinations):
            raise ValueError("name each destination once")
        return destinations

    @field_validator("reasons")
    @classmethod
    def few_reasons(cls, reasons: dict[str, Approval]) -> dict[str, Approval]:
        if len(reasons) > 20:
            raise ValueError("at most 20 reasons")
        return reasons


@cache
def presets() -> dict[str, RefundPolicy]:
    """The shipped policies, by product type, read and validated once."""
    with PRESETS_FILE.open("rb") as file:
        raw = tomllib.load(file)
    return {product_type: RefundPolicy.model_validate(body) for product_type, body in raw.items()}


class BusinessCalendar:
    """Weekdays that are not public holidays in the service's country, as the ``holidays``
    library lists them (it follows each country's rules, moving feasts included)."""

    def __init__(self, country: str, subdivision: str | None = None) -> None:
        self.country = country
        self._holidays = holidays.country_holidays(country, subdiv=subdivision)

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._holidays

    def add_business_days(self, moment: datetime, days: int) -> datetime:
        """The same time of day ``days`` business days later; a request made on a
        weekend or holiday starts counting at the next business day."""
        counted = 0
        while counted < days:
            moment += timedelta(days=1)
            if self.is_business_day(moment.date()):
                counted += 1
        return moment

    def window_end(self, purchased_at: datetime, window: Window) -> datetime:
        if window.unit is WindowUnit.business_days:
            return self.add_business_days(purchased_at, window.length)
        if window.unit is WindowUnit.months:  # 31 January + 1 month = 28 or 29 February
            return purchased_at + relativedelta(months=window.length)
        return purchased_at + timedelta(days=window.length)


@cache
def business_calendar(country: str, subdivision: str | None = None) -> BusinessCalendar:
    """One calendar per country for the process: the holiday tables are built once."""
    return BusinessCalendar(country, subdivision)
