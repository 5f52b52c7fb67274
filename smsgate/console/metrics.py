"""GET /metrics: Prometheus exposition, computed from the database at scrape time.

Values come from the database (not process-local counters), so they are
right however many gunicorn and celery processes run. With METRICS_TOKEN set,
scrapers must send `Authorization: Bearer <token>`.
"""

import hmac
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Min
from django.http import HttpResponse, HttpResponseForbidden
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily

from providers.registry import PROVIDERS
from smsgate.console import latency
from smsgate.models import Message, ProviderCallback
from smsgate.sending.resilience import breaker_for, redis_client
from smsgate.statuses import PENDING

WINDOW = timedelta(hours=24)


class SmsCollector:
    def collect(self):
        now = timezone.now()
        since = now - WINDOW
        messages = GaugeMetricFamily("smsgate_messages", "Messages created in the last 24 h, by status and provider",
                                     labels=["status", "provider"])
        for status, provider, count in (Message.objects.filter(created_at__gte=since)
                                        .values_list("status", "provider").annotate(n=Count("pk")).order_by()):
            messages.add_metric([status, provider], count)
        yield messages

        due = Message.objects.filter(status__in=PENDING, due_at__lte=now).aggregate(n=Count("pk"), oldest=Min("due_at"))
        yield GaugeMetricFamily("smsgate_due_messages", "Messages due now and not yet claimed", value=due["n"])
        age = (now - due["oldest"]).total_seconds() if due["oldest"] else 0
        yield GaugeMetricFamily("smsgate_oldest_due_message_age_seconds", "How late the oldest due message is",
                                value=age)

        callbacks = GaugeMetricFamily("smsgate_provider_callbacks", "Carrier callbacks stored in the last 24 h",
                                      labels=["provider", "kind"])
        for provider, kind, count in (ProviderCallback.objects.filter(received_at__gte=since)
                                      .values_list("provider", "kind").annotate(n=Count("pk")).order_by()):
            callbacks.add_metric([provider, kind], count)
        yield callbacks

        if redis_client() is not None:
            breakers = GaugeMetricFamily("smsgate_circuit_breaker_open",
                                         "1 if the provider's default-account breaker is open or half-open",
                                         labels=["provider"])
            for name in sorted(PROVIDERS):
                breakers.add_metric([name], 0 if breaker_for(f"{name}:default").state() == "closed" else 1)
            yield breakers

        yield from latency_metrics(now)


HISTOGRAM_HELP = {
    "accept": ("smsgate_submit_to_accepted_seconds",
               "From when a message was due to go out to its carrier's acceptance, for the messages carriers "
               "accepted in the last hour (a sliding window recomputed at each scrape, not a counter: read the "
               "buckets directly, do not rate() them)"),
    "deliver": ("smsgate_accepted_to_delivered_seconds",
                "From a carrier's acceptance to the delivery receipt, for the messages carriers accepted in the "
                "last hour and have delivered (a sliding window recomputed at each scrape, not a counter)"),
}


def latency_metrics(now):
    """Latency histograms per carrier and the tenants' delivery SLOs, over the last hour.

    The histograms are labelled by carrier only (few values); the SLO gauges by tenant and carrier,
    but only for pairs with traffic in the last hour.
    """
    rows = latency.histograms(latency.accepted_since(now - latency.WINDOW))
    bounds = [str(float(bound)) for bound in latency.BUCKETS] + ["+Inf"]
    for stage, (name, help_text) in HISTOGRAM_HELP.items():
        family = HistogramMetricFamily(name, help_text, labels=["provider"])
        for provider, stages in rows.items():
            family.add_metric([provider], list(zip(bounds, stages[stage]["buckets"], strict=True)),
                              stages[stage]["sum"])
        yield family
    labels = ["tenant", "provider"]
    breached = GaugeMetricFamily("smsgate_slo_breached", "1 if the carrier missed the tenant's delivery SLO over "
                                 f"the last hour (at least {latency.SLO_MIN_MESSAGES} messages judged)", labels=labels)
    achieved = GaugeMetricFamily("smsgate_slo_delivered_in_time_percent", "Share of the messages the carrier "
                                 "accepted in the last hour that were delivered within the tenant's SLO seconds "
                                 "(undelivered past them: misses)", labels=labels)
    target = GaugeMetricFamily("smsgate_slo_target_percent", "The tenant's SLO: this share delivered in time",
                               labels=labels)
    judged = GaugeMetricFamily("smsgate_slo_judged_messages", "Messages of the last hour the SLO was checked on",
                               labels=labels)
    for row in latency.slo_status(now=now):
        values = [row["tenant"], row["provider"]]
        breached.add_metric(values, int(row["breached"]))
        target.add_metric(values, row["target_percent"])
        judged.add_metric(values, row["judged"])
        if row["achieved_percent"] is not None:
            achieved.add_metric(values, row["achieved_percent"])
    yield from (breached, achieved, target, judged)


def metrics(request):
    token = settings.METRICS_TOKEN
    if token and not hmac.compare_digest(request.headers.get("Authorization", ""), f"Bearer {token}"):
        return HttpResponseForbidden("metrics need the METRICS_TOKEN bearer token")
    registry = CollectorRegistry()
    registry.register(SmsCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
