"""Admin dashboard selectors: what is failing, why, and what the traffic looks like, computed by the database.

A message counts on the day it goes out: its send_at when the caller scheduled it, else when it was
created (`going_out_between`). Every selector takes messages already narrowed to a tenant and a period
by `messages_in_range`, so the numbers agree with each other and with the message lists the dashboard
links to (smsgate.console.admin_filters selects messages the same way).

Carriers are counted by send attempts (MessageEvent rows of kind attempt): a message names its carrier
only once one accepted it, so a carrier that fails every attempt would otherwise not appear at all.
"""

from datetime import date, timedelta

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from smsgate.console.periods import period
from smsgate.console.stats import ACCEPTED, DELIVERY_KNOWN, costs_per_currency, provider_rows
from smsgate.models import Message, MessageEvent
from smsgate.sending.resilience import breaker_for, redis_client
from smsgate.statuses import Status

HEALTH_WINDOW = timedelta(hours=1)
GOES_OUT = Coalesce("send_at", "created_at")
# A carrier failing at least this share of its attempts, and at least this many, is announced above everything.
ALERT_FAILURE_RATE = 50.0
ALERT_MIN_FAILURES = 3

# Clicks are counted by the app that tracks them: campaigns registers its selector when it is ready, so the
# core imports no app. (tenant or None, since, until) -> {variant id: recipients who clicked}.
_variant_clicks = None


def register_variant_clicks(selector) -> None:
    """Let the app that tracks link clicks report them per template variant (campaigns does, at startup)."""
    global _variant_clicks
    _variant_clicks = selector

# Today's summary: disjoint groups of statuses, so the tiles add up to the messages going out today.
SUMMARY = [
    ("sent", "Sent", "accepted by a carrier, no receipt yet", [Status.SENT]),
    ("delivered", "Delivered", "the carrier confirmed delivery", [Status.DELIVERED]),
    ("failed", "Failed", "refused, undeliverable, or every retry used up", [Status.FAILED, Status.UNDELIVERED]),
    ("waiting", "Waiting / retrying", "queued, being sent, or waiting for a retry", [Status.QUEUED, Status.SENDING]),
    ("scheduled", "Scheduled", "due later today", [Status.SCHEDULED]),
]


def going_out_between(since, until) -> Q:
    """Messages going out in [since, until): created then and not scheduled, or scheduled for then.

    The created_at index serves the first half, the partial message_send_at index the second.
    """
    return (Q(send_at__isnull=True, created_at__gte=since, created_at__lt=until)
            | Q(send_at__gte=since, send_at__lt=until))


def messages_in_range(tenant, since, until):
    qs = Message.objects.filter(going_out_between(since, until))
    return qs.filter(tenant=tenant) if tenant is not None else qs


def today_summary(tenant, today: date | None = None) -> list[dict]:
    """[{key, label, help, statuses, count}] for the messages going out today, in SUMMARY's order."""
    today = today or timezone.localdate()
    messages = messages_in_range(tenant, *period(today, today))
    counts = dict(messages.values_list("status").annotate(n=Count("pk")).order_by())
    return [
        {"key": key, "label": label, "help": help_text, "statuses": statuses,
         "count": sum(counts.get(status, 0) for status in statuses)}
        for key, label, help_text, statuses in SUMMARY
    ]


def volume_by_day(messages) -> dict:
    """{day: {status: count}}, by the day messages go out."""
    volume: dict = {}
    rows = messages.annotate(day=TruncDate(GOES_OUT)).values("day", "status").annotate(n=Count("pk")).order_by()
    for row in rows:
        volume.setdefault(row["day"], {})[row["status"]] = row["n"]
    return dict(sorted(volume.items()))


def delivery_rate_by_day(messages) -> dict:
    """{day: delivery rate in percent (see console.stats), or None when carriers accepted some but sent no receipts}.

    Days with nothing accepted or failed are left out.
    """
    rows = (
        messages.filter(status__in={*ACCEPTED, *DELIVERY_KNOWN}).annotate(day=TruncDate(GOES_OUT)).values("day")
        .annotate(
            known=Count("pk", filter=Q(status__in=DELIVERY_KNOWN)),
            delivered=Count("pk", filter=Q(status=Status.DELIVERED)),
        ).order_by("day")
    )
    return {row["day"]: _percent(row["delivered"], row["known"]) for row in rows}


def cost_by_day(messages) -> dict[str, dict]:
    """{currency: {day: cost}}, the currency of the most priced messages first: currencies are never added."""
    rows = (messages.exclude(price=None).annotate(day=TruncDate(GOES_OUT)).values("price_unit", "day")
            .annotate(cost=Sum("price"), n=Count("pk")).order_by("day"))
    shares: dict[str, int] = {}
    by_currency: dict[str, dict] = {}
    for row in rows:
        shares[row["price_unit"]] = shares.get(row["price_unit"], 0) + row["n"]
        by_currency.setdefault(row["price_unit"], {})[row["day"]] = float(row["cost"])
    return {currency: by_currency[currency] for currency in sorted(shares, key=lambda c: (-shares[c], c))}


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


# --- carriers -------------------------------------------------------------------------------


