"""Billing cycles: a cycle is a calendar month in UTC, named "YYYY-MM", and starts on
its 1st at 00:00. Plain calendar arithmetic, so February and the 31st need no special case:
the cycle after a moment is always the 1st of the following month."""

from __future__ import annotations

from datetime import UTC, datetime


def cycle_of(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return f"{moment.year:04d}-{moment.month:02d}"


def cycle_start(cycle: str) -> datetime:
    year, month = (int(part) for part in cycle.split("-"))
    return datetime(year, month, 1, tzinfo=UTC)


def next_first(moment: datetime) -> datetime:
    """The 1st of the month after ``moment``'s, at 00:00 UTC (from a 1st at 00:00 too)."""
    moment = moment.astimezone(UTC)
    if moment.month == 12:
        return datetime(moment.year + 1, 1, 1, tzinfo=UTC)
    return datetime(moment.year, moment.month + 1, 1, tzinfo=UTC)


def cycle_end(cycle: str) -> datetime:
    return next_first(cycle_start(cycle))


def charge_key(subscription_id: str, cycle: str, attempt: int) -> str:
    """The charge's name: subscription:{id}:{cycle}, and :retry{n} for the n-th retry."""
    base = f"subscription:{subscription_id}:{cycle}"
    return base if attempt == 0 else f"{base}:retry{attempt}"
