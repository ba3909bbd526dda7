"""The calendar of a schedule: month ends, February, leap years and the turn of a year."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from topup.schedules.dates import Every, first_due, following, next_after


def at(year: int, month: int, day: int, hour: int = 9) -> datetime:
    return datetime(year, month, day, hour, 30, tzinfo=UTC)


def monthly_dates(start: datetime, day: int, count: int) -> list[datetime]:
    dates = [start]
    for _ in range(count - 1):
        dates.append(following(dates[-1], Every.monthly, day))
    return dates


def test_the_31st_is_each_months_last_day_and_never_drifts() -> None:
    assert monthly_dates(at(2027, 1, 31), 31, 7) == [
        at(2027, 1, 31),
        at(2027, 2, 28),
        at(2027, 3, 31),  # back on the 31st after February, not stuck on the 28th
        at(2027, 4, 30),
        at(2027, 5, 31),
        at(2027, 6, 30),
        at(2027, 7, 31),
    ]


def test_a_leap_year_gives_february_its_29th() -> None:
    assert following(at(2028, 1, 31), Every.monthly, 31) == at(2028, 2, 29)
    assert following(at(2028, 1, 30), Every.monthly, 30) == at(2028, 2, 29)
    assert following(at(2028, 2, 29), Every.monthly, 30) == at(2028, 3, 30)


def test_the_29th_falls_on_the_28th_in_a_common_february_only() -> None:
    assert monthly_dates(at(2027, 1, 29), 29, 3) == [
        at(2027, 1, 29),
        at(2027, 2, 28),
        at(2027, 3, 29),
    ]


def test_december_runs_on_into_january_of_the_next_year() -> None:
    assert following(at(2026, 12, 31), Every.monthly, 31) == at(2027, 1, 31)
    assert following(at(2026, 12, 15), Every.monthly, 15) == at(2027, 1, 15)
    assert following(at(2026, 12, 28), Every.days_7, None) == at(2027, 1, 4)


@pytest.mark.parametrize(
    ("every", "days"),
    [(Every.days_7, 7), (Every.days_14, 14), (Every.days_28, 28), (Every.days_30, 30)],
)
def test_an_interval_counts_days_from_the_due_date(every: Every, days: int) -> None:
    assert following(at(2027, 1, 31), every, None) == at(2027, 1, 31) + timedelta(days=days)


def test_a_monthly_first_run_is_the_next_chosen_day() -> None:
    assert first_due(at(2027, 1, 10), Every.monthly, 15) == at(2027, 1, 15)
    assert first_due(at(2027, 1, 20), Every.monthly, 15) == at(2027, 2, 15)
    assert first_due(at(2027, 2, 10), Every.monthly, 31) == at(2027, 2, 28)
    assert first_due(at(2027, 1, 15), Every.monthly, 15) == at(2027, 1, 15)  # today: now
    assert first_due(at(2027, 1, 10), Every.days_7, None) == at(2027, 1, 10)


def test_due_dates_the_service_missed_are_skipped_not_run_in_a_burst() -> None:
    due = at(2027, 1, 31)
    assert next_after(due, Every.monthly, 31, due) == at(2027, 2, 28)
    assert next_after(due, Every.monthly, 31, at(2027, 4, 1)) == at(2027, 4, 30)
    assert next_after(due, Every.days_7, None, at(2027, 2, 20)) == at(2027, 2, 21)
