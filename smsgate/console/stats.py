"""Sending statistics over a period, computed by the database: for the stats API and the admin dashboard.

The rates mean the same everywhere they are shown:
- success rate: messages a carrier accepted, of the messages routed to it;
- delivery rate: messages delivered, of those whose fate is known (delivered or failed).
"""

from datetime import datetime

from django.db.models import Count, Q, Sum

from smsgate.models import Message, Tenant
from smsgate.statuses import Status, legacy_code

ACCEPTED = [Status.SENT, Status.DELIVERED, Status.UNDELIVERED]  # a carrier took it
FAILED = [Status.FAILED, Status.UNDELIVERED]
# The messages that count towards the delivery rate: those delivered, and those that will never be.
DELIVERY_KNOWN = [Status.DELIVERED, *FAILED]


def _money(value) -> str | None:
    """Money as a decimal string: JSON floats would round it."""
    return None if value is None else str(value)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def costs_per_currency(messages, by: str | None = None, amount: str = "price") -> dict:
    """What carriers reported these messages cost (or, with amount="estimated_price", what the price list
    estimated), summed per currency and never across currencies.

    {currency: total}, or with `by` (a field such as "provider") {value: {currency: total}}; the largest
    share of messages first. A carrier that names no currency counts under "".
    """
    unit = f"{amount}_unit"
    fields = [by, unit] if by else [unit]
    rows = (messages.exclude(**{amount: None}).values(*fields).annotate(total=Sum(amount), n=Count("pk"))
            .order_by("-n", *fields))
    if not by:
        return {row[unit]: row["total"] for row in rows}
    grouped: dict = {}
    for row in rows:
        grouped.setdefault(row[by], {})[row[unit]] = row["total"]
    return grouped


def _one_currency_total(costs: dict):
    """The total when there is one currency (or none: None); None too when several, which cannot be added."""
    return next(iter(costs.values())) if len(costs) == 1 else None


def provider_rows(messages) -> list[dict]:
    """Per provider of these messages: volume, accepted, delivered, failed, segments and the two rates."""
    rows = (
        messages.exclude(provider="").values("provider").annotate(
            messages=Count("pk"),
            accepted=Count("pk", filter=Q(status__in=ACCEPTED)),
            delivered=Count("pk", filter=Q(status=Status.DELIVERED)),
            failed=Count("pk", filter=Q(status__in=FAILED)),
            segments=Sum("segments"),
        ).order_by("provider")
    )
    return [
        {
            **row,
            "success_rate": _rate(row["accepted"], row["messages"]),
            "delivery_rate": _rate(row["delivered"], row["delivered"] + row["failed"]),
        }
        for row in rows
    ]


def message_stats(tenant: Tenant, since: datetime, until: datetime) -> dict:
    """Totals, counts by status (and legacy code), and per provider: volume, success, delivery, cost.

    `costs` is {currency: total}; `cost` is that total when there is a single currency, else null (amounts in
    different currencies are never added).
    """
    messages = Message.objects.filter(tenant=tenant, created_at__gte=since, created_at__lt=until)
    totals = messages.aggregate(messages=Count("pk"), segments=Sum("segments"))
    costs = costs_per_currency(messages)
    provider_costs = costs_per_currency(messages, by="provider")
    by_status = dict(messages.values_list("status").annotate(n=Count("pk")).order_by())
    by_code: dict[int, int] = {}
    for status, count in by_status.items():
        by_code[legacy_code(status)] = by_code.get(legacy_code(status), 0) + count
    return {
        "since": since,
        "until": until,
        "totals": {**totals, "segments": totals["segments"] or 0, **_cost_fields(costs)},
        "by_status": by_status,
        "by_status_code": by_code,
        "providers": [{**row, **_cost_fields(provider_costs.get(row["provider"], {}))}
                      for row in provider_rows(messages)],
    }


def _cost_fields(costs: dict) -> dict:
    return {"cost": _money(_one_currency_total(costs)),
            "costs": {currency: _money(total) for currency, total in costs.items()}}
