"""Shapes of the risk rules: the shipped defaults file and the admin API's bodies."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from topup.risk.models import LimitScope

Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
RuleId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Description = Annotated[str, Field(min_length=1, max_length=200)]
# A rolling window from an hour to a year.
WindowSeconds = Annotated[StrictInt, Field(ge=3600, le=366 * 86400)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LimitRuleIn(_Strict):
    scope: LimitScope
    market: Country | None = None
    window_seconds: WindowSeconds
    max_count: Annotated[StrictInt, Field(ge=0, le=100_000)] | None = None
    max_amount: Annotated[StrictInt, Field(ge=0, le=100_000_000)] | None = None  # EUR cents
    description: Description
    enabled: bool = True

    @model_validator(mode="after")
    def limits_something(self) -> LimitRuleIn:
        if self.max_count is None and self.max_amount is None:
            raise ValueError("a limit needs max_count, max_amount or both")
        return self


class LimitRuleFile(LimitRuleIn):
    id: RuleId


class MarketRuleIn(_Strict):
    min_age: Annotated[StrictInt, Field(ge=0, le=120)] | None = None
    residence_required: bool = False
    description: Description
    enabled: bool = True


class MarketRuleFile(MarketRuleIn):
    market: Country


class SignalRuleIn(_Strict):
    weight: Annotated[StrictInt, Field(ge=0, le=1000)]
    params: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True


class SignalRuleFile(SignalRuleIn):
    id: RuleId
    description: Description


class ThresholdsIn(_Strict):
    review_score: Annotated[StrictInt, Field(ge=1, le=100_000)]
    reject_score: Annotated[StrictInt, Field(ge=1, le=100_000)]
    duplicate_window_seconds: Annotated[StrictInt, Field(ge=0, le=86400)] = 120

    @model_validator(mode="after")
    def review_comes_first(self) -> ThresholdsIn:
        if self.review_score > self.reject_score:
            raise ValueError("review_score cannot be above reject_score")
        return self


class DefaultsFile(_Strict):
    source: str
    thresholds: ThresholdsIn
    limits: list[LimitRuleFile]
    markets: list[MarketRuleFile]
    signals: list[SignalRuleFile]
