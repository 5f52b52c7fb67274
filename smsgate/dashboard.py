"""Admin dashboard: aggregations done by the database, and simple server-side SVG bar charts.

Every selector takes a message queryset already narrowed to a tenant (or all tenants) and a
date range, so the view decides the scope once and the numbers always agree with each other.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from campaigns.models import Click
from smsgate.models import Message, MessageEvent
from smsgate.resilience import breaker_for, redis_client
from smsgate.stats import ACCEPTED, DELIVERY_KNOWN, provider_rows
from smsgate.statuses import Status

HEALTH_WINDOW = timedelta(hours=1)


def provider_health(provider: str) -> str:
    """The circuit breaker state of a provider's default account: closed, open, half-open, or unknown (no Redis)."""
    if redis_client() is None:
        return "unknown"
    return breaker_for(f"{provider}:default").state()


def messages_in_range(tenant, since, until):
    qs = Message.objects.filter(created_at__gte=since, created_at__lt=until)
    return qs.filter(tenant=tenant) if tenant is not None else qs


def volume_by_day(messages) -> dict:
    """{day: {status: count}}."""
    volume: dict = {}
    rows = messages.annotate(day=TruncDate("created_at")).values("day", "status").annotate(n=Count("pk")).order_by()
    for row in rows:
        volume.setdefault(row["day"], {})[row["status"]] = row["n"]
    return dict(sorted(volume.items()))


def delivery_rate_by_day(messages) -> dict:
    """{day: delivery rate in percent (see smsgate.stats)}; days with no known fate are left out."""
    rows = (
        messages.filter(status__in=DELIVERY_KNOWN).annotate(day=TruncDate("created_at")).values("day")
        .annotate(known=Count("pk"), delivered=Count("pk", filter=Q(status=Status.DELIVERED))).order_by("day")
    )
    return {row["day"]: round(100 * row["delivered"] / row["known"], 1) for row in rows}


def cost_by_day(messages) -> dict:
    rows = messages.exclude(price=None).annotate(day=TruncDate("created_at")).values("day").annotate(
        cost=Sum("price")).order_by("day")
    return {row["day"]: float(row["cost"]) for row in rows}


def provider_stats(messages) -> list[dict]:
    """smsgate.stats.provider_rows, with the rates in percent and the cost as a number, for charts and tables."""
    return [
        {**row, "cost": float(row["cost"] or 0), "success_rate": _percent(row["success_rate"]),
         "delivery_rate": _percent(row["delivery_rate"])}
        for row in provider_rows(messages)
    ]


def _percent(rate: float | None) -> float | None:
    return None if rate is None else round(100 * rate, 1)


def provider_health_rows(tenant, now=None) -> list[dict]:
    """Per provider, the send attempts of the last hour, the share that failed, and the breaker state."""
    now = now or timezone.now()
    attempts = MessageEvent.objects.filter(kind=MessageEvent.Kind.ATTEMPT, created_at__gte=now - HEALTH_WINDOW)
    if tenant is not None:
        attempts = attempts.filter(message__tenant=tenant)
    rows = attempts.exclude(provider="").values("provider").annotate(
        attempts=Count("pk"), failures=Count("pk", filter=Q(ok=False))).order_by("provider")
    return [
        {**row, "failure_rate": round(100 * row["failures"] / row["attempts"], 1),
         "breaker": provider_health(row["provider"])}
        for row in rows
    ]


def variant_performance(messages, tenant, since, until) -> list[dict]:
    """Per template variant across all campaigns: messages, sent, delivered, clicked."""
    rows = messages.exclude(variant=None).values("variant", "variant__template__code", "variant__label").annotate(
        messages=Count("pk"),
        sent=Count("pk", filter=Q(status__in=ACCEPTED)),
        delivered=Count("pk", filter=Q(status=Status.DELIVERED)),
    ).order_by("variant__template__code", "variant__label")
    clicks = Click.objects.filter(variant__isnull=False, clicked_at__gte=since, clicked_at__lt=until)
    if tenant is not None:
        clicks = clicks.filter(recipient__campaign__tenant=tenant)
    clicked = dict(clicks.values_list("variant").annotate(n=Count("recipient", distinct=True)).order_by())
    return [
        {"name": f"{row['variant__template__code']}/{row['variant__label']}", "messages": row["messages"],
         "sent": row["sent"], "delivered": row["delivered"], "clicked": clicked.get(row["variant"], 0)}
        for row in rows
    ]


# --- charts ---------------------------------------------------------------------------------

STATUS_COLOURS = {
    Status.DELIVERED: "#2e7d32", Status.SENT: "#66bb6a", Status.SENDING: "#9ccc65", Status.QUEUED: "#90a4ae",
    Status.SCHEDULED: "#b0bec5", Status.UNDELIVERED: "#ef6c00", Status.FAILED: "#c62828",
    Status.EXPIRED: "#8d6e63", Status.CANCELLED: "#616161",
}
DEFAULT_COLOUR = "#1565c0"
LEFT_MARGIN = 40  # room for the rotated labels and the scale


@dataclass
class Segment:
    series: str
    value: float
    y: float
    height: float
    colour: str


@dataclass
class Bar:
    label: str
    total: float
    x: float
    segments: list


@dataclass
class BarChart:
    """A stacked bar chart laid out in SVG user units; html/admin/bar_chart.html draws it."""

    chart_id: str
    title: str
    bars: list
    series: list
    width: int
    height: int
    bar_width: float
    unit: str = ""

    @property
    def legend(self) -> list[tuple[str, str]]:
        return [(name, STATUS_COLOURS.get(name, DEFAULT_COLOUR)) for name in self.series]

    @property
    def peak(self) -> float:
        return max((bar.total for bar in self.bars), default=0)


def bar_chart(chart_id: str, title: str, data: dict, unit: str = "", height: int = 200) -> BarChart:
    """Lay out {label: {series: value}} (or {label: value}) as stacked bars scaled to the tallest bar."""
    stacked = {str(label): value if isinstance(value, dict) else {title: value} for label, value in data.items()}
    series = sorted({name for values in stacked.values() for name in values})
    peak = max((sum(values.values()) for values in stacked.values()), default=0) or 1
    slot = 40
    bars = []
    for index, (label, values) in enumerate(stacked.items()):
        top = height
        segments = []
        for name in series:
            value = values.get(name, 0)
            if not value:
                continue
            segment_height = height * value / peak
            top -= segment_height
            segments.append(Segment(name, value, round(top, 2), round(segment_height, 2),
                                    STATUS_COLOURS.get(name, DEFAULT_COLOUR)))
        bars.append(Bar(label, round(sum(values.values()), 2), index * slot + LEFT_MARGIN, segments))
    return BarChart(chart_id, title, bars, series, max(len(bars), 1) * slot + LEFT_MARGIN + 8, height, slot - 8, unit)


def default_range(days: int = 30, now=None):
    now = now or timezone.now()
    return now - timedelta(days=days), now
