from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from ventanilla.workflow.calendar import (
    add_working_days,
    deadline_after_pause,
    holidays_between,
    is_working_day,
    working_days_between,
)

PANAMA = ZoneInfo("America/Panama")


def at(year, month, day, hour=10, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PANAMA)


def end_of(year, month, day) -> datetime:
    return datetime(year, month, day, 23, 59, 59, 999999, tzinfo=PANAMA)


def test_weekends_are_not_working_days():
    assert [is_working_day(date(2026, 3, d)) for d in range(2, 9)] == [True] * 5 + [False, False]


def test_carnival_monday_and_tuesday_are_days_off_but_ash_wednesday_is_worked():
    assert not is_working_day(date(2026, 2, 16))  # Monday: day off for the public sector
    assert not is_working_day(date(2026, 2, 17))  # Tuesday: national holiday
    assert is_working_day(date(2026, 2, 18))
    assert not is_working_day(date(2027, 2, 8))
    assert not is_working_day(date(2027, 2, 9))


def test_good_friday_is_a_holiday():
    assert not is_working_day(date(2026, 4, 3))
    assert is_working_day(date(2026, 4, 2))


def test_independence_day_on_a_saturday_moves_nowhere():
    """28 November 2026 is a Saturday; Panama moves only Sunday holidays, so Monday the 30th is worked."""
    with translation.override("en"):
        assert holidays_between(date(2026, 11, 28), date(2026, 11, 30)) == [
            (date(2026, 11, 28), "Independence Day")
        ]
    assert is_working_day(date(2026, 11, 30))


def test_a_holiday_on_a_sunday_is_observed_on_monday():
    assert not is_working_day(date(2027, 11, 29))  # Independence Day 2027 falls on Sunday the 28th


def test_national_mourning_day_2026_falls_on_sunday_and_is_observed_on_monday_21():
    with translation.override("en"):
        found = holidays_between(date(2026, 12, 19), date(2026, 12, 22))
    assert found == [
        (date(2026, 12, 20), "National Mourning Day"),
        (date(2026, 12, 21), "National Mourning Day (observed)"),
    ]
    assert not is_working_day(date(2026, 12, 21))
    assert is_working_day(date(2026, 12, 22))


def test_holidays_are_named_in_the_active_language():
    with translation.override("es"):
        assert holidays_between(date(2026, 2, 16), date(2026, 2, 17)) == [
            (date(2026, 2, 16), "Lunes de Carnaval"),
            (date(2026, 2, 17), "Martes de Carnaval"),
        ]
    with translation.override("en"):
        assert [name for _day, name in holidays_between(date(2026, 2, 16), date(2026, 2, 17))] == [
            "Carnival Monday",
            "Carnival Tuesday",
        ]


def test_holidays_between_spans_years():
    days = [day for day, _name in holidays_between(date(2026, 12, 1), date(2027, 1, 31))]
    assert days == [
        date(2026, 12, 8),
        date(2026, 12, 20),
        date(2026, 12, 21),
        date(2026, 12, 25),
        date(2027, 1, 1),
        date(2027, 1, 9),
    ]


def test_a_deadline_is_the_end_of_the_nth_working_day_after_the_start():
    assert add_working_days(at(2026, 3, 2), 1) == end_of(2026, 3, 3)
    assert add_working_days(at(2026, 3, 6), 1) == end_of(2026, 3, 9)  # Friday → Monday
    assert add_working_days(at(2026, 3, 7), 1) == end_of(2026, 3, 9)  # submitted on Saturday
    assert add_working_days(at(2026, 3, 2), 0) == end_of(2026, 3, 2)
    assert add_working_days(at(2026, 3, 2), 1).tzinfo is not None


def test_a_deadline_across_christmas_and_new_year():
    # Dec 24 (1), 25 holiday, 28 (2), 29 (3), 30 (4), 31 (5), Jan 1 holiday, 2-3 weekend, Jan 4 (6)
    assert add_working_days(at(2026, 12, 23), 6) == end_of(2027, 1, 4)


def test_the_start_day_is_the_day_in_panama_not_in_utc():
    late_evening_in_panama = datetime(2026, 12, 24, 3, 0, tzinfo=UTC)  # 23 Dec, 22:00 in Panama
    assert add_working_days(late_evening_in_panama, 1) == end_of(2026, 12, 24)


def test_a_naive_start_is_read_as_panama_time():
    assert add_working_days(datetime(2026, 3, 6, 23, 30), 1) == end_of(2026, 3, 9)


def test_counting_working_days_undoes_adding_them():
    start = at(2026, 2, 12)
    for days in (1, 2, 5, 20, 60):
        assert working_days_between(start, add_working_days(start, days)) == days
    assert working_days_between(at(2026, 2, 13), at(2026, 2, 18)) == 1  # carnival in between
    assert working_days_between(at(2026, 2, 18), at(2026, 2, 13)) == -1
    assert working_days_between(at(2026, 2, 18, 8), at(2026, 2, 18, 17)) == 0


def test_waiting_for_the_applicant_pushes_the_deadline_by_the_working_days_waited():
    deadline = end_of(2026, 2, 20)
    # Sent back Thursday 12 February, answered Thursday 19: Fri 13, Wed 18 and Thu 19 were working days.
    assert deadline_after_pause(deadline, at(2026, 2, 12), at(2026, 2, 19, 9)) == end_of(2026, 2, 25)


def test_a_pause_within_one_day_or_over_a_weekend_changes_nothing():
    deadline = end_of(2026, 3, 13)
    assert deadline_after_pause(deadline, at(2026, 3, 10, 9), at(2026, 3, 10, 16)) == deadline
    assert deadline_after_pause(deadline, at(2026, 3, 6, 18), at(2026, 3, 8, 20)) == deadline


def test_a_negative_number_of_days_is_a_programming_error():
    with pytest.raises(ValueError):
        add_working_days(at(2026, 3, 2), -1)