def carrier_rows(messages, since, latency: dict) -> list[dict]:
    """Per carrier, loudest first: attempts on these messages and how many failed (with the latest error),
    then what the carrier accepted, delivered and cost ({currency: total}), and its latency percentiles.

    `since` is the start of the messages' period: no message is attempted before it goes out, so the
    attempt index (event_attempt_created) bounds the attempts without reading older ones.
    A row's delivery_rate is None when the carrier accepted messages but confirmed none either way
    (a carrier without receipts). `latency` is `latency.histograms(messages, percentiles=True)`: the
    dashboard's bucket table comes from the same pass.
    """
    attempts = MessageEvent.objects.filter(kind=MessageEvent.Kind.ATTEMPT, created_at__gte=since,
                                           message__in=messages).exclude(provider="")
    rows: dict[str, dict] = {}
    for row in attempts.values("provider").annotate(
            attempts=Count("pk"), failed_attempts=Count("pk", filter=Q(ok=False))).order_by():
        rows[row["provider"]] = {**_NO_TRAFFIC, **row, **_failures(row["failed_attempts"], row["attempts"])}
    costs = costs_per_currency(messages, by="provider")
    for row in provider_rows(messages):
        rows.setdefault(row["provider"], {**_NO_TRAFFIC, "provider": row["provider"]}).update(
            accepted=row["accepted"], delivered=row["delivered"], failed=row["failed"],
            delivery_rate=_percent(row["delivered"], row["delivered"] + row["failed"]),
            costs={currency: float(total) for currency, total in costs.get(row["provider"], {}).items()})
    for name, row in rows.items():
        row["latency"] = _percentiles(latency.get(name))
        row["last_error"] = _last_error(attempts, name) if row["failed_attempts"] else ""
    return sorted(rows.values(), key=lambda row: (-row["failed_attempts"], -(row["failure_rate"] or 0),
                                                  row["provider"]))


_NO_TRAFFIC = {"attempts": 0, "failed_attempts": 0, "failure_rate": None, "failing": False, "accepted": 0,
               "delivered": 0, "failed": 0, "delivery_rate": None, "costs": {}}


def _failures(failures: int, attempts: int) -> dict:
    """{failure_rate (percent), failing}: failing is loud enough to announce, ALERT_MIN_FAILURES attempts or
    more failed and ALERT_FAILURE_RATE percent or more."""
    rate = _percent(failures, attempts)
    return {"failure_rate": rate, "failing": failures >= ALERT_MIN_FAILURES and (rate or 0) >= ALERT_FAILURE_RATE}


def _last_error(attempts, provider: str) -> str:
    code, text = attempts.filter(provider=provider, ok=False).order_by("-created_at", "-pk").values_list(
        "error_code", "error_message")[0]
    return f"{code}: {text}" if code and code not in text else text or code


def _percentiles(stages: dict | None) -> dict | None:
    """{accept_p50, accept_p95, deliver_p50, deliver_p95} in seconds, from a carrier's histograms.

    Submitted → accepted runs from when the message was due to go out (send_at, else created_at) to
    the carrier's acceptance, so it includes queueing and retries; accepted → delivered runs to the receipt.
    """
    if stages is None:
        return None
    return {f"{stage}_{name}": value for stage, figures in stages.items()
            for name, value in figures.items() if name.startswith("p")}


def carrier_alerts(carriers: list[dict]) -> list[dict]:
    """The carriers failing loudly enough to announce (see _failures)."""
    return [row for row in carriers if row["failing"]]


BREAKER_EXPLANATIONS = {
    "closed": "Closed: sending normally.",
    "open": "Open: {failures} transient failures in a row, so sends to it pause; one trial send after {cooldown} s.",
    "half-open": "Half-open: the cooldown is over; the next send is a trial that closes or reopens it.",
    "untracked": "Not tracked: REDIS_URL is not set, so failures never pause sending to this carrier.",
}


def breaker(provider: str) -> tuple[str, str]:
    """(state, one-line explanation) of the circuit breaker of a carrier's default account."""
    state = "untracked" if redis_client() is None else breaker_for(f"{provider}:default").state()
    return state, BREAKER_EXPLANATIONS[state].format(failures=settings.SMS_BREAKER_FAILURES,
                                                     cooldown=settings.SMS_BREAKER_COOLDOWN_SECONDS)


def carrier_health(tenant, now=None) -> list[dict]:
    """Per carrier, the send attempts of the last hour, the share that failed, and the breaker; loudest first."""
    now = now or timezone.now()
    attempts = MessageEvent.objects.filter(kind=MessageEvent.Kind.ATTEMPT, created_at__gte=now - HEALTH_WINDOW)
    if tenant is not None:
        attempts = attempts.filter(message__tenant=tenant)
    rows = attempts.exclude(provider="").values("provider").annotate(
        attempts=Count("pk"), failures=Count("pk", filter=Q(ok=False))).order_by("-failures", "provider")
    return [
        {**row, **_failures(row["failures"], row["attempts"]),
         **dict(zip(("breaker", "breaker_explanation"), breaker(row["provider"]), strict=True))}
        for row in rows
    ]


def variant_performance(messages, tenant, since, until) -> list[dict]:
    """Per template variant across all campaigns: messages, sent, delivered, clicked, and clicks per delivered
    message in percent (None while none is known delivered)."""
    rows = messages.exclude(variant=None).values("variant", "variant__template__code", "variant__label").annotate(
        messages=Count("pk"),
        sent=Count("pk", filter=Q(status__in=ACCEPTED)),
        delivered=Count("pk", filter=Q(status=Status.DELIVERED)),
    ).order_by("variant__template__code", "variant__label")
    clicked = _variant_clicks(tenant, since, until) if _variant_clicks else {}
    return [
        {"variant": row["variant"], "name": f"{row['variant__template__code']}/{row['variant__label']}",
         "messages": row["messages"], "sent": row["sent"], "delivered": row["delivered"],
         "clicked": clicked.get(row["variant"], 0),
         "click_rate": _percent(clicked.get(row["variant"], 0), row["delivered"])}
        for row in rows
    ]
