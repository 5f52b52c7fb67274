"""Delivery latency per carrier as histograms, and each tenant's delivery SLO checked over the last hour.

Two stages, as on the dashboard: submitted → accepted runs from when the message was due to go out
(send_at, else created_at) to the carrier's acceptance (sent_at); accepted → delivered runs from
there to the delivery receipt (delivered_at). Both are computed by the database in one grouped
query; the last hour's messages are found through the partial message_sent_at index.

A tenant's SLO says that slo_delivered_percent of the messages a carrier accepts are delivered
within slo_delivered_seconds. Over the last hour, a message counts once it is judged: delivered,
finally failed, or accepted longer ago than the SLO's seconds (a message still without a receipt
then is a miss). Fewer than SLO_MIN_MESSAGES judged messages never raise an alarm, so one slow
message among three does not page anyone.
"""

from datetime import timedelta

from django.db.models import Aggregate, Count, DateTimeField, F, FloatField, Func, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from smsgate.models import Message
from smsgate.statuses import Status

WINDOW = timedelta(hours=1)
# Upper bounds in seconds; Prometheus' le labels and the dashboard's columns. Above the last: +Inf.
BUCKETS = (1, 2, 5, 10, 30, 60, 120, 300, 600)
STAGES = {"accept": "submitted → accepted", "deliver": "accepted → delivered"}
PERCENTILES = (50, 95)
SLO_MIN_MESSAGES = 20
FINAL = [Status.DELIVERED, Status.UNDELIVERED, Status.FAILED]


class Percentile(Aggregate):
    """PERCENTILE_CONT(fraction) WITHIN GROUP (ORDER BY expression); NULLs are ignored."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


def seconds(interval):
    return Func(interval, template="EXTRACT(EPOCH FROM %(expressions)s)", output_field=FloatField())


def accepted_since(since, tenant=None):
    """Messages a carrier accepted at or after since (served by the message_sent_at index)."""
    qs = Message.objects.filter(sent_at__gte=since).exclude(provider="")
    return qs.filter(tenant=tenant) if tenant is not None else qs


def histograms(messages, percentiles: bool = False) -> dict:
    """{carrier: {stage: {"buckets": [cumulative count for each of BUCKETS, then +Inf], "sum": seconds}}}.

    Messages without sent_at are left out; the deliver stage counts delivered messages only. With
    `percentiles`, each stage also has its "p50" and "p95" in seconds, from the same pass over the rows
    (the dashboard's carrier table; /metrics needs no sort).
    """
    latency = {
        "accept": seconds(F("sent_at") - Coalesce("send_at", "created_at")),
        "deliver": seconds(F("delivered_at") - F("sent_at")),
    }
    aggregates = {}
    for stage in STAGES:
        known = Q(**{f"{stage}__isnull": False})
        aggregates |= {f"{stage}_{bound}": Count("pk", filter=Q(**{f"{stage}__lte": bound})) for bound in BUCKETS}
        aggregates |= {f"{stage}_inf": Count("pk", filter=known), f"{stage}_sum": Sum(stage, filter=known)}
        if percentiles:
            aggregates |= {f"{stage}_p{p}": Percentile(stage, p / 100) for p in PERCENTILES}
    rows = (messages.filter(sent_at__isnull=False).exclude(provider="").alias(**latency)
            .values("provider").annotate(**aggregates).order_by("provider"))
    return {row["provider"]: {stage: _stage(row, stage, percentiles) for stage in STAGES} for row in rows}


def _stage(row: dict, stage: str, percentiles: bool) -> dict:
    figures = {"buckets": [row[f"{stage}_{bound}"] for bound in BUCKETS] + [row[f"{stage}_inf"]],
               "sum": row[f"{stage}_sum"] or 0.0}
    if percentiles:
        figures |= {f"p{p}": row[f"{stage}_p{p}"] for p in PERCENTILES}
    return figures


def bucket_counts(cumulative: list[int]) -> list[int]:
    """Per-bucket counts (≤1 s, 1–2 s, …, above the last bound) from cumulative ones."""
    return [count - previous for previous, count in zip([0, *cumulative], cumulative, strict=False)]


def slo_status(tenant=None, now=None) -> list[dict]:
    """Per tenant and carrier with traffic in the last hour: the SLO, how many messages were judged,
    the share delivered in time (percent, None when none judged) and whether the SLO is breached."""
    now = now or timezone.now()
    target = F("tenant__slo_delivered_seconds")
    judged = Q(status__in=FINAL) | Q(age__gte=target)
    rows = (accepted_since(now - WINDOW, tenant)
            .alias(deliver=seconds(F("delivered_at") - F("sent_at")),
                   age=seconds(Value(now, output_field=DateTimeField()) - F("sent_at")))
            .values("tenant__slug", "tenant__slo_delivered_percent", "tenant__slo_delivered_seconds", "provider")
            .annotate(judged=Count("pk", filter=judged),
                      in_time=Count("pk", filter=Q(status=Status.DELIVERED, deliver__lte=target)))
            .order_by("tenant__slug", "provider"))
    return [_verdict(row) for row in rows]


def _verdict(row: dict) -> dict:
    achieved = round(100 * row["in_time"] / row["judged"], 1) if row["judged"] else None
    target = row["tenant__slo_delivered_percent"]
    return {
        "tenant": row["tenant__slug"], "provider": row["provider"], "target_percent": target,
        "target_seconds": row["tenant__slo_delivered_seconds"], "judged": row["judged"], "in_time": row["in_time"],
        "achieved_percent": achieved,
        "breached": row["judged"] >= SLO_MIN_MESSAGES and achieved is not None and achieved < target,
    }


def slo_breaches(tenant=None, now=None) -> list[dict]:
    return [row for row in slo_status(tenant, now) if row["breached"]]
