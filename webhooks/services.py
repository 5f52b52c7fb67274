"""Payment recovery: store TriboPay postbacks, then apply them to their payment.

A PIX payment `waiting_payment` gets a recovery SMS, persisted now through
`smsgate.sending.submit.submit` with `send_at` RECOVERY_DELAY_SECONDS after the
postback arrived. Any later status (paid, cancelled, refused, ...) cancels
that SMS if it has not gone out. Both happen under a lock on the payment row,
so postbacks for one payment are applied one at a time; a waiting postback
also looks at later postbacks stored but not processed yet, so the order in
which workers pick them up does not matter. The dispatcher's own claim is a
conditional UPDATE on the message, so exactly one of "cancel" and "send" wins.
"""

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from smsgate.models import Message, Tenant
from smsgate.publish import publish
from smsgate.sending.submit import NO_META, RequestMeta, SmsRequest, cancel_message, submit
from smsgate.statuses import Status
from templates.services import Rendered
from templates.system import RECOVERY_PIX, render_system
from webhooks.ingest import group_commit
from webhooks.models import Payment, RecoverySettings, WebhookEvent
from webhooks.selectors import format_brl
from webhooks.tribopay import MalformedPostback, Postback, parse_postback

logger = logging.getLogger(__name__)

# Published by name (smsgate.publish): webhooks.tasks wraps this module, so it is not imported here.
PROCESS_TASK = "webhooks.process_events"
RECOVERY_SOURCE = "payment"
TEST_SOURCE = "test_sms"
# An event claimed this long ago and still not processed is claimed again (it failed, or its task was lost).
RETRY_AFTER = timedelta(seconds=30)
MAX_ATTEMPTS = 5

Outcome = WebhookEvent.Outcome


def receive_postback(*, payload, source_ip: str | None = None) -> tuple[int, bool]:
    """Store a postback for the default tenant; returns (event id, duplicate) once it is committed.

    Raises MalformedPostback (nothing stored) if it is not a TriboPay postback.
    Nothing is enqueued per postback: beat's `webhooks.dispatch_events` hands
    new events to the workers every 2 seconds. `source_ip` is an IP address or None
    (smsgate.api.source_ip.client_ip never returns a forged X-Forwarded-For).
    """
    return group_commit.store(parse_postback(payload), payload, source_ip)


def dispatch_events(limit: int = 5000, per_task: int = 100) -> int:
    """Claim events to process and hand them to the workers, `per_task` to a task. Runs from beat.

    Claimed are new events, and events whose last claim is older than
    RETRY_AFTER (it failed, or its task was lost with a worker or the broker),
    until MAX_ATTEMPTS.
    """
    event_ids = claim_events(limit)
    for start in range(0, len(event_ids), per_task):
        publish(PROCESS_TASK, event_ids[start:start + per_task])
    return len(event_ids)


def claim_events(limit: int) -> list[int]:
    """Mark up to `limit` events due processing as claimed now (oldest first) and return their ids."""
    now = timezone.now()
    due = Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - RETRY_AFTER)
    with transaction.atomic():
        event_ids = list(
            WebhookEvent.objects.filter(due, processed_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
            .order_by("received_at").select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit]
        )
        WebhookEvent.objects.filter(pk__in=event_ids).update(claimed_at=now, attempts=F("attempts") + 1)
    return event_ids


def process_events(event_ids: list[int]) -> None:
    """Process claimed events in order; a failure is logged and left for a later claim (see _record_failure)."""
    for event_id in event_ids:
        try:
            process_event(event_id)
        except Exception as exc:
            logger.exception("could not process TriboPay event %s", event_id)
            _record_failure(event_id, exc)


def _record_failure(event_id: int, exc: Exception) -> None:
    """Keep the error on the event; give the event up (outcome `failed`) when no retry can help.

    That is at once for a payload that no longer reads as a postback (stored
    before a validation was added), else after its MAX_ATTEMPTS-th attempt, so
    no event is left pending for ever.
    """
    event = WebhookEvent.objects.filter(pk=event_id, processed_at__isnull=True)
    event.update(detail=f"error: {type(exc).__name__}: {exc}"[:255])
    if not isinstance(exc, MalformedPostback):
        event = event.filter(attempts__gte=MAX_ATTEMPTS)
    event.update(outcome=Outcome.FAILED, processed_at=timezone.now())


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


def send_test_sms(*, tenant: Tenant, phone: str, body: str, meta: RequestMeta = NO_META,
                  media_urls: Sequence[str] = ()) -> Message:
    """An operator's test SMS (an MMS with `media_urls`), sent now; shows in the webhooks SMS log."""
    return submit(tenant, [SmsRequest(to=phone, body=body, media_urls=media_urls)], source_type=TEST_SOURCE,
                  meta=meta).one()


def recovery_text(*, tenant: Tenant, name: str, amount_cents: int | None, payment_link: str = "",
                  phone: str = "") -> str:
    """The tenant's recovery SMS (its `recovery-pix` template) for these values; `phone` picks the A/B variant."""
    return _recovery_rendered(tenant, name, amount_cents, payment_link, phone).body


def _recovery_rendered(tenant: Tenant, name: str, amount_cents: int | None, payment_link: str,
                       phone: str) -> Rendered:
    recovery_settings = RecoverySettings.objects.filter(tenant=tenant).first()
    link = payment_link or (recovery_settings.fallback_link if recovery_settings else "")
    values = recovery_values(name=name, amount_cents=amount_cents, payment_link=link)
    return render_system(tenant, RECOVERY_PIX, values, recipient=phone)


def recovery_values(*, name: str, amount_cents: int | None, payment_link: str) -> dict[str, str]:
    """The recovery text's variables: {name}, {first_name} ("cliente" without one), {amount}, {payment_link}."""
    name = " ".join(name.split())
    return {
        "name": name or "cliente",
        "first_name": name.split(" ")[0] if name else "cliente",
        "amount": format_brl(amount_cents),
        "payment_link": payment_link,
    }


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
    text = _recovery_rendered(payment.tenant, payment.customer_name, payment.amount_cents, payment.payment_link,
                              payment.customer_phone)
    send_at = received_at + timedelta(seconds=settings.RECOVERY_DELAY_SECONDS)
    try:
        message = submit(payment.tenant, [SmsRequest(to=payment.customer_phone, body=text.body,
                                                     variant_id=text.variant_id)], send_at=send_at,
                         source_type=RECOVERY_SOURCE, source_id=payment.pk, cancel_refused=True).one()
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
