"""When a schedule falls due: the calendar arithmetic, kept apart so it is tested alone.

Every date is UTC. Each due date is computed from the previous *due date*, never from when
a worker got to it, so a slow worker or a retry never makes the schedule drift.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from dateutil.relativedelta import relativedelta


class Every(StrEnum):
    days_7 = "7d"
    days_14 = "14d"
    days_28 = "28d"
    days_30 = "30d"
    monthly = "monthly"


INTERVAL_DAYS = {Every.days_7: 7, Every.days_14: 14, Every.days_28: 28, Every.days_30: 30}


def on_day(moment: datetime, day_of_month: int, *, months_ahead: int = 0) -> datetime:
    """``moment`` moved ``months_ahead`` months on, on ``day_of_month``: a day the month
    does not have is its last day (31 → 30 April, 28 or 29 February), and the month
    after is on the 31st again, since the day is taken from the anchor each time."""
    return moment + relativedelta(months=months_ahead, day=day_of_month)


def following(due: datetime, every: Every, day_of_month: int | None) -> datetime:
    """The due date after ``due``."""
    if every is Every.monthly:
        assert day_of_month is not None
        return on_day(due, day_of_month, months_ahead=1)
    return due + timedelta(days=INTERVAL_DAYS[every])


def first_due(start: datetime, every: Every, day_of_month: int | None) -> datetime:
    """The first due date at or after ``start``: ``start`` itself for an interval; for a
    monthly schedule, the next ``day_of_month`` at ``start``'s time of day."""
    if every is not Every.monthly:
        return start
    assert day_of_month is not None
    candidate = on_day(start, day_of_month)
    return candidate if candidate >= start else on_day(start, day_of_month, months_ahead=1)


def next_after(due: datetime, every: Every, day_of_month: int | None, now: datetime) -> datetime:
    """The first due date after ``due`` that is later than ``now``. Due dates the service
    missed (a worker stopped for weeks, a schedule paused and resumed) are skipped, not
    run in a burst: a customer wants the next top-up, not three at once."""
    following_due = following(due, every, day_of_month)
    while following_due <= now:
        following_due = following(following_due, every, day_of_month)
    return following_due
