"""Shapes of the admin API (``/v1/admin``): staff see more of an order than its buyer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(max_length=400)]


class CardBlockIn(BaseModel):
    """Name the card by a saved card's id or by the gateway's fingerprint."""

    model_config = ConfigDict(extra="forbid")

    card_id: Annotated[str, Field(max_length=40)] | None = None
    fingerprint: Annotated[str, Field(pattern=r"^[0-9a-zA-Z_-]{1,64}$")] | None = None
    reason: Annotated[str, Field(max_length=400)]


class CardBlockOut(BaseModel):
    fingerprint: str
    reason: str
    blocked_by: str
    created_at: datetime


class DecisionOut(BaseModel):
    id: str
    kind: str
    order_id: str | None
    customer_id: str | None
    rule_id: str | None
    inputs: dict[str, Any]
    score: int | None
    outcome: str
    actor: str
    created_at: datetime


class DecisionList(BaseModel):
    data: list[DecisionOut]
    next_cursor: str | None


class StaffOrderOut(BaseModel):
    """The buyer's view of the order, and what the risk checks saw and decided."""

    order: dict[str, Any]
    customer_id: str
    risk_outcome: str
    risk_score: int
    review_decision: str | None
    review_deadline: datetime | None
    card_fingerprint: str | None
    card_country: str | None
    decisions: list[DecisionOut]


class ReviewQueue(BaseModel):
    data: list[StaffOrderOut]
    next_cursor: str | None
