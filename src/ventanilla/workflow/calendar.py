"""Working days in Panama, the unit every SLA of a service is written in.

Saturdays, Sundays and public holidays are not working days. Public holidays come from the `holidays`
package (`holidays.PA`, which includes the Monday a holiday falling on a Sunday moves to). We add Carnival
Monday: the Labour Code lists only Carnival Tuesday as a national holiday, but every year the Executive
declares the Monday a day off for the public sector, and public offices — the ones that handle cases — are
closed. Counting it keeps a deadline from falling on a day nobody works.

All dates are local dates in settings.TIME_ZONE (America/Panama, UTC−5 all year)."""

from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays
from dateutil.easter import easter
from django.utils import timezone

from ventanilla.core.i18n import current_language

CARNIVAL_MONDAY = {"es": "Lunes de Carnaval", "en": "Carnival Monday"}
_HOLIDAY_LANGUAGES = {"es": "es", "en": "en_US"}
END_OF_DAY = time.max


@lru_cache(maxsize=64)
def _holidays_of(year: int, language: str) -> dict[date, str]:
    names = dict(holidays.PA(years=year, observed=True, language=_HOLIDAY_LANGUAGES[language]))
    carnival_monday = easter(year) - timedelta(days=48)  # Carnival Tuesday is 47 days before Easter Sunday
    names.setdefault(carnival_monday, CARNIVAL_MONDAY[language])
    return dict(sorted(names.items()))


def _holiday_language() -> str:
    language = current_language()
    return language if language in _HOLIDAY_LANGUAGES else "es"


def is_working_day(d: date) -> bool:
    return d.weekday() < 5 and d not in _holidays_of(d.year, "es")


def _local_date(moment: datetime) -> date:
    zone = timezone.get_default_timezone()
    if timezone.is_naive(moment):
        return moment.date()
    return moment.astimezone(zone).date()


def _end_of(d: date) -> datetime:
    return datetime.combine(d, END_OF_DAY, tzinfo=timezone.get_default_timezone())


def add_working_days(start: datetime, days: int) -> datetime:
    """The deadline `days` working days after `start`: the last instant (23:59:59.999999, local time) of the
    Nth working day after the day of `start`. With 0, the end of the day of `start`. A naive `start` is read as
    local time."""
    if days < 0:
        raise ValueError("days must not be negative")
    day = _local_date(start)
    remaining = days
    while remaining:
        day += timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return _end_of(day)


def working_days_between(start: datetime, end: datetime) -> int:
    """The working days after the day of `start` up to and including the day of `end` (so that
    working_days_between(s, add_working_days(s, n)) == n); negative when `end` comes first."""
    first, last = _local_date(start), _local_date(end)
    if last < first:
        return -working_days_between(end, start)
    count, day = 0, first
    while day < last:
        day += timedelta(days=1)
        count += is_working_day(day)
    return count


def holidays_between(start: date, end: date) -> list[tuple[date, str]]:
    """Public holidays from `start` to `end`, both included, named in the active language."""
    language = _holiday_language()
    return [
        (day, name)
        for year in range(start.year, end.year + 1)
        for day, name in _holidays_of(year, language).items()
        if start <= day <= end
    ]


def deadline_after_pause(deadline: datetime, paused_from: datetime, resumed_at: datetime) -> datetime:
    """`deadline` pushed back by the working days the case waited on the applicant (the working days after
    the day it was sent back, up to the day the applicant answered): the institution's clock stops while the
    applicant has the case."""
    waited = working_days_between(paused_from, resumed_at)
    if waited <= 0:
        return deadline
    return add_working_days(deadline, waited)
