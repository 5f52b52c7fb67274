"""Payment recovery: store TriboPay postbacks, then apply them to their payment.

A PIX payment `waiting_payment` gets a recovery SMS, persisted now through
`smsgate.services.send_sms` with `send_at` RECOVERY_DELAY_SECONDS after the
postback arrived. Any later status (paid, cancelled, refused, ...) cancels
that SMS if it has not gone out. Both happen under a lock on the payment row,
so postbacks for one payment are applied one at a time; a waiting postback
also looks at later postbacks stored but not processed yet, so the order in
which workers pick them up does not matter. The dispatcher's own claim is a
conditional UPDATE on the message, so exactly one of "cancel" and "send" wins.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from smsgate.models import Message, Tenant
from smsgate.services import cancel_message, send_sms
from smsgate.statuses import Status
from webhooks.models import Payment, RecoveryTemplate, WebhookEvent
from webhooks.recovery_text import DEFAULT_TEMPLATE, recovery_values, render
from webhooks.tribopay import Postback, parse_postback

logger = logging.getLogger(__name__)

RECOVERY_SOURCE = "payment"
TEST_SOURCE = "test_sms"
# An unprocessed event older than this is picked up by the sweeper (its task was lost).
STALE_AFTER = timedelta(seconds=30)
MAX_ATTEMPTS = 5

Outcome = WebhookEvent.Outcome


def default_tenant() -> Tenant:
    """The tenant TriboPay postbacks belong to (created by a migration; recreated if it was deleted)."""
    tenant, _ = Tenant.objects.get_or_create(
        slug=Tenant.DEFAULT_SLUG, defaults={"name": "Default", "default_region": settings.SMS_DEFAULT_REGION}
    )
    return tenant


def receive_postback(*, tenant: Tenant, payload, source_ip: str | None = None) -> tuple[WebhookEvent, bool]:
    """Store a postback as received and enqueue its processing; returns (event, duplicate).

    Raises MalformedPostback (nothing stored) if it is not a TriboPay postback.
    """
    postback = parse_postback(payload)
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                tenant=tenant, tribopay_id=postback.tribopay_id, status=postback.status, method=postback.method,
                payload=payload, source_ip=source_ip,
            )
    except IntegrityError:
        existing = WebhookEvent.objects.get(tenant=tenant, tribopay_id=postback.tribopay_id, status=postback.status)
        return existing, True
    transaction.on_commit(lambda: _enqueue(event.pk))
    return event, False


def process_event_safely(event_id: int) -> None:
    """Process an event, counting the attempt; a failure is logged and left for the sweeper."""
    WebhookEvent.objects.filter(pk=event_id, processed_at__isnull=True).update(attempts=F("attempts") + 1)
    try:
        process_event(event_id)
    except Exception as exc:  # leave the event unprocessed, with the reason, for a later attempt
        logger.exception("could not process TriboPay event %s", event_id)
        WebhookEvent.objects.filter(pk=event_id).update(detail=f"error: {type(exc).__name__}: {exc}"[:255])


def process_event(event_id: int) -> None:
    """Apply one stored postback to its payment, once."""
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().filter(pk=event_id, processed_at__isnull=True).first()
        if event is None:
            return  # processed already
        postback = parse_postback(event.payload)
        payment = _locked_payment(event.tenant, postback.tribopay_id)
        _copy_details(payment, postback)
        apply = _on_waiting if postback.status == Payment.WAITING else _on_status_change
        outcome, detail = apply(payment, postback.status, event.received_at)
        payment.save()
        event.payment = payment
        event.outcome, event.detail = outcome, detail[:255]
        event.processed_at = timezone.now()
        event.save(update_fields=["payment", "outcome", "detail", "processed_at"])
    logger.info("TriboPay %s %s: %s (%s)", event.tribopay_id, event.status, outcome, detail)


def process_stale_events(limit: int = 500) -> int:
    """Process events whose task was lost (broker outage, dead worker). Runs from beat."""
    cutoff = timezone.now() - STALE_AFTER
    ids = list(
        WebhookEvent.objects.filter(processed_at__isnull=True, received_at__lt=cutoff, attempts__lt=MAX_ATTEMPTS)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
    for event_id in ids:
        process_event_safely(event_id)
    return len(ids)


def send_test_sms(*, tenant: Tenant, phone: str, body: str, **request_info) -> Message:
    """An operator's test SMS, sent now; shows in the webhooks SMS log."""
    return send_sms(tenant=tenant, to=phone, body=body, source_type=TEST_SOURCE, **request_info)


