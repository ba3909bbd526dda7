"""The answer of ``GET /v1/lookup``."""

from __future__ import annotations

from pydantic import BaseModel

from topup.catalogue.schemas import ProductOut
from topup.providers.suppliers.base import DetectedBy, LineType


class OperatorRef(BaseModel):
    id: str
    name: str


class LookupOut(BaseModel):
    phone: str
    country: str
    operator: OperatorRef
    balance_check_code: str | None
    line_type: LineType
    detected_by: DetectedBy
    products: list[ProductOut]
