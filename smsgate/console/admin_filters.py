"""Message list filters the dashboard links to, and the links themselves.

The dashboard counts a message on the day it goes out and a carrier by its send attempts; these filters
select messages the same way, so each number on the dashboard opens a list of exactly those messages.
MessageAdmin.list_filter (smsgate/console/message_admin.py) names them: *DASHBOARD_FILTERS.
"""

from datetime import date, timedelta
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from providers.registry import provider_choices
from smsgate.console.dashboard import going_out_between
from smsgate.console.periods import period, supported_day
from smsgate.models import MessageEvent

DAYS_SEPARATOR = ".."


def days_value(first: date, last: date) -> str:
    """The send_day parameter for first..last inclusive: 2026-12-01..2026-12-07, or 2026-12-07 for one day."""
    return str(first) if first == last else f"{first}{DAYS_SEPARATOR}{last}"


def parse_days(value: str) -> tuple[date, date]:
    """The inverse of days_value; IncorrectLookupParameters (the admin's "bad filter" answer) if malformed."""
    first, _, last = value.partition(DAYS_SEPARATOR)
    try:
        days = date.fromisoformat(first), date.fromisoformat(last or first)
        for day in days:
            supported_day(day)
    except (ValueError, ValidationError) as exc:
        raise IncorrectLookupParameters(f"send_day: {exc}") from exc
    if days[0] > days[1]:
        raise IncorrectLookupParameters("send_day: the first day is after the last")
    return days


class SendDayFilter(admin.SimpleListFilter):
    """Messages by the day they go out: send_at when scheduled, else created_at (the dashboard's days)."""

    title = "day it goes out"
    parameter_name = "send_day"

    def lookups(self, request, model_admin):
        today = timezone.localdate()
        return [
            (days_value(today, today), "Today"),
            (days_value(today - timedelta(days=1), today - timedelta(days=1)), "Yesterday"),
            (days_value(today - timedelta(days=6), today), "Last 7 days"),
            (days_value(today - timedelta(days=29), today), "Last 30 days"),
        ]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        return queryset.filter(going_out_between(*period(*parse_days(self.value()))))


class AttemptedViaFilter(admin.SimpleListFilter):
    """Messages with a send attempt through a carrier, whether or not it accepted them."""

    title = "attempted via"
    parameter_name = "attempted_via"
    failed_only = False

    def lookups(self, request, model_admin):
        return provider_choices()

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        attempts = MessageEvent.objects.filter(message=OuterRef("pk"), kind=MessageEvent.Kind.ATTEMPT,
                                               provider=self.value())
        return queryset.filter(Exists(attempts.filter(ok=False) if self.failed_only else attempts))


class FailedViaFilter(AttemptedViaFilter):
    """Messages with a failed send attempt through a carrier (they may have gone out through another)."""

    title = "failed via"
    parameter_name = "failed_via"
    failed_only = True


def message_list_url(tenant, first: date, last: date, **lookups) -> str:
    """The admin message list of the messages going out first..last (of tenant, if any), narrowed by lookups.

    A list value becomes an __in lookup (`status=[...]` → status__in=a,b); other lookups go as they are
    (Django's admin accepts lookups on the message's own fields, and the filters above).
    """
    params = {SendDayFilter.parameter_name: days_value(first, last)}
    if tenant is not None:
        params["tenant"] = tenant.pk
    for name, value in lookups.items():
        if isinstance(value, list | tuple):
            params[f"{name}__in"] = ",".join(str(item) for item in value)
        else:
            params[name] = value
    return f"{reverse('admin:smsgate_message_changelist')}?{urlencode(params)}"


# What MessageAdmin.list_filter adds, so the dashboard's links open the lists they promise.
DASHBOARD_FILTERS = [SendDayFilter, AttemptedViaFilter, FailedViaFilter]