def recovery_text(*, tenant: Tenant, name: str, amount_cents: int | None, payment_link: str = "") -> str:
    """The tenant's recovery SMS for these values."""
    template = RecoveryTemplate.objects.filter(tenant=tenant).first()
    body = template.body if template else DEFAULT_TEMPLATE
    link = payment_link or (template.fallback_link if template else "")
    return render(body, recovery_values(name=name, amount_cents=amount_cents, payment_link=link))


def _enqueue(event_id: int) -> None:
    """Enqueue processing; with the broker down, process it here rather than leave it waiting.

    Processing promptly matters: a `paid` postback left for later could let a
    recovery SMS go out once the broker (and with it the dispatcher) is back.
    """
    from webhooks.tasks import process_event_task

    try:
        # No publish retries: a broker outage must not hold TriboPay's request open.
        process_event_task.apply_async((event_id,), retry=False)
    except Exception:
        logger.warning("could not enqueue TriboPay event %s; processing it now", event_id, exc_info=True)
        process_event_safely(event_id)


def _locked_payment(tenant: Tenant, tribopay_id: str) -> Payment:
    payment, _ = Payment.objects.get_or_create(tenant=tenant, tribopay_id=tribopay_id)
    return Payment.objects.select_for_update().get(pk=payment.pk)


def _copy_details(payment: Payment, postback: Postback) -> None:
    """Fill in what this postback says; a later postback without a field keeps the earlier value."""
    for field, value in [
        ("method", postback.method),
        ("amount_cents", postback.amount_cents),
        ("customer_name", postback.customer_name),
        ("customer_phone", postback.customer_phone),
        ("customer_email", postback.customer_email),
        ("payment_link", postback.payment_link),
    ]:
        if value not in ("", None):
            setattr(payment, field, value)


def _on_waiting(payment: Payment, status: str, received_at: datetime) -> tuple[str, str]:
    moved_on = _status_after_waiting(payment)
    if moved_on:
        return Outcome.RECORDED, f"late postback: the payment is already {moved_on}"
    payment.status = Payment.WAITING
    if payment.method != Payment.PIX:
        return Outcome.RECORDED, f"{payment.method or 'unknown'} payment: no recovery SMS"
    payment.waiting_since = payment.waiting_since or received_at
    if payment.recovery_message_id:
        return Outcome.RECORDED, "the recovery SMS was already scheduled"
    return _schedule_recovery(payment, received_at)


def _status_after_waiting(payment: Payment) -> str:
    """The status the payment moved on to, if any, counting postbacks stored but not processed yet."""
    if payment.status not in ("", Payment.WAITING):
        return payment.status
    stored = WebhookEvent.objects.filter(tenant=payment.tenant, tribopay_id=payment.tribopay_id)
    return stored.exclude(status=Payment.WAITING).values_list("status", flat=True).first() or ""


def _schedule_recovery(payment: Payment, received_at: datetime) -> tuple[str, str]:
    if not payment.customer_phone:
        return Outcome.NOT_SENT, "no customer phone number"
    body = recovery_text(tenant=payment.tenant, name=payment.customer_name, amount_cents=payment.amount_cents,
                         payment_link=payment.payment_link)
    send_at = received_at + timedelta(seconds=settings.RECOVERY_DELAY_SECONDS)
    try:
        message = send_sms(tenant=payment.tenant, to=payment.customer_phone, body=body, send_at=send_at,
                           source_type=RECOVERY_SOURCE, source_id=payment.pk, cancel_on_refusal=True)
    except ValidationError as exc:
        return Outcome.NOT_SENT, "; ".join(exc.messages)
    payment.recovery_message = message
    if message.status == Status.CANCELLED:
        return Outcome.NOT_SENT, f"refused by policy: {message.status_reason}"
    return Outcome.SCHEDULED, f"recovery SMS #{message.pk} due at {send_at.isoformat(timespec='seconds')}"


def _on_status_change(payment: Payment, status: str, received_at: datetime) -> tuple[str, str]:
    payment.status = status
    message = payment.recovery_message
    if message is None:
        return Outcome.RECORDED, f"payment {status}"
    if status == Payment.PAID and _sent_before(message, received_at):
        payment.recovered_at = received_at
        payment.recovered_amount_cents = payment.amount_cents
        return Outcome.RECOVERED, f"paid after recovery SMS #{message.pk}"
    if cancel_message(message, f"payment {status} before the recovery SMS was due"):
        return Outcome.CANCELLED, f"recovery SMS #{message.pk} cancelled: payment {status}"
    return Outcome.RECORDED, f"payment {status}; recovery SMS #{message.pk} is {message.status}"


def _sent_before(message: Message, moment: datetime) -> bool:
    return message.status in (Status.SENT, Status.DELIVERED) and message.sent_at is not None and (
        message.sent_at <= moment
    )
