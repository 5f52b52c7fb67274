"""Date ranges asked for by people (API logs and stats, the admin dashboard), as aware datetimes.

Dates outside EARLIEST..LATEST are refused by `supported_day` (a validator for DRF and Django form
fields), so the arithmetic below (a day before, a day after, 30 days back) never overflows.
"""

from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

EARLIEST = date(2000, 1, 1)
LATEST = date(9998, 12, 31)
# The years EARLIEST..LATEST, for an OpenAPI pattern.
SUPPORTED_YEARS_PATTERN = r"^([2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-"
DEFAULT_DAYS = 30


def supported_day(day: date) -> None:
    if not EARLIEST <= day <= LATEST:
        raise ValidationError(f"Enter a date from {EARLIEST} to {LATEST}.", code="date_out_of_range")


def day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def day_end(day: date) -> datetime:
    """The start of the next day: the exclusive end of `day`."""
    return day_start(day + timedelta(days=1))


def days(since: date | None, until: date | None, default_days: int = DEFAULT_DAYS) -> tuple[date, date]:
    """(first, last day) inclusive: until defaults to today, since to default_days days up to it."""
    until = until or timezone.localdate()
    return since or until - timedelta(days=default_days - 1), until


def period(since: date | None, until: date | None, default_days: int = DEFAULT_DAYS) -> tuple[datetime, datetime]:
    """[start, end) covering `since` to `until` inclusive, with the defaults of `days`."""
    first, last = days(since, until, default_days)
    return day_start(first), day_end(last)
